// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The readers behind `kmbuild verify`, on real files made by the test: an ELF relocatable
 * object shaped like a kernel module (compiled by gcc, compressed by libarchive's writers),
 * initramfs images of several segments (libarchive's cpio writer, plain and compressed), and
 * the system configuration under a sandbox root (grub defaults, modules-load.d, sysctl,
 * initramfs-tools and dracut configuration).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "unit.h"

#include <archive.h>
#include <archive_entry.h>

#include "initramfs/initramfs_read.h"
#include "base/kmb.h"
#include "verify/modfile.h"
#include "base/util.h"
#include "verify/verify.h"
#include "verify/verify_sys.h"

static void put(const char *rel, const void *data, size_t len)
{
	char *p = unit_path(rel);

	unit_write(p, data, len, 0644);
	free(p);
}

static void puts_(const char *rel, const char *text)
{
	free(unit_put(rel, text));
}

static unsigned char *slurp(const char *rel, size_t *len)
{
	char *p = unit_path(rel), *data;
	assert_int_equal(kmb_read_file(p, &data, len), 0);
	free(p);
	return (unsigned char *)data;
}

/* ---- module files ---------------------------------------------------------------------------- */

/* The sections modpost and EXPORT_SYMBOL produce, written in plain C. */
static const char fake_module_c[] =
	"struct modversion_info { unsigned long crc; char name[56]; };\n"
	"#define MI(n, s) static const char n[] __attribute__((section(\".modinfo\"), used, "
	"aligned(1))) = s\n"
	"MI(mi1, \"license=Dual BSD/GPL\");\n"
	"MI(mi2, \"vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions \");\n"
	"MI(mi3, \"name=fake_mod\");\n"
	"MI(mi4, \"depends=prov\");\n"
	"MI(mi5, \"import_ns=USB_STORAGE\");\n"
	"static const struct modversion_info vers[] __attribute__((section(\"__versions\"), used, "
	"aligned(32))) = { {0x9060323f, \"module_layout\"}, {0x92997ed8, \"_printk\"}, "
	"{0xfffffffe, \"prov_fn\"} };\n"
	"extern int _printk(const char *, ...);\n"
	"extern int prov_fn(void);\n"
	"extern int maybe_fn(void) __attribute__((weak));\n"
	"int fake_export(void) { return _printk(\"x\") + prov_fn() + (maybe_fn ? maybe_fn() : 0); "
	"}\n"
	"int fake_gpl(void) { return 2; }\n"
	"const int __ksymtab_fake_export __attribute__((section(\"__ksymtab\"), used)) = 0;\n"
	"const int __ksymtab_fake_gpl __attribute__((section(\"__ksymtab_gpl\"), used)) = 0;\n"
	"const unsigned int __crc_fake_export __attribute__((section(\"__kcrctab\"), used)) = "
	"0xdeadbeef;\n"
	"const unsigned int __crc_fake_gpl __attribute__((section(\"__kcrctab_gpl\"), used)) = "
	"0x0badf00d;\n"
	"const char __kstrtabns_fake_gpl[] __attribute__((section(\"__ksymtab_strings\"), used)) "
	"= \"FAKE_NS\";\n";

static char *build_fake_module(void)
{
	char *src = unit_path("fake.c"), *obj = unit_path("fake.ko");
	const char *argv[] = {"cc", "-c", "-O0", "-fno-pic", "-o", obj, src, NULL};
	struct kmb_run r = {.argv = argv, .out_fd = -1, .in_fd = -1};

	puts_("fake.c", fake_module_c);
	if (kmb_run(&r) != 0)
		fail_msg("cc could not build the fake module");
	free(src);
	return obj;
}

static void test_modfile_sections(void **state)
{
	(void)state;
	char *obj = build_fake_module(), *err = NULL;
	struct kmb_modfile *m;

	assert_int_equal(kmb_modfile_open(obj, &m, &err), 0);
	assert_string_equal(m->name, "fake_mod");
	assert_string_equal(m->license, "Dual BSD/GPL");
	assert_true(kmb_license_is_gpl_compatible(m->license));
	assert_string_equal(m->vermagic, "6.1.0-56-amd64 SMP preempt mod_unload modversions ");
	assert_string_equal(m->depends, "prov");
	assert_true(m->elf64);
	assert_int_equal(m->machine, 62);
	assert_int_equal(m->comp, KMB_COMPRESS_NONE);
	assert_int_equal(m->sig.state, KMB_SIG_NONE);
	assert_int_equal(m->elf_len, m->image_len);

	assert_true(m->has_versions_section);
	assert_int_equal(m->n_versions, 3);
	assert_int_equal(kmb_modfile_version(m, "module_layout")->crc, 0x9060323f);
	assert_int_equal(kmb_modfile_version(m, "prov_fn")->crc, 0xfffffffeu);

	bool printk = false, prov = false, maybe_weak = false;
	for (size_t i = 0; i < m->n_undef; i++) {
		printk |= strcmp(m->undef[i].name, "_printk") == 0 && !m->undef[i].weak;
		prov |= strcmp(m->undef[i].name, "prov_fn") == 0;
		maybe_weak |= strcmp(m->undef[i].name, "maybe_fn") == 0 && m->undef[i].weak;
	}
	assert_true(printk && prov && maybe_weak);

	assert_int_equal(m->n_exports, 2);
	assert_string_equal(m->exports[0].name, "fake_export"); /* sorted */
	assert_false(m->exports[0].gpl);
	assert_true(m->exports[0].has_crc);
	assert_int_equal(m->exports[0].crc, 0xdeadbeef);
	assert_null(m->exports[0].ns);
	assert_string_equal(m->exports[1].name, "fake_gpl");
	assert_true(m->exports[1].gpl);
	assert_int_equal(m->exports[1].crc, 0x0badf00d);
	assert_string_equal(m->exports[1].ns, "FAKE_NS");

	const char *ns[4];
	assert_int_equal(kmb_modfile_modinfo_all(m, "import_ns", ns, 4), 1);
	assert_string_equal(ns[0], "USB_STORAGE");
	assert_non_null(m->compiler);
	kmb_modfile_free(m);
	free(obj);
}

static void write_raw(const char *rel, const unsigned char *data, size_t len, int filter)
{
	char *p = unit_path(rel);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_add_filter(a, filter);
	archive_write_set_format_raw(a);
	assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_pathname(e, "x");
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	free(p);
}

static void test_modfile_compressed_and_signed(void **state)
{
	(void)state;
	char *obj = build_fake_module(), *err = NULL;
	size_t len;
	unsigned char *plain = slurp("fake.ko", &len);
	static const struct {
		const char *name;
		int filter;
		enum kmb_compress c;
	} forms[] = {{"fake.ko.xz", ARCHIVE_FILTER_XZ, KMB_COMPRESS_XZ},
		     {"fake.ko.zst", ARCHIVE_FILTER_ZSTD, KMB_COMPRESS_ZSTD},
		     {"fake.ko.gz", ARCHIVE_FILTER_GZIP, KMB_COMPRESS_GZIP}};

	for (size_t i = 0; i < KMB_ARRAY_SIZE(forms); i++) {
		struct kmb_modfile *m;
		write_raw(forms[i].name, plain, len, forms[i].filter);
		char *p = unit_path(forms[i].name);
		assert_int_equal(kmb_modfile_open(p, &m, &err), 0);
		assert_int_equal(m->comp, forms[i].c);
		assert_int_equal(m->image_len, len);
		assert_memory_equal(m->image, plain, len);
		assert_string_equal(m->name, "fake_mod");
		kmb_modfile_free(m);
		free(p);
	}

	/* Trailers: the kernel's mod_check_sig() rules. */
	static const unsigned char magic[] = "~Module signature appended~\n";
	struct {
		unsigned char info[12];
		enum kmb_sig_state want;
		const char *why;
	} cases[] = {
		{{0, 0, 2, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0}, KMB_SIG_MALFORMED, "exceeds"},
		{{0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 4}, KMB_SIG_FOREIGN, "not PKCS#7"},
		{{0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 4}, KMB_SIG_MALFORMED, "reserved"},
		{{0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4}, KMB_SIG_MALFORMED, "not a DER"},
	};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(cases); i++) {
		struct kmb_buf b = {0};
		struct kmb_modfile *m;
		uint32_t sl = (uint32_t)cases[i].info[8] << 24 | (uint32_t)cases[i].info[9] << 16 |
			      (uint32_t)cases[i].info[10] << 8 | cases[i].info[11];
		kmb_buf_add(&b, (const char *)plain, len);
		if (sl == 4) /* the first case claims more than the whole file */
			kmb_buf_add(&b, "\1\2\3\4", 4);
		kmb_buf_add(&b, (const char *)cases[i].info, 12);
		kmb_buf_add(&b, (const char *)magic, sizeof(magic) - 1);
		put("signed.ko", b.s, b.len);
		char *p = unit_path("signed.ko");
		assert_int_equal(kmb_modfile_open(p, &m, &err), 0);
		kmb_modfile_sig_details(m);
		assert_int_equal(m->sig.state, cases[i].want);
		assert_non_null(strstr(m->sig.error, cases[i].why));
		if (i > 0)
			assert_int_equal(m->elf_len, len);
		assert_string_equal(m->name, "fake_mod"); /* ELF still read */
		kmb_modfile_free(m);
		kmb_buf_free(&b);
		free(p);
	}
	free(plain);
	free(obj);
}

static void test_modfile_bad_input(void **state)
{
	(void)state;
	struct kmb_modfile *m = NULL;
	char *err = NULL, *p;

	puts_("text.ko", "this is not a module\n");
	p = unit_path("text.ko");
	assert_int_equal(kmb_modfile_open(p, &m, &err), -ENOEXEC);
	assert_null(m);
	assert_non_null(strstr(err, "text.ko"));
	assert_null(strchr(err, '\n'));
	free(err);
	free(p);

	/* A truncated ELF header. */
	put("trunc.ko", "\177ELF\2\1\1", 7);
	p = unit_path("trunc.ko");
	assert_int_equal(kmb_modfile_open(p, &m, &err), -ENOEXEC);
	free(err);
	free(p);

	/* xz magic, garbage inside. */
	put("bad.ko.xz",
	    "\xfd"
	    "7zXZ\0garbagegarbage",
	    19);
	p = unit_path("bad.ko.xz");
	assert_int_equal(kmb_modfile_open(p, &m, &err), -EIO);
	assert_non_null(strstr(err, "bad.ko.xz"));
	free(err);
	free(p);

	p = unit_path("missing.ko");
	assert_int_equal(kmb_modfile_open(p, &m, &err), -ENOENT);
	free(err);
	free(p);

	char nb[64];
	kmb_module_name_from_path("/lib/modules/x/kernel/snd-pcm.ko.zst", nb, sizeof(nb));
	assert_string_equal(nb, "snd_pcm");
}

/* ---- initramfs ------------------------------------------------------------------------------- */

struct file {
	const char *name, *data;
};

static void write_cpio(const char *rel, const struct file *files, size_t n, int filter)
{
	char *p = unit_path(rel);
	struct archive *a = archive_write_new();

	if (filter != ARCHIVE_FILTER_NONE)
		archive_write_add_filter(a, filter);
	archive_write_set_format_cpio_newc(a);
	archive_write_set_bytes_per_block(a, 512);
	assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		bool dir = files[i].data == NULL;
		archive_entry_set_pathname(e, files[i].name);
		archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(e, dir ? 0755 : 0644);
		archive_entry_set_size(e, dir ? 0 : (la_int64_t)strlen(files[i].data));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (!dir)
			archive_write_data(a, files[i].data, strlen(files[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	free(p);
}

static void concat(const char *out, const char *const *parts)
{
	struct kmb_buf b = {0};

	for (size_t i = 0; parts[i]; i++) {
		size_t len;
		unsigned char *d = slurp(parts[i], &len);
		kmb_buf_add(&b, (const char *)d, len);
		free(d);
	}
	put(out, b.s, b.len);
	kmb_buf_free(&b);
}

static void test_initramfs_segments(void **state)
{
	(void)state;
	static const struct file early[] = {{"kernel", NULL},
					    {"kernel/x86/microcode/GenuineIntel.bin", "ucode"}};
	static const struct file early2[] = {{"kernel/x86/microcode/AuthenticAMD.bin", "amd"}};
	static const struct file main_[] = {
		{".", NULL},
		{"./lib/modules/6.1.0-56-amd64/updates/dkms/hello.ko", "HELLO-NEW"},
		{"./usr/lib/modules/6.1.0-56-amd64/kernel/fs/zfs.ko", "ZFS"},
		{"./init", "#!/bin/sh\n"},
	};
	static const int filters[] = {ARCHIVE_FILTER_ZSTD, ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_GZIP,
				      ARCHIVE_FILTER_NONE};

	write_cpio("early.cpio", early, KMB_ARRAY_SIZE(early), ARCHIVE_FILTER_NONE);
	write_cpio("early2.cpio", early2, KMB_ARRAY_SIZE(early2), ARCHIVE_FILTER_NONE);
	for (size_t f = 0; f < KMB_ARRAY_SIZE(filters); f++) {
		struct kmb_initramfs *ir;
		char *err = NULL, *p = unit_path("initrd.img");
		write_cpio("main.cpio", main_, KMB_ARRAY_SIZE(main_), filters[f]);
		concat("initrd.img",
		       (const char *const[]){"early.cpio", "early2.cpio", "main.cpio", NULL});
		assert_int_equal(kmb_initramfs_open(p, &ir, &err), 0);
		assert_int_equal(ir->n_segments, 3);
		assert_non_null(kmb_initramfs_find(ir, "/kernel/x86/microcode/GenuineIntel.bin"));
		assert_non_null(kmb_initramfs_find(ir, "kernel/x86/microcode/AuthenticAMD.bin"));
		const struct kmb_initramfs_entry *e =
			kmb_initramfs_find(ir, "lib/modules/6.1.0-56-amd64/updates/dkms/hello.ko");
		assert_non_null(e);
		assert_int_equal(e->segment, 2);
		assert_int_equal(e->size, 9);
		assert_null(kmb_initramfs_find(ir, "nothing"));

		const char *names[] = {"lib/modules/6.1.0-56-amd64/updates/dkms/hello.ko",
				       "kernel/x86/microcode/AuthenticAMD.bin", "absent"};
		unsigned char *data[3];
		size_t len[3];
		assert_int_equal(kmb_initramfs_read_files(ir, names, 3, data, len, &err), 2);
		assert_int_equal(len[0], 9);
		assert_memory_equal(data[0], "HELLO-NEW", 9);
		assert_memory_equal(data[1], "amd", 3);
		assert_null(data[2]);
		free(data[0]);
		free(data[1]);

		assert_non_null(kmb_initramfs_find_module(ir, "6.1.0-56-amd64", "zfs"));
		assert_non_null(kmb_initramfs_find_module(ir, "6.1.0-56-amd64", "hello"));
		assert_null(kmb_initramfs_find_module(ir, "6.1.0-55-amd64", "hello"));
		kmb_initramfs_free(ir);
		free(p);
	}
}

static void test_initramfs_bad(void **state)
{
	(void)state;
	struct kmb_initramfs *ir = NULL;
	char *err = NULL, *p;
	static const struct file one[] = {{"a", "b"}};

	write_cpio("ok.cpio", one, 1, ARCHIVE_FILTER_NONE);
	puts_("junk", "this is no archive at all, not even compressed");
	concat("bad.img", (const char *const[]){"ok.cpio", "junk", NULL});
	p = unit_path("bad.img");
	assert_int_equal(kmb_initramfs_open(p, &ir, &err), -EBADMSG);
	assert_null(ir);
	assert_non_null(strstr(err, "bad.img"));
	assert_non_null(strstr(err, "segment 1"));
	free(err);
	free(p);

	p = unit_path("no-such.img");
	assert_int_equal(kmb_initramfs_open(p, &ir, &err), -ENOENT);
	free(err);
	free(p);
}

static void test_initramfs_compare(void **state)
{
	(void)state;
	char *obj = build_fake_module(), *err = NULL;
	struct kmb_modfile *m;
	struct kmb_vkernel *vk = kmb_vkernel_new("6.1.0-56-amd64");
	struct kmb_findings f = {0};
	struct kmb_vsubject s = {.kernel = "6.1.0-56-amd64", .module = "fake_mod"};
	struct kmb_initramfs_entry e = {.name = "lib/modules/6.1.0-56-amd64/extra/fake.ko",
					.regular = true};
	size_t len;
	unsigned char *plain = slurp("fake.ko", &len), *xz;

	assert_int_equal(kmb_modfile_open(obj, &m, &err), 0);
	/* Identical, plain or compressed in the image. */
	kmb_verify_initramfs_module(vk, "/boot/initrd.img", true, &e, plain, len, m, "why", &s, &f);
	write_raw("fake.xz", plain, len, ARCHIVE_FILTER_XZ);
	size_t xl;
	xz = slurp("fake.xz", &xl);
	kmb_verify_initramfs_module(vk, "/boot/initrd.img", true, &e, xz, xl, m, NULL, &s, &f);
	assert_int_equal(f.n, 0);

	/* Stale copy: a warning, an error when the module is needed to boot. */
	plain[len / 2] ^= 1;
	kmb_verify_initramfs_module(vk, "/boot/initrd.img", true, &e, plain, len, m, NULL, &s, &f);
	assert_int_equal(kmb_findings_count(&f, KMB_VC_INITRAMFS, KMB_VS_WARN), 1);
	assert_int_equal(kmb_findings_exit(&f), 1);
	kmb_verify_initramfs_module(vk, "/boot/initrd.img", true, &e, plain, len, m, "root fs", &s,
				    &f);
	assert_int_equal(kmb_findings_exit(&f), 2);
	assert_non_null(strstr(f.v[1].msg, "different copy"));
	kmb_findings_free(&f);

	/* Missing: only matters when required. */
	kmb_verify_initramfs_module(vk, "/boot/initrd.img", true, NULL, NULL, 0, m, NULL, &s, &f);
	assert_int_equal(f.n, 0);
	kmb_verify_initramfs_module(vk, "/boot/initrd.img", true, NULL, NULL, 0, m,
				    "listed in /etc/initramfs-tools/modules", &s, &f);
	kmb_verify_initramfs_module(vk, "/boot/initrd.img", false, NULL, NULL, 0, m, "x", &s, &f);
	assert_int_equal(kmb_findings_count(&f, KMB_VC_INITRAMFS, KMB_VS_ERROR), 2);
	assert_non_null(strstr(f.v[0].msg, "missing from"));
	assert_non_null(strstr(f.v[1].msg, "does not exist"));
	kmb_findings_free(&f);
	kmb_vkernel_free(vk);
	kmb_modfile_free(m);
	free(plain);
	free(xz);
	free(obj);
}

/* ---- system configuration under a root --------------------------------------------------------
 */

static void test_system_config(void **state)
{
	(void)state;
	struct kmb_ctx ctx;
	struct kmb_bootcmd c;
	char *root = unit_path("root");

	unit_ctx_init(&ctx, root);

	kmb_verify_bootcmd_read(&ctx, "6.1.0-56-amd64", &c);
	assert_false(c.sig_enforce);
	assert_null(c.source);
	kmb_verify_bootcmd_free(&c);

	puts_("root/etc/default/grub",
	      "GRUB_DEFAULT=0\n"
	      "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
	      "GRUB_CMDLINE_LINUX=\"module.sig_enforce=1 lockdown=integrity\"\n");
	kmb_verify_bootcmd_read(&ctx, "6.1.0-56-amd64", &c);
	assert_true(c.sig_enforce);
	assert_string_equal(c.lockdown, "integrity");
	assert_string_equal(c.source, "/etc/default/grub");
	kmb_verify_bootcmd_free(&c);

	/* kernel-install's cmdline wins. */
	puts_("root/etc/kernel/cmdline", "root=/dev/sda1 module.sig_enforce=0\n");
	kmb_verify_bootcmd_read(&ctx, "6.1.0-56-amd64", &c);
	assert_false(c.sig_enforce);
	assert_null(c.lockdown);
	kmb_verify_bootcmd_free(&c);

	struct kmb_vpolicy p;
	puts_("root/etc/modules", "# comment\nloop\nhello-world max=3\n");
	puts_("root/etc/modules-load.d/zfs.conf", "; comment\nzfs\n");
	puts_("root/usr/lib/sysctl.d/50-x.conf", "kernel.modules_disabled = 1\n");
	kmb_vpolicy_read(&ctx, &p);
	assert_true(kmb_strv_contains(&p.load, "hello_world"));
	assert_true(kmb_strv_contains(&p.load, "zfs"));
	assert_false(kmb_strv_contains(&p.load, "max=3"));
	assert_string_equal(p.modules_disabled, "/usr/lib/sysctl.d/50-x.conf");
	struct kmb_findings f = {0};
	struct kmb_vsubject sys = {.kernel = "k"};
	kmb_verify_policy_system(&p, &sys, &f);
	assert_int_equal(kmb_findings_count(&f, KMB_VC_POLICY, KMB_VS_WARN), 1);
	kmb_findings_free(&f);
	kmb_vpolicy_free(&p);
	/* /etc/sysctl.conf is read last and turns it off again. */
	puts_("root/etc/sysctl.conf", "kernel.modules_disabled=0\n");
	kmb_vpolicy_read(&ctx, &p);
	assert_null(p.modules_disabled);
	kmb_vpolicy_free(&p);

	struct kmb_initrd_req r;
	puts_("root/etc/initramfs-tools/modules", "# list\nhello-world\n\nraid1 opt=1\n");
	puts_("root/etc/dracut.conf.d/kmb.conf", "add_drivers+=\" nvme  ext4 \"\n");
	puts_("root/etc/fstab", "# fs\nrpool/ROOT / zfs defaults 0 0\n");
	kmb_initrd_req_read(&ctx, &r);
	assert_string_equal(kmb_initrd_req_why(&r, "hello_world"),
			    "listed in /etc/initramfs-tools/modules");
	assert_non_null(kmb_initrd_req_why(&r, "raid1"));
	assert_non_null(strstr(kmb_initrd_req_why(&r, "nvme"), "dracut.conf.d/kmb.conf"));
	assert_non_null(kmb_initrd_req_why(&r, "ext4"));
	assert_non_null(strstr(kmb_initrd_req_why(&r, "zfs"), "root file system"));
	assert_null(kmb_initrd_req_why(&r, "opt=1"));
	kmb_initrd_req_free(&r);

	/* The boot loader's default kernel, else the newest installed. */
	assert_null(kmb_verify_default_kernel(&ctx));
	char *d = unit_path("root/lib/modules/6.1.0-9-amd64");
	unit_mkdir(d);
	free(d);
	d = unit_path("root/lib/modules/6.1.0-10-amd64");
	unit_mkdir(d);
	free(d);
	char *k = kmb_verify_default_kernel(&ctx);
	assert_string_equal(k, "6.1.0-10-amd64");
	free(k);
	puts_("root/boot/grub/grub.cfg",
	      "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz-6.1.0-9-amd64 "
	      "root=UUID=x ro quiet\n}\n");
	k = kmb_verify_default_kernel(&ctx);
	assert_string_equal(k, "6.1.0-9-amd64");
	free(k);
	puts_("root/etc/default/grub", "GRUB_DEFAULT=saved\n");
	puts_("root/boot/grub/grubenv", "# GRUB Environment Block\nsaved_entry=gnulinux-advanced-"
					"abc>gnulinux-6.1.0-10-amd64-advanced-abc\n");
	k = kmb_verify_default_kernel(&ctx);
	assert_string_equal(k, "6.1.0-10-amd64");
	free(k);

	char *img = kmb_verify_initrd_path(&ctx, "6.1.0-10-amd64");
	assert_non_null(strstr(img, "/boot/initrd.img-6.1.0-10-amd64"));
	free(img);
	kmb_ctx_free(&ctx);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modfile_sections),
		cmocka_unit_test(test_modfile_compressed_and_signed),
		cmocka_unit_test(test_modfile_bad_input),
		cmocka_unit_test(test_initramfs_segments),
		cmocka_unit_test(test_initramfs_bad),
		cmocka_unit_test(test_initramfs_compare),
		cmocka_unit_test(test_system_config),
	};
	return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
