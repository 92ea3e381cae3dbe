// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kernel's configuration table. A table sorted one way and searched another once excluded
 * r8168 ("CONFIG_PCI is not set") on a kernel with CONFIG_PCI=y: every CONFIG_* of a real,
 * full Debian auto.conf must be found with its value, and a small table with the names that
 * broke it must too.
 */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/kernel.h"
#include "base/util.h"

static void put(const char *path, const char *text)
{
	assert_int_equal(kmb_write_file_atomic(path, text, strlen(text), 0644), 0);
}

/* A kernel struct reading its configuration from headers dir `dir`. */
static struct kmb_kernel *kernel_with_headers(const char *dir)
{
	struct kmb_kernel *k = kmb_xcalloc(1, sizeof(*k));
	k->release = kmb_xstrdup("0.0.0-test");
	kmb_kernel_set_headers(k, dir);
	return k;
}

/* Names where one is the other plus a character below '=': the pairs that broke the search. */
static void test_prefix_names(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/kmb-test-kernel.XXXXXX";
	const char *tmpdir = mkdtemp(tmpl);
	assert_non_null(tmpdir);
	char *cfgdir = kmb_xasprintf("%s/h/include/config", tmpdir);
	char *auto_conf = kmb_xasprintf("%s/auto.conf", cfgdir);
	char *hdr = kmb_xasprintf("%s/h", tmpdir);

	assert_int_equal(kmb_mkdir_p(cfgdir, 0755), 0);
	put(auto_conf,
	    "CONFIG_PCI200SYN=m\nCONFIG_PCI=y\nCONFIG_USB4=m\nCONFIG_USB=m\n"
	    "CONFIG_USB4_NET=m\nCONFIG_X86_64=y\nCONFIG_CC_VERSION_TEXT=\"gcc-12 (x) 12\"\n"
	    "# CONFIG_FOO is not set\nCONFIG_A=1\nCONFIG_A0=2\nCONFIG_A-B=3\n");
	struct kmb_kernel *k = kernel_with_headers(hdr);
	assert_string_equal(kmb_kernel_config(k, "CONFIG_PCI"), "y");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_PCI200SYN"), "m");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_USB"), "m");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_USB4"), "m");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_USB4_NET"), "m");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_A"), "1");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_A0"), "2");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_A-B"), "3");
	assert_string_equal(kmb_kernel_config(k, "CONFIG_CC_VERSION_TEXT"), "gcc-12 (x) 12");
	assert_null(kmb_kernel_config(k, "CONFIG_FOO"));
	assert_null(kmb_kernel_config(k, "CONFIG_PC"));
	assert_null(kmb_kernel_config(k, "CONFIG_PCI2"));
	assert_string_equal(k->arch, "x86_64");
	kmb_kernel_free(k);
	kmb_rm_rf(tmpdir);
	free(cfgdir);
	free(auto_conf);
	free(hdr);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does this auto.conf hold a pair NAME / NAME<c>... with c < '=' (e.g. CONFIG_PCI and
 * CONFIG_PCI200SYN)? Only such a file can catch a sort that disagrees with the search. In
 * strcmp order the name right after NAME has the smallest such c, so neighbours suffice. */
static bool has_tricky_pair(const char *data)
{
	struct kmb_strv names = {0};
	bool found = false;

	for (const char *p = data; p && *p;) {
		const char *eq = strchr(p, '='), *nl = strchr(p, '\n');
		if (kmb_startswith(p, "CONFIG_") && eq && (!nl || eq < nl))
			kmb_strv_pushf(&names, "%.*s", (int)(eq - p), p);
		p = nl ? nl + 1 : NULL;
	}
	qsort(names.v, names.n, sizeof(char *), str_cmp);
	for (size_t i = 0; i + 1 < names.n && !found; i++) {
		size_t l = strlen(names.v[i]);
		found = !strncmp(names.v[i], names.v[i + 1], l) && names.v[i + 1][l] < '=';
	}
	kmb_strv_free(&names);
	return found;
}

/* The first installed headers tree whose auto.conf is a full distribution config (thousands of
 * options, and names that are prefixes of others): chosen by property, not by version. */
static char *find_full_headers(char **data)
{
	glob_t g;
	char *found = NULL;

	*data = NULL;
	if (glob("/usr/src/linux-headers-*/include/config/auto.conf", 0, NULL, &g) != 0)
		return NULL;
	for (size_t i = 0; i < g.gl_pathc && !found; i++) {
		char *d = NULL;
		size_t n = 0, lines = 0;
		if (kmb_read_file(g.gl_pathv[i], &d, &n) < 0)
			continue;
		for (char *p = d; (p = strstr(p, "\nCONFIG_")); p++)
			lines++;
		if (lines > 3000 && has_tricky_pair(d)) {
			found = kmb_xstrndup(g.gl_pathv[i],
					     strlen(g.gl_pathv[i]) -
						     strlen("/include/config/auto.conf"));
			*data = d;
		} else {
			free(d);
		}
	}
	globfree(&g);
	return found;
}

static void test_full_debian_config(void **state)
{
	(void)state;
	char *data = NULL, *save = NULL;
	char *hdr = find_full_headers(&data);
	size_t checked = 0;

	if (!hdr) {
		print_message("no full kernel config under /usr/src/linux-headers-*: skipped\n");
		skip();
	}
	struct kmb_kernel *k = kernel_with_headers(hdr);
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!kmb_startswith(line, "CONFIG_") || !eq)
			continue;
		*eq = '\0';
		char *want = eq + 1;
		size_t wl = strlen(want);
		if (wl >= 2 && want[0] == '"' && want[wl - 1] == '"') {
			want[wl - 1] = '\0';
			want++;
		}
		const char *got = kmb_kernel_config(k, line);
		if (!got || strcmp(got, want) != 0)
			fail_msg("%s/include/config/auto.conf: %s: want '%s', got '%s'", hdr, line,
				 want, got ? got : "(not found)");
		checked++;
	}
	print_message("%zu options of %s found with their values\n", checked, hdr);
	assert_true(checked > 3000);
	kmb_kernel_free(k);
	free(data);
	free(hdr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_names),
		cmocka_unit_test(test_full_debian_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
