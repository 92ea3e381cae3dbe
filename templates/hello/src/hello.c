// SPDX-License-Identifier: GPL-2.0
/* The example module kmbuild's demo and skeleton build: it only says hello. */
#include <linux/init.h>
#include <linux/module.h>

static char *greeting = "hello from kmbuild";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "What to print when loaded");

static int __init hello_init(void)
{
	pr_info("kmbuild_hello: %s\n", greeting);
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("kmbuild_hello: goodbye\n");
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmbuild example module");
MODULE_VERSION("1.0");
