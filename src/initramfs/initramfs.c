// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Initramfs backends, staleness and regeneration (see initramfs.h). The image is read with
 * initramfs_read.c (libarchive); the tools' module lists are read as data, never sourced.
 */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/build.h"
#include "conf/conf.h"
#include "initramfs/initramfs.h"
#include "initramfs/initramfs_read.h"
#include "core/state.h"
#include "base/util.h"

static const struct {
	enum kmb_irb b;
	const char *name;
	const char *paths[4];
} tools[] = {
	{KMB_IRB_UPDATE_INITRAMFS,
	 "update-initramfs",
	 {"/usr/sbin/update-initramfs", "/sbin/update-initramfs", NULL}},
	{KMB_IRB_DRACUT, "dracut", {"/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut", NULL}},
	{KMB_IRB_MKINITCPIO, "mkinitcpio", {"/usr/bin/mkinitcpio", "/usr/sbin/mkinitcpio", NULL}},
	{KMB_IRB_KERNEL_INSTALL,
	 "kernel-install",
	 {"/usr/bin/kernel-install", "/bin/kernel-install", NULL}},
};

const char *kmb_irb_name(enum kmb_irb b)
{
	for (size_t i = 0; i < KMB_ARRAY_SIZE(tools); i++)
		if (tools[i].b == b)
			return tools[i].name;
	return "none";
}

const char *kmb_irm_state_name(enum kmb_irm_state s)
{
	static const char *const names[] = {"current", "absent", "stale",
					    "missing", "newer",	 "orphan"};
	return (size_t)s < KMB_ARRAY_SIZE(names) ? names[s] : "unknown";
}

static char *find_tool(const struct kmb_ctx *ctx, size_t idx)
{
	for (const char *const *p = tools[idx].paths; *p; p++) {
		char *path = kmb_root_path(ctx, *p);
		if (access(path, X_OK) == 0)
			return path;
		free(path);
	}
	return NULL;
}

int kmb_irb_detect(const struct kmb_ctx *ctx, struct kmb_irb_info *out, char **err)
{
	const char *want = kmb_config_get(ctx, "initramfs_backend");

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if (want && *want && strcmp(want, "auto") != 0) {
		if (strcmp(want, "none") == 0) {
			out->why = kmb_xstrdup("initramfs_backend = none in kmbuild.conf");
			return 0;
		}
		for (size_t i = 0; i < KMB_ARRAY_SIZE(tools); i++) {
			if (strcmp(want, tools[i].name) != 0)
				continue;
			out->backend = tools[i].b;
			out->tool = find_tool(ctx, i);
			out->why =
				out->tool ? kmb_xasprintf("initramfs_backend = %s in kmbuild.conf",
							  want)
					  : kmb_xasprintf("initramfs_backend = %s in kmbuild.conf, "
							  "but %s is not installed",
							  want, want);
			return 0;
		}
		*err = kmb_xasprintf("%s/kmbuild.conf: initramfs_backend = '%s' is not one of "
				     "auto, none, update-initramfs, dracut, mkinitcpio, "
				     "kernel-install",
				     ctx->etc_dir, want);
		return -EINVAL;
	}
	for (size_t i = 0; i < KMB_ARRAY_SIZE(tools); i++) {
		char *t = find_tool(ctx, i);
		if (!t)
			continue;
		out->backend = tools[i].b;
		out->tool = t;
		out->why = kmb_xasprintf("found %s", t + strlen(ctx->root));
		return 0;
	}
	out->why = kmb_xstrdup("no initramfs tool installed");
	return 0;
}

void kmb_irb_info_free(struct kmb_irb_info *b)
{
	free(b->tool);
	free(b->why);
	memset(b, 0, sizeof(*b));
}

/* First line of a small file, trimmed (malloc'd), or NULL. */
static char *read_line(const char *path)
{
	char *data;
	if (kmb_read_file(path, &data, NULL) < 0)
		return NULL;
	data[strcspn(data, "\r\n")] = '\0';
	char *s = data;
	while (isspace((unsigned char)*s))
		s++;
	char *r = *s ? kmb_xstrdup(s) : NULL;
	free(data);
	return r;
}

/* Arch names images after the kernel package ("linux"), recorded next to the modules. */
static char *mkinitcpio_pkgbase(const struct kmb_ctx *ctx, const char *kernel)
{
	char *p = kmb_xasprintf("%s/%s/pkgbase", ctx->modules_dir, kernel);
	char *base = read_line(p);
	free(p);
	if (base && !kmb_is_safe_name(base)) {
		free(base);
		base = NULL;
	}
	return base;
}

static char *first_existing(char **cand, size_t n)
{
	char *r = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!r && cand[i] && kmb_exists(cand[i]))
			r = cand[i];
		else
			free(cand[i]);
	}
	return r;
}

char *kmb_initramfs_image(const struct kmb_ctx *ctx, const struct kmb_irb_info *b,
			  const char *kernel)
{
	switch (b->backend) {
	case KMB_IRB_NONE:
		return NULL;
	case KMB_IRB_UPDATE_INITRAMFS:
		return kmb_xasprintf("%s/initrd.img-%s", ctx->boot_dir, kernel);
	case KMB_IRB_DRACUT: {
		/* Fedora's name, or Debian's when dracut replaces initramfs-tools there: the one
		 * that exists, else the distro's. */
		char *fedora = kmb_xasprintf("%s/initramfs-%s.img", ctx->boot_dir, kernel);
		char *debian = kmb_xasprintf("%s/initrd.img-%s", ctx->boot_dir, kernel);
		char *dv = kmb_root_path(ctx, "/etc/debian_version");
		bool use_debian = !kmb_exists(fedora) && (kmb_exists(debian) || kmb_exists(dv));
		free(dv);
		free(use_debian ? fedora : debian);
		return use_debian ? debian : fedora;
	}
	case KMB_IRB_MKINITCPIO: {
		char *base = mkinitcpio_pkgbase(ctx, kernel);
		char *r = kmb_xasprintf("%s/initramfs-%s.img", ctx->boot_dir, base ? base : kernel);
		free(base);
		return r;
	}
	case KMB_IRB_KERNEL_INSTALL: {
		/* Boot Loader Specification layout: <boot>/<entry-token>/<kernel>/initrd. */
		char *p = kmb_root_path(ctx, "/etc/kernel/entry-token");
		char *token = read_line(p);
		free(p);
		if (!token) {
			p = kmb_root_path(ctx, "/etc/machine-id");
			token = read_line(p);
			free(p);
		}
		if (!token || !kmb_is_safe_name(token)) {
			free(token);
			return NULL;
		}
		static const char *const bases[] = {"/boot", "/efi", "/boot/efi"};
		char *c[3];
		for (size_t i = 0; i < 3; i++)
			c[i] = kmb_xasprintf("%s%s/%s/%s/initrd", ctx->root, bases[i], token,
					     kernel);
		free(token);
		return first_existing(c, 3);
	}
	}
	return NULL;
}

/* ---- the tools' own module lists ---------------------------------------------------- */

struct listed {
	struct kmb_strv names; /* normalised: '-' -> '_' */
	struct kmb_strv files; /* root-relative file that lists names[i] */
};

static void norm_mod(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

static void listed_add(struct listed *l, const char *name, size_t len, const char *file)
{
	char *n = kmb_xstrndup(name, len);
	size_t nl = strlen(n);
	if (nl && n[nl - 1] == '?') /* mkinitcpio: optional module */
		n[--nl] = '\0';
	if (nl && nl < 256) {
		norm_mod(n);
		kmb_strv_push(&l->names, n);
		kmb_strv_push(&l->files, file);
	}
	free(n);
}

/* Words of a value, split on blanks, quotes dropped. */
static void add_words(struct listed *l, const char *s, const char *end, const char *file)
{
	while (s < end) {
		while (s < end && (isspace((unsigned char)*s) || *s == '"' || *s == '\''))
			s++;
		const char *w = s;
		while (s < end && !isspace((unsigned char)*s) && *s != '"' && *s != '\'')
			s++;
		if (s > w)
			listed_add(l, w, (size_t)(s - w), file);
	}
}

enum list_syntax { LS_LINES, LS_DRACUT, LS_MKINITCPIO };

static void parse_list(struct listed *l, const char *data, enum list_syntax syn, const char *file)
{
	const char *p = data;
	while (*p) {
		const char *eol = p + strcspn(p, "\n");
		const char *s = p;
		while (s < eol && isspace((unsigned char)*s))
			s++;
		if (s < eol && *s != '#') {
			if (syn == LS_LINES) {
				/* "module [options]": the first word. */
				const char *w = s;
				while (s < eol && !isspace((unsigned char)*s))
					s++;
				listed_add(l, w, (size_t)(s - w), file);
			} else if (syn == LS_DRACUT) {
				static const char *const keys[] = {"add_drivers", "force_drivers",
								   "drivers"};
				for (size_t k = 0; k < KMB_ARRAY_SIZE(keys); k++) {
					size_t kl = strlen(keys[k]);
					const char *v = s + kl;
					if (strncmp(s, keys[k], kl) != 0)
						continue;
					if (*v == '+')
						v++;
					if (*v != '=')
						continue;
					add_words(l, v + 1, eol, file);
					break;
				}
			} else if (strncmp(s, "MODULES=(", 9) == 0) {
				/* MODULES=(a b ...) may continue over several lines. */
				const char *v = s + 9, *close = strchr(v, ')');
				if (!close)
					close = v + strlen(v);
				add_words(l, v, close, file);
				eol = close + strcspn(close, "\n");
			}
		}
		p = *eol ? eol + 1 : eol;
	}
}

/* abs_dir's regular files (ending in suffix when given), sorted, as root-relative paths. */
static void dir_files(const struct kmb_ctx *ctx, const char *abs_dir, const char *suffix,
		      struct kmb_strv *out)
{
	char *dir = kmb_root_path(ctx, abs_dir);
	struct kmb_strv names = {0};

	kmb_dir_names(dir, suffix, &names);
	free(dir);
	for (size_t i = 0; i < names.n; i++)
		kmb_strv_pushf(out, "%s/%s", abs_dir, names.v[i]);
	kmb_strv_free(&names);
}

static void read_lists(const struct kmb_ctx *ctx, enum kmb_irb b, struct listed *l)
{
	struct kmb_strv files = {0};
	struct kmb_strv syn = {0}; /* parallel: "l", "d" or "m" */

	if (b == KMB_IRB_UPDATE_INITRAMFS) {
		kmb_strv_push(&files, "/etc/initramfs-tools/modules");
		dir_files(ctx, "/usr/share/initramfs-tools/modules.d", NULL, &files);
		while (syn.n < files.n)
			kmb_strv_push(&syn, "l");
	}
	if (b == KMB_IRB_DRACUT || b == KMB_IRB_KERNEL_INSTALL) {
		kmb_strv_push(&files, "/etc/dracut.conf");
		dir_files(ctx, "/usr/lib/dracut/dracut.conf.d", ".conf", &files);
		dir_files(ctx, "/etc/dracut.conf.d", ".conf", &files);
		while (syn.n < files.n)
			kmb_strv_push(&syn, "d");
	}
	if (b == KMB_IRB_MKINITCPIO || b == KMB_IRB_KERNEL_INSTALL) {
		kmb_strv_push(&files, "/etc/mkinitcpio.conf");
		dir_files(ctx, "/etc/mkinitcpio.conf.d", ".conf", &files);
		while (syn.n < files.n)
			kmb_strv_push(&syn, "m");
	}
	for (size_t i = 0; i < files.n; i++) {
		char *p = kmb_root_path(ctx, files.v[i]), *data;
		if (kmb_read_file(p, &data, NULL) == 0) {
			enum list_syntax s = syn.v[i][0] == 'l'	  ? LS_LINES
					     : syn.v[i][0] == 'd' ? LS_DRACUT
								  : LS_MKINITCPIO;
			parse_list(l, data, s, files.v[i]);
			free(data);
		}
		free(p);
	}
	kmb_strv_free(&files);
	kmb_strv_free(&syn);
}

static const char *listed_in(const struct listed *l, const char *module)
{
	char *n = kmb_xstrdup(module);
	norm_mod(n);
	const char *r = NULL;
	for (size_t i = 0; i < l->names.n && !r; i++)
		if (strcmp(l->names.v[i], n) == 0)
			r = l->files.v[i];
	free(n);
	return r;
}

/* ---- the image ------------------------------------------------------------------------ */

static const char *const ko_suffixes[] = {".ko", ".ko.xz", ".ko.gz", ".ko.zst"};

/* Module name (normalised, malloc'd) of a .ko* entry under lib/modules/<kernel>/, or NULL. */
static char *image_module(const char *entry, const char *kernel)
{
	const char *p = entry;
	if (kmb_startswith(p, "usr/"))
		p += 4;
	if (!kmb_startswith(p, "lib/modules/"))
		return NULL;
	p += strlen("lib/modules/");
	size_t kl = strlen(kernel);
	if (strncmp(p, kernel, kl) != 0 || p[kl] != '/')
		return NULL;
	const char *base = strrchr(entry, '/') + 1;
	for (size_t i = 0; i < KMB_ARRAY_SIZE(ko_suffixes); i++) {
		if (!kmb_endswith(base, ko_suffixes[i]))
			continue;
		char *n = kmb_xstrndup(base, strlen(base) - strlen(ko_suffixes[i]));
		norm_mod(n);
		return n;
	}
	return NULL;
}

/* Decompress a module file held in memory (gz, xz, zst or plain) with libarchive's raw
 * reader, so that differently compressed copies of the same module compare equal. */
static int inflate(const unsigned char *p, size_t n, unsigned char **out, size_t *outlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct kmb_buf b = {0};
	char chunk[65536];
	la_ssize_t r;
	int rc = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, p, n) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		archive_read_free(a);
		return -EBADMSG;
	}
	while ((r = archive_read_data(a, chunk, sizeof(chunk))) > 0)
		kmb_buf_add(&b, chunk, (size_t)r);
	if (r < 0)
		rc = -EBADMSG;
	archive_read_free(a);
	if (rc) {
		kmb_buf_free(&b);
		return rc;
	}
	*outlen = b.len;
	*out = (unsigned char *)kmb_buf_steal(&b);
	return 0;
}

static bool same_module(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	if (an == bn && memcmp(a, b, an) == 0)
		return true;
	unsigned char *x = NULL, *y = NULL;
	size_t xn = 0, yn = 0;
	bool same = inflate(a, an, &x, &xn) == 0 && inflate(b, bn, &y, &yn) == 0 && xn == yn &&
		    memcmp(x, y, xn) == 0;
	free(x);
	free(y);
	return same;
}

/* ---- check ---------------------------------------------------------------------------- */

static struct kmb_irm *irm_add(struct kmb_initramfs_check *c)
{
	c->mods = kmb_xrealloc(c->mods, (c->n_mods + 1) * sizeof(*c->mods));
	struct kmb_irm *m = &c->mods[c->n_mods++];
	memset(m, 0, sizeof(*m));
	return m;
}

struct img_mod {
	const char *entry; /* borrowed from the image */
	char *name;	   /* normalised module name */
	bool claimed;	   /* matched an installed kmbuild module */
};

static bool remake_initrd(const struct kmb_ctx *ctx, const char *name, const char *version,
			  const char *kernel)
{
	struct kmb_kernel *k = NULL;
	struct kmb_pkg *pkg = NULL;
	char *reason = NULL;
	kmb_kernel_open(ctx, kernel, &k);
	bool r = kmb_pkg_load_registered(ctx, name, version, k, &pkg, &reason) == 0 &&
		 pkg->remake_initrd;
	kmb_pkg_free(pkg);
	free(reason);
	kmb_kernel_free(k);
	return r;
}

/* Collect the modules kmbuild installed for kernel (one item per installed file). */
static void collect_installed(const struct kmb_ctx *ctx, struct kmb_initramfs_check *c,
			      const struct listed *l)
{
	struct kmb_entry *e;
	size_t n;

	kmb_state_list(ctx, NULL, NULL, c->kernel, &e, &n);
	for (size_t i = 0; i < n; i++) {
		if (!e[i].kernel || e[i].state != KMB_ST_INSTALLED)
			continue;
		struct kmb_installed_file *f;
		size_t nf;
		if (kmb_state_installed_files(ctx, e[i].name, e[i].version, e[i].kernel, e[i].arch,
					      &f, &nf) < 0)
			continue;
		bool remake = nf && remake_initrd(ctx, e[i].name, e[i].version, c->kernel);
		for (size_t j = 0; j < nf; j++) {
			struct kmb_irm *m = irm_add(c);
			m->module = kmb_xstrdup(f[j].module);
			m->package = kmb_xasprintf("%s/%s", e[i].name, e[i].version);
			m->path = kmb_xstrdup(f[j].path);
			const char *lf = listed_in(l, f[j].module);
			m->listed_in = lf ? kmb_xstrdup(lf) : NULL;
			m->why = (remake ? KMB_IRW_REMAKE_INITRD : 0) | (lf ? KMB_IRW_CONFIG : 0);
		}
		kmb_installed_files_free(f, nf);
	}
	kmb_entries_free(e, n);
}

/* Match installed modules to image entries and compare the bytes. */
static int compare_image(const struct kmb_ctx *ctx, struct kmb_initramfs_check *c,
			 const struct kmb_initramfs *ir, char **err)
{
	struct img_mod *im = NULL;
	size_t nim = 0;
	struct stat ist;
	int rc = 0;

	if (stat(c->image, &ist) < 0)
		memset(&ist, 0, sizeof(ist));
	for (size_t i = 0; i < ir->n_entries; i++) {
		if (!ir->entries[i].regular)
			continue;
		char *n = image_module(ir->entries[i].name, c->kernel);
		if (!n)
			continue;
		im = kmb_xrealloc(im, (nim + 1) * sizeof(*im));
		im[nim++] = (struct img_mod){ir->entries[i].name, n, false};
	}

	const char **want = kmb_xcalloc(c->n_mods + 1, sizeof(char *));
	for (size_t i = 0; i < c->n_mods; i++) {
		struct kmb_irm *m = &c->mods[i];
		char *n = kmb_xstrdup(m->module);
		norm_mod(n);
		const char *rel = m->path[0] == '/' ? m->path + 1 : m->path;
		ssize_t exact = -1, any = -1;
		for (size_t j = 0; j < nim; j++) {
			if (strcmp(im[j].name, n) != 0)
				continue;
			const char *en = im[j].entry;
			if (strcmp(en, rel) == 0 ||
			    (kmb_startswith(en, "usr/") && strcmp(en + 4, rel) == 0))
				exact = (ssize_t)j;
			any = (ssize_t)j;
		}
		free(n);
		ssize_t hit = exact >= 0 ? exact : any;
		if (hit >= 0) {
			im[hit].claimed = true;
			if (exact >= 0 && any >= 0)
				for (size_t j = 0; j < nim; j++)
					im[j].claimed |= strcmp(im[j].name, im[hit].name) == 0;
			m->why |= KMB_IRW_IMAGE;
			m->image_name = kmb_xstrdup(im[hit].entry);
			want[i] = m->image_name;
		}
	}

	unsigned char **data = kmb_xcalloc(c->n_mods + 1, sizeof(*data));
	size_t *len = kmb_xcalloc(c->n_mods + 1, sizeof(*len));
	/* One pass per segment for every wanted file. */
	const char **names = kmb_xcalloc(c->n_mods + 1, sizeof(char *));
	size_t *idx = kmb_xcalloc(c->n_mods + 1, sizeof(size_t)), nn = 0;
	for (size_t i = 0; i < c->n_mods; i++)
		if (want[i]) {
			names[nn] = want[i];
			idx[nn++] = i;
		}
	unsigned char **got = kmb_xcalloc(nn + 1, sizeof(*got));
	size_t *glen = kmb_xcalloc(nn + 1, sizeof(*glen));
	if (nn && kmb_initramfs_read_files(ir, names, nn, got, glen, err) < 0) {
		rc = -EBADMSG;
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		data[idx[i]] = got[i];
		len[idx[i]] = glen[i];
		got[i] = NULL;
	}

	for (size_t i = 0; i < c->n_mods; i++) {
		struct kmb_irm *m = &c->mods[i];
		char *abs = kmb_root_path(ctx, m->path), *inst = NULL;
		size_t ilen = 0;
		struct stat st;
		if (m->image_name) {
			if (data[i] && kmb_read_file(abs, &inst, &ilen) == 0 &&
			    same_module(data[i], len[i], (unsigned char *)inst, ilen))
				m->state = KMB_IRM_CURRENT;
			else
				m->state = KMB_IRM_STALE;
		} else if (m->why & KMB_IRW_CONFIG) {
			m->state = KMB_IRM_MISSING;
		} else if ((m->why & KMB_IRW_REMAKE_INITRD) && stat(abs, &st) == 0 &&
			   (st.st_mtim.tv_sec > ist.st_mtim.tv_sec ||
			    (st.st_mtim.tv_sec == ist.st_mtim.tv_sec &&
			     st.st_mtim.tv_nsec > ist.st_mtim.tv_nsec))) {
			m->state = KMB_IRM_NEWER;
		} else {
			m->state = KMB_IRM_ABSENT;
		}
		free(inst);
		free(abs);
	}

	/* Module files the image carries that are gone from disk (kmbuild removed them). */
	for (size_t j = 0; j < nim; j++) {
		if (im[j].claimed)
			continue;
		char *abs = kmb_xasprintf("%s/%s", ctx->root, im[j].entry);
		if (!kmb_exists(abs)) {
			struct kmb_irm *m = irm_add(c);
			const char *base = strrchr(im[j].entry, '/') + 1;
			m->module = kmb_xstrndup(base, strcspn(base, "."));
			m->path = kmb_xasprintf("/%s", im[j].entry);
			m->image_name = kmb_xstrdup(im[j].entry);
			m->why = KMB_IRW_IMAGE;
			m->state = KMB_IRM_ORPHAN;
		}
		free(abs);
	}
out:
	for (size_t i = 0; i < nn; i++)
		free(got[i]);
	free(got);
	free(glen);
	free(names);
	free(idx);
	for (size_t i = 0; i < c->n_mods; i++)
		free(data[i]);
	free(data);
	free(len);
	free(want);
	for (size_t j = 0; j < nim; j++)
		free(im[j].name);
	free(im);
	return rc;
}

int kmb_initramfs_check(const struct kmb_ctx *ctx, const char *kernel,
			struct kmb_initramfs_check *out, char **err)
{
	struct listed l = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	out->kernel = kmb_xstrdup(kernel);
	rc = kmb_irb_detect(ctx, &out->backend, err);
	if (rc < 0)
		return rc;
	if (out->backend.backend == KMB_IRB_NONE) {
		out->reason = kmb_xasprintf("%s: nothing to regenerate", out->backend.why);
		return 0;
	}
	out->image = kmb_initramfs_image(ctx, &out->backend, kernel);
	out->image_exists = out->image && kmb_exists(out->image);
	read_lists(ctx, out->backend.backend, &l);
	collect_installed(ctx, out, &l);
	kmb_strv_free(&l.names);
	kmb_strv_free(&l.files);

	if (!out->image_exists) {
		for (size_t i = 0; i < out->n_mods; i++)
			out->mods[i].state = out->mods[i].why ? KMB_IRM_MISSING : KMB_IRM_ABSENT;
		out->reason = out->image
				      ? kmb_xasprintf("no image %s yet: the kernel's own "
						      "hook makes it",
						      out->image + strlen(ctx->root))
				      : kmb_xasprintf("no initramfs image of %s found for %s",
						      kmb_irb_name(out->backend.backend), kernel);
		return 0;
	}

	struct kmb_initramfs *ir = NULL;
	char *rerr = NULL;
	if (kmb_initramfs_open(out->image, &ir, &rerr) < 0) {
		/* An unreadable image is a reason to write a new one, not to give up. */
		out->needed = true;
		out->reason = kmb_xasprintf("the current image is unreadable: %s", rerr);
		free(rerr);
		return 0;
	}
	rc = compare_image(ctx, out, ir, err);
	kmb_initramfs_free(ir);
	if (rc < 0)
		return rc;

	struct kmb_buf why = {0};
	for (size_t i = 0; i < out->n_mods; i++) {
		const struct kmb_irm *m = &out->mods[i];
		const char *what = NULL;
		switch (m->state) {
		case KMB_IRM_STALE:
			what = "differs from the installed file";
			break;
		case KMB_IRM_MISSING:
			what = "is listed in the tool's config but missing";
			break;
		case KMB_IRM_NEWER:
			what = "(REMAKE_INITRD) was installed after the image was written";
			break;
		case KMB_IRM_ORPHAN:
			what = "is in the image but no longer installed";
			break;
		default:
			continue;
		}
		kmb_buf_printf(&why, "%s%s %s", why.len ? "; " : "", m->module, what);
	}
	if (why.len) {
		out->needed = true;
		out->reason = kmb_buf_steal(&why);
	} else {
		kmb_buf_free(&why);
		out->reason = kmb_xstrdup("the image matches the installed modules");
	}
	return 0;
}

void kmb_initramfs_check_free(struct kmb_initramfs_check *c)
{
	for (size_t i = 0; i < c->n_mods; i++) {
		free(c->mods[i].module);
		free(c->mods[i].package);
		free(c->mods[i].path);
		free(c->mods[i].image_name);
		free(c->mods[i].listed_in);
	}
	free(c->mods);
	free(c->kernel);
	free(c->image);
	free(c->reason);
	kmb_irb_info_free(&c->backend);
	memset(c, 0, sizeof(*c));
}

/* ---- regeneration ----------------------------------------------------------------------- */

static void backend_argv(const struct kmb_ctx *ctx, const struct kmb_initramfs_check *c,
			 struct kmb_strv *argv)
{
	const char *k = c->kernel;

	kmb_strv_push(argv, c->backend.tool);
	switch (c->backend.backend) {
	case KMB_IRB_UPDATE_INITRAMFS:
		kmb_strv_push(argv, c->image_exists ? "-u" : "-c");
		kmb_strv_push(argv, "-k");
		kmb_strv_push(argv, k);
		break;
	case KMB_IRB_DRACUT:
		kmb_strv_push(argv, "--force");
		kmb_strv_push(argv, c->image);
		kmb_strv_push(argv, k);
		break;
	case KMB_IRB_MKINITCPIO: {
		char *base = mkinitcpio_pkgbase(ctx, k);
		if (base) {
			kmb_strv_push(argv, "-p");
			kmb_strv_push(argv, base);
		} else {
			kmb_strv_push(argv, "-k");
			kmb_strv_push(argv, k);
			kmb_strv_push(argv, "-g");
			kmb_strv_push(argv, c->image);
		}
		free(base);
		break;
	}
	case KMB_IRB_KERNEL_INSTALL: {
		char *img = kmb_xasprintf("%s/%s/vmlinuz", ctx->modules_dir, k);
		if (!kmb_exists(img)) {
			free(img);
			img = kmb_xasprintf("%s/vmlinuz-%s", ctx->boot_dir, k);
		}
		kmb_strv_push(argv, "add");
		kmb_strv_push(argv, k);
		kmb_strv_push(argv, img);
		free(img);
		break;
	}
	case KMB_IRB_NONE:
		break;
	}
}

int kmb_initramfs_regenerate(const struct kmb_ctx *ctx, const struct kmb_initramfs_check *c,
			     char **err)
{
	struct kmb_strv argv = {0};
	char *backup = NULL;
	struct stat st;
	int rc;

	*err = NULL;
	if (c->backend.backend == KMB_IRB_NONE) {
		*err = kmb_xasprintf("%s", c->backend.why);
		return -ENOENT;
	}
	if (!c->backend.tool) {
		*err = kmb_xasprintf("%s", c->backend.why);
		return -ENOENT;
	}
	if (c->image && stat(c->image, &st) == 0) {
		/* A copy, not a hard link: dracut rewrites its output file in place. */
		backup = kmb_xasprintf("%s.kmbuild-old", c->image);
		rc = kmb_copy_file_atomic(c->image, backup, st.st_mode & 07777);
		if (rc < 0) {
			*err = kmb_xasprintf("cannot keep a copy of %s: %s", c->image,
					     strerror(-rc));
			free(backup);
			return rc;
		}
	}
	backend_argv(ctx, c, &argv);
	struct kmb_run r = {
		.argv = (const char *const *)argv.v, .out_fd = STDERR_FILENO, .in_fd = -1};
	int status = kmb_run(&r);
	kmb_strv_free(&argv);

	char *verr = NULL;
	if (status != 0) {
		verr = status < 0 ? kmb_xasprintf("cannot run %s: %s", c->backend.tool,
						  strerror(-status))
				  : kmb_xasprintf("%s exited %d", c->backend.tool, status);
	} else if (c->image) {
		struct kmb_initramfs *ir = NULL;
		char *rerr = NULL;
		if (kmb_initramfs_open(c->image, &ir, &rerr) < 0)
			verr = kmb_xasprintf("%s left no readable image: %s", c->backend.tool,
					     rerr);
		free(rerr);
		kmb_initramfs_free(ir);
	}
	if (verr) {
		if (backup && rename(backup, c->image) == 0) {
			*err = kmb_xasprintf("%s; the previous image was restored", verr);
		} else if (backup) {
			*err = kmb_xasprintf("%s; the previous image is kept as %s", verr, backup);
		} else {
			*err = kmb_xasprintf("%s", verr);
		}
		free(verr);
		free(backup);
		return -EIO;
	}
	if (backup)
		unlink(backup);
	free(backup);
	return 0;
}

int kmb_initramfs_update(const struct kmb_ctx *ctx, const char *kernel, bool *regenerated)
{
	struct kmb_initramfs_check c;
	char *err = NULL;
	int rc;

	if (regenerated)
		*regenerated = false;
	rc = kmb_initramfs_check(ctx, kernel, &c, &err);
	if (rc < 0) {
		kmb_err("initramfs of %s: %s", kernel, err ? err : strerror(-rc));
		free(err);
		kmb_initramfs_check_free(&c);
		return rc;
	}
	if (!c.needed || !c.image_exists) {
		kmb_debug(ctx, "initramfs of %s: not regenerated: %s", kernel, c.reason);
		kmb_initramfs_check_free(&c);
		return 0;
	}
	kmb_info(ctx, "Regenerating the initramfs of %s with %s: %s", kernel,
		 kmb_irb_name(c.backend.backend), c.reason);
	long long t0 = kmb_now_ms();
	rc = kmb_initramfs_regenerate(ctx, &c, &err);
	if (rc < 0) {
		kmb_err("initramfs of %s not regenerated: %s", kernel, err);
		free(err);
		kmb_initramfs_check_free(&c);
		return rc;
	}
	if (regenerated)
		*regenerated = true;
	kmb_initramfs_check_free(&c);
	/* A module the tool's config lists that is still absent is the config's doing (e.g. a
	 * dracut omit_drivers): say so rather than loop. */
	if (kmb_initramfs_check(ctx, kernel, &c, &err) == 0) {
		for (size_t i = 0; i < c.n_mods; i++)
			if (c.mods[i].state == KMB_IRM_MISSING || c.mods[i].state == KMB_IRM_STALE)
				kmb_warn("initramfs of %s regenerated but %s is still %s in it",
					 kernel, c.mods[i].module,
					 c.mods[i].state == KMB_IRM_MISSING ? "missing" : "stale");
		kmb_info(ctx, "initramfs of %s regenerated (%.1fs): %s", kernel,
			 (double)(kmb_now_ms() - t0) / 1000.0, c.image + strlen(ctx->root));
	}
	free(err);
	kmb_initramfs_check_free(&c);
	return 0;
}
