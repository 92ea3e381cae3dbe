// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Kernel headers: find, install (package manager), fetch (repository -> cache).
 *
 * The cache, <root>/var/cache/kmbuild/headers/K, holds the packages' files as they would be
 * installed (usr/src/linux-headers-K, usr/lib/linux-kbuild-X.Y, lib/modules/K/build, or
 * usr/src/kernels/K for rpm), so the packages' relative symlinks keep working. A fetch builds
 * the tree in a staging directory next to it, checks it is complete, and renames it into
 * place: a failed fetch leaves the cache exactly as it was. Downloads in progress live in
 * <root>/var/cache/kmbuild/downloads (*.part), so a broken transfer resumes next time.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/archive.h"
#include "base/fetch.h"
#include "kernel/headers.h"
#include "kernel/repo_deb.h"
#include "kernel/repo_rpm.h"
#include "base/util.h"

/* --- find --- */

static bool is_exec(const char *dir, const char *rel)
{
	char *p = kmb_xasprintf("%s/%s", dir, rel);
	struct stat st;
	bool ok = stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
	free(p);
	return ok;
}

static bool is_file(const char *dir, const char *rel)
{
	char *p = kmb_xasprintf("%s/%s", dir, rel);
	struct stat st;
	bool ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return ok;
}

bool kmb_headers_check(const char *dir, struct kmb_headers_cand *c)
{
	c->makefile = is_file(dir, "Makefile");
	c->config = is_file(dir, ".config") || is_file(dir, "include/config/auto.conf");
	c->symvers = is_file(dir, "Module.symvers");
	c->fixdep = is_exec(dir, "scripts/basic/fixdep");
	c->modpost = is_exec(dir, "scripts/mod/modpost");
	c->complete = c->makefile && c->config && c->symvers && c->fixdep && c->modpost;
	return c->complete;
}

char *kmb_headers_missing(const struct kmb_headers_cand *c)
{
	struct kmb_buf b = {0};
	const struct {
		bool ok;
		const char *what;
	} items[] = {
		{c->makefile, "Makefile"},	     {c->config, ".config"},
		{c->symvers, "Module.symvers"},	     {c->fixdep, "scripts/basic/fixdep"},
		{c->modpost, "scripts/mod/modpost"},
	};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(items); i++) {
		if (items[i].ok)
			continue;
		if (b.len)
			kmb_buf_adds(&b, ", ");
		kmb_buf_adds(&b, items[i].what);
	}
	return kmb_buf_steal(&b);
}

char *kmb_headers_cache_dir(const struct kmb_ctx *ctx, const char *release)
{
	return kmb_xasprintf("%s/var/cache/kmbuild/headers/%s", ctx->root, release);
}

static void add_cand(struct kmb_headers_report *rep, const struct kmb_ctx *ctx, char *path,
		     const char *layout, enum kmb_headers_origin origin)
{
	struct kmb_headers_cand *c;
	struct stat st;

	rep->c = kmb_xrealloc(rep->c, (rep->n + 1) * sizeof(*rep->c));
	c = &rep->c[rep->n++];
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->layout = layout;
	c->origin = origin;
	if (lstat(path, &st) < 0)
		return;
	c->exists = true;
	if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(path, t, sizeof(t) - 1);
		if (n > 0) {
			t[n] = '\0';
			c->target = kmb_xstrdup(t);
			/* A sandbox's absolute link means the sandbox's path, when it has one. */
			if (t[0] == '/' && ctx->root[0] && origin != KMB_HEADERS_HOST) {
				char *in_root = kmb_xasprintf("%s%s", ctx->root, t);
				c->resolved = realpath(in_root, NULL);
				free(in_root);
			}
		}
	}
	if (!c->resolved)
		c->resolved = realpath(path, NULL);
	if (!c->resolved) {
		c->dangling = S_ISLNK(st.st_mode);
		return;
	}
	if (kmb_is_dir(c->resolved))
		kmb_headers_check(c->resolved, c);
}

static void add_layouts(struct kmb_headers_report *rep, const struct kmb_ctx *ctx,
			const char *prefix, const char *k, enum kmb_headers_origin origin)
{
	add_cand(rep, ctx, kmb_xasprintf("%s/lib/modules/%s/build", prefix, k), "build", origin);
	add_cand(rep, ctx, kmb_xasprintf("%s/lib/modules/%s/source", prefix, k), "source", origin);
	add_cand(rep, ctx, kmb_xasprintf("%s/usr/src/linux-headers-%s", prefix, k), "linux-headers",
		 origin);
	add_cand(rep, ctx, kmb_xasprintf("%s/usr/src/kernels/%s", prefix, k), "kernels", origin);
}

/* The headers directory inside a cache entry (deb or rpm layout). */
static char *cache_headers_path(const char *entry, const char *k)
{
	const char *layouts[] = {"usr/src/linux-headers-%s", "usr/src/kernels/%s",
				 "lib/modules/%s/build"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(layouts); i++) {
		char *rel = kmb_xasprintf(layouts[i], k);
		char *p = kmb_xasprintf("%s/%s", entry, rel);
		free(rel);
		if (kmb_exists(p))
			return p;
		free(p);
	}
	return kmb_xasprintf("%s/usr/src/linux-headers-%s", entry, k);
}

int kmb_headers_find(const struct kmb_ctx *ctx, const char *release, char **dir,
		     struct kmb_headers_report *rep)
{
	struct kmb_headers_report local = {0};
	struct kmb_headers_report *r = rep ? rep : &local;

	*dir = NULL;
	memset(r, 0, sizeof(*r));
	r->best = -1;
	r->release = kmb_xstrdup(release);
	if (!kmb_is_safe_name(release)) {
		kmb_headers_report_free(&local);
		return -EINVAL;
	}
	add_layouts(r, ctx, ctx->root, release, KMB_HEADERS_ROOT);
	char *entry = kmb_headers_cache_dir(ctx, release);
	add_cand(r, ctx, cache_headers_path(entry, release), "cache", KMB_HEADERS_CACHE);
	free(entry);
	if (ctx->root[0])
		add_layouts(r, ctx, "", release, KMB_HEADERS_HOST);

	for (size_t i = 0; i < r->n; i++) {
		if (r->c[i].complete) {
			r->best = (int)i;
			*dir = kmb_xstrdup(r->c[i].resolved);
			break;
		}
	}
	kmb_headers_report_free(&local);
	return *dir ? 0 : -ENOENT;
}

void kmb_headers_report_free(struct kmb_headers_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->c[i].path);
		free(rep->c[i].target);
		free(rep->c[i].resolved);
	}
	free(rep->c);
	free(rep->release);
	memset(rep, 0, sizeof(*rep));
	rep->best = -1;
}

/* --- policy and defaults --- */

int kmb_headers_policy(const struct kmb_ctx *ctx, enum kmb_headers_policy *p, char *err,
		       size_t errlen)
{
	const char *v = kmb_config_get(ctx, "headers");

	*p = KMB_HEADERS_PM_THEN_FETCH;
	if (!v || !*v)
		return 0;
	if (!strcmp(v, "package-manager"))
		*p = KMB_HEADERS_PM;
	else if (!strcmp(v, "fetch"))
		*p = KMB_HEADERS_FETCH;
	else if (!strcmp(v, "never"))
		*p = KMB_HEADERS_NEVER;
	else if (!strcmp(v, "package-manager,fetch") || !strcmp(v, "package-manager fetch"))
		*p = KMB_HEADERS_PM_THEN_FETCH;
	else {
		kmb_errbuf(err, errlen,
			   "kmbuild.conf: headers = '%s': expected package-manager, fetch or never",
			   v);
		return -EINVAL;
	}
	return 0;
}

/* A key of <root>/etc/os-release, unquoted; NULL when absent. */
static char *os_release_get(const struct kmb_ctx *ctx, const char *key)
{
	char *data, *save = NULL, *res = NULL;
	size_t kl = strlen(key);

	if (kmb_read_file(ctx->os_release, &data, NULL) < 0)
		return NULL;
	for (char *l = strtok_r(data, "\n", &save); l && !res; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, key, kl) != 0 || l[kl] != '=')
			continue;
		char *v = l + kl + 1;
		size_t n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v++;
			n -= 2;
		}
		res = kmb_xstrndup(v, n);
	}
	free(data);
	return res;
}

static const char *default_deb_keyring(const char *id)
{
	if (id && !strcmp(id, "ubuntu"))
		return "/usr/share/keyrings/ubuntu-archive-keyring.gpg";
	return "/usr/share/keyrings/debian-archive-keyring.gpg";
}

static bool rpm_release(const char *k)
{
	static const char *const arches[] = {".x86_64", ".aarch64", ".ppc64le", ".s390x",
					     ".i686",	".noarch",  ".riscv64"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(arches); i++)
		if (kmb_endswith(k, arches[i]))
			return true;
	return false;
}

/* --- staging and commit --- */

struct stage {
	char *cache_root;	 /* <root>/var/cache/kmbuild/headers */
	char *entry;		 /* cache_root/K: the final place */
	char *dir;		 /* cache_root/.staging-K-XXXXXX */
	char *tree;		 /* dir/tree: becomes entry */
	char *work;		 /* dir/work: indexes */
	char *downloads;	 /* <root>/var/cache/kmbuild/downloads */
	struct kmb_strv fetched; /* downloaded files, removed after a successful commit */
	struct kmb_buf info;	 /* .kmbuild-headers */
};

static int stage_begin(const struct kmb_ctx *ctx, const char *k, struct stage *s, char *err,
		       size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->cache_root = kmb_root_path(ctx, "/var/cache/kmbuild/headers");
	s->entry = kmb_xasprintf("%s/%s", s->cache_root, k);
	s->downloads = kmb_root_path(ctx, "/var/cache/kmbuild/downloads");
	if ((r = kmb_mkdir_p(s->cache_root, 0755)) < 0 ||
	    (r = kmb_mkdir_p(s->downloads, 0755)) < 0) {
		kmb_errbuf(err, errlen, "%s: %s", s->cache_root, strerror(-r));
		return r;
	}
	char *tmpl = kmb_xasprintf("%s/.staging-%s-XXXXXX", s->cache_root, k);
	if (!mkdtemp(tmpl)) {
		r = -errno;
		kmb_errbuf(err, errlen, "%s: %s", tmpl, strerror(errno));
		free(tmpl);
		return r;
	}
	s->dir = tmpl;
	s->tree = kmb_xasprintf("%s/tree", s->dir);
	s->work = kmb_xasprintf("%s/work", s->dir);
	if (mkdir(s->tree, 0755) < 0 || mkdir(s->work, 0700) < 0) {
		r = -errno;
		kmb_errbuf(err, errlen, "%s: %s", s->dir, strerror(errno));
		return r;
	}
	return 0;
}

static void stage_end(struct stage *s, bool committed)
{
	if (s->dir)
		kmb_rm_rf(s->dir);
	/* Verified downloads stay for a retry after a failure; after success they are done. */
	for (size_t i = 0; committed && i < s->fetched.n; i++)
		unlink(s->fetched.v[i]);
	if (s->downloads)
		rmdir(s->downloads); /* only when empty */
	free(s->cache_root);
	free(s->entry);
	free(s->dir);
	free(s->tree);
	free(s->work);
	free(s->downloads);
	kmb_strv_free(&s->fetched);
	kmb_buf_free(&s->info);
}

/* The tree is complete and every link stays inside: rename it into the cache. */
static int stage_commit(struct stage *s, const char *k, bool force, char **dir, char *err,
			size_t errlen)
{
	struct kmb_headers_cand c = {0};
	char *hdir;
	int r;

	/* Links from different packages may combine into an escape: check the whole tree. */
	r = kmb_archive_check_tree(s->tree, err, errlen);
	if (r < 0) {
		/* The staging path means nothing to the user; the entry and the release do. */
		char sub[1024];
		const char *e = err ? strstr(err, "entry '") : NULL;
		snprintf(sub, sizeof(sub), "%s", e ? e : err ? err : "");
		kmb_errbuf(err, errlen, "fetched packages for %s: %s", k, sub);
		return -EBADMSG;
	}
	hdir = cache_headers_path(s->tree, k);
	if (!kmb_headers_check(hdir, &c)) {
		char *miss = kmb_headers_missing(&c);
		kmb_errbuf(err, errlen,
			   "fetched packages do not make a complete headers tree for %s: "
			   "missing %s",
			   k, miss);
		free(miss);
		free(hdir);
		return -EBADMSG;
	}
	free(hdir);
	char *info = kmb_xasprintf("%s/.kmbuild-headers", s->tree);
	r = kmb_write_file_atomic(info, s->info.s ? s->info.s : "", s->info.len, 0644);
	free(info);
	if (r < 0) {
		kmb_errbuf(err, errlen, "%s: %s", s->tree, strerror(-r));
		return r;
	}
	if (kmb_exists(s->entry) && force) {
		/* Swap old and new in one step, then drop the old one. */
		r = renameat2(AT_FDCWD, s->tree, AT_FDCWD, s->entry, RENAME_EXCHANGE) < 0 ? -errno
											  : 0;
	} else {
		r = rename(s->tree, s->entry) < 0 ? -errno : 0;
		if (r == -ENOTEMPTY || r == -EEXIST) {
			/* Another fetch finished first; keep its (complete) tree. */
			struct kmb_headers_cand o = {0};
			char *odir = cache_headers_path(s->entry, k);
			r = kmb_headers_check(odir, &o) ? 0 : r;
			free(odir);
		}
	}
	if (r < 0) {
		kmb_errbuf(err, errlen, "%s: %s", s->entry, strerror(-r));
		return r;
	}
	kmb_fsync_dir(s->cache_root);
	*dir = cache_headers_path(s->entry, k);
	char *real = realpath(*dir, NULL);
	if (real) {
		free(*dir);
		*dir = real;
	}
	return 0;
}

/* --- Debian --- */

/* Relative path from directory from_dir to path to (both relative to the same root). */
static char *relpath(const char *from_dir, const char *to)
{
	struct kmb_buf b = {0};
	const char *f = from_dir, *t = to;

	/* Skip the common leading components. */
	for (;;) {
		size_t fl = strcspn(f, "/"), tl = strcspn(t, "/");
		if (!fl || fl != tl || strncmp(f, t, fl) != 0 || !t[tl])
			break;
		f += fl + (f[fl] == '/');
		t += tl + 1;
	}
	while (*f) {
		size_t fl = strcspn(f, "/");
		kmb_buf_adds(&b, "../");
		f += fl + (f[fl] == '/');
	}
	kmb_buf_adds(&b, t);
	return kmb_buf_steal(&b);
}

int kmb_headers_fix_makefile(const char *tree, const char *makefile_rel, char *err, size_t errlen)
{
	char *path = kmb_xasprintf("%s/%s", tree, makefile_rel);
	char *data = NULL, *save = NULL;
	char *mdir = kmb_xstrdup(makefile_rel);
	struct kmb_buf out = {0};
	bool changed = false;
	int r;

	char *slash = strrchr(mdir, '/');
	if (slash)
		*slash = '\0';
	else
		mdir[0] = '\0';
	r = kmb_read_file(path, &data, NULL);
	if (r < 0)
		goto out;
	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *p = l;
		if (kmb_startswith(p, "include /") || kmb_startswith(p, "-include /")) {
			const char *abs = strchr(p, '/');
			char *target = kmb_xasprintf("%s%s", tree, abs);
			if (!kmb_exists(target)) {
				kmb_errbuf(err, errlen,
					   "%s: includes %s, which none of the fetched packages "
					   "provides",
					   makefile_rel, abs);
				free(target);
				r = -EBADMSG;
				goto out;
			}
			free(target);
			/* Relative to the Makefile itself: the cache may move, kbuild follows. */
			char *rel = relpath(mdir, abs + 1);
			kmb_buf_printf(&out, "%.*s$(dir $(lastword $(MAKEFILE_LIST)))%s\n",
				       (int)(abs - p), p, rel);
			free(rel);
			changed = true;
			continue;
		}
		kmb_buf_printf(&out, "%s\n", l);
	}
	if (changed)
		r = kmb_write_file_atomic(path, out.s, out.len, 0644);
out:
	if (r < 0 && err && !err[0])
		kmb_errbuf(err, errlen, "%s: %s", path, strerror(-r));
	kmb_buf_free(&out);
	free(data);
	free(mdir);
	free(path);
	return r;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct deb_sources {
	struct kmb_deb_source *v;
	size_t n;
	struct kmb_strv strings;   /* storage */
	struct kmb_deb_index *idx; /* loaded lazily, parallel to v */
	bool *loaded;
	int *load_err;
};

static void deb_sources_free(struct deb_sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		kmb_deb_index_free(&s->idx[i]);
	free(s->v);
	free(s->idx);
	free(s->loaded);
	free(s->load_err);
	kmb_strv_free(&s->strings);
}

static const char *keep(struct deb_sources *s, const char *str)
{
	kmb_strv_push(&s->strings, str);
	return s->strings.v[s->strings.n - 1];
}

static void add_source(struct deb_sources *s, const char *mirror, const char *suite,
		       const char *component, const char *arch, const char *keyring)
{
	s->v = kmb_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n] = (struct kmb_deb_source){
		.mirror = keep(s, mirror),
		.suite = keep(s, suite),
		.component = keep(s, component),
		.arch = keep(s, arch),
		.keyring = keep(s, keyring),
	};
	s->n++;
}

static void split_words(const char *v, struct kmb_strv *out)
{
	char *d = kmb_xstrdup(v), *save = NULL;
	for (char *w = strtok_r(d, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save))
		kmb_strv_push(out, w);
	free(d);
}

static int deb_sources_init(const struct kmb_ctx *ctx, const struct kmb_headers_fetch_opts *o,
			    struct deb_sources *s, char *err, size_t errlen)
{
	char *id = os_release_get(ctx, "ID");
	char *codename = os_release_get(ctx, "VERSION_CODENAME");
	const char *mirror = o->mirror ? o->mirror : kmb_config_get(ctx, "headers_mirror");
	const char *keyring = o->keyring ? o->keyring : kmb_config_get(ctx, "headers_keyring");
	const char *component =
		o->component ? o->component : kmb_config_get(ctx, "headers_component");
	const char *arch = o->arch ? o->arch : kmb_config_get(ctx, "headers_arch");
	const char *suite_conf = kmb_config_get(ctx, "headers_suite");
	bool ubuntu = id && !strcmp(id, "ubuntu");
	struct kmb_strv suites = {0};
	char *kr = NULL;
	int r = 0;

	memset(s, 0, sizeof(*s));
	if (!component)
		component = "main";
	if (!arch)
		arch = kmb_deb_arch();
	kr = keyring ? kmb_xstrdup(keyring) : kmb_root_or_host_path(ctx, default_deb_keyring(id));
	if (o->suites) {
		for (const char *const *p = o->suites; *p; p++)
			kmb_strv_push(&suites, *p);
	} else if (suite_conf) {
		split_words(suite_conf, &suites);
	} else if (codename && *codename) {
		kmb_strv_push(&suites, codename);
		kmb_strv_pushf(&suites, "%s-updates", codename);
		kmb_strv_pushf(&suites, "%s-security", codename);
	}
	if (!suites.n) {
		kmb_errbuf(
			err, errlen,
			"no suite to fetch from: %s has no VERSION_CODENAME; give --suite or set "
			"headers_suite in kmbuild.conf",
			ctx->os_release);
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < suites.n; i++) {
		const char *m = mirror;
		if (!m && ubuntu)
			m = kmb_endswith(suites.v[i], "-security")
				    ? "http://security.ubuntu.com/ubuntu"
				    : "http://archive.ubuntu.com/ubuntu";
		else if (!m)
			m = kmb_endswith(suites.v[i], "-security")
				    ? "http://deb.debian.org/debian-security"
				    : "http://deb.debian.org/debian";
		add_source(s, m, suites.v[i], component, arch, kr);
	}
	s->idx = kmb_xcalloc(s->n, sizeof(*s->idx));
	s->loaded = kmb_xcalloc(s->n, sizeof(*s->loaded));
	s->load_err = kmb_xcalloc(s->n, sizeof(*s->load_err));
out:
	kmb_strv_free(&suites);
	free(kr);
	free(id);
	free(codename);
	return r;
}

/*
 * Find name (op version) in the sources, loading indexes in order as needed. A source that
 * fails to load is an error for the whole fetch unless it is simply missing (404) and others
 * remain: a -security suite need not exist on a private mirror.
 */
static int deb_lookup(const struct kmb_ctx *ctx, struct deb_sources *s, const char *workdir,
		      const struct kmb_fetch_opts *fo, const char *name, const char *op,
		      const char *version, struct kmb_deb_pkg *out, char *err, size_t errlen)
{
	int r = -ENOENT;
	char first_err[1024] = "";

	for (size_t i = 0; i < s->n; i++) {
		if (!s->loaded[i]) {
			s->loaded[i] = true;
			kmb_info(ctx, "Reading %s %s", s->v[i].mirror, s->v[i].suite);
			s->load_err[i] =
				kmb_deb_index_load(&s->v[i], workdir, fo, &s->idx[i], err, errlen);
			if (s->load_err[i] == -ENOENT && s->n > 1) {
				kmb_debug(ctx, "%s", err);
				if (!first_err[0])
					snprintf(first_err, sizeof(first_err), "%s", err);
			} else if (s->load_err[i] < 0) {
				return s->load_err[i];
			}
		}
		if (s->load_err[i] < 0)
			continue;
		struct kmb_deb_pkg p;
		int f = kmb_deb_index_find(&s->idx[i], name, op, version, &p);
		if (f == 0) {
			*out = p;
			return 0;
		}
		if (f == -EBADMSG) {
			kmb_errbuf(err, errlen, "%s %s: the index entry for %s is malformed",
				   s->v[i].mirror, s->v[i].suite, name);
			return f;
		}
	}
	struct kmb_buf where = {0};
	for (size_t i = 0; i < s->n; i++)
		if (s->load_err[i] == 0)
			kmb_buf_printf(&where, "%s%s", where.len ? ", " : "", s->v[i].suite);
	if (!where.len)
		kmb_errbuf(err, errlen, "%s",
			   first_err[0] ? first_err : "no repository index could be read");
	else if (op)
		kmb_errbuf(err, errlen, "%s (%s %s) not found in %s (%s)", name, op, version,
			   where.s, s->v[0].mirror);
	else
		kmb_errbuf(err, errlen, "%s not found in %s (%s)", name, where.s, s->v[0].mirror);
	kmb_buf_free(&where);
	return r;
}

struct deb_plan {
	struct kmb_deb_pkg *p;
	size_t n;
};

static void plan_free(struct deb_plan *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		kmb_deb_pkg_free(&pl->p[i]);
	free(pl->p);
}

static bool plan_has(const struct deb_plan *pl, const char *name)
{
	for (size_t i = 0; i < pl->n; i++)
		if (!strcmp(pl->p[i].name, name))
			return true;
	return false;
}

/* What a headers package needs to build modules: more headers and kbuild (host tools). */
static bool needed_for_build(const char *name)
{
	return kmb_startswith(name, "linux-headers-") || kmb_startswith(name, "linux-kbuild-");
}

static int deb_resolve(const struct kmb_ctx *ctx, struct deb_sources *s, const char *workdir,
		       const struct kmb_fetch_opts *fo, const char *release, struct deb_plan *pl,
		       struct kmb_strv *host_deps, char *err, size_t errlen)
{
	char *top = kmb_xasprintf("linux-headers-%s", release);
	struct kmb_deb_pkg p;
	int r = deb_lookup(ctx, s, workdir, fo, top, NULL, NULL, &p, err, errlen);

	free(top);
	if (r < 0)
		return r;
	pl->p = kmb_xrealloc(pl->p, (pl->n + 1) * sizeof(*pl->p));
	pl->p[pl->n++] = p;
	/* Breadth-first over the plan; the list grows as dependencies are found. */
	for (size_t i = 0; i < pl->n && i < 16; i++) {
		struct kmb_deb_dep *deps;
		size_t nd;
		if (!pl->p[i].depends)
			continue;
		if (kmb_deb_parse_depends(pl->p[i].depends, &deps, &nd) < 0) {
			kmb_errbuf(err, errlen, "%s %s: malformed Depends: %s", pl->p[i].name,
				   pl->p[i].version, pl->p[i].depends);
			return -EBADMSG;
		}
		for (size_t d = 0; d < nd && r == 0; d++) {
			if (!needed_for_build(deps[d].name)) {
				if (!kmb_strv_contains(host_deps, deps[d].name))
					kmb_strv_push(host_deps, deps[d].name);
				continue;
			}
			if (plan_has(pl, deps[d].name))
				continue;
			r = deb_lookup(ctx, s, workdir, fo, deps[d].name, deps[d].op,
				       deps[d].version, &p, err, errlen);
			if (r == 0) {
				pl->p = kmb_xrealloc(pl->p, (pl->n + 1) * sizeof(*pl->p));
				pl->p[pl->n++] = p;
			}
		}
		kmb_deb_deps_free(deps, nd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int fetch_deb(const struct kmb_ctx *ctx, const char *release,
		     const struct kmb_headers_fetch_opts *o, struct stage *st, char *note,
		     size_t notelen, char *err, size_t errlen)
{
	struct deb_sources s;
	struct deb_plan pl = {0};
	struct kmb_strv host_deps = {0};
	struct kmb_fetch_opts fo;
	int r;

	kmb_fetch_opts_init(&fo, ctx);
	r = deb_sources_init(ctx, o, &s, err, errlen);
	if (r < 0)
		return r;
	r = deb_resolve(ctx, &s, st->work, &fo, release, &pl, &host_deps, err, errlen);
	/* Everything is downloaded and verified before anything is unpacked. */
	for (size_t i = 0; r == 0 && i < pl.n; i++) {
		struct kmb_deb_pkg *p = &pl.p[i];
		char *dest = kmb_xasprintf("%s/%s", st->downloads, basename_of(p->filename));
		kmb_info(ctx, "Fetching %s %s", p->name, p->version);
		fo.label = basename_of(p->filename);
		r = kmb_fetch_verified(p->url, dest, p->sha256, p->size, &fo, err, errlen);
		if (r == -ENOENT) /* listed in a signed index, yet missing: a broken mirror */
			r = -EIO;
		if (r == 0)
			kmb_strv_push(&st->fetched, dest);
		free(dest);
	}
	for (size_t i = 0; r == 0 && i < pl.n; i++) {
		struct kmb_deb_pkg *p = &pl.p[i];
		r = kmb_archive_extract_deb_data(st->fetched.v[i], st->tree, err, errlen);
		if (r < 0) {
			/* Verified yet unreadable: keeping it would only fail again. */
			unlink(st->fetched.v[i]);
			r = -EBADMSG;
			break;
		}
		kmb_buf_printf(&st->info, "package=%s %s %s %s\n", p->name, p->version, p->sha256,
			       p->url);
	}
	if (r == 0) {
		/* Debian's flavour Makefile includes the -common tree by absolute path. */
		char *mk = kmb_xasprintf("usr/src/linux-headers-%s/Makefile", release);
		char *full = kmb_xasprintf("%s/%s", st->tree, mk);
		if (kmb_exists(full))
			r = kmb_headers_fix_makefile(st->tree, mk, err, errlen);
		free(full);
		free(mk);
	}
	if (r == 0) {
		kmb_buf_printf(&st->info, "format=deb\n");
		if (host_deps.n && note) {
			struct kmb_buf b = {0};
			for (size_t i = 0; i < host_deps.n; i++)
				kmb_buf_printf(&b, "%s%s", i ? ", " : "", host_deps.v[i]);
			snprintf(note, notelen,
				 "not fetched (needed on the host to build, install them with the "
				 "package manager): %s",
				 b.s);
			kmb_buf_free(&b);
		}
	}
	kmb_strv_free(&host_deps);
	plan_free(&pl);
	deb_sources_free(&s);
	return r;
}

/* --- RPM --- */

static int fetch_rpm(const struct kmb_ctx *ctx, const char *release,
		     const struct kmb_headers_fetch_opts *o, struct stage *st, char *err,
		     size_t errlen)
{
	const char *mirror = o->mirror ? o->mirror : kmb_config_get(ctx, "headers_mirror");
	const char *keyring = o->keyring ? o->keyring : kmb_config_get(ctx, "headers_keyring");
	struct kmb_rpm_source src = {.baseurl = mirror, .keyring = keyring};
	struct kmb_rpm_pkg p;
	struct kmb_fetch_opts fo;
	int r;

	if (!mirror) {
		kmb_errbuf(err, errlen,
			   "no RPM repository: give --mirror URL (the directory holding "
			   "repodata/) or set headers_mirror");
		return -EINVAL;
	}
	if (!keyring)
		kmb_warn("no keyring for %s: repomd.xml is trusted on TLS and checksums only",
			 mirror);
	kmb_fetch_opts_init(&fo, ctx);
	kmb_info(ctx, "Reading %s", mirror);
	r = kmb_rpm_find(&src, st->work, &fo, "kernel-devel", release, &p, err, errlen);
	if (r < 0)
		return r;
	char *dest = kmb_xasprintf("%s/%s", st->downloads, basename_of(p.href));
	kmb_info(ctx, "Fetching kernel-devel %s-%s.%s", p.ver, p.rel, p.arch);
	fo.label = basename_of(p.href);
	r = kmb_fetch_verified(p.url, dest, p.sha256, p.size, &fo, err, errlen);
	if (r == -ENOENT)
		r = -EIO;
	if (r == 0) {
		kmb_strv_push(&st->fetched, dest);
		r = kmb_archive_extract_rpm(dest, st->tree, err, errlen);
		if (r < 0) {
			unlink(dest);
			r = -EBADMSG;
		}
	}
	if (r == 0) {
		/* kernel-core owns the build link on Fedora; give the cache the same shape. */
		char *link = kmb_xasprintf("%s/lib/modules/%s/build", st->tree, release);
		char *ldir = kmb_xasprintf("%s/lib/modules/%s", st->tree, release);
		char *tgt = kmb_xasprintf("../../../usr/src/kernels/%s", release);
		if (!kmb_exists(link) && kmb_mkdir_p(ldir, 0755) == 0 && symlink(tgt, link) < 0)
			r = -errno;
		free(link);
		free(ldir);
		free(tgt);
		kmb_buf_printf(&st->info, "package=%s %s-%s.%s %s %s\nformat=rpm\n", p.name, p.ver,
			       p.rel, p.arch, p.sha256, p.url);
	}
	free(dest);
	kmb_rpm_pkg_free(&p);
	return r;
}

int kmb_headers_fetch(const struct kmb_ctx *ctx, const char *release,
		      const struct kmb_headers_fetch_opts *o, char **dir, char *note,
		      size_t notelen, char *err, size_t errlen)
{
	struct stage st = {0};
	bool committed = false;
	int r;

	*dir = NULL;
	if (note && notelen)
		note[0] = '\0';
	if (err && errlen)
		err[0] = '\0';
	if (!kmb_is_safe_name(release)) {
		kmb_errbuf(err, errlen, "'%s' is not a kernel release", release);
		return -EINVAL;
	}
	char *entry = kmb_headers_cache_dir(ctx, release);
	if (!o->force && kmb_exists(entry)) {
		struct kmb_headers_cand c = {0};
		char *h = cache_headers_path(entry, release);
		if (kmb_headers_check(h, &c)) {
			*dir = realpath(h, NULL);
			free(h);
			free(entry);
			if (note)
				snprintf(note, notelen,
					 "already in the cache (--force fetches again)");
			return *dir ? 0 : -errno;
		}
		free(h);
		/* Not ours in a complete state (hand-made?): never overwrite it silently. */
		kmb_errbuf(err, errlen,
			   "%s exists but is not a complete headers tree; use --force to "
			   "replace it",
			   entry);
		free(entry);
		return -EEXIST;
	}
	free(entry);

	r = stage_begin(ctx, release, &st, err, errlen);
	if (r == 0) {
		time_t now = time(NULL);
		struct tm tm;
		char when[64];
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		kmb_buf_printf(&st.info, "release=%s\nfetched=%s\n", release, when);
		enum kmb_repo_kind kind = o->kind;
		if (kind == KMB_REPO_AUTO)
			kind = rpm_release(release) ? KMB_REPO_RPM : KMB_REPO_DEB;
		if (kind == KMB_REPO_RPM)
			r = fetch_rpm(ctx, release, o, &st, err, errlen);
		else
			r = fetch_deb(ctx, release, o, &st, note, notelen, err, errlen);
	}
	if (r == 0) {
		r = stage_commit(&st, release, o->force, dir, err, errlen);
		committed = r == 0;
	}
	stage_end(&st, committed);
	return r;
}

/* --- package manager --- */

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *d = kmb_xstrdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"), *save = NULL;
	bool found = false;

	for (char *p = strtok_r(d, ":", &save); p && !found; p = strtok_r(NULL, ":", &save)) {
		char *f = kmb_xasprintf("%s/%s", p, prog);
		found = access(f, X_OK) == 0;
		free(f);
	}
	free(d);
	return found;
}

int kmb_headers_install(const struct kmb_ctx *ctx, const char *release, bool dry_run, char *err,
			size_t errlen)
{
	enum kmb_headers_policy pol;
	int r = kmb_headers_policy(ctx, &pol, err, errlen);

	if (r < 0)
		return r;
	if (!kmb_is_safe_name(release)) {
		kmb_errbuf(err, errlen, "'%s' is not a kernel release", release);
		return -EINVAL;
	}
	if (pol == KMB_HEADERS_FETCH || pol == KMB_HEADERS_NEVER) {
		kmb_errbuf(err, errlen,
			   "kmbuild.conf has headers = %s: the package manager is not used",
			   pol == KMB_HEADERS_FETCH ? "fetch" : "never");
		return -EPERM;
	}
	if (ctx->root[0]) {
		kmb_errbuf(err, errlen,
			   "refusing to run the package manager for --root %s: it installs into "
			   "the real "
			   "system; use 'kmbuild headers fetch %s'",
			   ctx->root, release);
		return -EPERM;
	}
	if (in_path("apt-get")) {
		char *pkg = kmb_xasprintf("linux-headers-%s", release);
		const char *argv[] = {"apt-get", "install", "-y", pkg, NULL};
		if (dry_run) {
			kmb_errbuf(err, errlen, "would run: apt-get install -y %s", pkg);
			free(pkg);
			return 0;
		}
		kmb_info(ctx, "Running apt-get install -y %s", pkg);
		struct kmb_run run = {.argv = argv, .out_fd = -1, .in_fd = -1};
		r = kmb_run(&run);
		if (r != 0) {
			kmb_errbuf(err, errlen, "apt-get install -y %s failed (%s %d)", pkg,
				   r < 0 ? "error" : "exit status", r < 0 ? -r : r);
			r = r < 0 ? r : -EIO;
		}
		free(pkg);
		return r;
	}
	if (in_path("dnf")) {
		kmb_errbuf(err, errlen, "%s: dnf install kernel-devel-%s",
			   dry_run ? "would run" : "kmbuild does not drive dnf; run", release);
		return dry_run ? 0 : -ENOTSUP;
	}
	if (in_path("pacman")) {
		/* Arch names headers by kernel package (linux, linux-lts, ...), not by release. */
		const char *pkg = strstr(release, "-lts")	 ? "linux-lts-headers"
				  : strstr(release, "-zen")	 ? "linux-zen-headers"
				  : strstr(release, "-hardened") ? "linux-hardened-headers"
								 : "linux-headers";
		kmb_errbuf(err, errlen, "%s: pacman -S %s",
			   dry_run ? "would run" : "kmbuild does not drive pacman; run", pkg);
		return dry_run ? 0 : -ENOTSUP;
	}
	kmb_errbuf(err, errlen,
		   "no supported package manager (apt-get, dnf, pacman) found; use "
		   "'kmbuild headers fetch %s'",
		   release);
	return -ENOTSUP;
}

int kmb_headers_ensure(const struct kmb_ctx *ctx, const char *release, char **dir, const char **how,
		       char *err, size_t errlen)
{
	enum kmb_headers_policy pol;
	char pm_err[1024] = "";
	int r;

	*how = NULL;
	if (kmb_headers_find(ctx, release, dir, NULL) == 0) {
		*how = "found";
		return 0;
	}
	r = kmb_headers_policy(ctx, &pol, err, errlen);
	if (r < 0)
		return r;
	if (pol == KMB_HEADERS_NEVER) {
		kmb_errbuf(err, errlen, "no complete headers for %s (headers = never)", release);
		return -ENOENT;
	}
	/* Inside a dpkg maintainer script (a kernel hook) the package database is locked by the
	 * running transaction: asking apt would only fail. */
	bool pm_locked = getenv("DPKG_MAINTSCRIPT_NAME") != NULL;
	if ((pol == KMB_HEADERS_PM || pol == KMB_HEADERS_PM_THEN_FETCH) && !ctx->root[0] &&
	    !pm_locked) {
		r = kmb_headers_install(ctx, release, false, pm_err, sizeof(pm_err));
		if (r == 0 && kmb_headers_find(ctx, release, dir, NULL) == 0) {
			*how = "installed";
			return 0;
		}
		if (pol == KMB_HEADERS_PM) {
			kmb_errbuf(err, errlen, "%s",
				   pm_err[0] ? pm_err : "package manager gave no headers");
			return r < 0 ? r : -ENOENT;
		}
		kmb_debug(ctx, "%s", pm_err);
	} else if (pol == KMB_HEADERS_PM) {
		kmb_errbuf(
			err, errlen,
			"no complete headers for %s, and headers = package-manager cannot run for "
			"--root %s",
			release, ctx->root);
		return -ENOENT;
	}
	struct kmb_headers_fetch_opts fo = {0};
	char note[512];
	r = kmb_headers_fetch(ctx, release, &fo, dir, note, sizeof(note), err, errlen);
	if (r == 0) {
		*how = "fetched";
		if (note[0])
			kmb_info(ctx, "%s", note);
	}
	return r;
}
