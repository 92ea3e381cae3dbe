// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DKMS's execution semantics (dkms.in of DKMS 3.4.3; Debian 12's 3.0.10 differs where noted in
 * docs/conf-formats.md §4). Values reach here already expanded the way DKMS's safe_source
 * expands them (conf/); what is left is where and how each one runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dkms_exec.h"

static void logf_(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int fd, const char *fmt, ...)
{
	va_list ap;
	if (fd < 0)
		return;
	va_start(ap, fmt);
	vdprintf(fd, fmt, ap);
	va_end(ap);
}

/* ---- DKMS's tree, in a private mount namespace ------------------------------------------- */

/* A directory to mount on. A symlink there (kmbuild's "latest build" view, when state_dir is
 * DKMS's tree) becomes a directory: a mount on a symlink would land on whatever it points to,
 * which another build may be replacing. Empty outside builds, like DKMS's after clean_build. */
static int mountpoint_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && unlink(path) < 0 && errno != ENOENT)
		return -errno;
	if (lstat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	int r = kmb_mkdir_p(path, 0755);
	return r < 0 && r != -EEXIST ? r : 0;
}

/* Mounts made from now on stay in this namespace: "/" becomes a slave of the host's. In a
 * chroot whose root is not a mount point that cannot be said; then it is only safe when no
 * mount here propagates at all (no "shared:" peer group). */
static int isolate(void)
{
	if (mount("none", "/", "none", MS_REC | MS_SLAVE, NULL) == 0)
		return 0;
	char *info = NULL;
	if (kmb_read_file("/proc/self/mountinfo", &info, NULL) < 0)
		return -EPERM;
	bool shared = strstr(info, " shared:") != NULL;
	free(info);
	return shared ? -EXDEV : 0;
}

/* Bind build_dir on path, a directory made for it; say so in the log when it fails. */
static void bind_on(const char *build_dir, const char *path, int log_fd)
{
	int r = mountpoint_dir(path);
	if (r == 0 && mount(build_dir, path, "none", MS_BIND, NULL) < 0)
		r = -errno;
	if (r < 0)
		logf_(log_fd, "kmbuild: %s is not this build: %s\n", path, strerror(-r));
}

/* This process's own mount namespace, and view (a directory) bound to build_dir in it.
 * Returns 0, or -errno with *step naming what failed. */
static int private_view(const char *build_dir, const char *view, const char **step)
{
	int r;

	*step = "mount point";
	if ((r = mountpoint_dir(view)) < 0)
		return r;
	*step = "unshare";
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	*step = "isolation";
	if ((r = isolate()) < 0)
		return r;
	*step = "bind mount";
	return mount(build_dir, view, "none", MS_BIND, NULL) < 0 ? -errno : 0;
}

char *kmb_dkms_view_enter(const struct kmb_ctx *ctx, const char *name, const char *version,
			  const char *build_dir, const char *src_link, int log_fd)
{
	char *tree = kmb_root_path(ctx, "/var/lib/dkms");
	char *view = kmb_xasprintf("%s/%s/%s/build", tree, name, version);
	char *own = kmb_xasprintf("%s/%s/%s/build", ctx->state_dir, name, version);
	char *src = src_link ? realpath(src_link, NULL) : NULL;
	const char *step = "";
	int r = private_view(build_dir, view, &step);

	free(tree);
	if (r == 0) {
		/* ${dkms_tree}/<m>/<v>/build names kmbuild's tree (zfs's POST_BUILD -t). */
		if (strcmp(own, view) != 0)
			bind_on(build_dir, own, log_fd);
		/* Packages that build in their source tree (west-chamber: make
		 * M=/usr/src/<m>-<v>) write into this build's copy, not the one all share. */
		if (src && kmb_is_dir(src))
			bind_on(build_dir, src, log_fd);
		logf_(log_fd, "kmbuild: %s is this build (private mount namespace)\n", view);
	} else {
		logf_(log_fd, "kmbuild: %s is not this build (%s: %s)\n", view, step, strerror(-r));
		free(view);
		view = NULL;
	}
	free(src);
	free(own);
	return view;
}

/* ---- scripts --------------------------------------------------------------------------- */

/* run_build_script's run_dir and run (dkms.in:1163-1170): the script string appended to the
 * directory, or to /etc/dkms/<m> when that holds an executable of the script's first word. */
static char *script_run(const struct kmb_ctx *ctx, const char *module, const char *script,
			const char **run_dir, char **over_dir)
{
	size_t wl = strcspn(script, " ");
	char *dir = kmb_xasprintf("%s/%s", ctx->dkms_etc, module);
	char *over = kmb_xasprintf("%s/%.*s", dir, (int)wl, script);

	*over_dir = NULL;
	if (access(over, X_OK) == 0) {
		*over_dir = dir;
		*run_dir = dir;
	} else {
		free(dir);
	}
	free(over);
	return kmb_xasprintf("%s/%s", *run_dir, script);
}

/* "[[ -x ${run%% *} ]]": DKMS only warns about a script it cannot run. */
static bool runnable(const char *module, const char *what, const char *run, int log_fd)
{
	char *exe = kmb_xstrndup(run, strcspn(run, " "));
	bool ok = access(exe, X_OK) == 0;

	if (!ok) {
		logf_(log_fd, "kmbuild: the %s script %s is not executable, skipped\n", what, exe);
		kmb_warn("%s: the %s script %s is not executable, skipped", module, what, exe);
	}
	free(exe);
	return ok;
}

int kmb_dkms_build_script(const struct kmb_ctx *ctx, const char *module, const char *what,
			  const char *script, const char *run_dir, const struct kmb_run *base)
{
	char *over = NULL;
	int rc = 0;

	if (!script || !*script)
		return 0;
	char *run = script_run(ctx, module, script, &run_dir, &over);
	if (runnable(module, what, run, base->out_fd)) {
		/* invoke_command "cd $run_dir/ && $run": eval, i.e. a second shell parse. */
		char *cmd = kmb_xasprintf("cd %s/ && %s", run_dir, run);
		const char *argv[] = {"/bin/bash", "-c", cmd, NULL};
		struct kmb_run r = *base;
		r.argv = argv;
		r.cwd = NULL;
		r.in_fd = -1;
		logf_(base->out_fd, "kmbuild: running the %s script: %s\n", what, cmd);
		rc = kmb_run(&r);
		logf_(base->out_fd, "kmbuild: %s exit code: %d\n", what, rc);
		free(cmd);
	}
	free(run);
	free(over);
	return rc;
}

/* The scripts DKMS runs without a log (POST_ADD, PRE_INSTALL, POST_INSTALL, POST_REMOVE):
 * "( cd $run_dir/; exec $run )", dkms.in:1180-1184: word splitting and globbing of the string,
 * no quote removal, no second expansion. */
int kmb_dkms_exec_script(const struct kmb_ctx *ctx, const char *module, const char *script,
			 const char *run_dir, int log_fd)
{
	char *over = NULL;
	int rc = 0;

	if (!script || !*script)
		return 0;
	char *run = script_run(ctx, module, script, &run_dir, &over);
	if (runnable(module, "dkms.conf", run, log_fd)) {
		const char *argv[] = {"/bin/bash", "-c",    "cd \"$1/\" || exit 15; exec $2",
				      "kmbuild",   run_dir, run,
				      NULL};
		struct kmb_run r = {.argv = argv, .out_fd = log_fd, .in_fd = -1};
		logf_(log_fd, "kmbuild: running %s\n", run);
		rc = kmb_run(&r);
	}
	free(run);
	free(over);
	return rc;
}

/* ---- make ------------------------------------------------------------------------------ */

/* Replace every occurrence of from in s by to. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	struct kmb_buf b = {0};
	size_t fl = strlen(from);
	const char *p;

	while (fl && (p = strstr(s, from))) {
		kmb_buf_add(&b, s, (size_t)(p - s));
		kmb_buf_adds(&b, to);
		s = p + fl;
	}
	kmb_buf_adds(&b, s);
	return kmb_buf_steal(&b);
}

static bool config_is(struct kmb_kernel *k, const char *name)
{
	const char *v = kmb_kernel_config(k, name);
	return v && strcmp(v, "y") == 0;
}

char *kmb_dkms_make_command(const struct kmb_ctx *ctx, const struct kmb_pkg *pkg,
			    struct kmb_kernel *k, const char *build_path)
{
	const char *cmd = kmb_pkg_make_command(pkg, k->release);
	/* $dkms_tree/<m>/<v>/build, as the dkms.conf expanded it, is this build. */
	char *own = kmb_xasprintf("%s/%s/%s/build", ctx->state_dir, pkg->name, pkg->version);
	char *mc = cmd && *cmd
			   ? replace_all(cmd, own, build_path)
			   : kmb_xasprintf("make -C %s M=%s", kmb_kernel_source_dir(k), build_path);
	/* dkms.in:799-808: no vmlinux in headers, so the configuration decides. */
	if (config_is(k, "CONFIG_CC_IS_CLANG")) {
		char *l = kmb_xasprintf("%s LLVM=1", mc);
		free(mc);
		mc = l;
	}
	/* ${make_command/#make/make -j$parallel_jobs KERNELRELEASE=$kernelver} (dkms.in:1603):
	 * any leading "make", as DKMS does; -j is the jobserver's. */
	char *out = kmb_startswith(mc, "make")
			    ? kmb_xasprintf("make KERNELRELEASE=%s%s", k->release, mc + 4)
			    : kmb_xstrdup(mc);
	free(mc);
	free(own);
	return out;
}

void kmb_dkms_build_env(struct kmb_kernel *k, struct kmb_strv *env)
{
	char *cc = NULL;

	/* dkms.in:1501-1541: the kernel's compiler when it is installed; clang and lld win for a
	 * kernel built with them. */
	if (!kmb_kernel_compiler(k, &cc)) {
		free(cc);
		cc = NULL;
	}
	if (config_is(k, "CONFIG_CC_IS_CLANG") && kmb_kernel_tool_found("clang")) {
		free(cc);
		cc = kmb_xstrdup("clang");
	}
	if (cc) {
		kmb_strv_pushf(env, "CC=%s", cc);
		kmb_strv_pushf(env, "KERNEL_CC=%s", cc);
	}
	if (config_is(k, "CONFIG_LD_IS_LLD") && kmb_kernel_tool_found("ld.lld")) {
		kmb_strv_push(env, "LD=ld.lld");
		kmb_strv_push(env, "KERNEL_LD=ld.lld");
	}
	free(cc);
}
