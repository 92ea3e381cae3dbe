// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The checks of `kmbuild verify`. Each predicts what kernel/module/main.c (6.1) or kmod's
 * modprobe will do with a module file, in the kernel's own order: vermagic (same_magic()
 * ignores the release when the module has __versions), module_layout CRC, then per imported
 * symbol: found? GPL-only for a proprietary module? namespace imported? CRC equal? Then the
 * signature (module_sig_check()) and what modprobe needs from modules.dep.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libkmod.h>
#include <openssl/x509.h>

#include "sign/efivars.h"
#include "sign/mok.h"
#include "base/util.h"
#include "verify/verify.h"

/* ---- findings ---------------------------------------------------------------------------- */

static const char *const class_names[KMB_VC_N] = {
	"coverage", "vermagic",	 "symbols",   "modversions",
	"indexes",  "signature", "initramfs", "policy",
};

const char *kmb_vclass_name(enum kmb_vclass c)
{
	return c < KMB_VC_N ? class_names[c] : "?";
}

const char *kmb_vsev_name(enum kmb_vsev s)
{
	return s == KMB_VS_ERROR ? "error" : s == KMB_VS_WARN ? "warning" : "info";
}

static char *dup0(const char *s)
{
	return s ? kmb_xstrdup(s) : NULL;
}

void kmb_finding_add(struct kmb_findings *f, const struct kmb_vsubject *s, enum kmb_vclass cls,
		     enum kmb_vsev sev, char *fix, const char *fmt, ...)
{
	va_list ap;
	struct kmb_buf b = {0};
	char line[2048];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	kmb_buf_adds(&b, line);
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = kmb_xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	struct kmb_finding *x = &f->v[f->n++];
	x->kernel = dup0(s->kernel);
	x->module = kmb_xstrdup(s->module ? s->module : "(system)");
	x->package = dup0(s->package);
	x->path = dup0(s->path);
	x->cls = cls;
	x->sev = sev;
	x->msg = kmb_buf_steal(&b);
	x->fix = fix;
}

void kmb_findings_free(struct kmb_findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].kernel);
		free(f->v[i].module);
		free(f->v[i].package);
		free(f->v[i].path);
		free(f->v[i].msg);
		free(f->v[i].fix);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

int kmb_findings_exit(const struct kmb_findings *f)
{
	int rc = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].sev == KMB_VS_ERROR)
			return 2;
		if (f->v[i].sev == KMB_VS_WARN)
			rc = 1;
	}
	return rc;
}

size_t kmb_findings_count(const struct kmb_findings *f, enum kmb_vclass cls, enum kmb_vsev min)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += (cls == KMB_VC_N || f->v[i].cls == cls) && f->v[i].sev >= min;
	return n;
}

/* ---- module file cache: name -> opened file ------------------------------------------------ */

struct vcache_ent {
	char *name; /* module name */
	char *path;
	struct kmb_modfile *m; /* NULL: could not be read */
	bool borrowed;	       /* owned by the caller (verify --all keeps its own array) */
};

struct kmb_vcache {
	struct vcache_ent *v;
	size_t n, cap;
	uint32_t *slots;
	size_t n_slots;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint32_t *cache_slot(struct kmb_vcache *c, const char *name)
{
	size_t mask = c->n_slots - 1, i = (size_t)hash_name(name) & mask;

	for (;; i = (i + 1) & mask)
		if (!c->slots[i] || strcmp(c->v[c->slots[i] - 1].name, name) == 0)
			return &c->slots[i];
}

static struct vcache_ent *cache_get(struct kmb_vcache *c, const char *name)
{
	uint32_t s = c->n_slots ? *cache_slot(c, name) : 0;
	return s ? &c->v[s - 1] : NULL;
}

static struct vcache_ent *cache_put(struct kmb_vcache *c, const char *name, const char *path,
				    struct kmb_modfile *m, bool borrowed)
{
	if (!c->n_slots) {
		c->n_slots = 64;
		c->slots = kmb_xcalloc(c->n_slots, sizeof(*c->slots));
	}
	uint32_t *slot = cache_slot(c, name);
	if (*slot)
		return &c->v[*slot - 1];
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = kmb_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	struct vcache_ent *e = &c->v[c->n++];
	e->name = kmb_xstrdup(name);
	e->path = dup0(path);
	e->m = m;
	e->borrowed = borrowed;
	*slot = (uint32_t)c->n;
	if (c->n * 2 > c->n_slots) {
		free(c->slots);
		c->n_slots *= 2;
		c->slots = kmb_xcalloc(c->n_slots, sizeof(*c->slots));
		for (size_t i = 0; i < c->n; i++)
			*cache_slot(c, c->v[i].name) = (uint32_t)(i + 1);
	}
	return e;
}

static void cache_free(struct kmb_vcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		if (!c->v[i].borrowed)
			kmb_modfile_free(c->v[i].m);
		free(c->v[i].name);
		free(c->v[i].path);
	}
	free(c->v);
	free(c->slots);
	free(c);
}

void kmb_vkernel_cache_module(struct kmb_vkernel *vk, const char *name, const char *path,
			      struct kmb_modfile *m)
{
	if (name)
		cache_put(vk->cache, name, path, m, true);
	if (path) {
		if (!vk->known)
			vk->known = kmb_xcalloc(1, sizeof(*vk->known));
		cache_put(vk->known, path, NULL, NULL, true);
	}
}

/* The file modules.dep names for a module, read once. */
static const struct kmb_modfile *module_by_name(struct kmb_vkernel *vk, const char *name)
{
	struct vcache_ent *e = cache_get(vk->cache, name);
	struct kmod_module *mod = NULL;
	struct kmb_modfile *m = NULL;
	const char *path = NULL;
	char *err = NULL;

	if (e)
		return e->m;
	if (vk->kmod && kmod_module_new_from_name(vk->kmod, name, &mod) == 0)
		path = kmod_module_get_path(mod);
	if (path && kmb_modfile_open(path, &m, &err) == 0)
		kmb_vkernel_add_exports(vk, m, NULL);
	free(err);
	e = cache_put(vk->cache, name, path, m, false);
	kmod_module_unref(mod);
	return e->m;
}

/* ---- kernel description ------------------------------------------------------------------ */

struct kmb_vkernel *kmb_vkernel_new(const char *release)
{
	struct kmb_vkernel *vk = kmb_xcalloc(1, sizeof(*vk));

	vk->release = kmb_xstrdup(release);
	vk->root = "";
	vk->modexp = kmb_symtab_new();
	vk->secure_boot = -1;
	vk->kmod_has_xz = vk->kmod_has_zstd = vk->kmod_has_zlib = -1;
	vk->cache = kmb_xcalloc(1, sizeof(*vk->cache));
	return vk;
}

void kmb_vkernel_free(struct kmb_vkernel *vk)
{
	if (!vk)
		return;
	kmb_symtab_free(vk->vmlinux);
	kmb_symtab_free(vk->symvers_mods);
	kmb_symtab_free(vk->modexp);
	for (size_t i = 0; i < vk->n_mok; i++)
		X509_free(vk->mok[i]);
	free(vk->mok);
	X509_free(vk->signing_cert);
	free(vk->signing_cert_path);
	free(vk->signing_cn);
	if (vk->kmod)
		kmod_unref(vk->kmod);
	cache_free(vk->cache);
	cache_free(vk->known);
	kmb_vkernel_release_config(vk);
	free(vk->release);
	free(vk->modules_dir);
	free(vk->vermagic);
	free(vk->enforce_why);
	free(vk->sig_hash);
	free((char *)vk->vmlinux_src);
	free(vk);
}

void kmb_vkernel_add_exports(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			     const char *rel_path)
{
	char nb[256];
	const char *owner = kmb_modfile_modname(m, nb, sizeof(nb));

	for (size_t i = 0; i < m->n_exports; i++) {
		const struct kmb_modexport *e = &m->exports[i];
		struct kmb_ksym s = {
			.name = e->name,
			.owner = owner,
			.path = rel_path ? rel_path : m->path,
			.ns = e->ns,
			.crc = e->crc,
			.has_crc = e->has_crc,
			.gpl = e->gpl,
			.gpl_known = true,
		};
		kmb_symtab_add(vk->modexp, &s, false);
	}
}

void kmb_vkernel_release_config(struct kmb_vkernel *vk)
{
	if (vk->config_free)
		vk->config_free(vk->config_data);
	vk->config = NULL;
	vk->config_data = NULL;
	vk->config_free = NULL;
}

const char *kmb_vkernel_cfg(const struct kmb_vkernel *vk, const char *name)
{
	return vk->config ? vk->config(vk->config_data, name) : NULL;
}

bool kmb_vkernel_cfg_y(const struct kmb_vkernel *vk, const char *name)
{
	const char *v = kmb_vkernel_cfg(vk, name);
	return v && strcmp(v, "y") == 0;
}

/* ---- vermagic ------------------------------------------------------------------------------ */

/* The part of a vermagic after the release: what same_magic() compares for modversioned
 * modules ("SMP preempt mod_unload modversions "). */
static const char *magic_flags(const char *v)
{
	return v + strcspn(v, " ");
}

static size_t release_len(const char *v)
{
	return strcspn(v, " ");
}

void kmb_verify_vermagic(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
			 const struct kmb_vsubject *s, struct kmb_findings *f)
{
	if (vk->machine && m->machine && vk->machine != m->machine) {
		kmb_finding_add(f, s, KMB_VC_VERMAGIC, KMB_VS_ERROR,
				kmb_xasprintf("rebuild the module for %s", vk->release),
				"built for another CPU architecture (ELF machine %u, %s has %u): "
				"the kernel says 'Invalid module format'",
				m->machine, vk->release, vk->machine);
		return;
	}
	if (!m->vermagic) {
		kmb_finding_add(
			f, s, KMB_VC_VERMAGIC, vk->force_load ? KMB_VS_WARN : KMB_VS_ERROR,
			kmb_xasprintf("rebuild the module against %s's headers", vk->release),
			"no vermagic in .modinfo: %s",
			vk->force_load ? "the kernel taints itself ('no version magic, "
					 "tainting kernel') but loads it"
				       : "the kernel refuses it");
		return;
	}
	if (!vk->vermagic)
		return;
	/* With __versions the kernel compares only the flags: the CRCs decide (load-failures.md).
	 */
	bool crcs = vk->modversions && m->has_versions_section;
	const char *a = crcs ? magic_flags(m->vermagic) : m->vermagic;
	const char *b = crcs ? magic_flags(vk->vermagic) : vk->vermagic;
	if (strcmp(a, b) == 0)
		return;
	kmb_finding_add(f, s, KMB_VC_VERMAGIC, KMB_VS_ERROR,
			kmb_xasprintf("rebuild it against %s's headers (kmbuild build ... -k %s)",
				      vk->release, vk->release),
			"version magic '%s' should be '%s': modprobe says 'Exec format error'%s",
			m->vermagic, vk->vermagic,
			crcs ? " (the flags differ, not just the release)" : "");
}

/* ---- symbols and CRCs ---------------------------------------------------------------------- */

/* Who exports name for K: vmlinux, a module file already read, K's modules.symbols index,
 * or a module Module.symvers names (read from K's tree on demand). */
static const struct kmb_ksym *resolve(struct kmb_vkernel *vk, const char *name, bool lookup_tree)
{
	const struct kmb_ksym *k = vk->vmlinux ? kmb_symtab_find(vk->vmlinux, name) : NULL;

	if (k)
		return k;
	if ((k = kmb_symtab_find(vk->modexp, name)))
		return k;
	if (!lookup_tree)
		return NULL;
	if (vk->kmod) {
		char alias[512];
		struct kmod_list *list = NULL, *l;

		snprintf(alias, sizeof(alias), "symbol:%s", name);
		if (kmod_module_new_from_lookup(vk->kmod, alias, &list) == 0) {
			kmod_list_foreach(l, list)
			{
				struct kmod_module *mod = kmod_module_get_module(l);
				module_by_name(vk, kmod_module_get_name(mod));
				kmod_module_unref(mod);
			}
			kmod_module_unref_list(list);
			if ((k = kmb_symtab_find(vk->modexp, name)))
				return k;
		}
	}
	const struct kmb_ksym *hint =
		vk->symvers_mods ? kmb_symtab_find(vk->symvers_mods, name) : NULL;
	if (hint) {
		module_by_name(vk, hint->owner);
		k = kmb_symtab_find(vk->modexp, name);
	}
	return k;
}

const struct kmb_modfile *kmb_vkernel_module(struct kmb_vkernel *vk, const char *name)
{
	return module_by_name(vk, name);
}

const struct kmb_ksym *kmb_vkernel_resolve(struct kmb_vkernel *vk, const char *sym)
{
	return resolve(vk, sym, true);
}

static bool ns_imported(const struct kmb_modfile *m, const char *ns)
{
	const char *v[64];
	size_t n = kmb_modfile_modinfo_all(m, "import_ns", v, KMB_ARRAY_SIZE(v));

	for (size_t i = 0; i < n && i < KMB_ARRAY_SIZE(v); i++)
		if (strcmp(v[i], ns) == 0)
			return true;
	return false;
}

char *kmb_vkernel_missing_depends(struct kmb_vkernel *vk, const struct kmb_modfile *m)
{
	struct kmb_buf b = {0};
	const char *p = m->depends;
	char name[256];

	while (kmb_modfile_next_depend(&p, name, sizeof(name))) {
		for (char *c = name; *c; c++)
			*c = *c == '-' ? '_' : *c;
		if (!module_by_name(vk, name))
			kmb_buf_printf(&b, "%s%s", b.len ? ", " : "", name);
	}
	return b.len ? kmb_buf_steal(&b) : NULL;
}

static void unknown_symbol(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			   const struct kmb_vsubject *s, const char *sym, char **missing_deps,
			   bool *deps_checked, struct kmb_findings *f)
{
	const struct kmb_ksym *hint =
		vk->symvers_mods ? kmb_symtab_find(vk->symvers_mods, sym) : NULL;

	if (!*deps_checked) {
		*missing_deps = kmb_vkernel_missing_depends(vk, m);
		*deps_checked = true;
	}
	if (*missing_deps) {
		kmb_finding_add(
			f, s, KMB_VC_SYMBOLS, KMB_VS_ERROR,
			kmb_xasprintf("install %s for %s first (e.g. kmbuild install <module> "
				      "-k %s), then depmod",
				      *missing_deps, vk->release, vk->release),
			"Unknown symbol %s (err -2): it depends on %s, which is not installed "
			"for %s",
			sym, *missing_deps, vk->release);
		return;
	}
	if (hint) {
		kmb_finding_add(
			f, s, KMB_VC_SYMBOLS, KMB_VS_ERROR,
			kmb_xasprintf("restore %s.ko (%s) under %s, e.g. reinstall the kernel "
				      "package",
				      hint->owner, hint->path, vk->modules_dir + strlen(vk->root)),
			"Unknown symbol %s (err -2): exported by module %s, which is missing "
			"from %s",
			sym, hint->owner, vk->release);
		return;
	}
	kmb_finding_add(f, s, KMB_VC_SYMBOLS, KMB_VS_ERROR,
			kmb_xasprintf("rebuild against %s's headers; if the symbol is still "
				      "missing, the module needs a kernel option or version %s "
				      "does not have",
				      vk->release, vk->release),
			"Unknown symbol %s (err -2): neither %s nor any of its modules exports it",
			sym, vk->release);
}

/* K has CONFIG_MODVERSIONS but the module has no CRCs at all. */
static void check_versions_section(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
				   const struct kmb_vsubject *s, struct kmb_findings *f)
{
	if (!vk->modversions || m->has_versions_section)
		return;
	kmb_finding_add(
		f, s, KMB_VC_MODVERSIONS, vk->force_load ? KMB_VS_WARN : KMB_VS_ERROR,
		kmb_xasprintf("rebuild against %s's headers (CONFIG_MODVERSIONS=y)", vk->release),
		"no __versions section although %s has CONFIG_MODVERSIONS: %s", vk->release,
		vk->force_load ? "loads only by forcing, tainting the kernel"
			       : "the kernel refuses it");
}

/* module_layout's CRC stands for the whole ABI: when it differs, it is the one error. */
static bool module_layout_differs(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
				  const struct kmb_vsubject *s, struct kmb_findings *f)
{
	const struct kmb_ksym *ml = kmb_symtab_find(vk->vmlinux, "module_layout");
	const struct kmb_modver *v = kmb_modfile_version(m, "module_layout");

	if (!ml || !ml->has_crc || !v || v->crc == ml->crc)
		return false;
	size_t rl = release_len(m->vermagic ? m->vermagic : "");
	kmb_finding_add(f, s, KMB_VC_MODVERSIONS, KMB_VS_ERROR,
			kmb_xasprintf("rebuild it for %s (kmbuild build <module> -k %s && "
				      "kmbuild install <module> -k %s)",
				      vk->release, vk->release, vk->release),
			"disagrees about version of symbol module_layout (module 0x%08x, %s "
			"0x%08x): built for %.*s, another kernel ABI; modprobe says 'Exec "
			"format error'",
			v->crc, vk->release, ml->crc, (int)rl, m->vermagic ? m->vermagic : "");
	return true;
}

/* May the module use k at all: GPL-only exports and symbol namespaces. */
static bool import_allowed(const struct kmb_modfile *m, const struct kmb_vsubject *s,
			   const char *sym, const struct kmb_ksym *k, bool gpl_ok,
			   struct kmb_findings *f)
{
	if (k->gpl && !gpl_ok) {
		kmb_finding_add(f, s, KMB_VC_SYMBOLS, KMB_VS_ERROR,
				kmb_xasprintf("only a GPL-compatible module may use %s: change "
					      "MODULE_LICENSE or stop using the symbol",
					      sym),
				"Unknown symbol %s (err -2): %s exports it GPL-only and the "
				"module's license is '%s' (the kernel logs the taint, never 'GPL')",
				sym, k->owner, m->license ? m->license : "unspecified");
		return false;
	}
	if (k->ns && !ns_imported(m, k->ns)) {
		kmb_finding_add(
			f, s, KMB_VC_SYMBOLS, KMB_VS_ERROR,
			kmb_xasprintf("add MODULE_IMPORT_NS(%s) to the module and rebuild", k->ns),
			"uses symbol %s from namespace %s without importing it: "
			"'Invalid argument'",
			sym, k->ns);
		return false;
	}
	return true;
}

/* The module's recorded CRC of sym. *cursor walks __versions in step with the imports when
 * both are sorted by name. */
static const struct kmb_modver *import_version(const struct kmb_modfile *m, const char *sym,
					       size_t *cursor)
{
	int c = 1;

	if (!m->versions_sorted)
		return kmb_modfile_version(m, sym);
	while (*cursor < m->n_versions && (c = strcmp(m->versions[*cursor].name, sym)) < 0)
		(*cursor)++;
	return *cursor < m->n_versions && c == 0 ? &m->versions[*cursor] : NULL;
}

static void crc_mismatch(const struct kmb_vkernel *vk, const struct kmb_vsubject *s,
			 const char *sym, const struct kmb_modver *v, const struct kmb_ksym *k,
			 struct kmb_findings *f)
{
	kmb_finding_add(f, s, KMB_VC_MODVERSIONS, KMB_VS_ERROR,
			kmb_xasprintf("rebuild it against the %s that %s has (kmbuild build "
				      "<module> -k %s)",
				      strcmp(k->owner, "vmlinux") ? k->owner : "headers",
				      vk->release, vk->release),
			"disagrees about version of symbol %s (module 0x%08x, %s 0x%08x): "
			"'Unknown symbol %s (err -22)', modprobe says 'Invalid argument'",
			sym, v->crc, k->owner, k->crc, sym);
}

void kmb_verify_symbols(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			const struct kmb_vsubject *s, bool lookup_tree, struct kmb_findings *f)
{
	bool gpl_ok = kmb_license_is_gpl_compatible(m->license);
	bool check_crc = vk->modversions && m->has_versions_section;
	bool layout_bad, deps_checked = false;
	char *missing_deps = NULL;
	size_t crc_bad = 0, vi = 0;
	char nb[256];
	const char *self = kmb_modfile_modname(m, nb, sizeof(nb));

	if (!vk->vmlinux)
		return;
	check_versions_section(vk, m, s, f);
	layout_bad = check_crc && module_layout_differs(vk, m, s, f);
	for (size_t i = 0; i < m->n_undef; i++) {
		const struct kmb_modsym *u = &m->undef[i];
		const struct kmb_ksym *k = resolve(vk, u->name, lookup_tree);

		if (!k) {
			if (!u->weak)
				unknown_symbol(vk, m, s, u->name, &missing_deps, &deps_checked, f);
			continue;
		}
		if (strcmp(k->owner, self) == 0 || !import_allowed(m, s, u->name, k, gpl_ok, f))
			continue;
		if (!check_crc || !k->has_crc)
			continue;
		const struct kmb_modver *v = import_version(m, u->name, &vi);
		if (!v || v->crc == k->crc)
			continue;
		if (layout_bad)
			crc_bad++;
		else
			crc_mismatch(vk, s, u->name, v, k, f);
	}
	if (crc_bad)
		kmb_finding_add(f, s, KMB_VC_MODVERSIONS, KMB_VS_INFO, NULL,
				"%zu more imported symbols have other CRCs in %s", crc_bad,
				vk->release);
	free(missing_deps);
}

/* ---- indexes ------------------------------------------------------------------------------- */

static int cmp_export(const void *a, const void *b)
{
	return strcmp(((const struct kmb_modexport *)a)->name,
		      ((const struct kmb_modexport *)b)->name);
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return strcmp(a, b) == 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

char *kmb_verify_depmod_fix(const char *root, const char *release)
{
	if (root && *root)
		return kmb_xasprintf("depmod -b %s %s", root, release);
	return kmb_xasprintf("depmod -a %s", release);
}

static char *depmod_fix(const struct kmb_vkernel *vk)
{
	return kmb_verify_depmod_fix(vk->root, vk->release);
}

/* A dependency modules.dep names must exist where it says (once per module). */
static void check_dep_on_disk(const struct kmb_vkernel *vk, struct kmod_module *d,
			      const struct kmb_vsubject *s, struct kmb_strv *seen,
			      struct kmb_findings *f)
{
	const char *dp = kmod_module_get_path(d);
	const char *dn = kmod_module_get_name(d);
	struct stat st;

	if (!dp || (vk->known && cache_get(vk->known, dp)) || stat(dp, &st) == 0 ||
	    kmb_strv_contains(seen, dn))
		return;
	kmb_strv_push(seen, dn);
	char *dm = depmod_fix(vk);
	kmb_finding_add(f, s, KMB_VC_INDEXES, KMB_VS_ERROR,
			kmb_xasprintf("reinstall %s for %s, or run %s if it was removed on purpose",
				      dn, vk->release, dm),
			"needs %s, which modules.dep lists at %s but is gone: modprobe fails on "
			"it and the kernel says 'Unknown symbol' for what it provides",
			dn, dp + strlen(vk->root));
	free(dm);
}

/* libkmod drops a whole modules.dep line when one of its files is missing, so the modules
 * named by depends= are looked up one by one as well. */
static void check_deps_present(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
			       struct kmod_list *deps, const struct kmb_vsubject *s,
			       struct kmb_findings *f)
{
	struct kmb_strv gone = {0};
	struct kmod_list *l;
	const char *p = m->depends;
	char dn[256];

	kmod_list_foreach(l, deps)
	{
		struct kmod_module *d = kmod_module_get_module(l);
		check_dep_on_disk(vk, d, s, &gone, f);
		kmod_module_unref(d);
	}
	while (kmb_modfile_next_depend(&p, dn, sizeof(dn))) {
		struct kmod_module *d = NULL;
		if (kmod_module_new_from_name(vk->kmod, dn, &d) == 0) {
			check_dep_on_disk(vk, d, s, &gone, f);
			kmod_module_unref(d);
		}
	}
	kmb_strv_free(&gone);
}

/* Does one of the modules of deps export sym? */
static bool deps_export(struct kmb_vkernel *vk, struct kmod_list *deps, const char *sym)
{
	struct kmod_list *l;
	struct kmb_modexport key = {.name = sym};

	kmod_list_foreach(l, deps)
	{
		struct kmod_module *d = kmod_module_get_module(l);
		const struct kmb_modfile *dm = module_by_name(vk, kmod_module_get_name(d));
		kmod_module_unref(d);
		if (dm && dm->n_exports &&
		    bsearch(&key, dm->exports, dm->n_exports, sizeof(key), cmp_export))
			return true;
	}
	return false;
}

/* Every module the file takes symbols from must be loaded first, i.e. be in its modules.dep
 * line; else modules.dep predates the file. */
static void check_deps_cover_imports(struct kmb_vkernel *vk, const struct kmb_modfile *m,
				     const char *name, struct kmod_list *deps,
				     const struct kmb_vsubject *s, struct kmb_findings *f)
{
	for (size_t i = 0; i < m->n_undef; i++) {
		const char *sym = m->undef[i].name;
		const struct kmb_ksym *k;

		if (vk->vmlinux && kmb_symtab_find(vk->vmlinux, sym))
			continue;
		k = kmb_symtab_find(vk->modexp, sym);
		if (!k || strcmp(k->owner, name) == 0 || deps_export(vk, deps, sym))
			continue;
		kmb_finding_add(f, s, KMB_VC_INDEXES, KMB_VS_ERROR, depmod_fix(vk),
				"modules.dep is stale: the module takes %s from %s but "
				"modprobe will not load %s first ('Unknown symbol %s')",
				sym, k->owner, k->owner, sym);
		return;
	}
}

void kmb_verify_indexes(struct kmb_vkernel *vk, const struct kmb_modfile *m, const char *abs_path,
			const struct kmb_vsubject *s, bool strict, struct kmb_findings *f)
{
	struct kmod_module *mod = NULL;
	struct kmod_list *deps;
	const char *path;
	char nb[256];
	const char *name = kmb_modfile_modname(m, nb, sizeof(nb));

	if (!vk->kmod)
		return;
	if (kmod_module_new_from_name(vk->kmod, name, &mod) < 0)
		return;
	path = kmod_module_get_path(mod);
	if (!path) {
		kmb_finding_add(f, s, KMB_VC_INDEXES, KMB_VS_ERROR, depmod_fix(vk),
				"not in modules.dep(.bin): modprobe says 'Module %s not found in "
				"directory /lib/modules/%s'",
				name, vk->release);
	} else if (!same_file(path, abs_path)) {
		if (strict) {
			char *dm = depmod_fix(vk);
			kmb_finding_add(f, s, KMB_VC_INDEXES, KMB_VS_ERROR,
					kmb_xasprintf("remove the other copy or, if it is stale, "
						      "run %s",
						      dm),
					"modprobe %s loads %s, not this file", name,
					path + strlen(vk->root));
			free(dm);
		}
	} else {
		deps = kmod_module_get_dependencies(mod);
		check_deps_present(vk, m, deps, s, f);
		check_deps_cover_imports(vk, m, name, deps, s, f);
		kmod_module_unref_list(deps);
	}
	kmod_module_unref(mod);
}

/* ---- signature ----------------------------------------------------------------------------- */

static const char *hash_config(const char *algo)
{
	static const struct {
		const char *algo, *config;
	} map[] = {
		{"sha1", "CONFIG_CRYPTO_SHA1"},	    {"sha224", "CONFIG_CRYPTO_SHA256"},
		{"sha256", "CONFIG_CRYPTO_SHA256"}, {"sha384", "CONFIG_CRYPTO_SHA512"},
		{"sha512", "CONFIG_CRYPTO_SHA512"}, {"sha3-256", "CONFIG_CRYPTO_SHA3"},
		{"sha3-384", "CONFIG_CRYPTO_SHA3"}, {"sha3-512", "CONFIG_CRYPTO_SHA3"},
	};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(map); i++)
		if (strcmp(algo, map[i].algo) == 0)
			return map[i].config;
	return NULL;
}

/* kmod decompresses in user space (kmod 30 never passes compressed files to the kernel): what
 * it was built with decides. */
static void probe_kmod_features(struct kmb_vkernel *vk)
{
	const char *argv[] = {"kmod", "--version", NULL};
	char *out = NULL;

	if (vk->kmod_has_xz >= 0)
		return;
	vk->kmod_has_xz = vk->kmod_has_zstd = vk->kmod_has_zlib = 0;
	if (kmb_run_capture(argv, NULL, &out) != 0 || !out) {
		free(out);
		return;
	}
	vk->kmod_has_xz = strstr(out, "+XZ") != NULL;
	vk->kmod_has_zstd = strstr(out, "+ZSTD") != NULL;
	vk->kmod_has_zlib = strstr(out, "+ZLIB") != NULL;
	free(out);
}

static void check_compression(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			      const struct kmb_vsubject *s, struct kmb_findings *f)
{
	static const char *const names[] = {"none", "gzip", "xz", "zstd"};
	static const char *const kcfg[] = {NULL, "CONFIG_MODULE_COMPRESS_GZIP",
					   "CONFIG_MODULE_COMPRESS_XZ",
					   "CONFIG_MODULE_COMPRESS_ZSTD"};
	int user;

	if (m->comp == KMB_COMPRESS_NONE)
		return;
	probe_kmod_features(vk);
	user = m->comp == KMB_COMPRESS_XZ     ? vk->kmod_has_xz
	       : m->comp == KMB_COMPRESS_ZSTD ? vk->kmod_has_zstd
					      : vk->kmod_has_zlib;
	if (user > 0 || (kmb_vkernel_cfg_y(vk, "CONFIG_MODULE_DECOMPRESS") &&
			 kmb_vkernel_cfg_y(vk, kcfg[m->comp])))
		return;
	kmb_finding_add(
		f, s, KMB_VC_SIGNATURE, KMB_VS_ERROR,
		kmb_xasprintf("install it uncompressed, or compressed as %s's own modules "
			      "are",
			      vk->release),
		"compressed with %s, which neither this system's kmod nor %s can decompress: "
		"modprobe says 'Exec format error'",
		names[m->comp], vk->release);
}

static bool signer_trusted(const struct kmb_vkernel *vk, const struct kmb_modfile *m)
{
	for (size_t i = 0; i < vk->n_mok; i++)
		if (kmb_modfile_signed_by(m, vk->mok[i]) == 1)
			return true;
	return false;
}

static char *enroll_fix(const struct kmb_vkernel *vk)
{
	if (!vk->mok_usable)
		return kmb_xstrdup("turn Secure Boot on (MOK keys are only trusted then) or drop "
				   "module.sig_enforce=1");
	return kmb_xstrdup("kmbuild mok enroll, then confirm the key in MokManager at the next "
			   "boot");
}

/* No signature the kernel can use: rejected when enforced, else only the taint. */
static void check_unsigned(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
			   const struct kmb_vsubject *s, bool managed, struct kmb_findings *f)
{
	const char *what = m->sig.state == KMB_SIG_NONE ? "unsigned" : m->sig.error;

	if (vk->sig_enforced)
		kmb_finding_add(f, s, KMB_VC_SIGNATURE, KMB_VS_ERROR,
				kmb_xstrdup(vk->signing_cert ? "kmbuild resign -k <kernel>"
							     : "kmbuild mok generate, kmbuild "
							       "mok enroll, kmbuild resign"),
				"%s while %s: 'Loading of unsigned module is rejected', "
				"modprobe says 'Key was rejected by service'",
				what, vk->enforce_why);
	else if (managed && vk->signing_cert)
		kmb_finding_add(f, s, KMB_VC_SIGNATURE, KMB_VS_WARN,
				kmb_xasprintf("kmbuild resign -k %s", vk->release),
				"%s although signing key %s is configured: the kernel taints "
				"itself ('module verification failed')",
				what, vk->signing_cert_path + strlen(vk->root));
}

/* Can K check the signature's hash at all? */
static bool hash_supported(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
			   const struct kmb_vsubject *s, struct kmb_findings *f)
{
	const char *hc = m->sig.hash_algo ? hash_config(m->sig.hash_algo) : NULL;
	bool hash_ok = m->sig.hash_algo &&
		       ((vk->sig_hash && strcmp(vk->sig_hash, m->sig.hash_algo) == 0) ||
			(hc && kmb_vkernel_cfg_y(vk, hc)) || !vk->config);

	if (hash_ok)
		return true;
	kmb_finding_add(f, s, KMB_VC_SIGNATURE, vk->sig_enforced ? KMB_VS_ERROR : KMB_VS_WARN,
			kmb_xasprintf("re-sign with --hash %s (K's CONFIG_MODULE_SIG_HASH)",
				      vk->sig_hash ? vk->sig_hash : "sha256"),
			"signed with %s, which %s cannot check (%s not built in): "
			"'module with unsupported crypto'",
			m->sig.hash_algo ? m->sig.hash_algo : "an unknown hash", vk->release,
			hc ? hc : "no such algorithm");
	return false;
}

/* kmbuild signed it: with the configured key, over the bytes on disk? False when the
 * signature does not match the bytes (nothing more to say). */
static bool managed_signature_sound(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
				    const struct kmb_vsubject *s, struct kmb_findings *f)
{
	if (kmb_modfile_signed_by(m, vk->signing_cert) != 1) {
		kmb_finding_add(f, s, KMB_VC_SIGNATURE, KMB_VS_WARN,
				kmb_xasprintf("kmbuild resign -k %s", vk->release),
				"signed by '%s' (%s), not by the configured key '%s'",
				m->sig.signer ? m->sig.signer : "?",
				m->sig.key_id ? m->sig.key_id : "?",
				vk->signing_cn ? vk->signing_cn : "?");
		return true;
	}
	if (kmb_modfile_verify_sig(m, vk->signing_cert) != 0)
		return true;
	kmb_finding_add(f, s, KMB_VC_SIGNATURE,
			vk->sig_enforced || vk->mok_usable ? KMB_VS_ERROR : KMB_VS_WARN,
			kmb_xasprintf("kmbuild resign -k %s", vk->release),
			"signature does not match the module's bytes (changed after "
			"signing, e.g. stripped): the kernel rejects it once it "
			"trusts the key");
	return false;
}

/* Enforced: the signer must be a key K trusts (built-in, or enrolled MOK with Secure Boot). */
static void check_signer_trusted(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
				 const struct kmb_vsubject *s, struct kmb_findings *f)
{
	const char *signer = m->sig.signer ? m->sig.signer : "?";

	if (!vk->mok_usable) {
		kmb_finding_add(f, s, KMB_VC_SIGNATURE, KMB_VS_ERROR, enroll_fix(vk),
				"signed by '%s', but %s and Secure Boot is off, so the kernel "
				"trusts only its built-in keys: 'Loading of module with "
				"unavailable key is rejected'",
				signer, vk->enforce_why);
		return;
	}
	if (!vk->mok_known) {
		kmb_finding_add(
			f, s, KMB_VC_SIGNATURE, KMB_VS_WARN,
			kmb_xstrdup("check with kmbuild mok status"),
			"cannot read MokListRT: unknown whether the key of '%s' is enrolled",
			signer);
		return;
	}
	if (!signer_trusted(vk, m))
		kmb_finding_add(f, s, KMB_VC_SIGNATURE, KMB_VS_ERROR, enroll_fix(vk),
				"signed by '%s' (%s), a key not enrolled in MokListRT while %s: "
				"'Loading of module with unavailable key is rejected'",
				signer, m->sig.key_id ? m->sig.key_id : "?", vk->enforce_why);
}

void kmb_verify_signature(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			  const struct kmb_vsubject *s, bool managed, struct kmb_findings *f)
{
	const char *intree = NULL;
	bool in_tree;

	check_compression(vk, m, s, f);
	if (!vk->sig_enabled)
		return;
	kmb_modfile_modinfo_all(m, "intree", &intree, 1);
	in_tree = intree && strcmp(intree, "Y") == 0;
	/* The kernel's own modules are signed by its build with its own hash and key: only the
	 * trailer is checked for them. */
	if (in_tree && m->sig.state == KMB_SIG_OK)
		return;
	kmb_modfile_sig_details(m);
	if (m->sig.state == KMB_SIG_MALFORMED) {
		kmb_finding_add(
			f, s, KMB_VC_SIGNATURE, KMB_VS_ERROR,
			kmb_xstrdup("re-sign it: kmbuild resign (strips the broken trailer)"),
			"malformed signature (%s): the kernel refuses it even without "
			"enforcement ('Bad message')",
			m->sig.error);
		return;
	}
	if (m->sig.state == KMB_SIG_NONE || m->sig.state == KMB_SIG_FOREIGN) {
		check_unsigned(vk, m, s, managed, f);
		return;
	}
	if (!hash_supported(vk, m, s, f))
		return;
	if (managed && vk->signing_cert && !managed_signature_sound(vk, m, s, f))
		return;
	if (vk->sig_enforced)
		check_signer_trusted(vk, m, s, f);
}
