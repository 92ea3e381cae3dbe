// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Module definitions: dkms.conf read as plain data and, where it is a shell program, through
 * the sandboxed bash child; overrides; DKMS's validation and quirks; exclusion decisions;
 * make/patch selection; the native kmbuild.conf. Files are written to a temp dir at test
 * time, or come from tests/data/conf (Debian-style and DKMS-test-style fixtures).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "conf/conf.h"
#include "conf/shlex.h"
#include "base/util.h"

/* Write unit_tmp/name (directories created) and return its path (malloc'd). */
static char *put(const char *name, const char *text)
{
	char *p = unit_path(name);
	FILE *f;

	unit_mkdir_parent(p);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return p;
}

static char *data(const char *rel)
{
	const char *top = getenv("KMB_TOP");
	return kmb_xasprintf("%s/tests/data/conf/%s", top ? top : ".", rel);
}

static const struct kmb_conf_vars V61 = {
	.kernelver = "6.1.0-56-amd64",
	.arch = "x86_64",
	.kernel_source_dir = "/usr/src/linux-headers-6.1.0-56-amd64",
	.dkms_tree = "/var/lib/dkms",
	.source_tree = "/usr/src",
	.install_tree = "/lib/modules",
};

static struct kmb_pkg *load_ok(const char *path, const struct kmb_conf_vars *vars)
{
	struct kmb_conf_error err = {{0}};
	struct kmb_pkg *pkg = NULL;
	int r = kmb_pkg_load(path, vars, &pkg, &err);

	if (r != 0)
		fail_msg("loading %s failed (%d): %s", path, r, err.msg);
	assert_non_null(pkg);
	return pkg;
}

/* Load text written to unit_tmp/name; expect success. */
static struct kmb_pkg *load_text(const char *name, const char *text,
				 const struct kmb_conf_vars *vars)
{
	char *p = put(name, text);
	struct kmb_pkg *pkg = load_ok(p, vars);

	free(p);
	return pkg;
}

/* Load text; expect failure r; return the message (static buffer). */
static const char *load_fail(const char *name, const char *text, const struct kmb_conf_vars *vars,
			     int want)
{
	static struct kmb_conf_error err;
	struct kmb_pkg *pkg = NULL;
	char *p = put(name, text);
	int r = kmb_pkg_load(p, vars, &pkg, &err);

	if (r != want)
		fail_msg("%s: expected %d, got %d (%s)", name, want, r, r ? err.msg : "loaded");
	assert_null(pkg);
	free(p);
	assert_null(strchr(err.msg, '\n'));
	return err.msg;
}

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("'%s' does not contain '%s'", (hay), (needle));                   \
	} while (0)

#define MOD "BUILT_MODULE_NAME[0]=m\nDEST_MODULE_LOCATION[0]=/extra\n"
#define HDR "PACKAGE_NAME=pkg\nPACKAGE_VERSION=1.0\n" MOD

static bool has_warning(const struct kmb_pkg *pkg, const char *needle)
{
	for (size_t i = 0; i < pkg->warnings.n; i++)
		if (strstr(pkg->warnings.v[i], needle))
			return true;
	return false;
}

/* ---- plain data -------------------------------------------------------------------------- */

static void test_plain_basic(void **state)
{
	struct kmb_pkg *pkg;

	(void)state;
	pkg = load_text("basic/dkms.conf",
			"# a comment\n"
			"PACKAGE_NAME=\"hello\"   # trailing comment\n"
			"  PACKAGE_VERSION='1.0'\n"
			"\n"
			"BUILT_MODULE_NAME[0]=hello_mod\n"
			"BUILT_MODULE_LOCATION[0]=src\n"
			"DEST_MODULE_NAME[0]=hello_renamed\n"
			"DEST_MODULE_LOCATION[0]=\"/updates/dkms\"\n"
			"export AUTOINSTALL=yes\n"
			"declare -a BUILD_DEPENDS=(dep1 \"dep2 dep3\")\n"
			"NO_WEAK_MODULES=YES BUILD_DEPENDS_REBUILD=no\n"
			"POST_INSTALL=\"scripts/post install.sh\"\n"
			"MAKE[0]=make\\ all\n"
			"HELPER=#not-a-comment\n"
			"PRE_BUILD=$HELPER\n",
			&V61);
	assert_string_equal(pkg->name, "hello");
	assert_string_equal(pkg->version, "1.0");
	assert_false(pkg->used_shell);
	assert_null(pkg->shell_reason);
	assert_int_equal(pkg->format, KMB_CONF_DKMS);
	assert_int_equal(pkg->n_modules, 1);
	assert_string_equal(pkg->modules[0].built_name, "hello_mod");
	assert_string_equal(pkg->modules[0].built_location, "src/");
	assert_string_equal(pkg->modules[0].dest_name, "hello_renamed");
	assert_string_equal(pkg->modules[0].dest_location, "/updates/dkms");
	assert_true(pkg->modules[0].strip);
	assert_true(pkg->autoinstall);
	assert_true(pkg->no_weak_modules);
	assert_false(pkg->build_depends_rebuild);
	assert_int_equal(pkg->build_depends.n, 3);
	assert_string_equal(pkg->build_depends.v[2], "dep3");
	assert_string_equal(pkg->post_install, "scripts/post install.sh");
	assert_string_equal(pkg->make[0].cmd, "make all");
	assert_string_equal(pkg->pre_build, "#not-a-comment");
	assert_int_equal(pkg->warnings.n, 0);
	kmb_pkg_free(pkg);
}

static void test_plain_arrays(void **state)
{
	struct kmb_pkg *pkg;

	(void)state;
	pkg = load_text("arrays/dkms.conf",
			"PACKAGE_NAME=arr\nPACKAGE_VERSION=1\n"
			"BUILT_MODULE_NAME=(one 'two' \"three\"  # comment inside\n"
			"   four)\n"
			"DEST_MODULE_LOCATION=([0]=/extra [3]=/kernel/x [1]=/updates /extra/z)\n"
			"STRIP=(no '' yes)\n"
			"PATCH=(a.patch)\nPATCH+=(b.patch)\n"
			"MAKE[0]=make\nMAKE[0]+=\" -j1\"\n",
			&V61);
	assert_false(pkg->used_shell);
	assert_int_equal(pkg->n_modules, 4);
	assert_string_equal(pkg->modules[1].built_name, "two");
	assert_string_equal(pkg->modules[3].built_name, "four");
	assert_string_equal(pkg->modules[1].dest_location, "/updates");
	assert_string_equal(pkg->modules[2].dest_location, "/extra/z");
	assert_string_equal(pkg->modules[3].dest_location, "/kernel/x");
	/* STRIP[1]="" inherits STRIP[0]=no; STRIP[3] unset inherits too; [2] yes. */
	assert_false(pkg->modules[0].strip);
	assert_false(pkg->modules[1].strip);
	assert_true(pkg->modules[2].strip);
	assert_false(pkg->modules[3].strip);
	assert_int_equal(pkg->n_patches, 2);
	assert_string_equal(pkg->patches[1].file, "b.patch");
	assert_string_equal(pkg->make[0].cmd, "make -j1");
	kmb_pkg_free(pkg);
}

static void test_plain_expansions(void **state)
{
	struct kmb_conf_vars v = V61;
	struct kmb_pkg *pkg;

	(void)state;
	v.module = "expmod";
	v.module_version = "9.9";
	pkg = load_text(
		"exp/dkms.conf",
		"PRE_BUILD=\"[$PACKAGE_NAME]\"\n" /* not assigned yet: empty */
		"PACKAGE_NAME=exp\nPACKAGE_VERSION=2.0\n"
		"BUILT_MODULE_NAME[0]=exp\nDEST_MODULE_LOCATION[0]=/extra\n"
		"BDIR=\"$dkms_tree/${PACKAGE_NAME}/${PACKAGE_VERSION}/build\"\n"
		"MAKE[0]=\"make -C $kernel_source_dir M=$BDIR K=${kernelver} A=$arch\"\n"
		"MAKE[1]=\"$source_tree $install_tree $module/$module_version ${MAKE[0]%%x}\"\n"
		"POST_ADD=\"${BUILT_MODULE_NAME[0]}-$BDIR\"\n"
		"POST_BUILD='$kernelver'\n" /* literal here, expanded by DKMS's read-back */
		"POST_REMOVE=\"cost \\$5 and a \\\"quote\\\"\"\n"
		"PRE_INSTALL=\"${kernelver}x$\"\n",
		&v);
	assert_true(pkg->used_shell); /* ${MAKE[0]%%x} is a parameter operation */
	assert_string_equal(pkg->pre_build, "[]");
	assert_string_equal(pkg->make[0].cmd,
			    "make -C /usr/src/linux-headers-6.1.0-56-amd64 "
			    "M=/var/lib/dkms/exp/2.0/build K=6.1.0-56-amd64 A=x86_64");
	assert_string_equal(pkg->post_add, "exp-/var/lib/dkms/exp/2.0/build");
	assert_string_equal(pkg->post_build, "6.1.0-56-amd64");
	/* \$5 survives the first read and is a positional parameter in the second. */
	assert_string_equal(pkg->post_remove, "cost  and a quote");
	kmb_pkg_free(pkg);

	/* The same without the parameter operation stays plain. */
	pkg = load_text("exp2/dkms.conf",
			HDR "MAKE[1]=\"$source_tree $install_tree $module/$module_version\"\n"
			    "POST_BUILD='$kernelver'\n"
			    "POST_REMOVE=\"cost and a \\\"quote\\\"\"\n"
			    "PRE_INSTALL=\"${kernelver}x$\"\n",
			&v);
	assert_false(pkg->used_shell);
	assert_string_equal(pkg->make[1].cmd, "/usr/src /lib/modules expmod/9.9");
	assert_string_equal(pkg->post_build, "6.1.0-56-amd64");
	/* DKMS's second read drops the embedded quotes. */
	assert_string_equal(pkg->post_remove, "cost and a quote");
	assert_string_equal(pkg->pre_install, "6.1.0-56-amd64x$");
	kmb_pkg_free(pkg);
}

static void test_continuation_and_crlf(void **state)
{
	char *p;
	struct kmb_pkg *pkg;

	(void)state;
	pkg = load_text("cont/dkms.conf",
			"PACKAGE_NAME=co\\\nnt\nPACKAGE_VERSION=1\n" MOD
			"MAKE[0]=\"make \\\n   -C dir \\\n   all\"\n"
			"POST_ADD=one\\\n\n"
			"PRE_BUILD=x \\\n   POST_BUILD=y\n",
			&V61);
	assert_string_equal(pkg->name, "cont");
	assert_string_equal(pkg->make[0].cmd, "make -C dir all");
	assert_string_equal(pkg->post_add, "one");
	assert_string_equal(pkg->pre_build, "x");
	assert_string_equal(pkg->post_build, "y");
	kmb_pkg_free(pkg);

	p = data("dkms-tests/crlf.conf");
	pkg = load_ok(p, &V61);
	assert_false(pkg->used_shell);
	assert_string_equal(pkg->name, "dkms_crlf_test");
	assert_string_equal(pkg->modules[0].dest_location, "/kernel/extra");
	assert_string_equal(pkg->make[0].cmd, "make -C /usr/src/linux-headers-6.1.0-56-amd64");
	assert_true(pkg->autoinstall);
	kmb_pkg_free(pkg);
	free(p);

	/* A CRLF file that needs bash: bash gets the normalised text. */
	p = data("dkms-tests/crlf-shell.conf");
	pkg = load_ok(p, &V61);
	assert_true(pkg->used_shell);
	assert_string_equal(pkg->make[0].cmd, "make KVER=6.1.0-56-amd64");
	assert_string_equal(pkg->version, "1.0");
	kmb_pkg_free(pkg);
	free(p);
}

/* DKMS re-reads every value through an unquoted echo (see shlex.h). */
static void test_echo_quirk(void **state)
{
	struct kmb_pkg *pkg;
	const char *msg;

	(void)state;
	pkg = load_text("quirk/dkms.conf",
			HDR "MAKE[0]=\"make    -C\tdir\n  all\"\n"
			    "PRE_BUILD='configure CFLAGS=\"-O2\"'\n"
			    "POST_BUILD=\"  leading and trailing  \"\n"
			    "POST_ADD='a\\b \\\\c'\n"
			    "PRE_INSTALL=$'tab\\there'\n"
			    "POST_INSTALL=\"with ' single\"\n",
			&V61);
	assert_string_equal(pkg->make[0].cmd, "make -C dir all");
	assert_string_equal(pkg->pre_build, "configure CFLAGS=-O2");
	assert_string_equal(pkg->post_build, " leading and trailing ");
	assert_string_equal(pkg->post_add, "a\\b \\c");
	assert_string_equal(pkg->pre_install, "tab here");
	assert_string_equal(pkg->post_install, "with ' single");
	kmb_pkg_free(pkg);

	/* Quotes around whitespace: DKMS would lose the value and run "-g" as a command. */
	msg = load_fail("quirk2/dkms.conf", HDR "MAKE[0]='make CFLAGS=\"-O2 -g\"'\n", &V61,
			-EINVAL);
	assert_contains(msg, "quirk2/dkms.conf:5: MAKE: DKMS reads this value back");
	assert_contains(msg, "several words");
	msg = load_fail("quirk3/dkms.conf", HDR "POST_ADD='x\"; rm -rf /tmp/nothing; \"'\n", &V61,
			-EINVAL);
	assert_contains(msg, "POST_ADD");
	msg = load_fail("quirk4/dkms.conf", HDR "POST_ADD='odd\"quote'\n", &V61, -EINVAL);
	assert_contains(msg, "unterminated double quote");

	/* A value whose second read runs a command substitution goes to bash, as in DKMS. */
	pkg = load_text("quirk5/dkms.conf", HDR "POST_ADD='$(echo computed)'\n", &V61);
	assert_true(pkg->used_shell);
	assert_contains(pkg->shell_reason, "POST_ADD");
	assert_string_equal(pkg->post_add, "computed");
	kmb_pkg_free(pkg);
}

static void test_reread_direct(void **state)
{
	struct kmb_sh_diag d;
	char *out = NULL;

	(void)state;
	assert_int_equal(kmb_sh_dkms_reread("a  b\r", NULL, NULL, &out, &d), 0);
	assert_string_equal(out, "a b");
	free(out);
	assert_int_equal(kmb_sh_dkms_reread("", NULL, NULL, &out, &d), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(kmb_sh_dkms_reread("   ", NULL, NULL, &out, &d), 0);
	assert_string_equal(out, " ");
	free(out);
	assert_int_equal(kmb_sh_dkms_reread("x\"y\"z", NULL, NULL, &out, &d), 0);
	assert_string_equal(out, "xyz");
	free(out);
	assert_int_equal(kmb_sh_dkms_reread("`id`", NULL, NULL, &out, &d), KMB_SH_NEEDS_SHELL);
	assert_int_equal(kmb_sh_dkms_reread("$unknown", NULL, NULL, &out, &d), KMB_SH_NEEDS_SHELL);
	assert_int_equal(kmb_sh_dkms_reread("ends in \\", NULL, NULL, &out, &d), -EINVAL);
}

/* ---- what needs bash --------------------------------------------------------------------- */

static void test_shell_detection(void **state)
{
	static const struct {
		const char *line;
		bool shell;
		const char *reason;
	} cases[] = {
		{"X=1\n", false, NULL},
		{"X=\"a;b|c&d<e>f(g)\"\n", false, NULL},
		{"X='$(not run)'\n", false, NULL},
		{"X=a*b?[c]\n", false, NULL},
		{"X={a,b}\n", false, NULL},
		{"X=a~b\n", false, NULL},
		{"if [ -n \"$kernelver\" ]; then X=1; fi\n", true, "command 'if'"},
		{"X=1; Y=2\n", true, "operator ';'"},
		{"X=1 && Y=2\n", true, "command '&&'"},
		{"X=$(uname -r)\n", true, "command substitution"},
		{"X=`uname -r`\n", true, "command substitution"},
		{"X=$((1+2))\n", true, "arithmetic"},
		{"X=${kernelver%%-*}\n", true, "parameter expansion"},
		{"X=${#kernelver}\n", true, "parameter expansion"},
		{"X=$1\n", true, "special parameter"},
		{"X=$HOME\n", true, "variable $HOME"},
		{"X[$i]=1\n", true, "computed array index"},
		{"X=(a*)\n", true, "expanded by bash"},
		{"X=({a,b})\n", true, "expanded by bash"},
		{"X=~/foo\n", true, "tilde"},
		{"[[ $kernelver == 6* ]] && X=1\n", true, "command '[['"},
		{". ./other.conf\n", true, "command '.'"},
		{"source other.conf\n", true, "command 'source'"},
		{"f() { X=1; }\n", true, "command 'f()'"},
		{"case $kernelver in *) X=1;; esac\n", true, "command 'case'"},
		{"X=1 make\n", true, "command 'make'"},
		{"declare -i N=1+1\n", true, "declaration option '-i'"},
		{"unset X\n", true, "command 'unset'"},
	};

	(void)state;
	for (size_t i = 0; i < KMB_ARRAY_SIZE(cases); i++) {
		char *text = kmb_xasprintf(HDR "%s", cases[i].line);
		char *name = kmb_xasprintf("detect%zu/dkms.conf", i);
		struct kmb_pkg *pkg = load_text(name, text, &V61);

		if (pkg->used_shell != cases[i].shell)
			fail_msg("case %zu (%s): used_shell=%d", i, cases[i].line, pkg->used_shell);
		if (cases[i].reason) {
			assert_non_null(pkg->shell_reason);
			assert_contains(pkg->shell_reason, cases[i].reason);
			assert_contains(pkg->shell_reason, "dkms.conf:5:");
		}
		kmb_pkg_free(pkg);
		free(text);
		free(name);
	}
}

/* A plain file never starts bash: with a 1 ms budget any bash run would time out. */
static void test_plain_never_runs_bash(void **state)
{
	struct kmb_conf_vars v = V61;
	struct kmb_pkg *pkg;

	(void)state;
	v.shell_timeout_ms = 1;
	pkg = load_text("nobash/dkms.conf", HDR "MAKE[0]=\"make KVER=$kernelver\"\n", &v);
	assert_false(pkg->used_shell);
	kmb_pkg_free(pkg);
	assert_contains(load_fail("nobash2/dkms.conf", HDR "if true; then :; fi\n", &v, -EINVAL),
			"did not finish within 1 ms");
}

static void test_syntax_errors(void **state)
{
	const char *msg;

	(void)state;
	msg = load_fail("syn1/dkms.conf", HDR "MAKE[0]=\"unterminated\n", &V61, -EINVAL);
	assert_contains(msg, "syn1/dkms.conf:5: MAKE[0]: unterminated double quote");
	msg = load_fail("syn2/dkms.conf", HDR "MAKE=(a b\n", &V61, -EINVAL);
	assert_contains(msg, "syn2/dkms.conf:5: unterminated '(' list");
	msg = load_fail("syn3/dkms.conf", HDR "DKMS_DIRECTIVE1=MAKE=make\n", &V61, -EINVAL);
	assert_contains(msg, "DKMS_DIRECTIVE");
	msg = load_fail("syn4/dkms.conf", HDR "X[99999999]=1\n", &V61, -EINVAL);
	assert_contains(msg, "index too large");
}

/* ---- bash fallback ----------------------------------------------------------------------- */

static const char *shell_conf =
	"PACKAGE_NAME=shelly\n"
	"PACKAGE_VERSION=1.0\n"
	"BUILT_MODULE_NAME[0]=shelly\n"
	"DEST_MODULE_LOCATION[0]=/extra\n"
	"if [ \"${kernelver%%.*}\" -ge 6 ]; then\n"
	"    MAKE[0]=\"make NEW_API=1 KVER=$kernelver\"\n"
	"    BUILD_EXCLUSIVE_ARCH=\"x86_64\"\n"
	"else\n"
	"    MAKE[0]=\"make OLD_API=1\"\n"
	"fi\n"
	"POST_BUILD=\"$(basename \"$PWD\") ${KMB_TEST_SECRET:-clean} ${HOME:-nohome}\"\n"
	"PRE_BUILD=\"$(echo    spaced     out)\"\n";

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_bash_fallback(void **state)
{
	struct kmb_conf_vars v5 = V61;
	struct kmb_pkg *pkg;
	int fds = count_fds();

	(void)state;
	/* Anything in kmbuild's environment must not reach the conf. */
	setenv("KMB_TEST_SECRET", "leaked", 1);
	pkg = load_text("shelly-dir/dkms.conf", shell_conf, &V61);
	assert_true(pkg->used_shell);
	assert_contains(pkg->shell_reason, "shelly-dir/dkms.conf:5: command 'if'");
	assert_string_equal(pkg->make[0].cmd, "make NEW_API=1 KVER=6.1.0-56-amd64");
	assert_string_equal(pkg->excl.arch, "x86_64");
	/* cwd = the conf's directory; no inherited variables; DKMS's echo collapse applied. */
	assert_string_equal(pkg->post_build, "shelly-dir clean nohome");
	assert_string_equal(pkg->pre_build, "spaced out");
	kmb_pkg_free(pkg);
	unsetenv("KMB_TEST_SECRET");

	v5.kernelver = "5.10.0-30-amd64";
	pkg = load_text("shelly-dir/dkms.conf", shell_conf, &v5);
	assert_string_equal(pkg->make[0].cmd, "make OLD_API=1");
	assert_null(pkg->excl.arch);
	kmb_pkg_free(pkg);
	/* No pipe, pidfd or temp file descriptor left behind. */
	assert_int_equal(count_fds(), fds);
}

static void test_bash_failures(void **state)
{
	struct kmb_conf_vars v = V61;
	const char *msg;
	struct timespec t0, t1;
	long ms;

	(void)state;
	msg = load_fail("bexit/dkms.conf", HDR "if true; then exit 3; fi\n", &V61, -EINVAL);
	assert_contains(msg, "bexit/dkms.conf: bash stopped before the end of the file (exit 3)");
	msg = load_fail("bsyntax/dkms.conf", HDR "if true; then\n", &V61, -EINVAL);
	assert_contains(msg, "bsyntax/dkms.conf: not valid bash (exit 99): ");
	assert_contains(msg, "syntax error");

	v.shell_timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	msg = load_fail("bslow/dkms.conf", HDR "sleep 20 & sleep 20; X=$(true)\n", &v, -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_contains(msg, "did not finish within 300 ms");
	assert_true(ms < 3000);

	/* A background job that outlives bash must not hold the load up either. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	{
		char *p = put("bbg/dkms.conf", HDR "( sleep 20 ) & X=$(true)\n");
		struct kmb_pkg *pkg = load_ok(p, &v);
		kmb_pkg_free(pkg);
		free(p);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms < 3000);
}

/* ---- DKMS validation --------------------------------------------------------------------- */

static void test_sparse_and_invalid(void **state)
{
	struct kmb_conf_error err;
	struct kmb_pkg *pkg = NULL;
	char *p;

	(void)state;
	p = data("dkms-tests/sparse-arrays.conf");
	assert_int_equal(kmb_pkg_load(p, &V61, &pkg, &err), -EINVAL);
	assert_null(pkg);
	assert_contains(err.msg, "sparse-arrays.conf: BUILT_MODULE_NAME: No 'BUILT_MODULE_NAME' "
				 "directive specified for record #0");
	assert_contains(err.msg, "(and 5 more errors)");
	free(p);

	p = data("dkms-tests/invalid.conf");
	assert_int_equal(kmb_pkg_load(p, &V61, &pkg, &err), -EINVAL);
	assert_contains(err.msg, "No 'BUILT_MODULE_NAME' directive specified for record #0");
	free(p);

	assert_contains(
		load_fail("bad1/dkms.conf", HDR "BUILT_MODULE_NAME[0]=m.ko\n", &V61, -EINVAL),
		"bad1/dkms.conf:5: BUILT_MODULE_NAME[0]: 'BUILT_MODULE_NAME' directive ends "
		"in '.o' or '.ko' in record #0");
	assert_contains(load_fail("bad2/dkms.conf", HDR "DEST_MODULE_NAME[0]=x.o\n", &V61, -EINVAL),
			"'DEST_MODULE_NAME' directive ends in '.o' or '.ko' in record #0");
	assert_contains(
		load_fail("bad3/dkms.conf", HDR "DEST_MODULE_LOCATION[0]=/wrong\n", &V61, -EINVAL),
		"DEST_MODULE_LOCATION[0]: Directive 'DEST_MODULE_LOCATION' does not begin "
		"with '/kernel', '/updates', or '/extra' in record #0");
	assert_contains(load_fail("bad4/dkms.conf",
				  HDR "DEST_MODULE_LOCATION[0]=/extra/../../etc\n", &V61, -EINVAL),
			"'..' path component");
	assert_contains(
		load_fail("bad5/dkms.conf", HDR "DEST_MODULE_NAME[0]=../evil\n", &V61, -EINVAL),
		"DEST_MODULE_NAME[0]: not a file name");
	assert_contains(
		load_fail("bad6/dkms.conf", HDR "BUILT_MODULE_LOCATION[0]=/abs\n", &V61, -EINVAL),
		"must be a relative path");
	assert_contains(load_fail("bad7/dkms.conf",
				  "PACKAGE_NAME=p\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=m\n",
				  &V61, -EINVAL),
			"No 'DEST_MODULE_LOCATION' directive specified for record #0");
}

static void test_mandatory_and_names(void **state)
{
	struct kmb_pkg *pkg;
	const char *msg;

	(void)state;
	msg = load_fail("mand1/dkms.conf", "PACKAGE_VERSION=1\n" MOD, &V61, -EINVAL);
	assert_contains(msg,
			"mand1/dkms.conf: PACKAGE_NAME: No 'PACKAGE_NAME' directive specified");
	msg = load_fail("mand2/dkms.conf", "PACKAGE_NAME=x\n" MOD, &V61, -EINVAL);
	assert_contains(msg, "PACKAGE_VERSION: No 'PACKAGE_VERSION' directive specified");
	msg = load_fail("mand3/dkms.conf", "PACKAGE_NAME=\nPACKAGE_VERSION=\n", &V61, -EINVAL);
	assert_contains(msg, "(and 1 more error)");
	msg = load_fail("mand4/dkms.conf", "PACKAGE_NAME=../x\nPACKAGE_VERSION=1\n" MOD, &V61,
			-EINVAL);
	assert_contains(msg, "mand4/dkms.conf:1: PACKAGE_NAME: '../x' cannot be a directory name");

	/* BUILT_MODULE_NAME defaults to PACKAGE_NAME with exactly one module. */
	pkg = load_text("def1/dkms.conf",
			"PACKAGE_NAME=defmod\nPACKAGE_VERSION=1\nDEST_MODULE_LOCATION[0]=/extra\n",
			&V61);
	assert_string_equal(pkg->modules[0].built_name, "defmod");
	assert_string_equal(pkg->modules[0].dest_name, "defmod");
	kmb_pkg_free(pkg);
	msg = load_fail("def2/dkms.conf",
			"PACKAGE_NAME=defmod\nPACKAGE_VERSION=1\n"
			"DEST_MODULE_LOCATION[0]=/extra\nDEST_MODULE_LOCATION[1]=/extra\n"
			"BUILT_MODULE_NAME[1]=other\n",
			&V61, -EINVAL);
	assert_contains(msg, "No 'BUILT_MODULE_NAME' directive specified for record #0");

	/* Zero modules: a warning, like DKMS. */
	pkg = load_text("zero/dkms.conf", "PACKAGE_NAME=z\nPACKAGE_VERSION=1\n", &V61);
	assert_int_equal(pkg->n_modules, 0);
	assert_true(has_warning(pkg, "Zero modules specified"));
	kmb_pkg_free(pkg);
}

static void test_duplicates(void **state)
{
	const char *msg;
	struct kmb_pkg *pkg;

	(void)state;
	msg = load_fail("dup1/dkms.conf",
			"PACKAGE_NAME=d\nPACKAGE_VERSION=1\n"
			"BUILT_MODULE_NAME[0]=same\nDEST_MODULE_NAME[0]=a\n"
			"BUILT_MODULE_NAME[1]=same\nDEST_MODULE_NAME[1]=b\n"
			"DEST_MODULE_LOCATION=(/extra /extra)\n",
			&V61, -EINVAL);
	assert_contains(msg, "dup1/dkms.conf:5: BUILT_MODULE_NAME[1]: Duplicate module 'same' in "
			     "'BUILT_MODULE_NAME[1]'");
	msg = load_fail("dup2/dkms.conf",
			"PACKAGE_NAME=d\nPACKAGE_VERSION=1\n"
			"BUILT_MODULE_NAME=(one two)\nDEST_MODULE_NAME=(x x)\n"
			"DEST_MODULE_LOCATION=(/extra /extra)\n",
			&V61, -EINVAL);
	assert_contains(msg, "DEST_MODULE_NAME[1]: Duplicate module 'x' in 'DEST_MODULE_NAME[1]'");
	/* Same name in different build locations is fine if they install under other names. */
	pkg = load_text("dup3/dkms.conf",
			"PACKAGE_NAME=d\nPACKAGE_VERSION=1\n"
			"BUILT_MODULE_NAME=(same same)\nBUILT_MODULE_LOCATION=(a b)\n"
			"DEST_MODULE_NAME=(x y)\nDEST_MODULE_LOCATION=(/extra /extra)\n",
			&V61);
	assert_int_equal(pkg->n_modules, 2);
	kmb_pkg_free(pkg);
}

static void test_patches(void **state)
{
	struct kmb_pkg *pkg;
	char *p;

	(void)state;
	assert_contains(
		load_fail("p1/dkms.conf", HDR "PATCH=\"../badpath.patch\"\n", &V61, -EINVAL),
		"p1/dkms.conf:5: PATCH[0]: '../badpath.patch' contains a '..' path component");
	assert_contains(
		load_fail("p2/dkms.conf", HDR "PATCH[2]=subdir/../x.patch\n", &V61, -EINVAL),
		"PATCH[2]");
	assert_contains(load_fail("p3/dkms.conf", HDR "PATCH[0]=/etc/passwd\n", &V61, -EINVAL),
			"is an absolute path");
	/* "..." and "a..b" are ordinary names. */
	pkg = load_text("p4/dkms.conf", HDR "PATCH=(a..b.patch ...patch)\n", &V61);
	assert_int_equal(pkg->n_patches, 2);
	kmb_pkg_free(pkg);

	p = data("dkms-tests/noisy.conf");
	pkg = load_ok(p, &V61);
	assert_int_equal(pkg->n_patches, 2);
	assert_string_equal(pkg->patches[0].file, "patch2.patch");
	assert_null(pkg->patches[0].match);
	assert_true(kmb_pkg_patch_applies(pkg, 0, "5.10.0"));
	assert_true(kmb_pkg_patch_applies(pkg, 1, "6.1.0-56-amd64"));
	assert_false(kmb_pkg_patch_applies(pkg, 1, "6.10.0"));
	assert_false(kmb_pkg_patch_applies(pkg, 2, "6.1.0"));
	assert_string_equal(pkg->post_add, "script.sh post_add");
	assert_string_equal(pkg->pre_build, "script.sh pre_build");
	assert_string_equal(pkg->post_build, "script.sh post_build");
	assert_string_equal(pkg->pre_install, "script.sh pre_install");
	assert_string_equal(pkg->post_install, "script.sh post_install");
	assert_string_equal(pkg->post_remove, "script.sh post_remove");
	kmb_pkg_free(pkg);
	free(p);
}

static void test_yes_no(void **state)
{
	struct kmb_pkg *pkg;

	(void)state;
	assert_contains(load_fail("yn1/dkms.conf", HDR "AUTOINSTALL=\"maybe\"\n", &V61, -EINVAL),
			"yn1/dkms.conf:5: AUTOINSTALL: Unsupported AUTOINSTALL value 'maybe'");
	assert_contains(load_fail("yn2/dkms.conf", HDR "NO_WEAK_MODULES=y\n", &V61, -EINVAL),
			"Unsupported NO_WEAK_MODULES value 'y'");
	assert_contains(load_fail("yn3/dkms.conf", HDR "BUILD_DEPENDS_REBUILD=1\n", &V61, -EINVAL),
			"BUILD_DEPENDS_REBUILD");
	pkg = load_text("yn4/dkms.conf", HDR "AUTOINSTALL=YeS\nNO_WEAK_MODULES=No\n", &V61);
	assert_true(pkg->autoinstall);
	assert_false(pkg->no_weak_modules);
	kmb_pkg_free(pkg);
	pkg = load_text("yn5/dkms.conf", HDR "AUTOINSTALL=\"\"\n", &V61);
	assert_false(pkg->autoinstall);
	kmb_pkg_free(pkg);
}

static void test_deprecated(void **state)
{
	struct kmb_pkg *pkg;
	char *p = data("dkms-tests/deprecated.conf");

	(void)state;
	pkg = load_ok(p, &V61);
	assert_true(pkg->remake_initrd);
	assert_true(has_warning(pkg, "deprecated.conf:7: CLEAN: deprecated and ignored"));
	assert_true(has_warning(pkg, "deprecated.conf:6: REMAKE_INITRD: deprecated"));
	assert_true(has_warning(pkg, "MODULES_CONF: deprecated and ignored"));
	assert_true(has_warning(pkg, "OBSOLETE_BY: deprecated, use BUILD_EXCLUSIVE_KERNEL_MAX"));
	/* OBSOLETE_BY becomes the package's KERNEL_MAX. */
	assert_string_equal(pkg->obsolete_by, "5.0");
	assert_string_equal(pkg->excl.kernel_max, "5.0");
	kmb_pkg_free(pkg);
	free(p);

	pkg = load_text("dep2/dkms.conf",
			HDR "CLEAN=true\nOBSOLETE_BY=5.0\n"
			    "BUILD_EXCLUSIVE_KERNEL_MAX[0]=7.0\n",
			&V61);
	assert_false(has_warning(pkg, "CLEAN"));
	assert_null(pkg->excl.kernel_max); /* a per-module max wins, as in DKMS */
	kmb_pkg_free(pkg);
}

/* ---- overrides --------------------------------------------------------------------------- */

static void test_overrides(void **state)
{
	struct kmb_conf_vars v = V61;
	char *dir = unit_path("etc-dkms");
	char *p;
	struct kmb_pkg *pkg;
	static const char *const names[] = {
		"ov.conf",
		"ov-1.0.conf",
		"ov-1.0-6.1.0-56-amd64.conf",
		"ov-1.0-6.1.0-56-amd64-x86_64.conf",
		"ov--6.1.0-56-amd64.conf",
		"ov--6.1.0-56-amd64-x86_64.conf",
	};

	(void)state;
	/* Each override appends its name: the final value spells the order they were read in. */
	for (size_t i = 0; i < KMB_ARRAY_SIZE(names); i++) {
		char *rel = kmb_xasprintf("etc-dkms/%s", names[i]);
		char *text = kmb_xasprintf(i == 3 ? "if true; then MAKE[0]=\"${MAKE[0]} %s\"; fi\n"
						  : "MAKE[0]=\"${MAKE[0]} %s\"\n",
					   names[i]);
		free(put(rel, text));
		free(rel);
		free(text);
	}
	/* Not for this kernel/arch/version: must not be read. */
	free(put("etc-dkms/ov-2.0.conf", "MAKE[0]=wrong\n"));
	free(put("etc-dkms/ov--5.10.0.conf", "MAKE[0]=wrong\n"));
	free(put("etc-dkms/ov-1.0-6.1.0-56-amd64-arm64.conf", "MAKE[0]=wrong\n"));
	/* An override cannot drop the package's modules: DKMS re-assigns only what it has. */
	free(put("etc-dkms/ov.conf.d-ignored", "junk"));

	p = put("ovpkg/dkms.conf", "PACKAGE_NAME=ov\nPACKAGE_VERSION=1.0\n"
				   "BUILT_MODULE_NAME=(a b)\nDEST_MODULE_LOCATION=(/extra /extra)\n"
				   "MAKE[0]=make\n");
	v.overrides_dir = dir;
	pkg = load_ok(p, &v);
	assert_string_equal(pkg->make[0].cmd,
			    "make ov.conf ov-1.0.conf ov-1.0-6.1.0-56-amd64.conf "
			    "ov-1.0-6.1.0-56-amd64-x86_64.conf ov--6.1.0-56-amd64.conf "
			    "ov--6.1.0-56-amd64-x86_64.conf");
	assert_true(pkg->used_shell);
	kmb_pkg_free(pkg);

	/* No overrides_dir: none read. */
	pkg = load_ok(p, &V61);
	assert_string_equal(pkg->make[0].cmd, "make");
	kmb_pkg_free(pkg);

	/* vars->module names the files (DKMS's $module), and a list cannot remove elements. */
	free(put("etc-dkms/other.conf", "BUILT_MODULE_NAME=(z)\nSTRIP[1]=no\n"));
	v.module = "other";
	pkg = load_ok(p, &v);
	assert_int_equal(pkg->n_modules, 2);
	assert_string_equal(pkg->modules[0].built_name, "z");
	assert_string_equal(pkg->modules[1].built_name, "b");
	assert_false(pkg->modules[1].strip);
	assert_string_equal(pkg->make[0].cmd, "make");
	kmb_pkg_free(pkg);

	/* A broken override is an error naming the override. */
	free(put("etc-dkms/other-1.0.conf", "AUTOINSTALL=perhaps\n"));
	{
		struct kmb_conf_error err;
		assert_int_equal(kmb_pkg_load(p, &v, &pkg, &err), -EINVAL);
		assert_contains(err.msg, "etc-dkms/other-1.0.conf:1: AUTOINSTALL");
	}
	free(p);
	free(dir);
}

/* ---- exclusion --------------------------------------------------------------------------- */

struct kconf {
	const char *const *kv; /* NAME, VALUE, ..., NULL */
};

static const char *kconf_lookup(void *ud, const char *name)
{
	const struct kconf *k = ud;
	for (size_t i = 0; k->kv[i]; i += 2)
		if (!strcmp(k->kv[i], name))
			return k->kv[i + 1];
	return NULL;
}

static bool excl(const struct kmb_pkg *pkg, size_t i, const char *k, const char *arch,
		 const char *want_reason)
{
	static const char *const kv[] = {"CONFIG_PCI",		"y",	  "CONFIG_USB", "m",
					 "CONFIG_LOCALVERSION", "\"-x\"", NULL};
	struct kconf kc = {kv};
	char *reason = (char *)"unset";
	bool r = kmb_pkg_module_excluded(pkg, i, k, arch, kconf_lookup, &kc, &reason);

	if (r) {
		assert_non_null(reason);
		assert_null(strchr(reason, '\n'));
		if (want_reason)
			assert_contains(reason, want_reason);
	} else {
		assert_null(reason);
	}
	free(reason);
	return r;
}

static void test_exclusion(void **state)
{
	struct kmb_pkg *pkg;
	char *p;

	(void)state;
	pkg = load_text("ex1/dkms.conf",
			"PACKAGE_NAME=ex\nPACKAGE_VERSION=1\n"
			"BUILT_MODULE_NAME=(a b c d e)\n"
			"DEST_MODULE_LOCATION=(/extra /extra /extra /extra /extra)\n"
			"BUILD_EXCLUSIVE_KERNEL=\"^6\\.\"\n"
			"BUILD_EXCLUSIVE_KERNEL_MIN[1]=6.2\n"
			"BUILD_EXCLUSIVE_KERNEL_MAX[2]=6.1.0-55-amd64\n"
			"BUILD_EXCLUSIVE_ARCH[3]=\"^(arm64|ppc64el)$\"\n"
			"BUILD_EXCLUSIVE_CONFIG[4]=\"CONFIG_PCI !CONFIG_USB\"\n"
			"BUILD_EXCLUSIVE_CONFIG=\"CONFIG_PCI CONFIG_USB\"\n",
			&V61);
	assert_false(excl(pkg, 0, "6.1.0-56-amd64", "x86_64", NULL));
	assert_true(excl(pkg, 0, "5.10.0-30-amd64", "x86_64",
			 "BUILD_EXCLUSIVE_KERNEL=^6\\. does not match 5.10.0-30-amd64"));
	assert_true(excl(pkg, 1, "6.1.0-56-amd64", "x86_64",
			 "BUILD_EXCLUSIVE_KERNEL_MIN[1]=6.2 > 6.1.0-56-amd64"));
	assert_false(excl(pkg, 1, "6.2.0", "x86_64", NULL));
	assert_false(excl(pkg, 1, "6.10.0", "x86_64", NULL));
	assert_true(excl(pkg, 2, "6.1.0-56-amd64", "x86_64",
			 "BUILD_EXCLUSIVE_KERNEL_MAX[2]=6.1.0-55-amd64 < 6.1.0-56-amd64"));
	assert_false(excl(pkg, 2, "6.1.0-55-amd64", "x86_64", NULL));
	assert_true(excl(pkg, 3, "6.1.0-56-amd64", "x86_64",
			 "BUILD_EXCLUSIVE_ARCH[3]=^(arm64|ppc64el)$ does not match x86_64"));
	assert_false(excl(pkg, 3, "6.1.0-56-arm64", "arm64", NULL));
	/* Module 4's own CONFIG list replaces the package's (field by field). */
	assert_true(excl(
		pkg, 4, "6.1.0-56-amd64", "x86_64",
		"BUILD_EXCLUSIVE_CONFIG[4]=\"CONFIG_PCI !CONFIG_USB\": CONFIG_USB is set (=m)"));
	assert_false(excl(pkg, 0, "6.1.0", "x86_64", NULL)); /* CONFIG_PCI=y, CONFIG_USB=m */
	/* No kernel config available: DKMS skips the CONFIG check. */
	assert_false(kmb_pkg_module_excluded(pkg, 4, "6.1.0", "x86_64", NULL, NULL, NULL));
	assert_false(kmb_pkg_module_excluded(pkg, 99, "6.1.0", "x86_64", NULL, NULL, NULL));
	kmb_pkg_free(pkg);

	pkg = load_text("ex2/dkms.conf",
			HDR "BUILD_EXCLUSIVE_CONFIG=\"CONFIG_ACPI\"\nOBSOLETE_BY=6.0\n"
			    "BUILD_EXCLUSIVE_KERNEL_MIN=\"4.19\"\n",
			&V61);
	assert_true(excl(pkg, 0, "6.1.0-56-amd64", "x86_64", "OBSOLETE_BY=6.0 < 6.1.0-56-amd64"));
	assert_true(
		excl(pkg, 0, "5.10.0", "x86_64",
		     "BUILD_EXCLUSIVE_CONFIG=\"CONFIG_ACPI\": CONFIG_ACPI is not set to y or m"));
	assert_true(excl(pkg, 0, "4.9.0", "x86_64", "BUILD_EXCLUSIVE_KERNEL_MIN=4.19 > 4.9.0"));
	kmb_pkg_free(pkg);

	/* An invalid regex excludes (bash's =~ fails), with a warning at load time. */
	pkg = load_text("ex3/dkms.conf", HDR "BUILD_EXCLUSIVE_KERNEL=\"^(6\"\n", &V61);
	assert_true(has_warning(pkg, "is not a valid extended regular expression"));
	assert_true(excl(pkg, 0, "6.1.0", "x86_64", "not a valid regular expression"));
	kmb_pkg_free(pkg);

	/* The index-0 fix: dkms(8)'s own example excludes only module 0 on 6.x. */
	p = data("dkms-tests/manpage-index0.conf");
	pkg = load_ok(p, &V61);
	assert_null(pkg->excl.kernel);
	assert_true(excl(pkg, 0, "6.1.0-56-amd64", "x86_64", "BUILD_EXCLUSIVE_KERNEL[0]="));
	assert_false(excl(pkg, 1, "6.1.0-56-amd64", "x86_64", NULL));
	assert_false(excl(pkg, 0, "5.10.0-30-amd64", "x86_64", NULL));
	assert_true(excl(pkg, 1, "5.10.0-30-amd64", "x86_64", NULL));
	kmb_pkg_free(pkg);
	free(p);

	/* Unindexed = the whole package, even when written after X[0]. */
	pkg = load_text("ex4/dkms.conf",
			"PACKAGE_NAME=ex\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME=(a b)\n"
			"DEST_MODULE_LOCATION=(/extra /extra)\n"
			"BUILD_EXCLUSIVE_ARCH[0]=x86_64\nBUILD_EXCLUSIVE_ARCH=arm64\n",
			&V61);
	assert_string_equal(pkg->excl.arch, "arm64");
	assert_string_equal(pkg->modules[0].excl.arch, "x86_64");
	assert_null(pkg->modules[1].excl.arch);
	assert_false(excl(pkg, 0, "6.1.0", "x86_64", NULL));
	assert_true(excl(pkg, 1, "6.1.0", "x86_64", "BUILD_EXCLUSIVE_ARCH=arm64"));
	kmb_pkg_free(pkg);
}

/* bash cannot tell X= from X[0]=: the file's text decides (docs/conf-formats.md). */
static void test_exclusion_index0_bash(void **state)
{
	struct kmb_pkg *pkg;

	(void)state;
	pkg = load_text("exb1/dkms.conf",
			"PACKAGE_NAME=ex\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME=(a b)\n"
			"DEST_MODULE_LOCATION=(/extra /extra)\n"
			"if true; then BUILD_EXCLUSIVE_KERNEL[0]=\"^5\\.\"; fi\n",
			&V61);
	assert_true(pkg->used_shell);
	assert_null(pkg->excl.kernel);
	assert_string_equal(pkg->modules[0].excl.kernel, "^5\\.");
	kmb_pkg_free(pkg);

	pkg = load_text("exb2/dkms.conf",
			"PACKAGE_NAME=ex\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME=(a b)\n"
			"DEST_MODULE_LOCATION=(/extra /extra)\n"
			"if true; then BUILD_EXCLUSIVE_KERNEL=\"^5\\.\"; fi\n",
			&V61);
	assert_string_equal(pkg->excl.kernel, "^5\\.");
	assert_null(pkg->modules[0].excl.kernel);
	assert_true(excl(pkg, 1, "6.1.0", "x86_64", "BUILD_EXCLUSIVE_KERNEL=^5\\."));
	kmb_pkg_free(pkg);

	/* Plain dkms.conf + shell override that does not touch it: the distinction survives. */
	{
		struct kmb_conf_vars v = V61;
		char *p;
		v.overrides_dir = unit_path("exb3-etc");
		free(put("exb3-etc/ex.conf", "if true; then MAKE[0]=over; fi\n"));
		p = put("exb3/dkms.conf", "PACKAGE_NAME=ex\nPACKAGE_VERSION=1\n"
					  "BUILT_MODULE_NAME=(a b)\nDEST_MODULE_LOCATION=(/extra "
					  "/extra)\nBUILD_EXCLUSIVE_KERNEL[0]=A\n"
					  "BUILD_EXCLUSIVE_KERNEL=B\n");
		pkg = load_ok(p, &v);
		assert_true(pkg->used_shell);
		assert_string_equal(pkg->make[0].cmd, "over");
		assert_string_equal(pkg->excl.kernel, "B");
		assert_string_equal(pkg->modules[0].excl.kernel, "A");
		kmb_pkg_free(pkg);
		free(p);
		free((char *)v.overrides_dir);
	}
}

/* ---- make ------------------------------------------------------------------------------- */

static void test_make_selection(void **state)
{
	struct kmb_pkg *pkg;

	(void)state;
	pkg = load_text("mk1/dkms.conf", HDR, &V61);
	assert_null(kmb_pkg_make_command(pkg, "6.1.0"));
	kmb_pkg_free(pkg);

	pkg = load_text("mk2/dkms.conf",
			HDR "MAKE[0]=\"make default\"\n"
			    "MAKE[1]=\"make six\"\nMAKE_MATCH[1]=\"^6\\.\"\n"
			    "MAKE[2]=\"make six-one\"\nMAKE_MATCH[2]=\"^6\\.1\\.\"\n"
			    "MAKE_MATCH[3]=\"^6\"\n"
			    "MAKE[7]=\"make sparse\"\nMAKE_MATCH[7]=\"-rt-\"\n",
			&V61);
	assert_int_equal(pkg->n_make, 8);
	assert_null(pkg->make[3].cmd);
	assert_string_equal(kmb_pkg_make_command(pkg, "5.10.0-30-amd64"), "make default");
	assert_string_equal(kmb_pkg_make_command(pkg, "6.10.0"), "make six");
	assert_string_equal(kmb_pkg_make_command(pkg, "6.1.0-56-amd64"), "make six-one");
	/* DKMS's loop stops at ${#MAKE[@]} and misses MAKE[7]; kmbuild does not. */
	assert_string_equal(kmb_pkg_make_command(pkg, "6.1.0-56-rt-amd64"), "make sparse");
	kmb_pkg_free(pkg);

	/* MAKE_MATCH[0] set: MAKE[0] only when it matches. */
	pkg = load_text("mk3/dkms.conf", HDR "MAKE[0]=\"make old\"\nMAKE_MATCH[0]=\"^5\\.\"\n",
			&V61);
	assert_null(kmb_pkg_make_command(pkg, "6.1.0"));
	assert_string_equal(kmb_pkg_make_command(pkg, "5.10.0"), "make old");
	kmb_pkg_free(pkg);

	/* An invalid MAKE_MATCH never matches (warning at load). */
	pkg = load_text("mk4/dkms.conf", HDR "MAKE[0]=a\nMAKE[1]=b\nMAKE_MATCH[1]=\"(\"\n", &V61);
	assert_true(has_warning(pkg, "MAKE_MATCH[1]"));
	assert_string_equal(kmb_pkg_make_command(pkg, "6.1.0"), "a");
	kmb_pkg_free(pkg);
}

/* ---- loading: paths ---------------------------------------------------------------------- */

static void test_load_paths(void **state)
{
	struct kmb_conf_error err;
	struct kmb_pkg *pkg = (struct kmb_pkg *)1;
	char *p;

	(void)state;
	p = unit_path("does-not-exist/dkms.conf");
	assert_int_equal(kmb_pkg_load(p, &V61, &pkg, &err), -ENOENT);
	assert_null(pkg);
	assert_contains(err.msg, "does-not-exist/dkms.conf: no such file");
	free(p);

	unit_mkdir(unit_tmp);
	p = unit_path("emptydir");
	unit_mkdir(p);
	assert_int_equal(kmb_pkg_load(p, &V61, &pkg, &err), -ENOENT);
	assert_contains(err.msg, "emptydir: no kmbuild.conf or dkms.conf");
	free(p);

	/* kmbuild.conf wins over dkms.conf. */
	p = data("native/both");
	pkg = load_ok(p, &V61);
	assert_int_equal(pkg->format, KMB_CONF_NATIVE);
	assert_string_equal(pkg->name, "both");
	kmb_pkg_free(pkg);
	free(p);
	p = data("native/both/dkms.conf");
	pkg = load_ok(p, NULL); /* vars NULL: registration time */
	assert_int_equal(pkg->format, KMB_CONF_DKMS);
	assert_string_equal(pkg->name, "both-dkms");
	assert_string_equal(pkg->conf_path, p);
	kmb_pkg_free(pkg);
	free(p);

	/* A dkms.conf under any file name (dkms -c). */
	pkg = load_text("anyname.txt", HDR, NULL);
	assert_string_equal(pkg->name, "pkg");
	kmb_pkg_free(pkg);

	p = put("nul/dkms.conf", "PACKAGE_NAME=x");
	{
		FILE *f = fopen(p, "a");
		fputc('\0', f);
		fclose(f);
	}
	assert_int_equal(kmb_pkg_load(p, &V61, &pkg, &err), -EINVAL);
	assert_contains(err.msg, "NUL byte");
	free(p);
}

/* ---- Debian-style fixtures --------------------------------------------------------------- */

static void test_debian_fixtures(void **state)
{
	struct kmb_conf_vars v = V61;
	char *ksrc = unit_path("ksrc");
	char *cfg = kmb_xasprintf("%s/.config", ksrc);
	struct kmb_pkg *pkg;
	char *p;

	(void)state;
	v.kernel_source_dir = ksrc;
	unit_mkdir(ksrc);

	/* v4l2loopback: excluded through BUILD_EXCLUSIVE_KERNEL set inside an if. */
	unit_write_text(cfg, "CONFIG_VIDEO_DEV=m\n");
	p = data("debian/v4l2loopback");
	pkg = load_ok(p, &v);
	assert_true(pkg->used_shell);
	assert_string_equal(pkg->modules[0].built_name, "v4l2loopback");
	assert_null(pkg->excl.kernel);
	assert_false(kmb_pkg_module_excluded(pkg, 0, v.kernelver, v.arch, NULL, NULL, NULL));
	assert_true(has_warning(pkg, "CLEAN"));
	kmb_pkg_free(pkg);
	unit_write_text(cfg, "CONFIG_USB=y\n");
	pkg = load_ok(p, &v);
	assert_string_equal(pkg->excl.kernel, "REQUIRES CONFIG_VIDEO_DEV");
	assert_true(excl(pkg, 0, v.kernelver, v.arch, "BUILD_EXCLUSIVE_KERNEL=REQUIRES"));
	kmb_pkg_free(pkg);
	free(p);

	p = data("debian/acpi-call/dkms.conf");
	pkg = load_ok(p, &V61);
	assert_false(pkg->used_shell);
	assert_string_equal(pkg->make[0].cmd, "make -C /usr/src/linux-headers-6.1.0-56-amd64 "
					      "M=/var/lib/dkms/acpi-call/1.2.2/build");
	assert_string_equal(pkg->excl.config, "CONFIG_ACPI");
	kmb_pkg_free(pkg);
	free(p);

	p = data("debian/zfs-like/dkms.conf");
	pkg = load_ok(p, &v);
	assert_true(pkg->used_shell);
	assert_true(pkg->no_weak_modules);
	assert_int_equal(pkg->n_modules, 3);
	assert_true(pkg->modules[2].strip);
	{
		char *want = kmb_xasprintf("configure --prefix=/usr --with-config=kernel "
					   "--with-linux=%s --with-linux-obj=%s --with-qat= ",
					   ksrc, ksrc);
		/* Exactly DKMS's value, trailing space of the echo included. */
		assert_string_equal(pkg->pre_build, want);
		free(want);
	}
	kmb_pkg_free(pkg);
	free(p);

	p = data("debian/openafs-like/dkms.conf");
	pkg = load_ok(p, &V61);
	assert_true(pkg->used_shell);
	assert_string_equal(pkg->modules[0].built_name, "openafs");
	assert_contains(pkg->make[0].cmd, "--with-afs-sysname=amd64_linux26 "
					  "--with-linux-kernel-headers=/usr/src/");
	assert_string_equal(pkg->excl.config, "!CONFIG_PREEMPT_RT");
	kmb_pkg_free(pkg);
	free(p);

	p = data("debian/jool-like/dkms.conf");
	pkg = load_ok(p, &V61);
	assert_false(pkg->used_shell);
	assert_string_equal(pkg->modules[1].built_location, "src/mod/nat64/");
	assert_contains(pkg->make[0].cmd, "common modules && make -C");
	assert_string_equal(pkg->post_build, "scripts/dkms.postbuild -n jool-dkms -v 4.1.9 ");
	kmb_pkg_free(pkg);

	free(p);
	p = data("debian/xtables-like/dkms.conf");
	pkg = load_ok(p, &V61);
	assert_false(pkg->used_shell);
	assert_string_equal(
		pkg->make[0].cmd,
		"make -C /usr/src/linux-headers-6.1.0-56-amd64 "
		"M=/var/lib/dkms/xtables-addons/3.23/build/extensions "
		"XA_ABSTOPSRCDIR=/var/lib/dkms/xtables-addons/3.23/build V=1 modules ; "
		"find /var/lib/dkms/xtables-addons/3.23/build -name '*.ko' -exec mv -v {} "
		"/var/lib/dkms/xtables-addons/3.23/build \\;");
	assert_string_equal(pkg->modules[1].built_location, "");
	kmb_pkg_free(pkg);
	free(p);

	p = data("debian/lttng-like/dkms.conf");
	unit_write_text(cfg, "CONFIG_64BIT=y\n");
	pkg = load_ok(p, &v);
	assert_int_equal(pkg->n_modules, 3);
	assert_string_equal(pkg->modules[1].built_name, "lttng-counter-client-percpu-64-modular");
	assert_string_equal(pkg->modules[2].built_name, "lttng-tracer");
	kmb_pkg_free(pkg);
	v.kernelver = "5.10.0-30-amd64";
	pkg = load_ok(p, &v);
	assert_int_equal(pkg->n_modules, 4);
	assert_string_equal(pkg->modules[2].built_name, "lttng-probe-kmem");
	kmb_pkg_free(pkg);
	free(p);

	p = data("debian/dahdi-like/dkms.conf");
	pkg = load_ok(p, &V61);
	assert_false(pkg->used_shell);
	assert_false(has_warning(pkg, "CLEAN"));
	assert_string_equal(pkg->make[0].cmd,
			    "(make modules KVERS=6.1.0-56-amd64 MODULES_EXTRA='dahdi_dummy "
			    "dahdi_echocan_oslec'; make KVERS=6.1.0-56-amd64)");
	assert_false(excl(pkg, 2, "6.1.0-56-amd64", "x86_64", NULL));
	assert_true(excl(pkg, 2, "5.4.0", "x86_64", "BUILD_EXCLUSIVE_KERNEL="));
	kmb_pkg_free(pkg);
	free(p);

	free(cfg);
	free(ksrc);
}

/* ---- native kmbuild.conf ----------------------------------------------------------------- */

static void test_native(void **state)
{
	struct kmb_conf_vars v = V61;
	struct kmb_pkg *pkg;
	char *p = data("native/hello/kmbuild.conf");

	(void)state;
	v.build_dir = "/var/lib/kmbuild/hello/1.2.0/build";
	pkg = load_ok(p, &v);
	assert_int_equal(pkg->format, KMB_CONF_NATIVE);
	assert_false(pkg->used_shell);
	assert_string_equal(pkg->name, "hello");
	assert_string_equal(pkg->version, "1.2.0");
	assert_true(pkg->autoinstall);
	assert_false(pkg->remake_initrd);
	assert_int_equal(pkg->build_depends.n, 2);
	assert_string_equal(pkg->make[0].cmd,
			    "make -C /usr/src/linux-headers-6.1.0-56-amd64 "
			    "M=/var/lib/kmbuild/hello/1.2.0/build KVER=6.1.0-56-amd64 "
			    "ARCH_NAME=x86_64 PKG=hello-1.2.0 COST=$5");
	assert_string_equal(kmb_pkg_make_command(pkg, "anything"), pkg->make[0].cmd);
	assert_string_equal(pkg->post_install, "scripts/post-install.sh");
	assert_int_equal(pkg->n_modules, 2);
	assert_string_equal(pkg->modules[0].built_location, "src/");
	assert_string_equal(pkg->modules[0].dest_name, "hello");
	assert_string_equal(pkg->modules[0].dest_location, "/updates/dkms");
	assert_true(pkg->modules[0].strip);
	assert_string_equal(pkg->modules[1].dest_name, "hello_x");
	assert_false(pkg->modules[1].strip);
	assert_int_equal(pkg->n_patches, 2);
	assert_true(kmb_pkg_patch_applies(pkg, 0, "6.1.0-56-amd64"));
	assert_false(kmb_pkg_patch_applies(pkg, 0, "6.10.0"));
	assert_true(kmb_pkg_patch_applies(pkg, 1, "6.10.0"));
	assert_true(excl(pkg, 0, "5.4.0", "x86_64", "exclusive-kernel-min=5.10 > 5.4.0"));
	assert_true(
		excl(pkg, 0, "6.1.0", "riscv64",
		     "[module hello] exclusive-arch=^(x86_64|aarch64)$ does not match riscv64"));
	assert_false(excl(pkg, 1, "6.1.0", "x86_64", NULL)); /* PCI=y, no PREEMPT_RT */
	kmb_pkg_free(pkg);
	free(p);

	/* Without a build dir, ${build_dir} is DKMS's <dkms_tree>/<name>/<version>/build. */
	pkg = load_text("natbd/kmbuild.conf",
			"[package]\nname=bd\nversion=3\nmake=make M=${build_dir}\n", &V61);
	assert_string_equal(pkg->make[0].cmd, "make M=/var/lib/dkms/bd/3/build");
	kmb_pkg_free(pkg);

	/* Minimal: one module named after the package. */
	pkg = load_text("nat1/kmbuild.conf", "[package]\nname=tiny\nversion=0.1\n", NULL);
	assert_int_equal(pkg->n_modules, 1);
	assert_string_equal(pkg->modules[0].built_name, "tiny");
	assert_null(kmb_pkg_make_command(pkg, "6.1.0"));
	assert_false(pkg->autoinstall);
	kmb_pkg_free(pkg);

	/* CRLF, comments, blank values. */
	pkg = load_text("nat2/kmbuild.conf",
			"; comment\r\n[package]\r\nname = crlf\r\nversion = 1\r\n"
			"build-depends =\r\n  # indented comment\r\n[module  m1 ]\r\n",
			NULL);
	assert_string_equal(pkg->modules[0].built_name, "m1");
	assert_int_equal(pkg->build_depends.n, 0);
	kmb_pkg_free(pkg);
}

static void test_native_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{"[package]\nname=a\nversion=1\n[source git]\nurl=x\n",
		 "kmbuild.conf:4: [source git]: unknown section (expected [package], [module NAME] "
		 "or [patch FILE])"},
		{"name=a\n", "kmbuild.conf:1: name: outside any section"},
		{"[package]\nname=a\nversion=1\ncolour=blue\n",
		 "kmbuild.conf:4: colour: unknown key in [package]"},
		{"[package]\nname=a\nname=b\nversion=1\n", "kmbuild.conf:3: name: given twice"},
		{"[package]\nname=a\nversion=1\n[package]\n", "kmbuild.conf:4: [package]: section "
							      "appears twice"},
		{"[package]\nversion=1\n", "kmbuild.conf: name: missing in [package]"},
		{"[package]\nname=a\nversion=1\nautoinstall=maybe\n",
		 "kmbuild.conf:4: autoinstall: 'maybe' is not yes or no"},
		{"[package]\nname=a\nversion=1\nexclusive-kernel=^(6\n",
		 "exclusive-kernel: '^(6' is not a valid extended regular expression"},
		{"[package]\nname=a\nversion=1\nexclusive-config=CONFIG-X\n",
		 "exclusive-config: 'CONFIG-X' is not CONFIG_NAME"},
		{"[package]\nname=a\nversion=1\nmake=make $(nproc)\n",
		 "kmbuild.conf:4: make: '$(nproc)' is not one of ${kernelver}"},
		{"[package]\nname=a\nversion=1\nmake=make ${HOME}\n", "make: '${HOME}' is not one"},
		{"[package]\nname=a\nversion=1\n[module a.ko]\n", "[module a.ko]: 'a.ko' must be a "
								  "module name"},
		{"[package]\nname=a\nversion=1\n[module]\n", "[module]: needs an argument"},
		{"[package]\nname=a\nversion=1\n[module a]\ndest=/opt\n",
		 "kmbuild.conf:5: dest: '/opt' must start with /kernel, /updates or /extra"},
		{"[package]\nname=a\nversion=1\n[module a]\nlocation=../up\n",
		 "location: '../up' must be a relative path"},
		{"[package]\nname=a\nversion=1\n[patch ../x.patch]\n", "[patch ../x.patch]: "},
		{"[package]\nname=a\nversion=1\n[patch x.patch]\nmatch=(\n", "match: '(' is not a "
									     "valid"},
		{"[package]\nname=a\nversion=1\n[module a]\n[module a]\n",
		 "[module a] appears twice"},
		{"[package]\nname=a\nversion=1\n[module a]\n[module b]\ndest-name=a\n",
		 "would both install as a.ko"},
		{"[package]\nname=a\nversion=1\n[module a]\nstrip=maybe\n", "strip: 'maybe'"},
		{"[package]\nname=a\nversion=1\n[module a\n",
		 "kmbuild.conf:4: [module a: a section "
		 "header"},
		{"[package]\nname=a\nversion=1\njust words\n",
		 "kmbuild.conf:4: just words: expected "
		 "'key = value'"},
		{"[package]\nname=a/b\nversion=1\n", "name: 'a/b' cannot be a directory name"},
		{"[package]\nname=a\nversion=1\npre-build=/bin/sh\n",
		 "pre-build: '/bin/sh' must be "
		 "a path relative"},
		{"[package]\nname=a\nversion=1\n[module a]\nexclusive-kernel-min=6 .1\n",
		 "'6 .1' is not a kernel version"},
	};

	(void)state;
	for (size_t i = 0; i < KMB_ARRAY_SIZE(cases); i++) {
		char *name = kmb_xasprintf("naterr%zu/kmbuild.conf", i);
		const char *msg = load_fail(name, cases[i].text, &V61, -EINVAL);
		if (!strstr(msg, cases[i].msg))
			fail_msg("case %zu: '%s' does not contain '%s'", i, msg, cases[i].msg);
		free(name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_basic),
		cmocka_unit_test(test_plain_arrays),
		cmocka_unit_test(test_plain_expansions),
		cmocka_unit_test(test_continuation_and_crlf),
		cmocka_unit_test(test_echo_quirk),
		cmocka_unit_test(test_reread_direct),
		cmocka_unit_test(test_shell_detection),
		cmocka_unit_test(test_plain_never_runs_bash),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_bash_fallback),
		cmocka_unit_test(test_bash_failures),
		cmocka_unit_test(test_sparse_and_invalid),
		cmocka_unit_test(test_mandatory_and_names),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_patches),
		cmocka_unit_test(test_yes_no),
		cmocka_unit_test(test_deprecated),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_exclusion),
		cmocka_unit_test(test_exclusion_index0_bash),
		cmocka_unit_test(test_make_selection),
		cmocka_unit_test(test_load_paths),
		cmocka_unit_test(test_debian_fixtures),
		cmocka_unit_test(test_native),
		cmocka_unit_test(test_native_errors),
	};

	return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
