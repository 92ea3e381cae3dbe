// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The parsing and decision parts of kernel headers handling: Debian versions and Depends,
 * Packages lookups, the XML reader for RPM metadata, the Makefile fix-up, completeness checks
 * and find over a sandbox root. Network and archives are covered by the integration tests.
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
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "kernel/headers.h"
#include "base/kmb.h"
#include "kernel/repo_deb.h"
#include "kernel/repo_rpm.h"
#include "base/util.h"

static void test_vercmp(void **state)
{
	(void)state;
	assert_true(kmb_deb_vercmp("6.1.192-2", "6.1.190-1") > 0);
	assert_true(kmb_deb_vercmp("6.1.190-1", "6.1.192-2") < 0);
	assert_int_equal(kmb_deb_vercmp("6.1.190-1", "6.1.190-1"), 0);
	assert_true(kmb_deb_vercmp("1.0~rc1-1", "1.0-1") < 0);
	assert_true(kmb_deb_vercmp("1:0.1", "2.0") > 0);
	assert_true(kmb_deb_vercmp("1.0a", "1.0") > 0);
	assert_true(kmb_deb_vercmp("1.0+b1", "1.0") > 0);
	assert_true(kmb_deb_vercmp("1.10", "1.9") > 0);
	assert_true(kmb_deb_vercmp("1.0-10", "1.0-9") > 0);
	assert_true(kmb_deb_version_satisfies("6.1.192-2", ">=", "6.1.190-1"));
	assert_false(kmb_deb_version_satisfies("6.1.190-1", ">=", "6.1.192-2"));
	assert_true(kmb_deb_version_satisfies("6.1.190-1", "=", "6.1.190-1"));
	assert_false(kmb_deb_version_satisfies("6.1.190-2", "=", "6.1.190-1"));
	assert_true(kmb_deb_version_satisfies("1", "<<", "2"));
	assert_false(kmb_deb_version_satisfies("2", ">>", "2"));
	assert_true(kmb_deb_version_satisfies("2", "<=", "2"));
	assert_false(kmb_deb_version_satisfies("2", "!=", "2"));
	assert_true(kmb_deb_version_satisfies("2", NULL, NULL));
}

static void test_depends(void **state)
{
	(void)state;
	struct kmb_deb_dep *d;
	size_t n;

	assert_int_equal(kmb_deb_parse_depends("linux-headers-6.1.0-56-common (= 6.1.192-2), "
					       "linux-kbuild-6.1 (>= 6.1.192-2), "
					       "linux-compiler-gcc-12-x86",
					       &d, &n),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(d[0].name, "linux-headers-6.1.0-56-common");
	assert_string_equal(d[0].op, "=");
	assert_string_equal(d[0].version, "6.1.192-2");
	assert_string_equal(d[1].op, ">=");
	assert_string_equal(d[2].name, "linux-compiler-gcc-12-x86");
	assert_null(d[2].op);
	kmb_deb_deps_free(d, n);

	/* First alternative, arch qualifiers and old-style operators. */
	assert_int_equal(
		kmb_deb_parse_depends(" python3:any (> 3.11) | python3-x ,libc6 (<2.40)", &d, &n),
		0);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].name, "python3");
	assert_string_equal(d[0].op, ">=");
	assert_string_equal(d[1].name, "libc6");
	assert_string_equal(d[1].op, "<=");
	assert_string_equal(d[1].version, "2.40");
	kmb_deb_deps_free(d, n);

	assert_int_equal(kmb_deb_parse_depends("a (>= 1", &d, &n), -EBADMSG);
	assert_int_equal(n, 0);
	assert_int_equal(kmb_deb_parse_depends("", &d, &n), 0);
	assert_int_equal(n, 0);
	free(d);
}

#define SHA_A "8ee16845c79b34f9a170fc2b04ddef5b9243d5bbf174ec8e3a9f1245826f0f17"
#define SHA_B "2e3acfa853c554b5c5e658190d1dd9b79d00e12175dffe172716ff52889b24fc"

static void test_index_find(void **state)
{
	(void)state;
	const char *text = "Package: foo-bar\nVersion: 9\nFilename: pool/f/foo-bar_9.deb\n"
			   "Size: 1\nSHA256: " SHA_A "\n\n"
			   "Package: foo\nVersion: 1.0-1\nArchitecture: amd64\n"
			   "Depends: bar (>= 1)\nFilename: pool/f/foo_1.0-1.deb\nSize: 100\n"
			   "SHA256: " SHA_A "\n\n"
			   "Package: foo\nVersion: 1.2-1\nArchitecture: amd64\n"
			   "Filename: pool/f/foo_1.2-1.deb\nSize: 120\nSHA256: " SHA_B "\n\n"
			   "Package: evil\nVersion: 1\nFilename: ../../etc/passwd\nSize: 1\n"
			   "SHA256: " SHA_A "\n\n"
			   "Package: nosum\nVersion: 1\nFilename: pool/n.deb\nSize: 1\n";
	struct kmb_deb_index idx = {
		.mirror = (char *)"http://m/debian", .text = (char *)text, .len = strlen(text)};
	struct kmb_deb_pkg p;

	/* Highest version wins; a longer name sharing the prefix is not a match. */
	assert_int_equal(kmb_deb_index_find(&idx, "foo", NULL, NULL, &p), 0);
	assert_string_equal(p.version, "1.2-1");
	assert_string_equal(p.sha256, SHA_B);
	assert_int_equal(p.size, 120);
	assert_string_equal(p.url, "http://m/debian/pool/f/foo_1.2-1.deb");
	kmb_deb_pkg_free(&p);
	assert_int_equal(kmb_deb_index_find(&idx, "foo", "=", "1.0-1", &p), 0);
	assert_string_equal(p.version, "1.0-1");
	assert_string_equal(p.depends, "bar (>= 1)");
	kmb_deb_pkg_free(&p);
	assert_int_equal(kmb_deb_index_find(&idx, "foo", ">>", "1.2-1", &p), -ENOENT);
	assert_int_equal(kmb_deb_index_find(&idx, "fo", NULL, NULL, &p), -ENOENT);
	assert_int_equal(kmb_deb_index_find(&idx, "evil", NULL, NULL, &p), -EBADMSG);
	assert_int_equal(kmb_deb_index_find(&idx, "nosum", NULL, NULL, &p), -EBADMSG);
}

static char *xml_attr_of(const char *doc, const char *tag, const char *attr)
{
	struct kmb_xml x;
	struct kmb_xml_tok t;

	kmb_xml_init(&x, doc, strlen(doc));
	while (kmb_xml_next(&x, &t) != KMB_XML_EOF) {
		if (t.ev == KMB_XML_ERROR)
			return NULL;
		if (t.ev == KMB_XML_START && t.name_len == strlen(tag) &&
		    !memcmp(t.name, tag, t.name_len))
			return kmb_xml_attr(&t, attr);
	}
	return NULL;
}

static const char *xml_error_of(const char *doc)
{
	struct kmb_xml x;
	struct kmb_xml_tok t;

	kmb_xml_init(&x, doc, strlen(doc));
	for (;;) {
		enum kmb_xml_ev ev = kmb_xml_next(&x, &t);
		if (ev == KMB_XML_EOF)
			return NULL;
		if (ev == KMB_XML_ERROR)
			return x.error;
	}
}

static void test_xml(void **state)
{
	(void)state;
	const char *doc = "<?xml version='1.0'?><!-- c --><a><rpm:b x = 'q&amp;&#x41;&#66;' "
			  "href=\"p/k.rpm\"/><c>t<![CDATA[<raw>]]></c></a>";
	char *v = xml_attr_of(doc, "b", "x");
	assert_string_equal(v, "q&AB");
	free(v);
	v = xml_attr_of(doc, "b", "href");
	assert_string_equal(v, "p/k.rpm");
	free(v);
	assert_null(xml_attr_of(doc, "b", "nope"));
	assert_null(xml_error_of(doc));

	/* Depth tracking: self-closing elements do not nest. */
	struct kmb_xml x;
	struct kmb_xml_tok t;
	int depths[8], n = 0;
	kmb_xml_init(&x, doc, strlen(doc));
	while (kmb_xml_next(&x, &t) != KMB_XML_EOF && n < 8)
		if (t.ev == KMB_XML_START)
			depths[n++] = t.depth;
	assert_int_equal(n, 3);
	assert_int_equal(depths[0], 1);
	assert_int_equal(depths[1], 2);
	assert_int_equal(depths[2], 2);

	char *s;
	const char *in = "a&lt;b&gt;&quot;&apos;&#233;";
	s = kmb_xml_decode(in, in + strlen(in));
	assert_string_equal(s, "a<b>\"'\xc3\xa9");
	free(s);
	const char *bad = "a&bogus;";
	assert_null(kmb_xml_decode(bad, bad + strlen(bad)));
	const char *bad2 = "a&#0;";
	assert_null(kmb_xml_decode(bad2, bad2 + strlen(bad2)));

	assert_string_equal(xml_error_of("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"),
			    "DOCTYPE/entity declarations are not accepted");
	assert_string_equal(xml_error_of("<a><b></a>"), "unexpected end of document");
	assert_string_equal(xml_error_of("<a x='1></a>"), "unterminated attribute value");
	assert_string_equal(xml_error_of("</a>"), "end tag without a start tag");
	assert_string_equal(xml_error_of("<a><!-- open"), "unterminated comment");
	assert_string_equal(xml_error_of("<a <b>"), "'<' inside a tag");
}

static void put(const char *rel, const char *text, mode_t mode)
{
	char *p = unit_path(rel);

	unit_write(p, text, strlen(text), mode);
	free(p);
}

static void test_fix_makefile(void **state)
{
	(void)state;
	char err[512] = "";
	char *out, *p;

	put("t/usr/src/linux-headers-K-amd64/Makefile",
	    "# comment\ninclude /usr/src/linux-headers-K-common/Makefile\n", 0644);
	put("t/usr/src/linux-headers-K-common/Makefile", "all:\n", 0644);
	char *tree = unit_path("t");
	assert_int_equal(kmb_headers_fix_makefile(tree, "usr/src/linux-headers-K-amd64/Makefile",
						  err, sizeof(err)),
			 0);
	p = kmb_xasprintf("%s/usr/src/linux-headers-K-amd64/Makefile", tree);
	assert_int_equal(kmb_read_file(p, &out, NULL), 0);
	assert_string_equal(out, "# comment\ninclude $(dir $(lastword $(MAKEFILE_LIST)))"
				 "../linux-headers-K-common/Makefile\n");
	free(out);

	/* An include no fetched package provides is an error naming it. */
	put("t/usr/src/linux-headers-K-amd64/Makefile", "include /usr/src/elsewhere/Makefile\n",
	    0644);
	assert_int_equal(kmb_headers_fix_makefile(tree, "usr/src/linux-headers-K-amd64/Makefile",
						  err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "/usr/src/elsewhere/Makefile"));
	free(p);
	free(tree);
}

static void test_check_and_find(void **state)
{
	(void)state;
	struct kmb_headers_cand c = {0};
	struct kmb_headers_report rep;
	struct kmb_ctx ctx;
	char *dir = NULL, *miss;
	char *root = unit_path("root");
	const char *k = "6.1.0-1-test";
	char *hd = kmb_xasprintf("%s/usr/src/linux-headers-%s", root, k);

	unit_mkdir(hd);
	assert_false(kmb_headers_check(hd, &c));
	miss = kmb_headers_missing(&c);
	assert_string_equal(miss, "Makefile, .config, Module.symvers, scripts/basic/fixdep, "
				  "scripts/mod/modpost");
	free(miss);
	char *rel = kmb_xasprintf("root/usr/src/linux-headers-%s", k);
	char *f;
	const char *files[] = {"Makefile", "include/config/auto.conf", "Module.symvers"};
	for (size_t i = 0; i < 3; i++) {
		f = kmb_xasprintf("%s/%s", rel, files[i]);
		put(f, "x\n", 0644);
		free(f);
	}
	f = kmb_xasprintf("%s/scripts/basic/fixdep", rel);
	put(f, "#!/bin/sh\n", 0755);
	free(f);
	f = kmb_xasprintf("%s/scripts/mod/modpost", rel);
	put(f, "#!/bin/sh\n", 0644); /* not executable: not usable */
	free(f);
	assert_false(kmb_headers_check(hd, &c));
	miss = kmb_headers_missing(&c);
	assert_string_equal(miss, "scripts/mod/modpost");
	free(miss);
	f = kmb_xasprintf("%s/%s/scripts/mod/modpost", unit_tmp, rel);
	assert_int_equal(chmod(f, 0755), 0);
	free(f);
	assert_true(kmb_headers_check(hd, &c));

	/* find: an absolute build link in the sandbox resolves inside the sandbox. */
	char *mods = kmb_xasprintf("%s/lib/modules/%s", root, k);
	char *link = kmb_xasprintf("%s/build", mods);
	char *tgt = kmb_xasprintf("/usr/src/linux-headers-%s", k);
	unit_mkdir(mods);
	assert_int_equal(symlink(tgt, link), 0);
	assert_int_equal(kmb_ctx_init(&ctx, root), 0);
	assert_int_equal(kmb_headers_find(&ctx, k, &dir, &rep), 0);
	assert_int_equal(rep.best, 0);
	assert_string_equal(rep.c[0].layout, "build");
	assert_string_equal(rep.c[0].target, tgt);
	assert_string_equal(dir, hd);
	free(dir);
	kmb_headers_report_free(&rep);

	/* Dangling: the link stays, the tree goes. */
	assert_int_equal(kmb_rm_rf(hd), 0);
	assert_int_equal(kmb_headers_find(&ctx, k, &dir, &rep), -ENOENT);
	assert_null(dir);
	assert_true(rep.c[0].exists);
	assert_true(rep.c[0].dangling);
	assert_int_equal(rep.best, -1);
	kmb_headers_report_free(&rep);
	assert_int_equal(kmb_headers_find(&ctx, "../x", &dir, NULL), -EINVAL);

	/* Policy parsing. */
	enum kmb_headers_policy pol;
	char err[256];
	setenv("KMBUILD_HEADERS", "fetch", 1);
	assert_int_equal(kmb_headers_policy(&ctx, &pol, err, sizeof(err)), 0);
	assert_int_equal(pol, KMB_HEADERS_FETCH);
	setenv("KMBUILD_HEADERS", "bogus", 1);
	assert_int_equal(kmb_headers_policy(&ctx, &pol, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	unsetenv("KMBUILD_HEADERS");
	assert_int_equal(kmb_headers_policy(&ctx, &pol, err, sizeof(err)), 0);
	assert_int_equal(pol, KMB_HEADERS_PM_THEN_FETCH);
	/* A sandbox root never runs the package manager. */
	assert_int_equal(kmb_headers_install(&ctx, k, true, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "refusing"));

	kmb_ctx_free(&ctx);
	free(mods);
	free(link);
	free(tgt);
	free(rel);
	free(hd);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vercmp),	     cmocka_unit_test(test_depends),
		cmocka_unit_test(test_index_find),   cmocka_unit_test(test_xml),
		cmocka_unit_test(test_fix_makefile), cmocka_unit_test(test_check_and_find),
	};
	return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
