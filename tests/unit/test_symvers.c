// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Module.symvers / System.map reader and the export hash table: files written by the test,
 * plus the real Module.symvers of every installed Debian kernel header package.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "verify/symvers.h"
#include "base/util.h"

static void test_symvers_parse(void **state)
{
	(void)state;
	char *p = unit_put("Module.symvers",
			   "0x9060323f\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
			   "0x039823de\tinit_uts_ns\tvmlinux\tEXPORT_SYMBOL_GPL\t\n"
			   "0x5d7ced8d\tusb_stor_suspend\tdrivers/usb/storage/usb-storage\t"
			   "EXPORT_SYMBOL_GPL\tUSB_STORAGE\n"
			   "0xfffffffe\tsnd_pcm_new\tsound/core/snd-pcm\tEXPORT_SYMBOL\n");
	struct kmb_symtab *vm = kmb_symtab_new(), *mods = kmb_symtab_new();
	char *err = NULL;

	assert_int_equal(kmb_symvers_load(vm, mods, p, &err), 4);
	assert_null(err);
	assert_int_equal(kmb_symtab_count(vm), 2);
	assert_int_equal(kmb_symtab_count(mods), 2);

	const struct kmb_ksym *s = kmb_symtab_find(vm, "module_layout");
	assert_non_null(s);
	assert_int_equal(s->crc, 0x9060323f);
	assert_true(s->has_crc);
	assert_false(s->gpl);
	assert_string_equal(s->owner, "vmlinux");
	assert_null(s->ns);

	s = kmb_symtab_find(vm, "init_uts_ns");
	assert_true(s->gpl && s->gpl_known);

	s = kmb_symtab_find(mods, "usb_stor_suspend");
	assert_non_null(s);
	assert_string_equal(s->owner, "usb_storage"); /* '-' -> '_' like the kernel */
	assert_string_equal(s->path, "drivers/usb/storage/usb-storage");
	assert_string_equal(s->ns, "USB_STORAGE");
	assert_true(s->gpl);

	s = kmb_symtab_find(mods, "snd_pcm_new");
	assert_int_equal(s->crc, 0xfffffffeu); /* high bit: no sign games */
	assert_null(kmb_symtab_find(vm, "snd_pcm_new"));
	assert_null(kmb_symtab_find(mods, "nope"));

	/* One table may be dropped. */
	struct kmb_symtab *only = kmb_symtab_new();
	assert_int_equal(kmb_symvers_load(only, NULL, p, &err), 4);
	assert_int_equal(kmb_symtab_count(only), 2);
	kmb_symtab_free(only);
	kmb_symtab_free(vm);
	kmb_symtab_free(mods);
	free(p);
}

static void test_symvers_errors(void **state)
{
	(void)state;
	struct kmb_symtab *t = kmb_symtab_new();
	char *err = NULL;
	char *p = unit_put("bad.symvers", "0x1\tok\tvmlinux\tEXPORT_SYMBOL\n"
					  "zzz\tbroken\tvmlinux\tEXPORT_SYMBOL\n");

	assert_int_equal(kmb_symvers_load(t, NULL, p, &err), -EBADMSG);
	assert_non_null(err);
	assert_non_null(strstr(err, "bad.symvers:2:"));
	assert_null(strchr(err, '\n'));
	free(err);
	free(p);

	p = unit_put("short.symvers", "0x1\tonly_two_fields\n");
	assert_int_equal(kmb_symvers_load(t, NULL, p, &err), -EBADMSG);
	free(err);
	free(p);

	p = unit_path("missing");
	assert_int_equal(kmb_symvers_load(t, NULL, p, &err), -ENOENT);
	assert_non_null(strstr(err, "missing"));
	free(err);
	free(p);
	kmb_symtab_free(t);
}

static void test_sysmap(void **state)
{
	(void)state;
	struct kmb_symtab *t = kmb_symtab_new();
	char *err = NULL;
	char *p = unit_put("System.map", "ffffffff81000000 T _text\n"
					 "ffffffff82a1b2c0 r __ksymtab_printk\n"
					 "ffffffff82a1b2cc r __ksymtab_init_uts_ns\n"
					 "ffffffff82a1b2d8 r __kstrtab_printk\n");

	assert_int_equal(kmb_sysmap_load(t, p, &err), 2);
	const struct kmb_ksym *s = kmb_symtab_find(t, "printk");
	assert_non_null(s);
	assert_false(s->has_crc);
	assert_false(s->gpl_known);
	assert_null(kmb_symtab_find(t, "_text"));
	free(p);

	/* What Debian's linux-image packages ship. */
	p = unit_put("System.map-stub", "ffffffffffffffff B The real System.map is in the "
					"linux-image-<version>-dbg package\n");
	assert_int_equal(kmb_sysmap_load(t, p, &err), -ENODATA);
	assert_non_null(strstr(err, "-dbg"));
	free(err);
	free(p);
	kmb_symtab_free(t);
}

static void test_table_growth_and_replace(void **state)
{
	(void)state;
	struct kmb_symtab *t = kmb_symtab_new();
	char name[64];

	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "sym_%d", i);
		struct kmb_ksym s = {
			.name = name, .owner = "vmlinux", .crc = (uint32_t)i, .has_crc = true};
		kmb_symtab_add(t, &s, false);
	}
	assert_int_equal(kmb_symtab_count(t), 100000);
	const struct kmb_ksym *first = kmb_symtab_find(t, "sym_0");
	for (int i = 0; i < 100000; i += 997) {
		snprintf(name, sizeof(name), "sym_%d", i);
		const struct kmb_ksym *s = kmb_symtab_find(t, name);
		assert_non_null(s);
		assert_int_equal(s->crc, (uint32_t)i);
	}
	/* Pointers handed out stay valid while the table grows. */
	assert_ptr_equal(first, kmb_symtab_find(t, "sym_0"));

	struct kmb_ksym s = {.name = "sym_5", .owner = "other", .crc = 1};
	assert_int_equal(kmb_symtab_add(t, &s, false)->crc, 5);
	assert_int_equal(kmb_symtab_add(t, &s, true)->crc, 1);
	assert_string_equal(kmb_symtab_find(t, "sym_5")->owner, "other");

	size_t it = 0, n = 0;
	while (kmb_symtab_next(t, &it))
		n++;
	assert_int_equal(n, 100000);
	kmb_symtab_free(t);
}

/* The real thing: every installed Debian header package's Module.symvers. */
static void test_real_symvers(void **state)
{
	(void)state;
	DIR *d = opendir("/usr/src");
	struct dirent *de;
	int seen = 0;

	if (!d)
		skip();
	while ((de = readdir(d))) {
		if (!kmb_startswith(de->d_name, "linux-headers-") ||
		    kmb_endswith(de->d_name, "common"))
			continue;
		char *p = kmb_xasprintf("/usr/src/%s/Module.symvers", de->d_name);
		char *text = NULL, *err = NULL;
		size_t len, lines = 0;
		if (kmb_read_file(p, &text, &len) < 0) {
			free(p);
			continue;
		}
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		free(text);
		struct kmb_symtab *vm = kmb_symtab_new(), *mods = kmb_symtab_new();
		long long t0 = kmb_now_ms();
		int n = kmb_symvers_load(vm, mods, p, &err);
		long long dt = kmb_now_ms() - t0;
		assert_null(err);
		assert_int_equal((size_t)n, lines);
		assert_true(kmb_symtab_count(vm) + kmb_symtab_count(mods) <= lines);
		const struct kmb_ksym *ml = kmb_symtab_find(vm, "module_layout");
		assert_non_null(ml);
		assert_true(ml->has_crc);
		assert_non_null(kmb_symtab_find(vm, "_printk"));
		print_message("%s: %d exports in %lld ms\n", p, n, dt);
		kmb_symtab_free(vm);
		kmb_symtab_free(mods);
		free(p);
		seen++;
	}
	closedir(d);
	if (!seen)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symvers_parse),
		cmocka_unit_test(test_symvers_errors),
		cmocka_unit_test(test_sysmap),
		cmocka_unit_test(test_table_growth_and_replace),
		cmocka_unit_test(test_real_symvers),
	};
	return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
