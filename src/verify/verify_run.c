// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `kmbuild verify`: which kernel boots next, which modules belong to it (the state tree, and
 * with --all its whole module tree), the checks of verify.c on each, and the report. With
 * --all every module file is read once (in parallel) before any check, so that symbol lookups
 * are hash probes into one table of all exports.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libkmod.h>

#include "conf/conf.h"
#include "initramfs/initramfs_read.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "core/state.h"
#include "base/util.h"
#include "verify/verify.h"
#include "verify/verify_reboot.h"
#include "verify/verify_sys.h"
#include "base/version.h"

/* ---- which kernel boots next ---------------------------------------------------------------- */

/* "gnulinux-6.1.0-55-amd64-advanced-<uuid>" or "... with Linux 6.1.0-55-amd64": the release. */
static char *release_in(const char *s)
{
	const char *p;

	if ((p = strstr(s, "with Linux "))) {
		p += strlen("with Linux ");
		return kmb_xstrndup(p, strcspn(p, " >'\""));
	}
	if ((p = strstr(s, "gnulinux-")) && p[9] >= '0' && p[9] <= '9') {
		p += 9;
		const char *e = strstr(p, "-advanced-");
		if (!e)
			e = strstr(p, "-recovery-");
		if (e)
			return kmb_xstrndup(p, (size_t)(e - p));
	}
	return NULL;
}

/* The release GRUB boots by default, if its configuration says so plainly. */
static char *grub_default(const struct kmb_ctx *ctx)
{
	char *p = kmb_root_path(ctx, "/etc/default/grub"), *data = NULL, *line, *save = NULL;
	char *def = NULL, *res = NULL;

	if (kmb_read_file(p, &data, NULL) == 0) {
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (kmb_startswith(line, "GRUB_DEFAULT=")) {
				free(def);
				def = kmb_xstrdup(line + strlen("GRUB_DEFAULT="));
			}
		free(data);
	}
	free(p);
	if (def && def[0] == '"') {
		memmove(def, def + 1, strlen(def));
		def[strcspn(def, "\"")] = '\0';
	}
	if (def && strcmp(def, "saved") == 0) {
		p = kmb_root_path(ctx, "/boot/grub/grubenv");
		if (kmb_read_file(p, &data, NULL) == 0) {
			char *se = strstr(data, "saved_entry=");
			if (se) {
				se += strlen("saved_entry=");
				se[strcspn(se, "\n")] = '\0';
				res = release_in(se);
			}
			free(data);
		}
		free(p);
	} else if (def && !(def[0] >= '0' && def[0] <= '9')) {
		res = release_in(def);
	} else if (!def || strcmp(def, "0") == 0) {
		/* Entry 0: the first kernel grub.cfg boots. */
		p = kmb_root_path(ctx, "/boot/grub/grub.cfg");
		if (kmb_read_file(p, &data, NULL) == 0) {
			char *v = strstr(data, "/vmlinuz-");
			if (v) {
				v += strlen("/vmlinuz-");
				res = kmb_xstrndup(v, strcspn(v, " \t\n"));
			}
			free(data);
		}
		free(p);
	}
	free(def);
	return res;
}

char *kmb_verify_default_kernel(const struct kmb_ctx *ctx)
{
	char *g = grub_default(ctx);
	char *res = NULL;

	if (g) {
		char *dir = kmb_xasprintf("%s/%s", ctx->modules_dir, g);
		bool ok = kmb_is_dir(dir);
		free(dir);
		if (ok)
			return g;
		free(g);
	}
	/* The newest installed: a kernel image or a module tree, not just a headers "build"
	 * link; only names and a few stats, not each kernel's config. */
	DIR *d = opendir(ctx->modules_dir);
	struct dirent *de;
	char *any = NULL;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || !kmb_is_safe_name(de->d_name))
			continue;
		char *p = kmb_xasprintf("%s/%s", ctx->modules_dir, de->d_name);
		char *dep = kmb_xasprintf("%s/modules.dep", p);
		char *img = kmb_xasprintf("%s/vmlinuz-%s", ctx->boot_dir, de->d_name);
		bool dir = kmb_is_dir(p), real = dir && (kmb_exists(dep) || kmb_exists(img));
		free(p);
		free(dep);
		free(img);
		if (real && (!res || kmb_vercmp(de->d_name, res) > 0)) {
			free(res);
			res = kmb_xstrdup(de->d_name);
		}
		if (dir && (!any || kmb_vercmp(de->d_name, any) > 0)) {
			free(any);
			any = kmb_xstrdup(de->d_name);
		}
	}
	closedir(d);
	if (res) {
		free(any);
		return res;
	}
	return any;
}

/* ---- one module ------------------------------------------------------------------------------ */

struct vmod {
	char *abs, *rel;
	char *package; /* "name/version" when kmbuild-managed */
	char name[256];
	struct kmb_modfile *m;
	char *err;
	const char *required; /* why it must be in the initramfs */
	bool managed;
};

struct vrun {
	const struct kmb_ctx *ctx;
	struct kmb_kernel *k;
	struct kmb_vkernel *vk;
	struct kmb_findings f;
	struct kmb_vpolicy pol;
	struct kmb_initrd_req req;
	struct vmod *mods;
	size_t n_mods, cap_mods;
	size_t n_managed;
	size_t n_tree;
};

static struct vmod *vmod_push(struct vrun *r)
{
	if (r->n_mods == r->cap_mods) {
		r->cap_mods = r->cap_mods ? r->cap_mods * 2 : 64;
		r->mods = kmb_xrealloc(r->mods, r->cap_mods * sizeof(*r->mods));
	}
	struct vmod *v = &r->mods[r->n_mods++];
	memset(v, 0, sizeof(*v));
	return v;
}

static void subject(const struct vrun *r, const struct vmod *v, struct kmb_vsubject *s)
{
	s->kernel = r->k->release;
	s->module = v->name;
	s->package = v->package;
	s->path = v->rel;
}

/* ---- coverage: what the state tree says about K ------------------------------------------------
 */

static struct kmb_pkg *load_pkg(const struct vrun *r, const char *name, const char *version)
{
	char *vdir = kmb_state_version_dir(r->ctx, name, version);
	char *src = kmb_xasprintf("%s/source", vdir);
	struct kmb_conf_vars vars = {.kernelver = r->k->release,
				     .arch = r->k->arch,
				     .kernel_source_dir = kmb_kernel_source_dir(r->k),
				     .overrides_dir = r->ctx->dkms_etc};
	struct kmb_conf_error err;
	struct kmb_pkg *pkg = NULL;

	if (kmb_pkg_load(src, &vars, &pkg, &err) < 0)
		pkg = NULL;
	free(src);
	free(vdir);
	return pkg;
}

static bool name_has_installed(const struct kmb_entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].name, name) == 0 && e[i].kernel &&
		    (e[i].state == KMB_ST_INSTALLED || e[i].state == KMB_ST_BROKEN))
			return true;
	return false;
}

static void coverage_added(struct vrun *r, const struct kmb_entry *e, struct kmb_vsubject *s)
{
	struct kmb_pkg *pkg = load_pkg(r, e->name, e->version);
	struct kmb_buf why = {0};
	bool all_excluded = pkg && pkg->n_modules > 0;

	if (!pkg) {
		kmb_finding_add(&r->f, s, KMB_VC_COVERAGE, KMB_VS_ERROR,
				kmb_xasprintf("kmbuild build %s/%s -k %s", e->name, e->version,
					      r->k->release),
				"registered but not built for %s (its definition cannot be read)",
				r->k->release);
		return;
	}
	for (size_t i = 0; i < pkg->n_modules; i++) {
		char *reason = NULL;
		if (kmb_pkg_module_excluded(pkg, i, r->k->release, r->k->arch,
					    kmb_kernel_config_lookup, r->k, &reason)) {
			kmb_buf_printf(&why, "%s%s", why.len ? "; " : "", reason);
		} else {
			all_excluded = false;
		}
		free(reason);
	}
	if (all_excluded)
		kmb_finding_add(&r->f, s, KMB_VC_COVERAGE, KMB_VS_INFO, NULL,
				"not built for %s on purpose: %s", r->k->release, why.s);
	else if (!pkg->autoinstall)
		kmb_finding_add(
			&r->f, s, KMB_VC_COVERAGE, KMB_VS_WARN,
			kmb_xasprintf("kmbuild build %s/%s -k %s && kmbuild install %s/%s -k %s",
				      e->name, e->version, r->k->release, e->name, e->version,
				      r->k->release),
			"registered but not built for %s (AUTOINSTALL is off, so kernel "
			"upgrades do not build it)",
			r->k->release);
	else
		kmb_finding_add(&r->f, s, KMB_VC_COVERAGE, KMB_VS_ERROR,
				kmb_xasprintf("kmbuild autoinstall -k %s", r->k->release),
				"registered but not built for %s: it will be missing after the "
				"reboot",
				r->k->release);
	kmb_buf_free(&why);
	kmb_pkg_free(pkg);
}

static void open_installed(struct vrun *r, const struct kmb_entry *e, bool remake_initrd)
{
	struct kmb_installed_file *files = NULL;
	size_t n = 0;
	char *pkgname = kmb_xasprintf("%s/%s", e->name, e->version);

	if (kmb_state_installed_files(r->ctx, e->name, e->version, e->kernel, e->arch, &files, &n) <
		    0 ||
	    n == 0) {
		struct kmb_vsubject s = {
			.kernel = r->k->release, .module = e->name, .package = pkgname};
		kmb_finding_add(
			&r->f, &s, KMB_VC_COVERAGE, KMB_VS_ERROR,
			kmb_xasprintf("kmbuild install %s -k %s --force", pkgname, r->k->release),
			"installed for %s but its installed-file record is missing", r->k->release);
		free(pkgname);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct vmod *v = vmod_push(r);
		char sha[65];

		v->rel = kmb_xstrdup(files[i].path);
		v->abs = kmb_root_path(r->ctx, files[i].path);
		v->package = kmb_xstrdup(pkgname);
		v->managed = true;
		kmb_module_name_from_path(files[i].path, v->name, sizeof(v->name));
		if (remake_initrd)
			kmb_initrd_req_add(&r->req, v->name, "REMAKE_INITRD=yes in its dkms.conf");
		r->n_managed++;
		if (kmb_modfile_open(v->abs, &v->m, &v->err) < 0)
			continue;
		if (kmb_sha256_file(v->abs, sha) == 0 && strcmp(sha, files[i].sha256) != 0) {
			struct kmb_vsubject s;
			subject(r, v, &s);
			kmb_finding_add(&r->f, &s, KMB_VC_COVERAGE, KMB_VS_WARN,
					kmb_xasprintf("kmbuild install %s -k %s --force", pkgname,
						      r->k->release),
					"changed since kmbuild installed it (sha256 differs)");
		}
	}
	kmb_installed_files_free(files, n);
	free(pkgname);
}

static void collect_managed(struct vrun *r)
{
	struct kmb_entry *e = NULL;
	size_t n = 0;

	kmb_state_list(r->ctx, NULL, NULL, r->k->release, &e, &n);
	struct kmb_strv lost = {0};
	kmb_verify_reboot_coverage(r->ctx, r->k, e, n, &r->f, &lost);
	for (size_t i = 0; i < n; i++) {
		if (kmb_strv_contains(&lost, e[i].name))
			continue; /* reported above, with the running kernel's view */
		char *pkgname = kmb_xasprintf("%s/%s", e[i].name, e[i].version);
		struct kmb_vsubject s = {
			.kernel = r->k->release, .module = e[i].name, .package = pkgname};

		if (!e[i].kernel) {
			/* Version-level entry: registered, nothing for K at all. */
			if (e[i].state == KMB_ST_BROKEN)
				kmb_finding_add(&r->f, &s, KMB_VC_COVERAGE, KMB_VS_WARN,
						kmb_xasprintf("kmbuild remove %s --all, or restore "
							      "its source",
							      pkgname),
						"%s", e[i].reason ? e[i].reason : "broken");
			else if (!name_has_installed(e, n, e[i].name))
				coverage_added(r, &e[i], &s);
		} else if (e[i].state == KMB_ST_INSTALLED) {
			struct kmb_pkg *pkg = load_pkg(r, e[i].name, e[i].version);
			open_installed(r, &e[i], pkg && pkg->remake_initrd);
			kmb_pkg_free(pkg);
		} else if (e[i].state == KMB_ST_BROKEN) {
			kmb_finding_add(&r->f, &s, KMB_VC_COVERAGE, KMB_VS_ERROR,
					kmb_xasprintf("kmbuild install %s -k %s --force", pkgname,
						      r->k->release),
					"%s",
					e[i].reason ? e[i].reason : "installed files are broken");
		} else if (e[i].state == KMB_ST_FAILED) {
			if (!name_has_installed(e, n, e[i].name))
				kmb_finding_add(
					&r->f, &s, KMB_VC_COVERAGE, KMB_VS_ERROR,
					kmb_xasprintf("see %s, fix, then kmbuild build %s -k "
						      "%s",
						      e[i].log ? e[i].log + strlen(r->ctx->root)
							       : "the build log",
						      pkgname, r->k->release),
					"build failed for %s: %s", r->k->release,
					e[i].reason ? e[i].reason : "see the log");
		} else if (e[i].state == KMB_ST_BUILT) {
			if (!name_has_installed(e, n, e[i].name))
				kmb_finding_add(&r->f, &s, KMB_VC_COVERAGE, KMB_VS_ERROR,
						kmb_xasprintf("kmbuild install %s -k %s", pkgname,
							      r->k->release),
						"built for %s but not installed", r->k->release);
		} else if (e[i].state == KMB_ST_EXCLUDED) {
			if (!name_has_installed(e, n, e[i].name))
				kmb_finding_add(&r->f, &s, KMB_VC_COVERAGE, KMB_VS_INFO, NULL,
						"not built for %s on purpose: %s", r->k->release,
						e[i].reason ? e[i].reason : "excluded");
		}
		free(pkgname);
	}
	kmb_strv_free(&lost);
	kmb_entries_free(e, n);
}

/* ---- the tree (--all) ------------------------------------------------------------------------ */

static bool is_module_file(const char *n)
{
	return kmb_endswith(n, ".ko") || kmb_endswith(n, ".ko.xz") || kmb_endswith(n, ".ko.zst") ||
	       kmb_endswith(n, ".ko.gz");
}

/* Every module file under dir; symlinks (build, source) are not followed. */
static void walk(struct vrun *r, const char *dir, size_t base_len)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = kmb_xasprintf("%s/%s", dir, de->d_name);
		unsigned char t = de->d_type;
		if (t == DT_UNKNOWN) {
			struct stat st;
			t = lstat(p, &st) < 0	  ? DT_UNKNOWN
			    : S_ISDIR(st.st_mode) ? DT_DIR
			    : S_ISREG(st.st_mode) ? DT_REG
						  : DT_UNKNOWN;
		}
		if (t == DT_DIR) {
			walk(r, p, base_len);
		} else if (t == DT_REG && is_module_file(de->d_name)) {
			bool dup = false;
			for (size_t i = 0; i < r->n_managed && !dup; i++)
				dup = strcmp(r->mods[i].abs, p) == 0;
			if (!dup) {
				struct vmod *v = vmod_push(r);
				v->abs = kmb_xstrdup(p);
				v->rel = kmb_xstrdup(p + base_len);
				kmb_module_name_from_path(p, v->name, sizeof(v->name));
				r->n_tree++;
			}
		}
		free(p);
	}
	closedir(d);
}

struct reader {
	struct vrun *r;
	size_t from, to;
};

static void *read_range(void *arg)
{
	struct reader *rd = arg;

	for (size_t i = rd->from; i < rd->to; i++) {
		struct vmod *v = &rd->r->mods[i];
		if (!v->m && !v->err)
			kmb_modfile_open(v->abs, &v->m, &v->err);
	}
	return NULL;
}

/* Module files are independent: read them on up to `jobs` threads. */
static void read_all(struct vrun *r, size_t from, int jobs)
{
	size_t n = r->n_mods - from;
	pthread_t th[16];
	struct reader rd[16];
	int t = jobs < 1 ? 1 : jobs > 16 ? 16 : jobs;

	if (n < 64)
		t = 1;
	for (int i = 0; i < t; i++) {
		rd[i].r = r;
		rd[i].from = from + n * (size_t)i / (size_t)t;
		rd[i].to = from + n * (size_t)(i + 1) / (size_t)t;
	}
	for (int i = 1; i < t; i++)
		if (pthread_create(&th[i], NULL, read_range, &rd[i]) != 0) {
			read_range(&rd[i]);
			th[i] = 0;
		}
	read_range(&rd[0]);
	for (int i = 1; i < t; i++)
		if (th[i])
			pthread_join(th[i], NULL);
}

/* ---- initramfs ----------------------------------------------------------------------------- */

struct ir_want {
	struct vmod *v;
	const struct kmb_initramfs_entry *e;
};

struct capture_ctx {
	const char *release;
	struct kmb_symtab *names;
};

/* Keep the bytes of K's module files whose module name we check. */
static bool capture_module(const char *name, void *ud)
{
	const struct capture_ctx *c = ud;
	char prefix[512], nb[256];
	const char *p = kmb_startswith(name, "usr/") ? name + 4 : name;

	snprintf(prefix, sizeof(prefix), "lib/modules/%s/", c->release);
	if (!kmb_startswith(p, prefix) || !strstr(p, ".ko"))
		return false;
	kmb_module_name_from_path(p, nb, sizeof(nb));
	return kmb_symtab_find(c->names, nb) != NULL;
}

/* Without --all the image is read only when it can hold something to report: a module that
 * must be in it, or a copy older than the installed file (an image written after every
 * installed file holds their current bytes if it holds them at all). Decompressing a
 * 100 MB image costs more than all other checks together. */
static bool image_worth_reading(const struct vrun *r, const char *img, bool all)
{
	struct stat st, ms;

	if (all || stat(img, &st) < 0)
		return true;
	for (size_t i = 0; i < r->n_mods; i++) {
		const struct vmod *v = &r->mods[i];
		if (!v->m)
			continue;
		if (kmb_initrd_req_why(&r->req, v->name))
			return true;
		if (stat(v->abs, &ms) < 0 || ms.st_mtim.tv_sec > st.st_mtim.tv_sec ||
		    (ms.st_mtim.tv_sec == st.st_mtim.tv_sec &&
		     ms.st_mtim.tv_nsec >= st.st_mtim.tv_nsec))
			return true;
	}
	return false;
}

struct ir_mod {
	char *name;
	const struct kmb_initramfs_entry *e;
	size_t order;
};

static int cmp_ir_mod(const void *a, const void *b)
{
	const struct ir_mod *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_ir_name(const void *a, const void *b)
{
	return strcmp(((const struct ir_mod *)a)->name, ((const struct ir_mod *)b)->name);
}

/* Module entries of K in the image, sorted by module name; for a name found twice only the
 * last entry (the one the kernel's unpacking leaves) is kept. */
static size_t index_modules(const struct kmb_initramfs *ir, const char *release,
			    struct ir_mod **out)
{
	struct ir_mod *v = kmb_xcalloc(ir->n_entries ? ir->n_entries : 1, sizeof(*v));
	char prefix[512], nb[256];
	size_t n = 0, m = 0;

	snprintf(prefix, sizeof(prefix), "lib/modules/%s/", release);
	for (size_t i = 0; i < ir->n_entries; i++) {
		const struct kmb_initramfs_entry *e = &ir->entries[i];
		const char *p = kmb_startswith(e->name, "usr/") ? e->name + 4 : e->name;
		if (!e->regular || !kmb_startswith(p, prefix) || !strstr(p, ".ko"))
			continue;
		kmb_module_name_from_path(p, nb, sizeof(nb));
		v[n].name = kmb_xstrdup(nb);
		v[n].e = e;
		v[n].order = i;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_ir_mod);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(v[i].name, v[i + 1].name) == 0) {
			free(v[i].name);
			continue;
		}
		v[m++] = v[i];
	}
	*out = v;
	return m;
}

static void image_unreadable(struct vrun *r, char *err)
{
	struct kmb_vsubject sys = {.kernel = r->k->release};

	kmb_finding_add(&r->f, &sys, KMB_VC_INITRAMFS, KMB_VS_ERROR,
			kmb_xasprintf("update-initramfs -c -k %s", r->k->release), "%s", err);
	free(err);
}

/* List K's image, keeping the bytes of the modules we check. False when there is nothing to
 * compare: the image is unreadable (reported) or not worth reading. *ir stays NULL when there
 * is no image at all. */
static bool open_image(struct vrun *r, const char *img, bool exists, bool all,
		       struct kmb_initramfs **ir)
{
	struct capture_ctx cc = {.release = r->k->release, .names = kmb_symtab_new()};
	char *err = NULL;
	bool ok = true;

	for (size_t i = 0; i < r->n_mods; i++) {
		struct kmb_ksym k = {.name = r->mods[i].name, .owner = ""};
		if (r->mods[i].m)
			kmb_symtab_add(cc.names, &k, false);
	}
	if (exists && r->n_mods && image_worth_reading(r, img, all) &&
	    kmb_initramfs_open_capture(img, capture_module, &cc, ir, &err) < 0) {
		image_unreadable(r, err);
		ok = false;
	} else if (exists && !*ir) {
		/* Not worth listing: nothing in it can be stale or missing. Still unreadable? */
		if (r->n_mods && kmb_initramfs_probe(img, &err) < 0)
			image_unreadable(r, err);
		ok = false;
	}
	kmb_symtab_free(cc.names);
	return ok;
}

/* The modules to compare with the image: those it holds and those that must be in it. */
static size_t wanted_modules(struct vrun *r, const struct kmb_initramfs *ir, struct ir_want *w)
{
	struct ir_mod *idx = NULL;
	size_t n_idx = ir ? index_modules(ir, r->k->release, &idx) : 0;
	size_t nw = 0;

	for (size_t i = 0; i < r->n_mods; i++) {
		struct vmod *v = &r->mods[i];
		if (!v->m)
			continue;
		v->required = kmb_initrd_req_why(&r->req, v->name);
		struct ir_mod key = {.name = v->name};
		struct ir_mod *hit =
			n_idx ? bsearch(&key, idx, n_idx, sizeof(key), cmp_ir_name) : NULL;
		const struct kmb_initramfs_entry *e = hit ? hit->e : NULL;
		if (!e && !v->required)
			continue;
		if (e && !v->managed) {
			/* A tree module the image holds under another path is another module of
			 * the same name (shadowed): only the one modules.dep picks matters. */
			const char *p = strstr(e->name, "lib/modules/");
			if (p && !kmb_endswith(v->abs,
					       p + strlen("lib/modules/") + strlen(r->k->release)))
				continue;
		}
		w[nw].v = v;
		w[nw].e = e;
		nw++;
	}
	for (size_t i = 0; i < n_idx; i++)
		free(idx[i].name);
	free(idx);
	return nw;
}

/* Read the wanted modules' entries in one pass over the image and compare each copy with the
 * installed file. */
static void compare_wanted(struct vrun *r, const struct kmb_initramfs *ir, const char *img,
			   bool exists, const struct ir_want *w, size_t nw)
{
	const char **rn = kmb_xcalloc(nw ? nw : 1, sizeof(*rn));
	size_t nr = 0;
	char *err = NULL;

	for (size_t i = 0; i < nw; i++)
		if (w[i].e)
			rn[nr++] = w[i].e->name;
	unsigned char **rdata = kmb_xcalloc(nr ? nr : 1, sizeof(*rdata));
	size_t *rlen = kmb_xcalloc(nr ? nr : 1, sizeof(*rlen));
	if (ir && nr && kmb_initramfs_read_files(ir, rn, nr, rdata, rlen, &err) < 0)
		image_unreadable(r, err);
	for (size_t i = 0, j = 0; i < nw; i++) {
		struct kmb_vsubject s;
		unsigned char *data = w[i].e ? rdata[j] : NULL;
		size_t len = w[i].e ? rlen[j++] : 0;

		subject(r, w[i].v, &s);
		kmb_verify_initramfs_module(r->vk, img, exists, w[i].e, data, len, w[i].v->m,
					    w[i].v->required, &s, &r->f);
		free(data);
	}
	free(rdata);
	free(rlen);
	free(rn);
}

static void check_initramfs(struct vrun *r, bool all)
{
	char *img = kmb_verify_initrd_path(r->ctx, r->k->release);
	struct kmb_initramfs *ir = NULL;
	bool exists = kmb_exists(img);

	if (open_image(r, img, exists, all, &ir)) {
		struct ir_want *w = kmb_xcalloc(r->n_mods ? r->n_mods : 1, sizeof(*w));
		size_t nw = wanted_modules(r, ir, w);
		compare_wanted(r, ir, img, exists, w, nw);
		free(w);
	}
	kmb_initramfs_free(ir);
	free(img);
}

/* ---- the run for one kernel ------------------------------------------------------------------ */

static void check_module(struct vrun *r, struct vmod *v)
{
	struct kmb_vsubject s;

	subject(r, v, &s);
	if (!v->m) {
		kmb_finding_add(&r->f, &s, v->managed ? KMB_VC_COVERAGE : KMB_VC_VERMAGIC,
				KMB_VS_ERROR,
				kmb_xstrdup(v->managed ? "kmbuild install <module> --force"
						       : "reinstall the package that ships it"),
				"%s", v->err ? v->err : "unreadable");
		return;
	}
	kmb_verify_vermagic(r->vk, v->m, &s, &r->f);
	kmb_verify_symbols(r->vk, v->m, &s, v->managed, &r->f);
	kmb_verify_indexes(r->vk, v->m, v->abs, &s, v->managed, &r->f);
	kmb_verify_signature(r->vk, v->m, &s, v->managed, &r->f);
	kmb_verify_policy_module(r->vk, &r->pol, v->name, &s, &r->f);
}

static void run_kernel(struct vrun *r, const struct kmb_verify_opts *o)
{
	struct kmb_vsubject sys = {.kernel = r->k->release};
	long long t0 = kmb_now_ms(), t1, t2, t3;

	collect_managed(r);
	if (o->all && r->k->installed)
		walk(r, r->k->modules_dir, strlen(r->ctx->root));
	t1 = kmb_now_ms();
	read_all(r, 0, o->jobs);
	t2 = kmb_now_ms();

	/* A few modules need a few dozen of the kernel's ~25,000 exports: load only those. */
	struct kmb_symtab *want = NULL;
	if (!o->all) {
		want = kmb_symtab_new();
		struct kmb_ksym w = {.name = "module_layout", .owner = ""};
		kmb_symtab_add(want, &w, false);
		for (size_t i = 0; i < r->n_mods; i++)
			for (size_t j = 0; r->mods[i].m && j < r->mods[i].m->n_undef; j++) {
				w.name = r->mods[i].m->undef[j].name;
				kmb_symtab_add(want, &w, false);
			}
	}
	kmb_vkernel_open(r->ctx, r->k, want, &r->vk, &r->f);
	kmb_symtab_free(want);
	if (!r->k->installed)
		kmb_finding_add(&r->f, &sys, KMB_VC_COVERAGE, KMB_VS_ERROR, NULL,
				"%s is not installed: %s does not exist", r->k->release,
				r->k->modules_dir + strlen(r->ctx->root));
	else if (!r->vk->have_index && r->n_mods)
		kmb_finding_add(&r->f, &sys, KMB_VC_INDEXES, KMB_VS_ERROR,
				kmb_verify_depmod_fix(r->ctx->root, r->k->release),
				"%s has no modules.dep.bin: modprobe finds no module at all",
				r->k->modules_dir + strlen(r->ctx->root));

	/* Exports first, so that every module's imports resolve against the full set; the file
	 * modules.dep picks for a name is what other modules are checked against. */
	for (size_t i = 0; i < r->n_mods; i++) {
		struct vmod *v = &r->mods[i];
		if (!v->m)
			continue;
		kmb_vkernel_add_exports(r->vk, v->m, v->rel);
		kmb_vkernel_cache_module(r->vk, v->managed ? v->name : NULL, v->abs, v->m);
	}
	if (o->all && r->vk->kmod) {
		for (size_t i = 0; i < r->n_mods; i++) {
			struct vmod *v = &r->mods[i];
			struct kmod_module *mod = NULL;
			const char *p;
			if (!v->m || v->managed)
				continue;
			if (kmod_module_new_from_name(r->vk->kmod, v->name, &mod) == 0 &&
			    (p = kmod_module_get_path(mod)) && strcmp(p, v->abs) == 0)
				kmb_vkernel_cache_module(r->vk, v->name, v->abs, v->m);
			kmod_module_unref(mod);
		}
	}
	t3 = kmb_now_ms();
	for (size_t i = 0; i < r->n_mods; i++)
		check_module(r, &r->mods[i]);
	long long t4 = kmb_now_ms();
	check_initramfs(r, o->all);
	kmb_verify_policy_system(&r->pol, &sys, &r->f);
	kmb_debug(r->ctx,
		  "verify %s: setup+state %lld ms, read %zu files %lld ms, exports %lld ms, checks "
		  "%lld ms, initramfs+policy %lld ms",
		  r->k->release, t1 - t0, r->n_mods, t2 - t1, t3 - t2, t4 - t3, kmb_now_ms() - t4);
}

static void vrun_free(struct vrun *r)
{
	for (size_t i = 0; i < r->n_mods; i++) {
		kmb_modfile_free(r->mods[i].m);
		free(r->mods[i].err);
		free(r->mods[i].abs);
		free(r->mods[i].rel);
		free(r->mods[i].package);
	}
	free(r->mods);
	kmb_vkernel_free(r->vk);
	kmb_findings_free(&r->f);
	kmb_initrd_req_free(&r->req);
}

/* ---- report ---------------------------------------------------------------------------------- */

static void report_text(const struct vrun *r, bool verbose, FILE *out)
{
	const struct kmb_findings *f = &r->f;
	size_t nerr = kmb_findings_count(f, KMB_VC_N, KMB_VS_ERROR);
	size_t nwarn = kmb_findings_count(f, KMB_VC_N, KMB_VS_WARN) - nerr;
	bool *done = kmb_xcalloc(f->n ? f->n : 1, sizeof(bool));
	const char *verdict = nerr ? "will fail at boot" : nwarn ? "loads, with warnings" : "ready";

	fprintf(out, "%s: %zu kmbuild module file%s", r->k->release, r->n_managed,
		r->n_managed == 1 ? "" : "s");
	if (r->n_tree)
		fprintf(out, " + %zu in the module tree", r->n_tree);
	fprintf(out, " checked: %s", verdict);
	if (nerr || nwarn)
		fprintf(out, " (%zu error%s, %zu warning%s)", nerr, nerr == 1 ? "" : "s", nwarn,
			nwarn == 1 ? "" : "s");
	fputc('\n', out);
	/* Grouped by module, in the order the modules were met; (system) first. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < f->n; i++) {
			const struct kmb_finding *a = &f->v[i];
			bool sys = strcmp(a->module, "(system)") == 0;
			if (done[i] || (pass == 0) != sys || (a->sev == KMB_VS_INFO && !verbose))
				continue;
			fprintf(out, "  %s", a->module);
			if (a->package)
				fprintf(out, " [%s]", a->package);
			if (a->path)
				fprintf(out, " %s", a->path);
			fputc('\n', out);
			for (size_t j = i; j < f->n; j++) {
				const struct kmb_finding *b = &f->v[j];
				if (done[j] || strcmp(b->module, a->module) ||
				    (b->path && a->path && strcmp(b->path, a->path)) ||
				    (b->sev == KMB_VS_INFO && !verbose))
					continue;
				done[j] = true;
				fprintf(out, "    %-7s %-11s %s\n", kmb_vsev_name(b->sev),
					kmb_vclass_name(b->cls), b->msg);
				if (b->fix)
					fprintf(out, "    %-7s %-11s fix: %s\n", "", "", b->fix);
			}
		}
	}
	free(done);
}

static void report_json(const struct vrun *r, struct kmb_json *j)
{
	const struct kmb_findings *f = &r->f;
	int rc = kmb_findings_exit(f);

	kmb_json_obj_begin(j, NULL);
	kmb_json_str(j, "kernel", r->k->release);
	kmb_json_str(j, "result", rc == 2 ? "fail" : rc == 1 ? "warn" : "ready");
	kmb_json_int(j, "managed_files", (long long)r->n_managed);
	kmb_json_int(j, "tree_files", (long long)r->n_tree);
	kmb_json_int(j, "errors", (long long)kmb_findings_count(f, KMB_VC_N, KMB_VS_ERROR));
	kmb_json_int(j, "warnings",
		     (long long)(kmb_findings_count(f, KMB_VC_N, KMB_VS_WARN) -
				 kmb_findings_count(f, KMB_VC_N, KMB_VS_ERROR)));
	kmb_json_arr_begin(j, "findings");
	for (size_t i = 0; i < f->n; i++) {
		const struct kmb_finding *a = &f->v[i];
		kmb_json_obj_begin(j, NULL);
		kmb_json_str(j, "module", a->module);
		kmb_json_str(j, "package", a->package);
		kmb_json_str(j, "path", a->path);
		kmb_json_str(j, "class", kmb_vclass_name(a->cls));
		kmb_json_str(j, "severity", kmb_vsev_name(a->sev));
		kmb_json_str(j, "message", a->msg);
		kmb_json_str(j, "fix", a->fix);
		kmb_json_obj_end(j);
	}
	kmb_json_arr_end(j);
	kmb_json_obj_end(j);
}

int kmb_verify_run(const struct kmb_ctx *ctx, const struct kmb_verify_opts *o)
{
	struct kmb_strv kernels = {0};
	struct kmb_vpolicy pol;
	struct kmb_json j;
	int worst = 0;

	if (o->kernels) {
		for (size_t i = 0; o->kernels[i]; i++)
			if (!kmb_strv_contains(&kernels, o->kernels[i]))
				kmb_strv_push(&kernels, o->kernels[i]);
	} else {
		char *k = kmb_verify_default_kernel(ctx);
		if (!k) {
			kmb_err("no kernel installed under '%s/lib/modules'; name one with -k",
				ctx->root);
			return KMB_EXIT_NOTFOUND;
		}
		kmb_strv_push(&kernels, k);
		free(k);
	}
	kmb_vpolicy_read(ctx, &pol);
	if (o->json) {
		kmb_json_init(&j, stdout);
		kmb_json_obj_begin(&j, NULL);
		kmb_json_arr_begin(&j, "kernels");
	}
	for (size_t i = 0; i < kernels.n; i++) {
		struct vrun r = {.ctx = ctx, .pol = pol};
		int rc;

		kmb_kernel_open(ctx, kernels.v[i], &r.k);
		kmb_initrd_req_read(ctx, &r.req);
		run_kernel(&r, o);
		rc = kmb_findings_exit(&r.f);
		if (rc > worst)
			worst = rc;
		if (o->json)
			report_json(&r, &j);
		else
			report_text(&r, ctx->verbosity >= KMB_VERBOSE, stdout);
		vrun_free(&r);
		kmb_kernel_free(r.k);
	}
	if (o->json) {
		kmb_json_arr_end(&j);
		kmb_json_str(&j, "result", worst == 2 ? "fail" : worst == 1 ? "warn" : "ready");
		kmb_json_int(&j, "exit", worst);
		kmb_json_obj_end(&j);
		kmb_json_finish(&j);
	}
	kmb_vpolicy_free(&pol);
	kmb_strv_free(&kernels);
	return worst;
}
