// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/archive.h"
#include "core/build.h"
#include "conf/conf.h"
#include "core/registry.h"
#include "core/state.h"
#include "base/util.h"
#include "base/version.h"

/* A source tarball holds the tree at its top, one directory down, or (DKMS mktarball)
 * under dkms_source_tree/. */
static char *find_conf_dir(const char *top)
{
	static const char *const confs[] = {"kmbuild.conf", "dkms.conf"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(confs); i++) {
		char *p = kmb_xasprintf("%s/%s", top, confs[i]);
		bool ok = kmb_exists(p);
		free(p);
		if (ok)
			return kmb_xstrdup(top);
	}
	DIR *d = opendir(top);
	struct dirent *de;
	char *found = NULL;
	if (!d)
		return NULL;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *sub = kmb_xasprintf("%s/%s", top, de->d_name);
		for (size_t i = 0; i < KMB_ARRAY_SIZE(confs) && !found; i++) {
			char *p = kmb_xasprintf("%s/%s", sub, confs[i]);
			if (kmb_is_dir(sub) && kmb_exists(p))
				found = kmb_xstrdup(sub);
			free(p);
		}
		free(sub);
	}
	closedir(d);
	return found;
}

static int copy_tree(const char *src, const char *dst)
{
	char *from = kmb_xasprintf("%s/.", src);
	const char *argv[] = {"cp", "-a", "--reflink=auto", from, dst, NULL};
	struct kmb_run r = {.argv = argv, .out_fd = -1, .in_fd = -1};
	int rc = kmb_run(&r);
	free(from);
	return rc == 0 ? 0 : -EIO;
}

int kmb_registry_add(const struct kmb_ctx *ctx, const char *path, char **name, char **version,
		     char **reason)
{
	struct kmb_pkg *pkg = NULL;
	struct kmb_conf_error err = {{0}};
	struct kmb_conf_vars vars;
	char *extracted = NULL, *srcdir = NULL, *dest = NULL, *vdir = NULL, *tmpv = NULL;
	char real[PATH_MAX];
	struct stat st;
	int rc = 0, r;

	*name = *version = *reason = NULL;
	if (stat(path, &st) < 0)
		return kmb_fail(reason, KMB_EXIT_USAGE, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode) && !kmb_endswith(path, "dkms.conf") &&
	    !kmb_endswith(path, "kmbuild.conf")) {
		char aerr[512] = "";
		char *tmp = kmb_xasprintf("%s/.kmbuild-add.%ld", ctx->src_dir, (long)getpid());
		kmb_mkdir_p(ctx->src_dir, 0755);
		kmb_rm_rf(tmp);
		if (kmb_archive_extract(path, tmp, aerr, sizeof(aerr)) < 0) {
			free(tmp);
			return kmb_fail(reason, KMB_EXIT_BADCONF, "%s", aerr);
		}
		extracted = tmp;
		srcdir = find_conf_dir(tmp);
		if (!srcdir) {
			rc = kmb_fail(reason, KMB_EXIT_EXISTS,
				      "%s: no dkms.conf or kmbuild.conf inside", path);
			goto out;
		}
	} else if (S_ISREG(st.st_mode)) {
		char *slash = strrchr(path, '/');
		srcdir = slash ? kmb_xstrndup(path, (size_t)(slash - path)) : kmb_xstrdup(".");
	} else {
		srcdir = kmb_xstrdup(path);
	}
	if (!realpath(srcdir, real)) {
		rc = kmb_fail(reason, KMB_EXIT_USAGE, "%s: %s", srcdir, strerror(errno));
		goto out;
	}
	kmb_conf_vars_for(ctx, NULL, &vars);
	r = kmb_pkg_load(S_ISREG(st.st_mode) && !extracted ? path : real, &vars, &pkg, &err);
	if (r < 0) {
		rc = kmb_fail(reason, r == -ENOENT ? KMB_EXIT_NOTFOUND : KMB_EXIT_BADCONF, "%s",
			      err.msg);
		goto out;
	}
	if (!kmb_is_safe_name(pkg->name) || !kmb_is_safe_name(pkg->version)) {
		rc = kmb_fail(reason, KMB_EXIT_BADCONF,
			      "%s: PACKAGE_NAME/PACKAGE_VERSION '%s/%s' is not "
			      "a valid file name",
			      pkg->conf_path, pkg->name, pkg->version);
		goto out;
	}
	vdir = kmb_state_version_dir(ctx, pkg->name, pkg->version);
	if (kmb_exists(vdir)) {
		rc = kmb_fail(reason, KMB_EXIT_EXISTS,
			      "%s/%s is already added (kmbuild remove %s/%s "
			      "--all first)",
			      pkg->name, pkg->version, pkg->name, pkg->version);
		goto out;
	}
	dest = kmb_xasprintf("%s/%s-%s", ctx->src_dir, pkg->name, pkg->version);
	char dreal[PATH_MAX];
	bool in_place = realpath(dest, dreal) && strcmp(dreal, real) == 0;
	bool copied = false;
	if (!in_place) {
		if (kmb_exists(dest)) {
			rc = kmb_fail(reason, KMB_EXIT_EXISTS, "%s already exists and is not %s",
				      dest, real);
			goto out;
		}
		char *tmp = kmb_xasprintf("%s.kmb-tmp.%ld", dest, (long)getpid());
		kmb_rm_rf(tmp);
		if (kmb_mkdir_p(tmp, 0755) < 0 || copy_tree(real, tmp) < 0 ||
		    rename(tmp, dest) < 0) {
			kmb_rm_rf(tmp);
			free(tmp);
			rc = kmb_fail(reason, KMB_EXIT_FAIL, "cannot copy %s to %s", real, dest);
			goto out;
		}
		free(tmp);
		copied = true;
	}
	/* Build <state>/<m>/<v> beside its final name, then rename: added or not, never half. */
	tmpv = kmb_xasprintf("%s/%s/.%s.kmb-add.%ld", ctx->state_dir, pkg->name, pkg->version,
			     (long)getpid());
	char *link = kmb_xasprintf("%s/source", tmpv);
	kmb_rm_rf(tmpv);
	if (kmb_mkdir_p(tmpv, 0755) < 0 || symlink(dest, link) < 0 || rename(tmpv, vdir) < 0) {
		kmb_rm_rf(tmpv);
		if (copied)
			kmb_rm_rf(dest);
		free(link);
		rc = kmb_fail(reason, KMB_EXIT_FAIL, "cannot register %s in %s", pkg->name, vdir);
		goto out;
	}
	free(link);
	if (copied) {
		/* Remember that the copy is ours to delete on remove. */
		char *mark = kmb_xasprintf("%s/source-owned", vdir);
		kmb_write_file_atomic(mark, "1\n", 2, 0644);
		free(mark);
	}
	kmb_fsync_dir(ctx->state_dir);
	if (pkg->post_add) {
		int src = kmb_run_script(ctx, pkg->name, pkg->post_add, dest, STDERR_FILENO);
		if (src != 0)
			kmb_warn("%s/%s: POST_ADD %s failed (exit %d)", pkg->name, pkg->version,
				 pkg->post_add, src);
	}
	for (size_t i = 0; i < pkg->warnings.n; i++)
		kmb_warn("%s", pkg->warnings.v[i]);
	*name = kmb_xstrdup(pkg->name);
	*version = kmb_xstrdup(pkg->version);
out:
	if (extracted)
		kmb_rm_rf(extracted);
	free(extracted);
	free(srcdir);
	free(dest);
	free(vdir);
	free(tmpv);
	kmb_pkg_free(pkg);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ver_cmp_desc(const void *a, const void *b)
{
	return kmb_vercmp(*(char *const *)b, *(char *const *)a);
}

/* A version dir is one with a "source" entry (possibly dangling: a broken entry). */
static bool is_version_dir(const char *mdir, const char *ver)
{
	char *p = kmb_xasprintf("%s/%s/source", mdir, ver);
	bool ok = kmb_exists(p);
	free(p);
	return ok;
}

/* The state root also holds things that are not modules (the lock, kmbuild's MOK pair):
 * a module dir is one holding at least one version dir. */
static bool is_module_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool ok = false;

	if (!d)
		return false;
	while (!ok && (de = readdir(d)))
		ok = de->d_name[0] != '.' && is_version_dir(path, de->d_name);
	closedir(d);
	return ok;
}

static int list_names(const char *dir, bool versions, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct kmb_strv v = {0};

	*out = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (versions && (kmb_startswith(de->d_name, "kernel-") ||
				 strcmp(de->d_name, "original_module") == 0))
			continue;
		char *p = kmb_xasprintf("%s/%s", dir, de->d_name);
		if (versions ? is_version_dir(dir, de->d_name) : is_module_dir(p))
			kmb_strv_push(&v, de->d_name);
		free(p);
	}
	closedir(d);
	if (v.n)
		qsort(v.v, v.n, sizeof(char *), versions ? ver_cmp_desc : str_cmp);
	*out = v.v;
	*n = v.n;
	return 0;
}

int kmb_registry_versions(const struct kmb_ctx *ctx, const char *name, char ***versions, size_t *n)
{
	char *dir = kmb_xasprintf("%s/%s", ctx->state_dir, name);
	int r = list_names(dir, true, versions, n);
	free(dir);
	return r;
}

int kmb_registry_names(const struct kmb_ctx *ctx, char ***names, size_t *n)
{
	return list_names(ctx->state_dir, false, names, n);
}

void kmb_registry_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int kmb_registry_forget(const struct kmb_ctx *ctx, const char *name, const char *version)
{
	char *vdir = kmb_state_version_dir(ctx, name, version);
	char *mark = kmb_xasprintf("%s/source-owned", vdir);
	char *src = kmb_xasprintf("%s/%s-%s", ctx->src_dir, name, version);
	bool owned = kmb_exists(mark);
	/* Rename first so a crash leaves either the entry or nothing, never half of it. */
	char *gone = kmb_xasprintf("%s/%s/.%s.kmb-del.%ld", ctx->state_dir, name, version,
				   (long)getpid());
	int r = rename(vdir, gone) < 0 ? -errno : 0;
	if (r == 0) {
		kmb_rm_rf(gone);
		if (owned)
			kmb_rm_rf(src);
		/* The module dir goes when nothing of it is left. */
		char *mdir = kmb_xasprintf("%s/%s", ctx->state_dir, name);
		char **left;
		size_t nleft;
		if (list_names(mdir, true, &left, &nleft) == 0 && nleft == 0) {
			char *orig = kmb_xasprintf("%s/original_module", mdir);
			if (!kmb_exists(orig))
				kmb_rm_rf(mdir);
			free(orig);
		}
		kmb_registry_strv_free(left, nleft);
		free(mdir);
	}
	free(gone);
	free(src);
	free(mark);
	free(vdir);
	return r;
}
