// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Templates: template.conf validation (every field, one-line errors naming file:line:key),
 * suggestions by edit distance, the mirror rewrite, NAME@VERSION's version rewrite, in-tree
 * detection from modules.order/modules.builtin and from the kernel configuration, and a whole
 * prepare/commit from a file:// tarball (libcurl + SHA256 + libarchive) into a sandbox cache.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "kernel/kernel.h"
#include "base/kmb.h"
#include "template/template.h"
#include "base/util.h"

#define SUM "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *good_conf = "# a comment\n"
			       "[template]\n"
			       "name = demo\n"
			       "version = 2.1\n"
			       "description = A demo module\n"
			       "homepage = https://example.org/demo\n"
			       "in-tree = demo other_mod\n"
			       "in-tree-config = CONFIG_DEMO\n"
			       "\n"
			       "[source upstream]\n"
			       "url = https://example.org/releases/demo-2.1.tar.gz?x=1\n"
			       "sha256 = " SUM "\n"
			       "size = 1234\n"
			       "note = the real one\n"
			       "\n"
			       "[source debian]\n"
			       "deb = demo-dkms\n"
			       "deb-version = 1:2.1-3~bpo12+1\n"
			       "suite = bookworm\n"
			       "sha256 = " SUM "\n"
			       "subdir = usr/src/demo-2.1\n"
			       "\n"
			       "[source shipped]\n"
			       "path = src\n";

static const char *good_def = "[package]\nname = demo\nversion = 2.1\n\n[module demo]\n"
			      "dest = /extra\n";

/* Write a template directory <unit_tmp>/<sub>/demo with conf and definition. */
static char *make_template(const char *sub, const char *conf, const char *def)
{
	char *dir = kmb_xasprintf("%s/%s/demo", unit_tmp, sub);
	char *p = kmb_xasprintf("%s/template.conf", dir);
	kmb_rm_rf(dir);
	unit_write_text(p, conf);
	free(p);
	p = kmb_xasprintf("%s/kmbuild.conf", dir);
	unit_write_text(p, def);
	free(p);
	p = kmb_xasprintf("%s/src/demo.c", dir);
	unit_write_text(p, "/* demo */\n");
	free(p);
	return dir;
}

static void test_load_good(void **state)
{
	(void)state;
	char err[512];
	struct kmb_template *t;
	char *dir = make_template("good", good_conf, good_def);

	assert_int_equal(kmb_template_load(dir, &t, err, sizeof(err)), 0);
	assert_string_equal(t->name, "demo");
	assert_string_equal(t->version, "2.1");
	assert_string_equal(t->description, "A demo module");
	assert_int_equal(t->in_tree.n, 2);
	assert_string_equal(t->in_tree.v[1], "other_mod");
	assert_string_equal(t->in_tree_config.v[0], "CONFIG_DEMO");
	assert_int_equal(t->n_src, 3);
	assert_int_equal(t->src[0].kind, KMB_TPL_TARBALL);
	assert_string_equal(t->src[0].file, "demo-2.1.tar.gz"); /* query string dropped */
	assert_int_equal(t->src[0].size, 1234);
	assert_int_equal(t->src[1].kind, KMB_TPL_DEB);
	assert_string_equal(t->src[1].deb_version, "1:2.1-3~bpo12+1");
	assert_int_equal(t->src[1].size, -1);
	assert_string_equal(t->src[1].subdir, "usr/src/demo-2.1");
	assert_int_equal(t->src[2].kind, KMB_TPL_LOCAL);
	assert_string_equal(t->pkg->name, "demo");
	assert_int_equal(t->pkg->n_modules, 1);

	char *url = kmb_template_source_url(t, &t->src[0], NULL);
	assert_string_equal(url, "https://example.org/releases/demo-2.1.tar.gz?x=1");
	free(url);
	url = kmb_template_source_url(t, &t->src[0], "http://127.0.0.1:8080/mirror//");
	assert_string_equal(url, "http://127.0.0.1:8080/mirror/demo/demo-2.1.tar.gz");
	free(url);
	kmb_template_free(t);
	free(dir);
}

/* Replace the first occurrence of from in good_conf. */
static char *mutate(const char *from, const char *to)
{
	const char *p = strstr(good_conf, from);
	assert_non_null(p);
	return kmb_xasprintf("%.*s%s%s", (int)(p - good_conf), good_conf, to, p + strlen(from));
}

static void test_load_bad(void **state)
{
	(void)state;
	static const struct {
		const char *from, *to, *want;
	} t[] = {
		{"name = demo\n", "", "template.conf: name: missing in [template]"},
		{"version = 2.1\n", "", "template.conf: version: missing in [template]"},
		{"description = A demo module\n", "", "description: missing in [template]"},
		{"homepage = https://example.org/demo\n", "", "homepage: missing in [template]"},
		{"homepage = https://", "homepage = ftp://", "template.conf:6: homepage: 'ftp://"},
		{"name = demo", "name = other",
		 "name: 'other' differs from the template's directory"},
		{"name = demo", "name = de mo", "template.conf:3: name: 'de mo' is not a valid"},
		{"version = 2.1", "version = 2.2", "version: '2.2' differs from version '2.1' in"},
		{"in-tree = demo other_mod", "in-tree = de/mo", "in-tree: 'de/mo' is not a module"},
		{"CONFIG_DEMO", "DEMO", "in-tree-config: 'DEMO' is not a CONFIG_ name"},
		{"sha256 = " SUM "\nsize", "size",
		 "template.conf:10: sha256: missing in [source up"},
		{"sha256 = 0123", "sha256 = x123", "template.conf:12: sha256: 'x123"},
		{"size = 1234", "size = -5",
		 "template.conf:13: size: '-5' is not a positive number"},
		{"url = https://", "url = gopher://", "template.conf:11: url: 'gopher://"},
		{"url = https://example.org/releases/demo-2.1.tar.gz?x=1",
		 "url = https://example.org/", "give file = NAME"},
		{"deb = demo-dkms", "deb = Demo_DKMS", "deb: 'Demo_DKMS' is not a Debian package"},
		{"deb-version = 1:2.1-3~bpo12+1\n", "", "deb-version: missing in [source debian]"},
		{"suite = bookworm\n", "", "suite: missing in [source debian]"},
		{"subdir = usr/src/demo-2.1", "subdir = usr/../../x",
		 "subdir: 'usr/../../x' must be"},
		{"path = src", "path = /etc", "path: '/etc' must be a relative path"},
		{"path = src", "path = nosuchdir", "path: "},
		{"path = src", "path = src\nsha256 = " SUM, "a path source takes only path"},
		{"deb = demo-dkms", "url = https://x.org/a.tgz\ndeb = demo-dkms",
		 "needs exactly one of url, deb or path (has 2)"},
		{"note = the real one", "colour = blue",
		 "template.conf:14: colour: unknown key in "
		 "[source upstream]"},
		{"[source debian]", "[source upstream]", "label 'upstream' used twice"},
		{"[source debian]", "[sauce debian]", "sauce debian: unknown section"},
		{"[template]", "[template", "malformed section header"},
		{"suite = bookworm", "suite = bookworm\nsuite = sid", "suite: given twice"},
		{"note = the real one", "note =", "note: empty value"},
		{"# a comment\n[template]\n", "orphan = 1\n[template]\n",
		 "orphan: outside a section"},
		{"[source upstream]", "[template]", "[template]: given twice"},
	};
	char err[512];
	struct kmb_template *tp;

	for (size_t i = 0; i < KMB_ARRAY_SIZE(t); i++) {
		char *conf = mutate(t[i].from, t[i].to);
		char *dir = make_template("bad", conf, good_def);
		int r = kmb_template_load(dir, &tp, err, sizeof(err));
		if (r != -EINVAL || !strstr(err, t[i].want) || strchr(err, '\n'))
			fail_msg("case %zu: r=%d err='%s' want '%s'", i, r, err, t[i].want);
		assert_null(tp);
		free(conf);
		free(dir);
	}
	/* A definition that does not load, and one without the template's version. */
	char *dir = make_template("bad", good_conf, "[package]\nname = demo\n");
	assert_int_equal(kmb_template_load(dir, &tp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "kmbuild.conf: version: missing in [package]"));
	free(dir);
	dir = unit_path("nothing");
	assert_int_equal(kmb_template_load(dir, &tp, err, sizeof(err)), -ENOENT);
	free(dir);
}

static void test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(kmb_edit_distance("wireguard", "wiregard"), 1);
	assert_int_equal(kmb_edit_distance("acpi-call", "acpi_call"), 0);
	assert_int_equal(kmb_edit_distance("ACPI_CALL", "acpi_call"), 0);
	assert_int_equal(kmb_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(kmb_edit_distance("", "abc"), 3);
	assert_int_equal(kmb_edit_distance("abc", ""), 3);
}

static void test_suggest(void **state)
{
	(void)state;
	static const char *const all[] = {"acpi_call",	   "hello",	   "jool",
					  "openvpn-dco",   "v4l2loopback", "wireguard",
					  "xtables-addons"};
	static const struct {
		const char *q, *first;
	} t[] = {{"wiregard", "wireguard"},
		 {"v4l2", "v4l2loopback"},
		 {"xtables", "xtables-addons"},
		 {"acpi-call", "acpi_call"},
		 {"openvpn", "openvpn-dco"},
		 {"jol", "jool"},
		 {"helo", "hello"},
		 {"qqqqqqqqqq", NULL},
		 {"zz", NULL}};
	struct kmb_strv names = {0};

	for (size_t i = 0; i < KMB_ARRAY_SIZE(all); i++)
		kmb_strv_push(&names, all[i]);
	for (size_t i = 0; i < KMB_ARRAY_SIZE(t); i++) {
		struct kmb_strv out = {0};
		kmb_template_suggest(&names, t[i].q, 3, &out);
		if (t[i].first) {
			if (!out.n || strcmp(out.v[0], t[i].first))
				fail_msg("%s: got %s, want %s", t[i].q,
					 out.n ? out.v[0] : "nothing", t[i].first);
		} else if (out.n) {
			fail_msg("%s: got %s, want nothing", t[i].q, out.v[0]);
		}
		assert_true(out.n <= 3);
		kmb_strv_free(&out);
	}
	kmb_strv_free(&names);
}

static void test_set_version(void **state)
{
	(void)state;
	const char *in =
		"[package]\nname = x\n  version   =  1.0\n[module version]\nlocation = v\n";
	char *out = kmb_template_set_version(in, "2.0");
	assert_string_equal(out, "[package]\nname = x\nversion = 2.0\n[module version]\n"
				 "location = v\n");
	free(out);
	assert_null(kmb_template_set_version("[package]\nname = x\n", "2.0"));
	assert_null(kmb_template_set_version("[module x]\nversion = 1\n", "2.0"));
}

static void test_names(void **state)
{
	(void)state;
	char *cat = unit_path("cat");
	char *p;
	static const char *const dirs[] = {"zeta", "alpha", "skeleton"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(dirs); i++) {
		p = kmb_xasprintf("%s/%s/%s", cat, dirs[i],
				  strcmp(dirs[i], "skeleton") ? "template.conf" : "README.md");
		unit_write_text(p, "x\n");
		free(p);
	}
	struct kmb_strv names = {0};
	assert_int_equal(kmb_template_names(cat, &names), 0);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.v[0], "alpha");
	assert_string_equal(names.v[1], "zeta");
	kmb_strv_free(&names);
	p = unit_path("none");
	assert_int_equal(kmb_template_names(p, &names), -ENOENT);
	free(p);
	free(cat);
}

static void test_in_tree(void **state)
{
	(void)state;
	char err[512];
	struct kmb_template *t;
	char *dir = make_template("intree", good_conf, good_def);
	assert_int_equal(kmb_template_load(dir, &t, err, sizeof(err)), 0);

	char *md = unit_path("lib/modules/9.9.9");
	char *names[] = {"CONFIG_DEMO"}, *values[] = {"m"};
	struct kmb_kernel k = {
		.release = "9.9.9", .arch = "x86_64", .modules_dir = md, .config_read = true};
	char *how;

	/* Nothing to look at: not in-tree. */
	assert_false(kmb_template_in_tree(t, &k, &how));
	assert_null(how);
	/* Only the configuration (headers, no modules): CONFIG_DEMO=m. */
	k.cfg_names = names;
	k.cfg_values = values;
	k.n_cfg = 1;
	assert_true(kmb_template_in_tree(t, &k, &how));
	assert_string_equal(how, "CONFIG_DEMO=m in the kernel's configuration");
	free(how);
	/* The kernel's lists win over the configuration: listed elsewhere = not there. */
	char *order = kmb_xasprintf("%s/modules.order", md);
	unit_write_text(order, "kernel/drivers/net/dummy.ko\n");
	assert_false(kmb_template_in_tree(t, &k, &how));
	unit_write_text(order, "kernel/drivers/net/dummy.ko\nkernel/drivers/misc/other-mod.ko\n");
	assert_true(kmb_template_in_tree(t, &k, &how));
	assert_string_equal(how, "kernel/drivers/misc/other-mod.ko (modules.order)");
	free(how);
	char *builtin = kmb_xasprintf("%s/modules.builtin", md);
	unit_write_text(builtin, "kernel/lib/demo.ko\n");
	assert_true(kmb_template_in_tree(t, &k, &how));
	assert_string_equal(how, "demo is built in (modules.builtin)");
	free(how);

	free(builtin);
	free(order);
	free(md);
	kmb_template_free(t);
	free(dir);
}

/* prepare from the cache: SHA256 re-checked, libarchive, the definition installed; a bad
 * cache entry is dropped and, with the source unreachable, a one-line error. (Downloads
 * through a real HTTP server are tests/integration/71 and 74.) */
static void test_prepare_commit(void **state)
{
	(void)state;
	char *root = unit_path("root");
	char *www = unit_path("www");
	char *src = kmb_xasprintf("%s/demo-2.1/demo.c", www);
	char *tarball = kmb_xasprintf("%s/demo-2.1.tar.gz", www);
	char err[1536], hex[65];

	unit_mkdir(root);
	unit_write_text(src, "/* the upstream source */\n");
	const char *argv[] = {"tar", "-C", www, "-czf", tarball, "demo-2.1", NULL};
	struct kmb_run r = {.argv = argv, .out_fd = -1, .in_fd = -1};
	assert_int_equal(kmb_run(&r), 0);
	assert_int_equal(kmb_sha256_file(tarball, hex), 0);
	char *conf = kmb_xasprintf("[template]\nname = demo\nversion = 2.1\ndescription = d\n"
				   "homepage = https://example.org\n\n[source up]\n"
				   "url = http://127.0.0.1:9/demo-2.1.tar.gz\nsha256 = %s\n",
				   hex);
	char *dir = make_template("prep", conf, good_def);
	struct kmb_template *t;
	assert_int_equal(kmb_template_load(dir, &t, err, sizeof(err)), 0);

	struct kmb_ctx ctx;
	setenv("KMBUILD_FETCH_RETRIES", "0", 1);
	assert_int_equal(kmb_ctx_init(&ctx, root), 0);
	ctx.verbosity = KMB_QUIET;
	struct kmb_tpl_prepare_opts o = {0};
	struct kmb_tpl_prepared p;
	char *cached = kmb_xasprintf("%s/var/cache/kmbuild/sources/demo-2.1.tar.gz", root);
	char *cdir = kmb_xasprintf("%s/var/cache/kmbuild/sources", root);
	unit_mkdir(cdir);
	free(cdir);
	assert_int_equal(kmb_copy_file_atomic(tarball, cached, 0644), 0);
	int rc = kmb_template_prepare(&ctx, t, &o, &p, err, sizeof(err));
	if (rc)
		fail_msg("prepare: %d %s", rc, err);
	char *f = kmb_xasprintf("%s/demo.c", p.tree);
	assert_true(kmb_exists(f));
	free(f);
	f = kmb_xasprintf("%s/kmbuild.conf", p.tree);
	char *text;
	assert_int_equal(kmb_read_file(f, &text, NULL), 0);
	assert_string_equal(text, good_def);
	free(text);
	free(f);
	assert_null(p.download);
	assert_non_null(strstr(p.origin, "cached, SHA256 verified"));
	assert_int_equal(kmb_template_commit(&p), 0); /* nothing downloaded: nothing to do */
	assert_true(kmb_exists(cached));
	char *work = kmb_xstrdup(p.work);
	kmb_tpl_prepared_free(&p);
	assert_false(kmb_exists(work));
	free(work);

	/* A wrong version without --source, and a cached file gone bad with no source left. */
	o.version = "3.0";
	assert_int_equal(kmb_template_prepare(&ctx, t, &o, &p, err, sizeof(err)),
			 KMB_EXIT_NOTFOUND);
	assert_non_null(strstr(err, "provides version 2.1 only"));
	kmb_tpl_prepared_free(&p);
	o.version = NULL;
	FILE *fp = fopen(cached, "a");
	fputs("junk", fp);
	fclose(fp);
	assert_int_equal(kmb_template_prepare(&ctx, t, &o, &p, err, sizeof(err)),
			 KMB_EXIT_NOTFOUND);
	assert_non_null(strstr(err, "demo: no source could be fetched: [source up]"));
	assert_false(kmb_exists(cached));
	kmb_tpl_prepared_free(&p);

	kmb_ctx_free(&ctx);
	kmb_template_free(t);
	free(cached);
	free(dir);
	free(conf);
	free(tarball);
	free(src);
	free(www);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_good),     cmocka_unit_test(test_load_bad),
		cmocka_unit_test(test_edit_distance), cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_set_version),   cmocka_unit_test(test_names),
		cmocka_unit_test(test_in_tree),	      cmocka_unit_test(test_prepare_commit),
	};
	return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
