// SPDX-License-Identifier: GPL-2.0
/*
 * @NAME@: a minimal out-of-tree kernel module, written by `kmbuild new @NAME@`.
 * Load it with `modprobe @NAME@ greeting=...` and read the kernel log (dmesg).
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static char *greeting = "hello";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "what to say when loaded");

static int __init @NAME@_init(void)
{
	pr_info("@NAME@: %s\n", greeting);
	return 0;
}

static void __exit @NAME@_exit(void)
{
	pr_info("@NAME@: unloaded\n");
}

module_init(@NAME@_init);
module_exit(@NAME@_exit);

MODULE_DESCRIPTION("@NAME@ (made with kmbuild new)");
MODULE_LICENSE("GPL");
MODULE_VERSION("@VERSION@");
