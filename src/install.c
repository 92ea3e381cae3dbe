// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <libkmod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "install.h"
#include "state.h"
#include "util.h"

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

static int backup_original(const struct kmb_ctx *ctx, const char *name, struct kmb_kernel *k,
			   const char *shadow)
{
	const char *rel = shadow + strlen(k->modules_dir);
	char *bdir = kmb_xasprintf("%s/%s/original_module/%s/%s", ctx->state_dir, name, k->release,
				   k->arch);
	char *dst = kmb_xasprintf("%s%s", bdir, rel);
	char *parent = kmb_xstrndup(dst, (size_t)(strrchr(dst, '/') - dst));
	int r = kmb_mkdir_p(parent, 0755);
	if (r == 0 && rename(shadow, dst) < 0)
		r = -errno;
	free(parent);
	free(dst);
	free(bdir);
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

int kmb_install(const struct kmb_ctx *ctx, const char *name, const char *version,
		struct kmb_kernel *k, char **reason)
{
	char *kd = kmb_state_kernel_dir(ctx, name, version, k->release, k->arch);
	char *mods = kmb_xasprintf("%s/modules", kd), *list = NULL, *line, *save = NULL;
	struct pending *p = NULL;
	size_t n = 0;
	struct kmod_ctx *kctx = NULL;
	struct kmb_pkg *pkg = NULL;
	int rc = 0;

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
	char *srcdir = kmb_xasprintf("%s/%s/%s/source", ctx->state_dir, name, version);
	int src_rc = kmb_run_script(ctx, name, pkg->pre_install, srcdir, STDERR_FILENO);
	free(srcdir);
	if (src_rc != 0) {
		rc = kmb_fail(reason, KMB_EXIT_PRE_INSTALL, "PRE_INSTALL %s failed (exit %d)",
			      pkg->pre_install, src_rc);
		goto out;
	}

	/* Another version installed for this kernel goes first (one version per kernel). */
	char *other = kmb_installed_version(ctx, name, k->release, k->arch);
	if (other) {
		char *why = NULL;
		kmb_uninstall(ctx, name, other, k->release, k->arch, &why);
		free(why);
		free(other);
	}

	const char *const null_cfg[] = {NULL};
	kctx = kmod_new(k->modules_dir, null_cfg);
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
		free(loc);
	}

	/* Stage every file next to its destination first; only then move anything. */
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
	if (rc) {
		for (size_t i = 0; i < n; i++)
			unlink(p[i].tmp);
		goto out;
	}
	struct kmb_installed_file *rec = kmb_xcalloc(n ? n : 1, sizeof(*rec));
	for (size_t i = 0; i < n; i++) {
		if (p[i].shadow && backup_original(ctx, name, k, p[i].shadow) < 0)
			kmb_warn("cannot back up shadowed %s", p[i].shadow);
		if (rename(p[i].tmp, p[i].dest) < 0)
			rc = kmb_fail(reason, KMB_EXIT_INSTALL, "cannot install %s: %s", p[i].dest,
				      strerror(errno));
		rec[i].module = p[i].module;
		rec[i].path = p[i].dest + strlen(ctx->root);
		kmb_sha256_file(p[i].dest, rec[i].sha256);
	}
	if (rc == 0)
		rc = kmb_state_write_installed(ctx, name, version, k->release, k->arch, rec, n) < 0
			     ? kmb_fail(reason, KMB_EXIT_INSTALL, "cannot write installed record")
			     : 0;
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
	if (rc) {
		for (size_t i = 0; i < n; i++)
			unlink(p[i].dest);
		restore_originals(ctx, name, k->release, k->arch);
		goto out;
	}
	srcdir = kmb_xasprintf("%s/%s/%s/source", ctx->state_dir, name, version);
	src_rc = kmb_run_script(ctx, name, pkg->post_install, srcdir, STDERR_FILENO);
	if (src_rc != 0)
		kmb_warn("%s/%s: POST_INSTALL %s failed (exit %d)", name, version,
			 pkg->post_install, src_rc);
	free(srcdir);
out:
	if (kctx)
		kmod_unref(kctx);
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
