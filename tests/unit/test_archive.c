// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Secure extraction: archives are written at test time with libarchive's writer (the same
 * shapes an attacker could craft with tar/ar), then extracted with kmb_archive_*.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include <archive.h>
#include <archive_entry.h>

#include "base/archive.h"
#include "base/util.h"

struct ent {
	const char *name;
	char type;	  /* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' char device */
	const char *data; /* file content, link target */
	int mode;
};

static void add_entries(struct archive *a, const struct ent *ents)
{
	for (const struct ent *e = ents; e->name; e++) {
		struct archive_entry *ae = archive_entry_new();
		size_t len = 0;
		archive_entry_set_pathname(ae, e->name);
		archive_entry_set_mtime(ae, 1700000000, 0);
		switch (e->type) {
		case 'f':
			len = strlen(e->data);
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)len);
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e->data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e->data);
			break;
		case 'c':
			archive_entry_set_filetype(ae, AE_IFCHR);
			archive_entry_set_rdev(ae, makedev(1, 3));
			break;
		}
		archive_entry_set_perm(ae, e->mode ? e->mode : (e->type == 'd' ? 0755 : 0644));
		assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
		if (len)
			assert_int_equal(archive_write_data(a, e->data, len), (la_ssize_t)len);
		archive_entry_free(ae);
	}
}

/* Write a tar (filter: 'g' gzip, 'x' xz, 0 none) or zip ('z') archive. */
static char *make_archive(const char *name, char kind, const struct ent *ents)
{
	char *path = unit_path(name);
	struct archive *a = archive_write_new();

	if (kind == 'z') {
		archive_write_set_format_zip(a);
	} else {
		archive_write_set_format_pax_restricted(a);
		if (kind == 'g')
			archive_write_add_filter_gzip(a);
		else if (kind == 'x')
			archive_write_add_filter_xz(a);
	}
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	add_entries(a, ents);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

static char *read_text(const char *path)
{
	char *s = NULL;
	assert_int_equal(kmb_read_file(path, &s, NULL), 0);
	return s;
}

static void assert_text(const char *dir, const char *rel, const char *want)
{
	char *p = kmb_xasprintf("%s/%s", dir, rel);
	char *s = read_text(p);
	assert_string_equal(s, want);
	free(s);
	free(p);
}

static void test_extract_ok(void **state)
{
	(void)state;
	const struct ent ents[] = {
		{"./pkg/", 'd', NULL, 0},
		{"./pkg/dkms.conf", 'f', "PACKAGE_NAME=x\n", 0},
		{"pkg//src/./a.c", 'f', "int a;\n", 04755},
		{"pkg/link", 'l', "src/a.c", 0},
		{"pkg/up", 'l', "../pkg/dkms.conf", 0},
		{"pkg/hard", 'h', "pkg/dkms.conf", 0},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	char *arc = make_archive("ok.tar.gz", 'g', ents);
	char *dest = unit_path("ok-out/sub");

	assert_int_equal(kmb_archive_extract(arc, dest, err, sizeof(err)), 0);
	assert_text(dest, "pkg/dkms.conf", "PACKAGE_NAME=x\n");
	assert_text(dest, "pkg/link", "int a;\n");
	assert_text(dest, "pkg/up", "PACKAGE_NAME=x\n");
	assert_text(dest, "pkg/hard", "PACKAGE_NAME=x\n");

	struct stat st;
	char *p = kmb_xasprintf("%s/pkg/src/a.c", dest);
	assert_int_equal(stat(p, &st), 0);
	/* setuid dropped, rwx kept, mtime kept. */
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_mtime, 1700000000);
	free(p);
	free(arc);
	free(dest);
}

static void test_zip_and_xz(void **state)
{
	(void)state;
	const struct ent ents[] = {
		{"m/Makefile", 'f', "obj-m := m.o\n", 0},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	char *z = make_archive("m.zip", 'z', ents), *x = make_archive("m.tar.xz", 'x', ents);
	char *d1 = unit_path("zip-out"), *d2 = unit_path("xz-out");

	assert_int_equal(kmb_archive_extract(z, d1, err, sizeof(err)), 0);
	assert_text(d1, "m/Makefile", "obj-m := m.o\n");
	assert_int_equal(kmb_archive_extract(x, d2, err, sizeof(err)), 0);
	assert_text(d2, "m/Makefile", "obj-m := m.o\n");
	free(z);
	free(x);
	free(d1);
	free(d2);
}

/* One bad entry after good ones: error names the entry; the created dest is gone. */
static void expect_refused(const char *name, const struct ent *ents, const char *bad_entry,
			   const char *reason)
{
	char err[512];
	char *arc = make_archive(name, 'g', ents);
	char *dest = kmb_xasprintf("%s/out-%s", unit_tmp, name);
	int r = kmb_archive_extract(arc, dest, err, sizeof(err));

	print_message("%s\n", err);
	assert_int_equal(r, -EINVAL);
	assert_non_null(strstr(err, arc));
	assert_non_null(strstr(err, bad_entry));
	assert_non_null(strstr(err, reason));
	assert_null(strchr(err, '\n'));
	assert_false(kmb_exists(dest));
	free(arc);
	free(dest);
}

static void test_dotdot(void **state)
{
	(void)state;
	const struct ent ents[] = {
		{"a/ok", 'f', "x", 0},
		{"a/../../evil", 'f', "x", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("dotdot.tgz", ents, "a/../../evil", "'..'");
	/* Nothing was written next to the destination either. */
	char *p = unit_path("evil");
	assert_false(kmb_exists(p));
	free(p);
}

static void test_absolute(void **state)
{
	(void)state;
	char *abs = unit_path("abs-target");
	const struct ent ents[] = {
		{"ok", 'f', "x", 0},
		{abs, 'f', "x", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("abs.tgz", ents, abs, "absolute path");
	assert_false(kmb_exists(abs));
	free(abs);
}

static void test_symlink_escape(void **state)
{
	(void)state;
	const struct ent up[] = {
		{"d/x", 'l', "../../etc/passwd", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("symup.tgz", up, "d/x", "leaves the destination");
	const struct ent abs[] = {
		{"x", 'l', "/etc/passwd", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("symabs.tgz", abs, "x", "absolute");
	/* Each link alone stays inside; together "e" resolves to dest/.. */
	const struct ent chain[] = {
		{"s", 'l', ".", 0},
		{"e", 'l', "s/..", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("symchain.tgz", chain, "e", "outside");
	/* Writing through a symlink that points into the tree is also refused by libarchive. */
	const struct ent through[] = {
		{"dir/", 'd', NULL, 0},
		{"s", 'l', "dir", 0},
		{"s/file", 'f', "x", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("symthrough.tgz", through, "s/file", "symlink");
}

static void test_hardlink_and_device(void **state)
{
	(void)state;
	const struct ent hl[] = {
		{"h", 'h', "../outside", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("hard.tgz", hl, "h", "hard link target");
	const struct ent hl2[] = {
		{"dir/", 'd', NULL, 0},
		{"s", 'l', "dir", 0},
		{"h", 'h', "s/x", 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("hard2.tgz", hl2, "h", "through a symlink");
	const struct ent dev[] = {
		{"null", 'c', NULL, 0},
		{NULL, 0, NULL, 0},
	};
	expect_refused("dev.tgz", dev, "null", "device");
}

static void expect_corrupt(const char *arc)
{
	char err[512];
	char *dest = kmb_xasprintf("%s.out", arc);
	int r = kmb_archive_extract(arc, dest, err, sizeof(err));

	assert_true(r < 0);
	assert_non_null(strstr(err, arc));
	assert_null(strchr(err, '\n'));
	assert_false(kmb_exists(dest));
	free(dest);
}

static void test_corrupt(void **state)
{
	(void)state;
	static char big[200000];
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + (i * 7919) % 26);
	const struct ent ents[] = {
		{"a", 'f', "first", 0},
		{"big", 'f', big, 0},
		{NULL, 0, NULL, 0},
	};
	char *arc = make_archive("trunc.tar.gz", 'g', ents);
	struct stat st;
	assert_int_equal(stat(arc, &st), 0);
	assert_int_equal(truncate(arc, st.st_size / 2), 0);
	expect_corrupt(arc);

	char *garbage = unit_path("garbage.tar");
	char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	unit_write(garbage, junk, sizeof(junk), 0644);
	expect_corrupt(garbage);

	char *empty = unit_path("empty.tar");
	unit_write(empty, "", 0, 0644);
	expect_corrupt(empty);

	char *missing = unit_path("no-such.tar");
	char err[256];
	char *dest = unit_path("no-such.out");
	assert_int_equal(kmb_archive_extract(missing, dest, err, sizeof(err)), -ENOENT);
	assert_false(kmb_exists(dest));
	free(dest);
	free(arc);
	free(garbage);
	free(empty);
	free(missing);
}

/* An existing destination keeps what it had; only what this call created is removed. */
static void test_rollback_existing(void **state)
{
	(void)state;
	const struct ent ents[] = {
		{"keep/new.txt", 'f', "new", 0},
		{"fresh/a/b.txt", 'f', "b", 0},
		{"bad", 'l', "../../x", 0},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	char *arc = make_archive("rollback.tgz", 'g', ents);
	char *dest = unit_path("existing");
	char *keep = unit_path("existing/keep/old.txt");

	unit_write(keep, "old", 3, 0644);
	assert_int_equal(kmb_archive_extract(arc, dest, err, sizeof(err)), -EINVAL);
	assert_true(kmb_exists(keep));
	char *n1 = unit_path("existing/keep/new.txt"), *n2 = unit_path("existing/fresh");
	assert_false(kmb_exists(n1));
	assert_false(kmb_exists(n2));
	free(n1);
	free(n2);
	free(arc);
	free(dest);
	free(keep);
}

/* A .deb: ar with debian-binary, control.tar.xz, data.tar.xz. */
static char *make_deb(const char *name, const struct ent *data, bool with_data)
{
	char *datapath = kmb_xasprintf("%s/%s.data.tar.xz", unit_tmp, name);
	char *path = unit_path(name);
	struct archive *t = archive_write_new();

	archive_write_set_format_gnutar(t);
	archive_write_add_filter_xz(t);
	assert_int_equal(archive_write_open_filename(t, datapath), ARCHIVE_OK);
	add_entries(t, data);
	archive_write_close(t);
	archive_write_free(t);

	char *blob;
	size_t blen;
	assert_int_equal(kmb_read_file(datapath, &blob, &blen), 0);
	struct archive *a = archive_write_new();
	archive_write_set_format_ar_svr4(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	struct {
		const char *n;
		const char *d;
		size_t l;
	} mem[] = {
		{"debian-binary", "2.0\n", 4},
		{"control.tar.xz", "not read", 8},
		{"data.tar.xz", blob, blen},
	};
	for (size_t i = 0; i < (with_data ? 3u : 2u); i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, mem[i].n);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, (la_int64_t)mem[i].l);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, mem[i].d, mem[i].l), (la_ssize_t)mem[i].l);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	free(blob);
	free(datapath);
	return path;
}

static void test_deb(void **state)
{
	(void)state;
	const struct ent data[] = {
		{"./", 'd', NULL, 0},
		{"./usr/src/linux-headers-K/Makefile", 'f', "include x\n", 0},
		{"./usr/src/linux-headers-K/scripts", 'l', "../../lib/linux-kbuild/scripts", 0},
		{"./lib/modules/K/build", 'l', "/usr/src/linux-headers-K", 0},
		{"./usr/lib/linux-kbuild/scripts/fixdep", 'f', "ELF", 0755},
		{NULL, 0, NULL, 0},
	};
	char err[512], tgt[PATH_MAX];
	char *deb = make_deb("h.deb", data, true);
	char *dest = unit_path("deb-out");

	assert_int_equal(kmb_archive_extract_deb_data(deb, dest, err, sizeof(err)), 0);
	char *build = kmb_xasprintf("%s/lib/modules/K/build", dest);
	ssize_t n = readlink(build, tgt, sizeof(tgt) - 1);
	assert_true(n > 0);
	tgt[n] = '\0';
	assert_string_equal(tgt, "../../../usr/src/linux-headers-K");
	assert_text(dest, "lib/modules/K/build/Makefile", "include x\n");
	assert_text(dest, "usr/src/linux-headers-K/scripts/fixdep", "ELF");

	/* The same payload as a plain tarball is refused: absolute symlink target. */
	char *nodata = make_deb("nodata.deb", data, false);
	char *d2 = unit_path("deb-out2");
	assert_int_equal(kmb_archive_extract_deb_data(nodata, d2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no data.tar"));
	assert_false(kmb_exists(d2));

	/* Not an ar archive at all. */
	assert_true(kmb_archive_extract_deb_data(dest /* a dir */, d2, err, sizeof(err)) < 0);
	assert_false(kmb_exists(d2));
	free(build);
	free(deb);
	free(nodata);
	free(dest);
	free(d2);
}

static void test_deb_escape(void **state)
{
	(void)state;
	const struct ent data[] = {
		{"./usr/ok", 'f', "x", 0},
		{"./usr/evil", 'l', "/../../etc", 0},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	char *deb = make_deb("evil.deb", data, true);
	char *dest = unit_path("deb-evil");

	assert_int_equal(kmb_archive_extract_deb_data(deb, dest, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "usr/evil"));
	assert_false(kmb_exists(dest));
	free(deb);
	free(dest);
}

static void test_raw(void **state)
{
	(void)state;
	const char *text = "Package: linux-headers-K\nVersion: 1\n\n";
	char err[256];
	char *out;
	size_t len;

	for (int i = 0; i < 3; i++) {
		char *p = kmb_xasprintf("%s/Packages.%d", unit_tmp, i);
		struct archive *a = archive_write_new();
		archive_write_set_format_raw(a);
		if (i == 1)
			archive_write_add_filter_gzip(a);
		else if (i == 2)
			archive_write_add_filter_xz(a);
		assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_pathname(ae, "Packages");
		archive_entry_set_size(ae, (la_int64_t)strlen(text));
		archive_write_header(a, ae);
		archive_write_data(a, text, strlen(text));
		archive_entry_free(ae);
		archive_write_close(a);
		archive_write_free(a);

		assert_int_equal(kmb_archive_read_raw(p, 1 << 20, &out, &len, err, sizeof(err)), 0);
		assert_int_equal(len, strlen(text));
		assert_string_equal(out, text);
		free(out);
		/* The size bound holds. */
		assert_int_equal(kmb_archive_read_raw(p, 10, &out, &len, err, sizeof(err)), -EFBIG);
		assert_non_null(strstr(err, p));
		if (i == 2) {
			/* A truncated xz stream is an error, not a short read. */
			struct stat st;
			stat(p, &st);
			assert_int_equal(truncate(p, st.st_size - 20), 0);
			assert_int_equal(
				kmb_archive_read_raw(p, 1 << 20, &out, &len, err, sizeof(err)),
				-EIO);
		}
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract_ok),
		cmocka_unit_test(test_zip_and_xz),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_symlink_escape),
		cmocka_unit_test(test_hardlink_and_device),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_rollback_existing),
		cmocka_unit_test(test_deb),
		cmocka_unit_test(test_deb_escape),
		cmocka_unit_test(test_raw),
	};
	return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
