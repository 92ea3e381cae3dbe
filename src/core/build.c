// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/build.h"
#include "core/cost.h"
#include "core/dkms_exec.h"
#include "sign/sign.h"
#include "core/state.h"
#include "base/util.h"

int kmb_jobserver_init(struct kmb_jobserver *js, int jobs)
{
	int p[2];

	/* No O_CLOEXEC: make must inherit the pipe. */
	if (pipe(p) < 0)
		return -errno;
	js->rfd = p[0];
	js->wfd = p[1];
	js->jobs = jobs < 1 ? 1 : jobs;
	for (int i = 1; i < js->jobs; i++)
		if (write(js->wfd, "+", 1) != 1)
			return -errno;
	return 0;
}

void kmb_jobserver_free(struct kmb_jobserver *js)
{
	if (js->rfd >= 0)
		close(js->rfd);
	if (js->wfd >= 0)
		close(js->wfd);
	js->rfd = js->wfd = -1;
}

void kmb_conf_vars_for(const struct kmb_ctx *ctx, const struct kmb_kernel *k,
		       struct kmb_conf_vars *vars)
{
	memset(vars, 0, sizeof(*vars));
	vars->kernelver = k ? k->release : "";
	vars->arch = k ? k->arch : "";
	vars->kernel_source_dir = k && kmb_kernel_source_dir(k) ? kmb_kernel_source_dir(k) : "";
	vars->dkms_tree = ctx->state_dir;
	vars->source_tree = ctx->src_dir;
	vars->install_tree = ctx->modules_dir;
	vars->overrides_dir = ctx->dkms_etc;
}

int kmb_pkg_load_registered(const struct kmb_ctx *ctx, const char *name, const char *version,
			    const struct kmb_kernel *k, struct kmb_pkg **pkg, char **reason)
{
	struct kmb_conf_vars vars;
	struct kmb_conf_error err = {{0}};
	char *src = kmb_xasprintf("%s/%s/%s/source", ctx->state_dir, name, version);
	int r;

	if (!kmb_is_dir(src)) {
		*reason = kmb_xasprintf("%s/%s: source missing (%s)", name, version, src);
		free(src);
		return KMB_EXIT_NOTFOUND;
	}
	kmb_conf_vars_for(ctx, k, &vars);
	vars.module = name;
	vars.module_version = version;
	/* DKMS's per-version build dir; make_command() maps it onto this build's own dir. */
	char *view = kmb_xasprintf("%s/%s/%s/build", ctx->state_dir, name, version);
	vars.build_dir = view;
	r = kmb_pkg_load(src, &vars, pkg, &err);
	free(view);
	free(src);
	if (r < 0) {
		*reason = kmb_xstrdup(err.msg);
		return r == -ENOENT ? KMB_EXIT_NOTFOUND : KMB_EXIT_BADCONF;
	}
	return 0;
}

bool kmb_is_built(const struct kmb_ctx *ctx, const char *name, const char *version,
		  const char *kernel, const char *arch)
{
	char *kd = kmb_state_kernel_dir(ctx, name, version, kernel, arch), *st = NULL;
	bool ok = kmb_record_read(kd, "status", &st) == 0 && strcmp(st, "built") == 0;
	free(st);
	free(kd);
	return ok;
}

static void logf_(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdprintf(fd, fmt, ap);
	va_end(ap);
}

int kmb_run_script(const struct kmb_ctx *ctx, const char *module, const char *script,
		   const char *cwd, int log_fd)
{
	return kmb_dkms_exec_script(ctx, module, script, cwd, log_fd);
}

static int copy_tree(const char *src, const char *dst, int log_fd)
{
	char *from = kmb_xasprintf("%s/.", src);
	const char *argv[] = {"cp", "-a", "--reflink=auto", from, dst, NULL};
	struct kmb_run r = {.argv = argv, .out_fd = log_fd, .in_fd = -1};
	int rc = kmb_run(&r);
	free(from);
	return rc;
}

static int compress_file(const char *path, enum kmb_compress c, int log_fd)
{
	/* The kernel's own options (scripts/Makefile.modinst); xz must use CRC32, the only
	 * check the in-kernel decompressor accepts (dkms-project/dkms#386). */
	const char *xz[] = {"xz", "--check=crc32", "--lzma2=dict=1MiB", "-f", path, NULL};
	const char *gz[] = {"gzip", "-n", "-f", path, NULL};
	const char *zs[] = {"zstd", "-T0", "--rm", "-f", "-q", path, NULL};
	const char *const *argv = c == KMB_COMPRESS_XZ ? xz : c == KMB_COMPRESS_GZIP ? gz : zs;
	struct kmb_run r = {.argv = argv, .out_fd = log_fd, .in_fd = -1};

	if (c == KMB_COMPRESS_NONE)
		return 0;
	return kmb_run(&r);
}

/* The environment make runs in: DKMS unsets the user's compiler flags; we also hand make the
 * jobserver. */
static char **build_env(const struct kmb_jobserver *js, struct kmb_kernel *k)
{
	extern char **environ;
	struct kmb_strv env = {0};
	static const char *const drop[] = {
		"CC=",	      "CXX=",	    "CFLAGS=",	  "CXXFLAGS=", "LDFLAGS=",
		"MAKEFLAGS=", "MFLAGS=",    "MAKELEVEL=", "ARCH=",     "KERNELRELEASE=",
		"kernelver=", "KERNEL_CC=", "LD=",	  "KERNEL_LD="};
	for (char **e = environ; *e; e++) {
		bool skip = false;
		for (size_t i = 0; i < KMB_ARRAY_SIZE(drop) && !skip; i++)
			skip = kmb_startswith(*e, drop[i]);
		if (!skip)
			kmb_strv_push(&env, *e);
	}
	if (js)
		kmb_strv_pushf(&env, "MAKEFLAGS= -j%d --jobserver-auth=%d,%d", js->jobs, js->rfd,
			       js->wfd);
	kmb_strv_pushf(&env, "kernelver=%s", k->release);
	kmb_dkms_build_env(k, &env);
	return env.v;
}

static void strv_free_raw(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

struct build_job {
	const struct kmb_ctx *ctx;
	const char *name, *version;
	struct kmb_kernel *k;
	const struct kmb_build_opts *opts;
	struct kmb_pkg *pkg;
	char *final_dir, *tmp_dir, *build_dir, *src_dir;
	char *view; /* DKMS's <root>/var/lib/dkms/<m>/<v>/build: this build, or NULL */
	int log_fd;
	bool *excluded;		/* per module */
	struct kmb_buf modules; /* "<file> <dest_location>\n" */
	char *sign_note;
};

static int check_depends(struct build_job *j, char **reason)
{
	struct kmb_buf missing = {0};
	for (size_t i = 0; i < j->pkg->build_depends.n; i++) {
		const char *dep = j->pkg->build_depends.v[i];
		char *marker = kmb_xasprintf("%s/%s/kernel-%s-%s", j->ctx->state_dir, dep,
					     j->k->release, j->k->arch);
		if (!kmb_exists(marker))
			kmb_buf_printf(&missing, "%s%s", missing.len ? " " : "", dep);
		free(marker);
	}
	if (!missing.len)
		return 0;
	int rc = kmb_fail(reason, KMB_EXIT_DEPENDS, "BUILD_DEPENDS not installed for %s: %s",
			  j->k->release, missing.s);
	kmb_buf_free(&missing);
	return rc;
}

static int apply_patches(struct build_job *j, char **reason)
{
	for (size_t i = 0; i < j->pkg->n_patches; i++) {
		const struct kmb_patch *p = &j->pkg->patches[i];
		if (!kmb_pkg_patch_applies(j->pkg, i, j->k->release))
			continue;
		/* /etc/dkms/<m>/patches/<file> overrides the packaged patch of that name. */
		char *over = kmb_xasprintf("%s/%s/patches/%s", j->ctx->dkms_etc, j->name, p->file);
		char *file = kmb_exists(over)
				     ? kmb_xstrdup(over)
				     : kmb_xasprintf("%s/patches/%s", j->build_dir, p->file);
		free(over);
		if (!kmb_exists(file)) {
			int rc =
				kmb_fail(reason, KMB_EXIT_INSTALLED, "%s: PATCH[%zu]: %s not found",
					 j->pkg->conf_path, i, file);
			free(file);
			return rc;
		}
		const char *argv[] = {"patch", "-p1", "-N", "-i", file, NULL};
		struct kmb_run r = {
			.argv = argv, .cwd = j->build_dir, .out_fd = j->log_fd, .in_fd = -1};
		logf_(j->log_fd, "kmbuild: applying patch %s\n", file);
		int rc = kmb_run(&r);
		free(file);
		if (rc != 0)
			return kmb_fail(reason, KMB_EXIT_INSTALL, "patch %s failed (exit %d)",
					p->file, rc);
	}
	return 0;
}

/* Where the package's commands run: DKMS's path when this build is there. */
static const char *run_dir(const struct build_job *j)
{
	return j->view ? j->view : j->build_dir;
}

/* PRE_BUILD or POST_BUILD, with make's environment and the build log. */
static int build_script(struct build_job *j, const char *what, const char *script, const char *dir)
{
	char **env = build_env(j->opts->js, j->k);
	int keep[] = {j->opts->js ? j->opts->js->rfd : -1, j->opts->js ? j->opts->js->wfd : -1, -1};
	struct kmb_run base = {.env = (const char *const *)env,
			       .out_fd = j->log_fd,
			       .in_fd = -1,
			       .keep_fds = keep};
	int rc = kmb_dkms_build_script(j->ctx, j->name, what, script, dir, &base);
	strv_free_raw(env);
	return rc;
}

static int run_make(struct build_job *j, char **reason)
{
	char *cmd = kmb_dkms_make_command(j->ctx, j->pkg, j->k, run_dir(j));
	char **env = build_env(j->opts->js, j->k);
	const char *argv[] = {"/bin/bash", "-c", cmd, NULL};
	int keep[] = {j->opts->js ? j->opts->js->rfd : -1, j->opts->js ? j->opts->js->wfd : -1, -1};
	struct kmb_run r = {.argv = argv,
			    .cwd = run_dir(j),
			    .env = (const char *const *)env,
			    .out_fd = j->log_fd,
			    .in_fd = -1,
			    .keep_fds = keep};
	logf_(j->log_fd, "kmbuild: %s\n", cmd);
	int rc = kmb_run(&r);
	strv_free_raw(env);
	if (rc != 0) {
		rc = kmb_fail(reason, KMB_EXIT_MAKE,
			      "make failed (exit %d): %s; log: %s/log/make.log", rc, cmd,
			      j->final_dir);
		free(cmd);
		return rc;
	}
	free(cmd);
	return 0;
}

/* The kernel's CONFIG_MODULE_COMPRESS_*, unless kmbuild.conf says otherwise (a distro whose
 * packaging compresses modules itself, e.g. Arch's zstd over a kernel built with NONE). */
static int compression_for(const struct kmb_ctx *ctx, struct kmb_kernel *k, enum kmb_compress *out,
			   char **reason)
{
	const char *c = kmb_config_get(ctx, "compress");
	if (!c || !*c || !strcmp(c, "auto"))
		*out = kmb_kernel_compression(k);
	else if (!strcmp(c, "none"))
		*out = KMB_COMPRESS_NONE;
	else if (!strcmp(c, "gzip"))
		*out = KMB_COMPRESS_GZIP;
	else if (!strcmp(c, "xz"))
		*out = KMB_COMPRESS_XZ;
	else if (!strcmp(c, "zstd"))
		*out = KMB_COMPRESS_ZSTD;
	else
		return kmb_fail(reason, KMB_EXIT_USAGE,
				"kmbuild.conf: compress: '%s' is not auto, none, gzip, xz or zstd",
				c);
	return 0;
}

/* strip -> sign -> compress, per module, into <tmp>/module/. */
static int finish_modules(struct build_job *j, char **reason)
{
	enum kmb_compress comp = KMB_COMPRESS_NONE;
	if (compression_for(j->ctx, j->k, &comp, reason))
		return KMB_EXIT_USAGE;
	struct kmb_signer *signer = NULL;
	const char *hash = NULL;
	char why[512] = "", err[512] = "";
	char *moddir = kmb_xasprintf("%s/module", j->tmp_dir);
	int rc = 0;

	kmb_mkdir_p(moddir, 0755);
	if (!kmb_config_bool(j->ctx, "sign", true)) {
		j->sign_note = kmb_xstrdup("not signed: sign = no in kmbuild.conf");
	} else if (kmb_sign_decide(j->k, &hash, why, sizeof(why)) <= 0) {
		j->sign_note = kmb_xasprintf("not signed: %s", why);
	} else if (kmb_signer_open(j->ctx, hash, NULL, NULL, &signer, err, sizeof(err)) < 0) {
		/* The summary line stays short when there is simply no key; the log has it all. */
		logf_(j->log_fd, "kmbuild: not signing: %s\n", err);
		j->sign_note =
			kmb_startswith(err, "no signing key")
				? kmb_xstrdup("not signed: no MOK key (kmbuild mok generate)")
				: kmb_xasprintf("not signed: %s", err);
		signer = NULL;
	}
	for (size_t i = 0; i < j->pkg->n_modules && rc == 0; i++) {
		const struct kmb_module_def *m = &j->pkg->modules[i];
		if (j->excluded[i])
			continue;
		char *built =
			kmb_xasprintf("%s/%s%s.ko", j->build_dir, m->built_location, m->built_name);
		char *out = kmb_xasprintf("%s/%s.ko", moddir, m->dest_name);
		if (!kmb_exists(built)) {
			rc = kmb_fail(reason, KMB_EXIT_NOKO,
				      "build produced no %s%s.ko (BUILT_MODULE_NAME[%zu])",
				      m->built_location, m->built_name, i);
		} else if (kmb_copy_file_atomic(built, out, 0644) < 0) {
			rc = kmb_fail(reason, KMB_EXIT_FAIL, "cannot copy %s", built);
		} else if (m->strip) {
			const char *argv[] = {"strip", "-g", out, NULL};
			struct kmb_run r = {.argv = argv, .out_fd = j->log_fd, .in_fd = -1};
			if (kmb_run(&r) != 0)
				rc = kmb_fail(reason, KMB_EXIT_FAIL, "strip -g %s failed", out);
		}
		if (rc == 0 && signer && kmb_sign_file(signer, out, err, sizeof(err)) < 0)
			rc = kmb_fail(reason, KMB_EXIT_FAIL, "signing failed: %s", err);
		if (rc == 0 && compress_file(out, comp, j->log_fd) != 0)
			rc = kmb_fail(reason, KMB_EXIT_FAIL, "compressing %s failed", out);
		if (rc == 0)
			kmb_buf_printf(&j->modules, "%s.ko%s %s\n", m->dest_name,
				       kmb_compress_suffix(comp), m->dest_location);
		free(built);
		free(out);
	}
	if (rc == 0 && signer && !j->sign_note)
		j->sign_note = kmb_xasprintf("signed: %s (%s)", kmb_signer_cert_path(signer), hash);
	kmb_signer_free(signer);
	free(moddir);
	return rc;
}

/* Move the finished temp dir into place. With a previous build there, swap atomically. */
static int commit_dir(const char *tmp, const char *final)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) < 0)
		return -errno;
	return kmb_rm_rf(tmp); /* now the old build */
}

static int write_record(struct build_job *j, const char *dir, const char *status,
			const char *reason, long long ms)
{
	char when[32], dur[32];
	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	snprintf(dur, sizeof(dur), "%lld", ms);
	const char *keys[] = {"status", "reason", "built_at", "build_ms",
			      "kernel", "arch",	  "kmbuild",  "signing"};
	const char *vals[] = {status,	     reason,	 when,	      dur,
			      j->k->release, j->k->arch, KMB_VERSION, j->sign_note};
	int r = kmb_record_write(dir, keys, vals, KMB_ARRAY_SIZE(keys));
	if (r == 0 && j->modules.len) {
		char *p = kmb_xasprintf("%s/modules", dir);
		r = kmb_write_file_atomic(p, j->modules.s, j->modules.len, 0644);
		free(p);
	}
	return r;
}

/* A failed attempt: keep an earlier good build in place and note the failure beside it. */
static void record_failure(struct build_job *j, const char *reason, long long ms)
{
	if (kmb_is_dir(j->final_dir) &&
	    kmb_is_built(j->ctx, j->name, j->version, j->k->release, j->k->arch)) {
		char *from = kmb_xasprintf("%s/log/make.log", j->tmp_dir);
		char *to = kmb_xasprintf("%s/log/make.log.failed", j->final_dir);
		char *rec = kmb_xasprintf("%s/last_failure", j->final_dir);
		rename(from, to);
		kmb_write_file_atomic(rec, reason, strlen(reason), 0644);
		free(rec);
		free(from);
		free(to);
		kmb_rm_rf(j->tmp_dir);
		return;
	}
	/* Nothing good to protect: the failed build dir becomes the state (its log is needed). */
	write_record(j, j->tmp_dir, "failed", reason, ms);
	if (commit_dir(j->tmp_dir, j->final_dir) < 0)
		kmb_rm_rf(j->tmp_dir);
}

/* An exclusion is a decision that can be wrong: keep it in the state tree, with its reason,
 * so that status and verify show it. A good earlier build is left alone. */
static void record_exclusion(const struct kmb_ctx *ctx, const char *name, const char *version,
			     const struct kmb_kernel *k, const char *reason)
{
	char *dir = kmb_state_kernel_dir(ctx, name, version, k->release, k->arch);
	char when[32];
	const char *keys[] = {"status", "reason", "built_at", "kernel", "arch", "kmbuild"};
	const char *vals[] = {"excluded", reason, when, k->release, k->arch, KMB_VERSION};

	snprintf(when, sizeof(when), "%lld", (long long)time(NULL));
	if (!kmb_is_built(ctx, name, version, k->release, k->arch)) {
		kmb_rm_rf(dir);
		if (kmb_mkdir_p(dir, 0755) == 0)
			kmb_record_write(dir, keys, vals, KMB_ARRAY_SIZE(keys));
	}
	free(dir);
}

static int excluded_modules(struct build_job *j, char **reason)
{
	j->excluded = kmb_xcalloc(j->pkg->n_modules, sizeof(bool));
	for (size_t i = 0; i < j->pkg->n_modules; i++)
		j->excluded[i] = kmb_pkg_module_excluded(j->pkg, i, j->k->release, j->k->arch,
							 kmb_kernel_config_lookup, j->k, NULL);
	char *why = kmb_pkg_all_excluded(j->pkg, j->k->release, j->k->arch,
					 kmb_kernel_config_lookup, j->k);
	if (!why)
		return 0;
	int rc = kmb_fail(reason, KMB_EXIT_EXCLUDED, "excluded on %s: %s", j->k->release, why);
	record_exclusion(j->ctx, j->name, j->version, j->k, why);
	free(why);
	return rc;
}

/* kbuild calls the compiler the kernel was built with (CONFIG_CC_VERSION_TEXT's first word,
 * e.g. gcc-12): when it is missing the build fails with a confusing "not found", so say it. */
static void warn_compiler(struct build_job *j)
{
	char *word = NULL;
	if (!kmb_kernel_compiler(j->k, &word) && word) {
		logf_(j->log_fd, "kmbuild: warning: %s was built with %s, which is not installed\n",
		      j->k->release, word);
		kmb_warn("%s was built with %s, which is not installed: the build will likely fail",
			 j->k->release, word);
	}
	free(word);
}

/* Everything the package's files say, up to the finished modules in <tmp>/module. */
static int run_package(struct build_job *j, char **reason)
{
	int rc;

	if (copy_tree(j->src_dir, j->build_dir, j->log_fd) != 0)
		return kmb_fail(reason, KMB_EXIT_FAIL, "cannot copy source %s", j->src_dir);
	if ((rc = apply_patches(j, reason)))
		return rc;
	/* From here the package's commands see DKMS's tree (dkms_exec.h). */
	j->view = kmb_dkms_view_enter(j->ctx, j->name, j->version, j->build_dir, j->src_dir,
				      j->log_fd);
	if ((rc = build_script(j, "pre_build", j->pkg->pre_build, run_dir(j))) != 0)
		return kmb_fail(reason, KMB_EXIT_MAKE, "PRE_BUILD %s failed (exit %d)",
				j->pkg->pre_build, rc);
	if ((rc = run_make(j, reason)))
		return rc;
	return finish_modules(j, reason);
}

/* DKMS runs POST_BUILD once the build is in place ("requires accessible $mvka/module/",
 * dkms.in:1700-1703), and a failure fails the command but keeps the build. */
static int post_build(struct build_job *j, char **reason)
{
	char *moved = kmb_xasprintf("%s/build", j->final_dir);
	int rc = build_script(j, "post_build", j->pkg->post_build, j->view ? j->view : moved);

	free(moved);
	if (rc != 0)
		return kmb_fail(reason, KMB_EXIT_MAKE,
				"POST_BUILD %s failed (exit %d); the build is kept, as DKMS does",
				j->pkg->post_build, rc);
	return 0;
}

int kmb_build(const struct kmb_ctx *ctx, const char *name, const char *version,
	      struct kmb_kernel *k, const struct kmb_build_opts *opts, char **reason)
{
	struct build_job j = {
		.ctx = ctx, .name = name, .version = version, .k = k, .opts = opts, .log_fd = -1};
	long long t0 = kmb_now_ms();
	int rc;

	*reason = NULL;
	rc = kmb_pkg_load_registered(ctx, name, version, k, &j.pkg, reason);
	if (rc)
		return rc;
	if (!k->headers_dir) {
		rc = kmb_fail(reason, KMB_EXIT_NOHEADERS,
			      "kernel headers for %s not found (looked in %s/%s/build, "
			      "/usr/src/linux-headers-%s; try: kmbuild headers install %s)",
			      k->release, ctx->modules_dir, k->release, k->release, k->release);
		goto out;
	}
	rc = excluded_modules(&j, reason);
	if (rc)
		goto out;
	if (!opts->force && (rc = check_depends(&j, reason)))
		goto out;

	j.final_dir = kmb_state_kernel_dir(ctx, name, version, k->release, k->arch);
	char *kparent = kmb_xasprintf("%s/%s/%s/%s", ctx->state_dir, name, version, k->release);
	kmb_mkdir_p(kparent, 0755);
	j.tmp_dir = kmb_xasprintf("%s/.%s.kmb-build.%ld", kparent, k->arch, (long)getpid());
	free(kparent);
	kmb_rm_rf(j.tmp_dir);
	j.build_dir = kmb_xasprintf("%s/build", j.tmp_dir);
	j.src_dir = kmb_xasprintf("%s/%s/%s/source", ctx->state_dir, name, version);
	char *logdir = kmb_xasprintf("%s/log", j.tmp_dir);
	if ((rc = kmb_mkdir_p(j.build_dir, 0755)) < 0 || (rc = kmb_mkdir_p(logdir, 0755)) < 0) {
		free(logdir);
		rc = kmb_fail(reason, KMB_EXIT_FAIL, "cannot create %s: %s", j.tmp_dir,
			      strerror(-rc));
		goto out;
	}
	char *logp = kmb_xasprintf("%s/make.log", logdir);
	free(logdir);
	j.log_fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	free(logp);
	if (j.log_fd < 0) {
		rc = kmb_fail(reason, KMB_EXIT_FAIL, "cannot write make.log in %s", j.tmp_dir);
		goto out;
	}
	logf_(j.log_fd, "kmbuild %s: building %s/%s for %s (%s) with headers %s\n", KMB_VERSION,
	      name, version, k->release, k->arch, k->headers_dir);
	warn_compiler(&j);

	if ((rc = run_package(&j, reason)))
		goto failed;
	if (write_record(&j, j.tmp_dir, "built", NULL, kmb_now_ms() - t0) < 0 ||
	    commit_dir(j.tmp_dir, j.final_dir) < 0) {
		rc = kmb_fail(reason, KMB_EXIT_NOKO, "cannot move the build into %s", j.final_dir);
		goto failed;
	}
	kmb_cost_note_build(ctx, name, kmb_now_ms() - t0);
	rc = post_build(&j, reason);
	goto out;
failed:
	if (j.log_fd >= 0)
		logf_(j.log_fd, "kmbuild: FAILED: %s\n", *reason ? *reason : "");
	record_failure(&j, *reason ? *reason : "failed", kmb_now_ms() - t0);
out:
	if (j.log_fd >= 0)
		close(j.log_fd);
	kmb_pkg_free(j.pkg);
	free(j.excluded);
	free(j.final_dir);
	free(j.tmp_dir);
	free(j.build_dir);
	free(j.src_dir);
	free(j.view);
	free(j.sign_note);
	kmb_buf_free(&j.modules);
	return rc;
}
