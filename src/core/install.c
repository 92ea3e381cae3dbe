// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/build.h"
#include "core/install.h"
#include "core/state.h"
#include "base/util.h"

static char *os_release_field(const struct kmb_ctx *ctx, const char *key)
{
	char *data, *line, *save = NULL, *val = NULL;
	size_t kl = strlen(key);

	if (kmb_read_file(ctx->os_release, &data, NULL) < 0)
		return NULL;
	for (line = strtok_r(data, "\n", &save); line && !val; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, kl) != 0 || line[kl] != '=')
			continue;
		char *v = line + kl + 1;
		size_t vl = strlen(v);
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
			v[vl - 1] = '\0';
			v++;
		}
		val = kmb_xstrdup(v);
	}
	free(data);
	return val;
}

static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		size_t l = strcspn(p, " ");
		if (l == wl && strncmp(p, word, wl) == 0)
			return true;
		p += l;
		p += strspn(p, " ");
	}
	return false;
}

char *kmb_dest_location(const struct kmb_ctx *ctx, const char *conf_location)
{
	const char *cfg = kmb_config_get(ctx, "dest_location");
	if (cfg && *cfg)
		return kmb_xstrdup(cfg);
	char *id = os_release_field(ctx, "ID"), *like = os_release_field(ctx, "ID_LIKE");
	struct kmb_buf ids = {0};
	kmb_buf_printf(&ids, "%s %s", id ? id : "", like ? like : "");
	const char *loc = NULL;
	if (word_in(ids.s, "debian") || word_in(ids.s, "ubuntu") || word_in(ids.s, "arch"))
		loc = "/updates/dkms";
	else if (word_in(ids.s, "fedora") || word_in(ids.s, "rhel") || word_in(ids.s, "centos"))
		loc = "/extra";
	else if (word_in(ids.s, "suse") || word_in(ids.s, "sles") || word_in(ids.s, "opensuse"))
		loc = "/updates";
	char *out = kmb_xstrdup(loc ? loc
				    : (conf_location && *conf_location ? conf_location : "/extra"));
	kmb_buf_free(&ids);
	free(id);
	free(like);
	return out;
}

char *kmb_installed_version(const struct kmb_ctx *ctx, const char *name, const char *kernel,
			    const char *arch)
{
	char *marker = kmb_xasprintf("%s/%s/kernel-%s-%s", ctx->state_dir, name, kernel, arch);
	char target[4096];
	ssize_t n = readlink(marker, target, sizeof(target) - 1);
	free(marker);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	char *slash = strchr(target, '/');
	return slash ? kmb_xstrndup(target, (size_t)(slash - target)) : NULL;
}

static char *module_name_of(const char *file)
{
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	const char *ko = strstr(base, ".ko");
	return ko ? kmb_xstrndup(base, (size_t)(ko - base)) : kmb_xstrdup(base);
}

/*
 * An in-tree module of the same name elsewhere in the kernel's tree would be shadowed: DKMS
 * moves it to <m>/original_module/<k>/<a>/ and restores it on uninstall. libkmod answers
 * "where does this name live" from the kernel's own index.
 */
static char *find_shadowed(struct kmod_ctx *kctx, const char *modname, const char *ours)
{
	struct kmod_module *mod = NULL;
	char *found = NULL;

	if (!kctx || kmod_module_new_from_name(kctx, modname, &mod) < 0)
		return NULL;
	const char *path = kmod_module_get_path(mod);
	if (path && strcmp(path, ours) != 0 && access(path, F_OK) == 0)
		found = kmb_xstrdup(path);
	kmod_module_unref(mod);
	return found;
}

struct pending {
	char *src;    /* in <state>/.../module */
	char *dest;   /* absolute final path */
	char *tmp;    /* dest + ".kmb-new" */
	char *module; /* module name */
	char *shadow; /* absolute path of an in-tree module we move away, or NULL */
};

static void pending_free(struct pending *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].src);
		free(p[i].dest);
		free(p[i].tmp);
		free(p[i].module);
		free(p[i].shadow);
	}
	free(p);
}

static char *backup_path(const struct kmb_ctx *ctx, const char *name, struct kmb_kernel *k,
			 const char *shadow)
{
	return kmb_xasprintf("%s/%s/original_module/%s/%s%s", ctx->state_dir, name, k->release,
			     k->arch, shadow + strlen(k->modules_dir));
}

static int backup_original(const struct kmb_ctx *ctx, const char *name, struct kmb_kernel *k,
			   const char *shadow)
{
	char *dst = backup_path(ctx, name, k, shadow);
	char *parent = kmb_xstrndup(dst, (size_t)(strrchr(dst, '/') - dst));
	int r = kmb_mkdir_p(parent, 0755);
	if (r == 0 && rename(shadow, dst) < 0)
		r = -errno;
	free(parent);
	free(dst);
	return r;
}

static void restore_originals(const struct kmb_ctx *ctx, const char *name, const char *kernel,
			      const char *arch)
{
	char *bdir =
		kmb_xasprintf("%s/%s/original_module/%s/%s", ctx->state_dir, name, kernel, arch);
	char *list = NULL;
	const char *argv[] = {"find", bdir, "-type", "f", "-printf", "%P\\n", NULL};
	if (kmb_is_dir(bdir) && kmb_run_capture(argv, NULL, &list) == 0) {
		char *save = NULL;
		for (char *rel = strtok_r(list, "\n", &save); rel;
		     rel = strtok_r(NULL, "\n", &save)) {
			char *from = kmb_xasprintf("%s/%s", bdir, rel);
			char *to = kmb_xasprintf("%s/%s/%s", ctx->modules_dir, kernel, rel);
			char *parent = kmb_xstrndup(to, (size_t)(strrchr(to, '/') - to));
			kmb_mkdir_p(parent, 0755);
			if (rename(from, to) < 0)
				kmb_warn("cannot restore original module %s: %s", to,
					 strerror(errno));
			free(parent);
			free(from);
			free(to);
		}
		kmb_rm_rf(bdir);
	}
	free(list);
	free(bdir);
}

int kmb_uninstall(const struct kmb_ctx *ctx, const char *name, const char *version,
		  const char *kernel, const char *arch, char **reason)
{
	struct kmb_installed_file *files = NULL;
	size_t n = 0;
	char *marker = kmb_xasprintf("%s/%s/kernel-%s-%s", ctx->state_dir, name, kernel, arch);
	char *cur = kmb_installed_version(ctx, name, kernel, arch);
	int rc = 0;

	*reason = NULL;
	if (!cur || strcmp(cur, version) != 0) {
		rc = kmb_fail(reason, KMB_EXIT_NOTFOUND, "%s/%s is not installed for %s (%s)", name,
			      version, kernel, arch);
		goto out;
	}
	kmb_state_installed_files(ctx, name, version, kernel, arch, &files, &n);
	for (size_t i = 0; i < n; i++) {
		char *abs = kmb_root_path(ctx, files[i].path);
		if (unlink(abs) < 0 && errno != ENOENT)
			kmb_warn("cannot remove %s: %s", abs, strerror(errno));
		free(abs);
	}
	restore_originals(ctx, name, kernel, arch);
	/* The marker goes last: until then status still says where the files were. */
	unlink(marker);
	char *kd = kmb_state_kernel_dir(ctx, name, version, kernel, arch);
	char *inst = kmb_xasprintf("%s/installed", kd);
	unlink(inst);
	free(inst);
	free(kd);
	kmb_installed_files_free(files, n);
out:
	free(cur);
	free(marker);
	return rc;
}

/* The version being replaced for this kernel: its files are ours, not in-tree modules. */
struct previous {
	char *version;
	struct kmb_installed_file *files;
	size_t n;
};

static void previous_load(const struct kmb_ctx *ctx, const char *name, struct kmb_kernel *k,
			  struct previous *old)
{
	memset(old, 0, sizeof(*old));
	old->version = kmb_installed_version(ctx, name, k->release, k->arch);
	if (old->version)
		kmb_state_installed_files(ctx, name, old->version, k->release, k->arch, &old->files,
					  &old->n);
}

static bool previous_owns(const struct kmb_ctx *ctx, const struct previous *old, const char *abs)
{
	size_t rl = strlen(ctx->root);

	for (size_t i = 0; i < old->n; i++)
		if (strncmp(abs, ctx->root, rl) == 0 && strcmp(abs + rl, old->files[i].path) == 0)
			return true;
	return false;
}

static void previous_free(struct previous *old)
{
	kmb_installed_files_free(old->files, old->n);
	free(old->version);
}

/*
 * After the new files are in place and the marker points at the new version: delete what the
 * old version had that the new one did not replace, and its installed record.
 */
static void previous_drop(const struct kmb_ctx *ctx, const char *name, struct kmb_kernel *k,
			  const struct previous *old, const struct pending *p, size_t n)
{
	for (size_t i = 0; i < old->n; i++) {
		char *abs = kmb_root_path(ctx, old->files[i].path);
		bool replaced = false;
		for (size_t j = 0; j < n && !replaced; j++)
			replaced = strcmp(p[j].dest, abs) == 0;
		if (!replaced && unlink(abs) < 0 && errno != ENOENT)
			kmb_warn("cannot remove %s: %s", abs, strerror(errno));
		free(abs);
	}
	char *kd = kmb_state_kernel_dir(ctx, name, old->version, k->release, k->arch);
	char *inst = kmb_xasprintf("%s/installed", kd);
	unlink(inst);
	free(inst);
	free(kd);
}

/* One pending entry per "file location" line of the build's modules list. */
static struct pending *plan_pending(const struct kmb_ctx *ctx, struct kmb_kernel *k, const char *kd,
				    char *list, const struct previous *old, size_t *np)
{
	const char *const null_cfg[] = {NULL};
	struct kmod_ctx *kctx = kmod_new(k->modules_dir, null_cfg);
	struct pending *p = NULL;
	char *line, *save = NULL;
	size_t n = 0;

	if (kctx)
		kmod_set_log_priority(kctx, 0);
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		char *loc = kmb_dest_location(ctx, sp + 1);
		p = kmb_xrealloc(p, (n + 1) * sizeof(*p));
		struct pending *e = &p[n++];
		e->src = kmb_xasprintf("%s/module/%s", kd, line);
		e->dest = kmb_xasprintf("%s%s/%s", k->modules_dir, loc, line);
		e->tmp = kmb_xasprintf("%s.kmb-new", e->dest);
		e->module = module_name_of(line);
		e->shadow = find_shadowed(kctx, e->module, e->dest);
		if (e->shadow && previous_owns(ctx, old, e->shadow)) {
			free(e->shadow);
			e->shadow = NULL;
		}
		free(loc);
	}
	if (kctx)
		kmod_unref(kctx);
	*np = n;
	return p;
}

/* Stage every file next to its destination; nothing visible changes yet. */
static int stage_pending(struct pending *p, size_t n, char **reason)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		char *parent =
			kmb_xstrndup(p[i].dest, (size_t)(strrchr(p[i].dest, '/') - p[i].dest));
		int r = kmb_mkdir_p(parent, 0755);
		if (r == 0)
			r = kmb_copy_file_atomic(p[i].src, p[i].tmp, 0644);
		if (r < 0)
			rc = kmb_fail(reason, KMB_EXIT_INSTALL, "cannot write %s: %s", p[i].tmp,
				      strerror(-r));
		free(parent);
	}
	if (rc)
		for (size_t i = 0; i < n; i++)
			unlink(p[i].tmp);
	return rc;
}

/*
 * Rename the staged files over their destinations, record them and point the marker at this
 * version. A file of the old version at the same path is replaced by rename, so every path
 * holds the old or the new module at every instant.
 */
static int commit_pending(const struct kmb_ctx *ctx, const char *name, const char *version,
			  struct kmb_kernel *k, struct pending *p, size_t n, char **reason)
{
	struct kmb_installed_file *rec = kmb_xcalloc(n ? n : 1, sizeof(*rec));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i].shadow && backup_original(ctx, name, k, p[i].shadow) < 0)
			kmb_warn("cannot back up shadowed %s", p[i].shadow);
		if (rename(p[i].tmp, p[i].dest) < 0 && rc == 0)
			rc = kmb_fail(reason, KMB_EXIT_INSTALL, "cannot install %s: %s", p[i].dest,
				      strerror(errno));
		rec[i].module = p[i].module;
		rec[i].path = p[i].dest + strlen(ctx->root);
		kmb_sha256_file(p[i].dest, rec[i].sha256);
	}
	if (rc == 0 &&
	    kmb_state_write_installed(ctx, name, version, k->release, k->arch, rec, n) < 0)
		rc = kmb_fail(reason, KMB_EXIT_INSTALL, "cannot write installed record");
	free(rec);
	if (rc == 0) {
		char *marker = kmb_xasprintf("%s/%s/kernel-%s-%s", ctx->state_dir, name, k->release,
					     k->arch);
		char *target = kmb_xasprintf("%s/%s/%s", version, k->release, k->arch);
		if (kmb_symlink_atomic(target, marker) < 0)
			rc = kmb_fail(reason, KMB_EXIT_INSTALL, "cannot write %s", marker);
		free(marker);
		free(target);
	}
	return rc;
}

/* A failed commit: the old version, if any, keeps its files and its own backups. */
static void rollback_pending(const struct kmb_ctx *ctx, const char *name, struct kmb_kernel *k,
			     const struct previous *old, const struct pending *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unlink(p[i].tmp);
		if (!previous_owns(ctx, old, p[i].dest))
			unlink(p[i].dest);
		if (!p[i].shadow || !old->version)
			continue;
		char *b = backup_path(ctx, name, k, p[i].shadow);
		if (rename(b, p[i].shadow) < 0 && errno != ENOENT)
			kmb_warn("cannot restore original module %s: %s", p[i].shadow,
				 strerror(errno));
		free(b);
	}
	if (!old->version)
		restore_originals(ctx, name, k->release, k->arch);
}

static int run_install_script(const struct kmb_ctx *ctx, const char *name, const char *version,
			      const char *script)
{
	char *srcdir = kmb_xasprintf("%s/%s/%s/source", ctx->state_dir, name, version);
	int rc = kmb_run_script(ctx, name, script, srcdir, STDERR_FILENO);

	free(srcdir);
	return rc;
}

int kmb_install(const struct kmb_ctx *ctx, const char *name, const char *version,
		struct kmb_kernel *k, char **reason)
{
	char *kd = kmb_state_kernel_dir(ctx, name, version, k->release, k->arch);
	char *mods = kmb_xasprintf("%s/modules", kd), *list = NULL;
	struct previous old = {0};
	struct pending *p = NULL;
	struct kmb_pkg *pkg = NULL;
	size_t n = 0;
	int rc = 0, src_rc;

	*reason = NULL;
	if (!k->installed) {
		rc = kmb_fail(reason, KMB_EXIT_INSTALL, "kernel %s is not installed (%s missing)",
			      k->release, k->modules_dir);
		goto out;
	}
	if (!kmb_is_built(ctx, name, version, k->release, k->arch) ||
	    kmb_read_file(mods, &list, NULL) < 0) {
		rc = kmb_fail(reason, KMB_EXIT_NOTFOUND, "%s/%s is not built for %s (%s)", name,
			      version, k->release, k->arch);
		goto out;
	}
	rc = kmb_pkg_load_registered(ctx, name, version, k, &pkg, reason);
	if (rc)
		goto out;
	src_rc = run_install_script(ctx, name, version, pkg->pre_install);
	if (src_rc != 0) {
		rc = kmb_fail(reason, KMB_EXIT_PRE_INSTALL, "PRE_INSTALL %s failed (exit %d)",
			      pkg->pre_install, src_rc);
		goto out;
	}
	/*
	 * One version per kernel, but the old one stays until the new one is staged and
	 * renamed over it: a full disk or a kill in between must never leave no module.
	 */
	previous_load(ctx, name, k, &old);
	p = plan_pending(ctx, k, kd, list, &old, &n);
	rc = stage_pending(p, n, reason);
	if (rc)
		goto out;
	rc = commit_pending(ctx, name, version, k, p, n, reason);
	if (rc) {
		rollback_pending(ctx, name, k, &old, p, n);
		goto out;
	}
	if (old.version && strcmp(old.version, version) != 0)
		previous_drop(ctx, name, k, &old, p, n);
	src_rc = run_install_script(ctx, name, version, pkg->post_install);
	if (src_rc != 0)
		kmb_warn("%s/%s: POST_INSTALL %s failed (exit %d)", name, version,
			 pkg->post_install, src_rc);
out:
	previous_free(&old);
	kmb_pkg_free(pkg);
	pending_free(p, n);
	free(list);
	free(mods);
	free(kd);
	return rc;
}

int kmb_depmod(const struct kmb_ctx *ctx, struct kmb_kernel *k)
{
	struct kmb_strv argv = {0};
	int rc;

	if (!kmb_is_dir(k->modules_dir))
		return 0;
	kmb_strv_push(&argv, "depmod");
	kmb_strv_push(&argv, "-a");
	if (ctx->root[0]) {
		kmb_strv_push(&argv, "-b");
		kmb_strv_push(&argv, ctx->root);
	}
	if (k->sysmap) {
		kmb_strv_push(&argv, "-F");
		kmb_strv_push(&argv, k->sysmap);
	}
	kmb_strv_push(&argv, k->release);
	/* A tree without the kernel's own modules (a sandbox, a kernel whose image is not
	 * installed) lacks modules.order/builtin and depmod warns about each: not news. */
	char *order = kmb_xasprintf("%s/modules.order", k->modules_dir);
	int devnull = kmb_exists(order) ? -1 : open("/dev/null", O_WRONLY | O_CLOEXEC);
	free(order);
	struct kmb_run r = {.argv = (const char *const *)argv.v, .out_fd = devnull, .in_fd = -1};
	rc = kmb_run(&r);
	if (devnull >= 0)
		close(devnull);
	kmb_strv_free(&argv);
	return rc;
}
