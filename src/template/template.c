// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The template catalogue: template.conf parsing and validation, in-tree detection, and
 * turning a template's sources into a verified, securely extracted source tree.
 *
 * template.conf is its own small INI file rather than extra sections of kmbuild.conf: the
 * native parser rejects unknown sections (on purpose), and the build definition stays a plain
 * kmbuild.conf that works without the catalogue once it sits in /usr/src.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libkmod.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/archive.h"
#include "base/fetch.h"
#include "kernel/repo_deb.h"
#include "template/template.h"
#include "base/util.h"

#ifndef KMB_DATADIR
#define KMB_DATADIR "/usr/local/share/kmbuild"
#endif

#define TEMPLATE_CONF "template.conf"

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt,
							 ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- catalogue ---------------------------------------------------------------------------- */

/* The directory of the running binary, when it is a kmbuild source tree (make builds
 * ./kmbuild at the top): tests and `make demo` use the templates beside it. */
static char *source_tree_templates(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	char *marker = kmb_xasprintf("%s/src/base/kmb.h", exe);
	char *dir = kmb_xasprintf("%s/templates", exe);
	bool ok = kmb_exists(marker) && kmb_is_dir(dir);
	free(marker);
	if (ok)
		return dir;
	free(dir);
	return NULL;
}

char *kmb_template_catalogue(const struct kmb_ctx *ctx)
{
	const char *conf = kmb_config_get(ctx, "template_dir");
	if (conf && *conf)
		return kmb_xstrdup(conf);
	char *tree = source_tree_templates();
	if (tree)
		return tree;
	return kmb_xstrdup(KMB_DATADIR "/templates");
}

char *kmb_template_cache_dir(const struct kmb_ctx *ctx)
{
	return kmb_root_path(ctx, "/var/cache/kmbuild/sources");
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kmb_template_names(const char *catalogue, struct kmb_strv *names)
{
	DIR *d = opendir(catalogue);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = kmb_xasprintf("%s/%s/" TEMPLATE_CONF, catalogue, de->d_name);
		if (kmb_exists(p))
			kmb_strv_push(names, de->d_name);
		free(p);
	}
	closedir(d);
	if (names->n)
		qsort(names->v, names->n, sizeof(char *), str_cmp);
	return 0;
}

/* ---- suggestions -------------------------------------------------------------------------- */

static char fold(char c)
{
	c = (char)tolower((unsigned char)c);
	return c == '-' ? '_' : c;
}

size_t kmb_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = kmb_xcalloc(lb + 1, sizeof(*row));

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

static bool contains_folded(const char *hay, const char *needle)
{
	size_t ln = strlen(needle), lh = strlen(hay);
	for (size_t i = 0; ln && i + ln <= lh; i++) {
		size_t k = 0;
		while (k < ln && fold(hay[i + k]) == fold(needle[k]))
			k++;
		if (k == ln)
			return true;
	}
	return false;
}

void kmb_template_suggest(const struct kmb_strv *names, const char *name, size_t max,
			  struct kmb_strv *out)
{
	size_t n = names->n;
	size_t *score = kmb_xcalloc(n ? n : 1, sizeof(*score));
	size_t len = strlen(name);
	size_t limit = len / 3 > 2 ? len / 3 : 2;

	/* Substring matches ("v4l2" -> v4l2loopback) rank before typos; SIZE_MAX: no match. */
	for (size_t i = 0; i < n; i++) {
		const char *c = names->v[i];
		size_t d = kmb_edit_distance(name, c);
		if (len >= 3 && (contains_folded(c, name) || contains_folded(name, c)))
			score[i] = d > limit ? 0 : d;
		else
			score[i] = d <= limit ? d + 1 : SIZE_MAX;
	}
	for (size_t k = 0; k < max; k++) {
		size_t best = SIZE_MAX, bi = 0;
		for (size_t i = 0; i < n; i++)
			if (score[i] < best) {
				best = score[i];
				bi = i;
			}
		if (best == SIZE_MAX)
			break;
		kmb_strv_push(out, names->v[bi]);
		score[bi] = SIZE_MAX;
	}
	free(score);
}

/* ---- template.conf ------------------------------------------------------------------------ */

enum sec { SEC_NONE, SEC_TEMPLATE, SEC_SOURCE };

struct parser {
	const char *path;
	struct kmb_template *t;
	enum sec sec;
	struct kmb_strv seen; /* keys of the current section */
	char *err;
	size_t errlen;
	bool failed;
	int src_line; /* header line of the current [source] */
	int template_line;
	char *definition_name;
};

__attribute__((format(printf, 4, 5))) static void perr(struct parser *P, int line, const char *key,
						       const char *fmt, ...)
{
	char what[384];
	va_list ap;

	if (P->failed) /* the first error is the one worth reading */
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (line)
		seterr(P->err, P->errlen, "%s:%d: %s: %s", P->path, line, key, what);
	else
		seterr(P->err, P->errlen, "%s: %s: %s", P->path, key, what);
	P->failed = true;
}

static bool is_hex64(const char *s)
{
	size_t i;
	for (i = 0; s[i]; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return i == 64;
}

/* A relative path that stays inside its directory. */
static bool safe_relpath(const char *p)
{
	if (!*p || p[0] == '/')
		return false;
	char *d = kmb_xstrdup(p), *save = NULL;
	bool ok = true;
	for (char *c = strtok_r(d, "/", &save); c; c = strtok_r(NULL, "/", &save))
		ok &= strcmp(c, "..") != 0;
	free(d);
	return ok;
}

static bool is_url(const char *s)
{
	/* What the fetch code speaks (it refuses file:// and the rest). */
	static const char *const schemes[] = {"https://", "http://"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(schemes); i++)
		if (kmb_startswith(s, schemes[i]) && s[strlen(schemes[i])] &&
		    !strpbrk(s, " \t\"'<>\\"))
			return true;
	return false;
}

/* Debian package names: [a-z0-9][a-z0-9+.-]+ (Policy 5.6.1). */
static bool is_deb_name(const char *s)
{
	if (strlen(s) < 2 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (const char *c = s; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) &&
		    !strchr("+.-", *c))
			return false;
	return true;
}

/* A Debian version: digits first, then [A-Za-z0-9.+~:-]. */
static bool is_deb_version(const char *s)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".+~:-", *c))
			return false;
	return true;
}

static bool is_module_name(const char *s)
{
	if (!*s)
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return false;
	return true;
}

static bool is_config_name(const char *s)
{
	if (!kmb_startswith(s, "CONFIG_") || !s[7])
		return false;
	for (const char *c = s + 7; *c; c++)
		if (!isupper((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
			return false;
	return true;
}

static void split_words(const char *v, struct kmb_strv *out)
{
	char *d = kmb_xstrdup(v), *save = NULL;
	for (char *w = strtok_r(d, " ,\t", &save); w; w = strtok_r(NULL, " ,\t", &save))
		kmb_strv_push(out, w);
	free(d);
}

static struct kmb_tpl_source *cur_src(struct parser *P)
{
	return &P->t->src[P->t->n_src - 1];
}

static void set_str(char **slot, const char *val)
{
	free(*slot);
	*slot = kmb_xstrdup(val);
}

static void template_key(struct parser *P, int line, const char *key, const char *val)
{
	struct kmb_template *t = P->t;

	if (!strcmp(key, "name")) {
		if (!kmb_is_safe_name(val) || strpbrk(val, " \t@"))
			return perr(P, line, key, "'%s' is not a valid template name", val);
		set_str(&t->name, val);
	} else if (!strcmp(key, "version")) {
		if (!kmb_is_safe_name(val) || strpbrk(val, " \t@"))
			return perr(P, line, key, "'%s' is not a valid version", val);
		set_str(&t->version, val);
	} else if (!strcmp(key, "description")) {
		if (strlen(val) > 100)
			return perr(P, line, key,
				    "longer than 100 characters (one line for search)");
		set_str(&t->description, val);
	} else if (!strcmp(key, "homepage")) {
		if (!kmb_startswith(val, "https://") && !kmb_startswith(val, "http://"))
			return perr(P, line, key, "'%s' is not an http(s) URL", val);
		set_str(&t->homepage, val);
	} else if (!strcmp(key, "in-tree")) {
		split_words(val, &t->in_tree);
		for (size_t i = 0; i < t->in_tree.n; i++)
			if (!is_module_name(t->in_tree.v[i]))
				return perr(P, line, key, "'%s' is not a module name",
					    t->in_tree.v[i]);
	} else if (!strcmp(key, "in-tree-config")) {
		split_words(val, &t->in_tree_config);
		for (size_t i = 0; i < t->in_tree_config.n; i++)
			if (!is_config_name(t->in_tree_config.v[i]))
				return perr(P, line, key, "'%s' is not a CONFIG_ name",
					    t->in_tree_config.v[i]);
	} else if (!strcmp(key, "definition")) {
		if (!kmb_is_safe_name(val))
			return perr(P, line, key, "'%s' is not a file name", val);
		set_str(&P->definition_name, val);
	} else {
		perr(P, line, key, "unknown key in [template]");
	}
}

static void source_key(struct parser *P, int line, const char *key, const char *val)
{
	struct kmb_tpl_source *s = cur_src(P);

	if (!strcmp(key, "url")) {
		if (!is_url(val))
			return perr(P, line, key, "'%s' is not an http or https URL", val);
		set_str(&s->url, val);
	} else if (!strcmp(key, "file")) {
		if (!kmb_is_safe_name(val) || strpbrk(val, " \t"))
			return perr(P, line, key, "'%s' is not a file name", val);
		set_str(&s->file, val);
	} else if (!strcmp(key, "deb")) {
		if (!is_deb_name(val))
			return perr(P, line, key, "'%s' is not a Debian package name", val);
		set_str(&s->deb, val);
	} else if (!strcmp(key, "deb-version")) {
		if (!is_deb_version(val))
			return perr(P, line, key, "'%s' is not a Debian version", val);
		set_str(&s->deb_version, val);
	} else if (!strcmp(key, "suite")) {
		if (!kmb_is_safe_name(val) || strpbrk(val, " \t"))
			return perr(P, line, key, "'%s' is not a suite name", val);
		set_str(&s->suite, val);
	} else if (!strcmp(key, "path")) {
		if (!safe_relpath(val))
			return perr(P, line, key, "'%s' must be a relative path without '..'", val);
		set_str(&s->path, val);
	} else if (!strcmp(key, "sha256")) {
		if (!is_hex64(val))
			return perr(P, line, key, "'%s' is not 64 lowercase hex digits", val);
		set_str(&s->sha256, val);
	} else if (!strcmp(key, "size")) {
		char *end;
		errno = 0;
		long long v = strtoll(val, &end, 10);
		if (errno || *end || v <= 0 || !isdigit((unsigned char)val[0]))
			return perr(P, line, key, "'%s' is not a positive number of bytes", val);
		s->size = v;
	} else if (!strcmp(key, "subdir")) {
		if (!safe_relpath(val))
			return perr(P, line, key, "'%s' must be a relative path without '..'", val);
		set_str(&s->subdir, val);
	} else if (!strcmp(key, "note")) {
		set_str(&s->note, val);
	} else {
		perr(P, line, key, "unknown key in [source %s]", s->label);
	}
}

/* Checks that need the whole [source] section. */
static void source_done(struct parser *P)
{
	struct kmb_tpl_source *s = cur_src(P);
	int line = P->src_line;
	char label[128];

	snprintf(label, sizeof(label), "[source %s]", s->label);
	int kinds = !!s->url + !!s->deb + !!s->path;
	if (kinds != 1)
		return perr(P, line, label, "needs exactly one of url, deb or path (has %d)",
			    kinds);
	if (s->url) {
		s->kind = KMB_TPL_TARBALL;
		if (!s->file) {
			const char *b = strrchr(s->url, '/');
			char *f = kmb_xstrndup(b + 1, strcspn(b + 1, "?#"));
			if (!kmb_is_safe_name(f)) {
				free(f);
				return perr(P, line, label,
					    "give file = NAME: the URL does not end "
					    "in a file name");
			}
			s->file = f;
		}
		if (s->deb_version || s->suite || s->path)
			return perr(P, line, label, "deb-version/suite belong to a deb source");
	} else if (s->deb) {
		s->kind = KMB_TPL_DEB;
		if (!s->deb_version)
			return perr(P, line, "deb-version", "missing in %s", label);
		if (!s->suite)
			return perr(P, line, "suite", "missing in %s", label);
		if (s->file)
			return perr(P, line, "file", "only for url sources (%s)", label);
	} else {
		s->kind = KMB_TPL_LOCAL;
		if (s->sha256 || s->size >= 0 || s->file || s->deb_version || s->suite)
			return perr(P, line, label,
				    "a path source takes only path, subdir and note");
		char *p = kmb_xasprintf("%s/%s", P->t->dir, s->path);
		bool ok = kmb_is_dir(p);
		free(p);
		if (!ok)
			return perr(P, line, "path", "%s/%s is not a directory", P->t->dir,
				    s->path);
	}
	if (s->kind != KMB_TPL_LOCAL && !s->sha256)
		return perr(P, line, "sha256", "missing in %s (every download is verified)", label);
}

static void open_section(struct parser *P, int line, const char *hdr)
{
	if (P->sec == SEC_SOURCE)
		source_done(P);
	kmb_strv_free(&P->seen);
	if (!strcmp(hdr, "template")) {
		if (P->template_line)
			return perr(P, line, "[template]", "given twice (first on line %d)",
				    P->template_line);
		P->template_line = line;
		P->sec = SEC_TEMPLATE;
		return;
	}
	if (kmb_startswith(hdr, "source ") || kmb_startswith(hdr, "source\t")) {
		const char *label = hdr + 7;
		label += strspn(label, " \t");
		if (!kmb_is_safe_name(label) || strpbrk(label, " \t"))
			return perr(P, line, "[source]", "'%s' is not a valid label", label);
		for (size_t i = 0; i < P->t->n_src; i++)
			if (!strcmp(P->t->src[i].label, label))
				return perr(P, line, "[source]", "label '%s' used twice", label);
		struct kmb_template *t = P->t;
		t->src = kmb_xrealloc(t->src, (t->n_src + 1) * sizeof(*t->src));
		t->src[t->n_src] = (struct kmb_tpl_source){.label = kmb_xstrdup(label), .size = -1};
		t->n_src++;
		P->src_line = line;
		P->sec = SEC_SOURCE;
		return;
	}
	perr(P, line, hdr, "unknown section (expected [template] or [source LABEL])");
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

static void parse_text(struct parser *P, char *text)
{
	int lineno = 0;

	for (char *line = text; line && !P->failed;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		char *s = trim(line);
		line = nl ? nl + 1 : NULL;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (!end || end[1])
				return perr(P, lineno, s, "malformed section header");
			*end = 0;
			open_section(P, lineno, trim(s + 1));
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			return perr(P, lineno, s, "expected key = value");
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		if (P->sec == SEC_NONE)
			return perr(P, lineno, key, "outside a section");
		if (kmb_strv_contains(&P->seen, key))
			return perr(P, lineno, key, "given twice in this section");
		kmb_strv_push(&P->seen, key);
		if (!*val)
			return perr(P, lineno, key, "empty value");
		if (P->sec == SEC_TEMPLATE)
			template_key(P, lineno, key, val);
		else
			source_key(P, lineno, key, val);
	}
	if (!P->failed && P->sec == SEC_SOURCE)
		source_done(P);
}

static void validate(struct parser *P)
{
	struct kmb_template *t = P->t;
	static const char *const required[] = {"name", "version", "description", "homepage"};
	char *const *fields[] = {&t->name, &t->version, &t->description, &t->homepage};

	if (P->failed)
		return;
	if (!P->template_line)
		return perr(P, 0, "[template]", "missing");
	for (size_t i = 0; i < KMB_ARRAY_SIZE(required); i++)
		if (!*fields[i])
			return perr(P, 0, required[i], "missing in [template]");
	const char *base = strrchr(t->dir, '/');
	base = base ? base + 1 : t->dir;
	if (strcmp(base, t->name))
		return perr(P, P->template_line, "name",
			    "'%s' differs from the template's directory name '%s'", t->name, base);
	if (!t->n_src)
		return perr(P, 0, "[source]", "no source given (at least one [source LABEL])");
}

static void load_definition(struct parser *P)
{
	struct kmb_template *t = P->t;
	struct kmb_conf_error cerr = {{0}};

	if (P->failed)
		return;
	t->definition = kmb_xasprintf("%s/%s", t->dir,
				      P->definition_name ? P->definition_name : "kmbuild.conf");
	if (!kmb_exists(t->definition))
		return perr(P, 0, "definition", "%s does not exist", t->definition);
	if (!kmb_endswith(t->definition, "/kmbuild.conf"))
		return perr(P, 0, "definition", "must be a kmbuild.conf (native format)");
	int r = kmb_pkg_load(t->definition, NULL, &t->pkg, &cerr);
	if (r < 0) {
		seterr(P->err, P->errlen, "%s", cerr.msg);
		P->failed = true;
		return;
	}
	if (strcmp(t->pkg->version, t->version))
		return perr(P, 0, "version", "'%s' differs from version '%s' in %s", t->version,
			    t->pkg->version, t->definition);
	if (t->pkg->n_modules == 0)
		return perr(P, 0, "definition", "%s builds no module", t->definition);
}

int kmb_template_load(const char *dir, struct kmb_template **out, char *err, size_t errlen)
{
	struct kmb_template *t = kmb_xcalloc(1, sizeof(*t));
	struct parser P = {.t = t, .err = err, .errlen = errlen};
	char *text = NULL;

	*out = NULL;
	err[0] = 0;
	t->dir = kmb_xstrdup(dir);
	size_t dl = strlen(t->dir);
	while (dl > 1 && t->dir[dl - 1] == '/')
		t->dir[--dl] = 0;
	t->conf_path = kmb_xasprintf("%s/" TEMPLATE_CONF, t->dir);
	P.path = t->conf_path;
	int r = kmb_read_file(t->conf_path, &text, NULL);
	if (r < 0) {
		seterr(err, errlen, "%s: %s", t->conf_path, strerror(-r));
		kmb_template_free(t);
		return r == -ENOENT ? -ENOENT : -EINVAL;
	}
	parse_text(&P, text);
	validate(&P);
	load_definition(&P);
	free(text);
	free(P.definition_name);
	kmb_strv_free(&P.seen);
	if (P.failed) {
		kmb_template_free(t);
		return -EINVAL;
	}
	*out = t;
	return 0;
}

void kmb_template_free(struct kmb_template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_src; i++) {
		struct kmb_tpl_source *s = &t->src[i];
		free(s->label);
		free(s->url);
		free(s->file);
		free(s->deb);
		free(s->deb_version);
		free(s->suite);
		free(s->path);
		free(s->sha256);
		free(s->subdir);
		free(s->note);
	}
	free(t->src);
	free(t->name);
	free(t->version);
	free(t->description);
	free(t->homepage);
	free(t->dir);
	free(t->conf_path);
	free(t->definition);
	kmb_strv_free(&t->in_tree);
	kmb_strv_free(&t->in_tree_config);
	kmb_pkg_free(t->pkg);
	free(t);
}

/* ---- in-tree detection -------------------------------------------------------------------- */

static void kmod_quiet(void *data, int priority, const char *file, int line, const char *fn,
		       const char *format, va_list args)
{
	(void)data;
	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	(void)format;
	(void)args;
}

static bool same_modname(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (fold(*a) != fold(*b))
			return false;
	return !*a && !*b;
}

/* The module part of a modules.order/modules.builtin line: ".../name.ko" -> "name". */
static bool line_names(const char *line, size_t len, const char *name)
{
	const char *slash = memrchr(line, '/', len);
	const char *base = slash ? slash + 1 : line;
	size_t bl = len - (size_t)(base - line);
	if (bl > 3 && !memcmp(base + bl - 3, ".ko", 3))
		bl -= 3;
	else if (bl > 2 && !memcmp(base + bl - 2, ".o", 2))
		bl -= 2;
	char *b = kmb_xstrndup(base, bl);
	bool r = same_modname(b, name);
	free(b);
	return r;
}

static char *find_in_list(const char *file, const char *name)
{
	char *text = NULL;
	char *found = NULL;
	if (kmb_read_file(file, &text, NULL) < 0)
		return NULL;
	for (char *l = text; *l && !found;) {
		size_t len = strcspn(l, "\n");
		if (len && line_names(l, len, name))
			found = kmb_xstrndup(l, len);
		l += len + (l[len] == '\n');
	}
	free(text);
	return found;
}

static char *in_tree_kmod(struct kmb_kernel *k, const char *name, bool *have_index)
{
	static const char *const no_config[] = {NULL};
	char *dep = kmb_xasprintf("%s/modules.dep.bin", k->modules_dir);
	*have_index = kmb_exists(dep);
	free(dep);
	if (!*have_index)
		return NULL;

	struct kmod_ctx *kctx = kmod_new(k->modules_dir, no_config);
	struct kmod_list *list = NULL, *it;
	char *how = NULL;
	if (!kctx)
		return NULL;
	kmod_set_log_fn(kctx, kmod_quiet, NULL);
	if (kmod_module_new_from_lookup(kctx, name, &list) == 0) {
		kmod_list_foreach(it, list)
		{
			struct kmod_module *m = kmod_module_get_module(it);
			const char *path = kmod_module_get_path(m);
			size_t ml = strlen(k->modules_dir);
			if (!how && path && !strncmp(path, k->modules_dir, ml) && path[ml] == '/' &&
			    kmb_startswith(path + ml + 1, "kernel/") &&
			    same_modname(kmod_module_get_name(m), name))
				how = kmb_xstrdup(path + ml + 1);
			else if (!how && !path && same_modname(kmod_module_get_name(m), name) &&
				 kmod_module_get_initstate(m) == KMOD_MODULE_BUILTIN)
				how = kmb_xasprintf("%s is built into the kernel", name);
			kmod_module_unref(m);
		}
		kmod_module_unref_list(list);
	}
	kmod_unref(kctx);
	return how;
}

bool kmb_template_in_tree(const struct kmb_template *t, struct kmb_kernel *k, char **how)
{
	bool indexed = false;

	*how = NULL;
	/* The kernel's modules, when they are there: depmod's indexes through libkmod (the
	 * authority once depmod has run), else the lists the kernel's build wrote. */
	for (size_t i = 0; i < t->in_tree.n && !*how; i++)
		*how = in_tree_kmod(k, t->in_tree.v[i], &indexed);
	if (*how)
		return true;
	if (indexed)
		return false;
	static const char *const lists[] = {"modules.builtin", "modules.order"};
	bool listed = false;
	for (size_t l = 0; l < KMB_ARRAY_SIZE(lists); l++) {
		char *f = kmb_xasprintf("%s/%s", k->modules_dir, lists[l]);
		listed |= kmb_exists(f);
		for (size_t i = 0; i < t->in_tree.n && !*how; i++) {
			char *line = find_in_list(f, t->in_tree.v[i]);
			if (line && l == 0)
				*how = kmb_xasprintf("%s is built in (%s)", t->in_tree.v[i],
						     lists[l]);
			else if (line)
				*how = kmb_xasprintf("%s (%s)", line, lists[l]);
			free(line);
		}
		free(f);
		if (*how)
			return true;
	}
	if (listed)
		return false;
	/* No modules to look at: the kernel's configuration (its headers) says what the
	 * distribution built. */
	for (size_t i = 0; i < t->in_tree_config.n; i++) {
		const char *v = kmb_kernel_config(k, t->in_tree_config.v[i]);
		if (v && (!strcmp(v, "y") || !strcmp(v, "m"))) {
			*how = kmb_xasprintf("%s=%s in the kernel's configuration",
					     t->in_tree_config.v[i], v);
			return true;
		}
	}
	return false;
}

const char *kmb_tpl_fit_name(enum kmb_tpl_fit f)
{
	switch (f) {
	case KMB_TPL_BUILDS:
		return "builds";
	case KMB_TPL_INTREE:
		return "in-tree";
	case KMB_TPL_EXCLUDED:
		return "excluded";
	}
	return "?";
}

int kmb_template_fit(const struct kmb_ctx *ctx, const struct kmb_template *t,
		     struct kmb_tpl_kernel **out, size_t *n)
{
	struct kmb_kernel **ks = NULL;
	size_t nk = 0;
	int r = kmb_kernel_list(ctx, &ks, &nk);

	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	struct kmb_tpl_kernel *v = kmb_xcalloc(nk ? nk : 1, sizeof(*v));
	for (size_t i = 0; i < nk; i++) {
		struct kmb_kernel *k = ks[i];
		v[i].release = kmb_xstrdup(k->release);
		if (kmb_template_in_tree(t, k, &v[i].why)) {
			v[i].fit = KMB_TPL_INTREE;
			continue;
		}
		/* Excluded when every module of the definition is. */
		char *first = NULL;
		size_t excluded = 0;
		for (size_t m = 0; m < t->pkg->n_modules; m++) {
			char *why = NULL;
			if (kmb_pkg_module_excluded(t->pkg, m, k->release, k->arch,
						    kmb_kernel_config_lookup, k, &why)) {
				excluded++;
				if (!first)
					first = why;
				else
					free(why);
			}
		}
		if (excluded == t->pkg->n_modules) {
			v[i].fit = KMB_TPL_EXCLUDED;
			v[i].why = first;
		} else {
			v[i].fit = KMB_TPL_BUILDS;
			free(first);
		}
	}
	kmb_kernel_list_free(ks, nk);
	*out = v;
	*n = nk;
	return 0;
}

void kmb_tpl_kernels_free(struct kmb_tpl_kernel *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].release);
		free(v[i].why);
	}
	free(v);
}

/* ---- sources ------------------------------------------------------------------------------ */

char *kmb_template_source_url(const struct kmb_template *t, const struct kmb_tpl_source *s,
			      const char *mirror)
{
	if (!mirror || !*mirror)
		return kmb_xstrdup(s->url);
	size_t ml = strlen(mirror);
	while (ml && mirror[ml - 1] == '/')
		ml--;
	return kmb_xasprintf("%.*s/%s/%s", (int)ml, mirror, t->name, s->file);
}

char *kmb_template_set_version(const char *conf_text, const char *version)
{
	struct kmb_buf b = {0};
	bool in_pkg = false, done = false;

	for (const char *l = conf_text; *l;) {
		size_t len = strcspn(l, "\n");
		char *line = kmb_xstrndup(l, len);
		char *s = trim(line);
		if (*s == '[') {
			in_pkg = kmb_startswith(s, "[package]");
		} else if (in_pkg && !done && kmb_startswith(s, "version")) {
			const char *rest = s + 7;
			rest += strspn(rest, " \t");
			if (*rest == '=') {
				kmb_buf_printf(&b, "version = %s\n", version);
				done = true;
				free(line);
				l += len + (l[len] == '\n');
				continue;
			}
		}
		kmb_buf_add(&b, l, len);
		kmb_buf_addc(&b, '\n');
		free(line);
		l += len + (l[len] == '\n');
	}
	if (!done) {
		kmb_buf_free(&b);
		return NULL;
	}
	return kmb_buf_steal(&b);
}

static const char *conf2(const struct kmb_ctx *ctx, const char *a, const char *b)
{
	const char *v = kmb_config_get(ctx, a);
	return v && *v ? v : kmb_config_get(ctx, b);
}

/* Debian versions may hold ':' (epoch): not in a file name. */
static char *deb_cache_name(const struct kmb_tpl_source *s)
{
	struct kmb_buf b = {0};
	kmb_buf_printf(&b, "%s_", s->deb);
	for (const char *c = s->deb_version; *c; c++)
		if (*c == ':')
			kmb_buf_adds(&b, "%3a");
		else
			kmb_buf_addc(&b, *c);
	kmb_buf_adds(&b, ".deb");
	return kmb_buf_steal(&b);
}

/* A cached archive is used only while its sum is right; a bad one is dropped. */
static bool cached_ok(const char *path, const char *sha256)
{
	char hex[65];
	if (!kmb_exists(path))
		return false;
	if (kmb_sha256_file(path, hex) == 0 && !strcmp(hex, sha256))
		return true;
	kmb_warn("%s: cached archive has the wrong SHA256, fetching it again", path);
	unlink(path);
	return false;
}

struct attempt {
	const struct kmb_ctx *ctx;
	const struct kmb_template *t;
	struct kmb_tpl_prepared *p;
	struct kmb_fetch_opts fo;
	const char *mirror;
	char *archive; /* the verified archive to extract */
	bool is_deb;
};

static int fetch_tarball(struct attempt *A, const struct kmb_tpl_source *s, char *err,
			 size_t errlen)
{
	char *cached = kmb_xasprintf("%s/%s", A->p->cache, s->file);
	if (cached_ok(cached, s->sha256)) {
		A->archive = cached;
		A->p->origin = kmb_xasprintf("%s (cached, SHA256 verified)", cached);
		return 0;
	}
	char *url = kmb_template_source_url(A->t, s, A->mirror);
	char *dl = kmb_xasprintf("%s/dl/%s", A->p->work, s->file);
	char ferr[1024];
	kmb_info(A->ctx, "%s: fetching %s", A->t->name, url);
	A->fo.label = s->file;
	int r = kmb_fetch_verified(url, dl, s->sha256, s->size, &A->fo, ferr, sizeof(ferr));
	if (r < 0) {
		char *part = kmb_xasprintf("%s.part", dl);
		unlink(part);
		free(part);
		seterr(err, errlen, "[source %s] %s", s->label, ferr);
		free(url);
		free(dl);
		free(cached);
		return r;
	}
	A->archive = kmb_xstrdup(dl);
	A->p->download = dl;
	A->p->origin = kmb_xasprintf("%s (SHA256 %s verified)", url, s->sha256);
	free(A->p->cache);
	A->p->cache = cached;
	free(url);
	return 0;
}

static int fetch_deb(struct attempt *A, const struct kmb_tpl_source *s, char *err, size_t errlen)
{
	char *name = deb_cache_name(s);
	char *cached = kmb_xasprintf("%s/%s", A->p->cache, name);
	int r;

	if (cached_ok(cached, s->sha256)) {
		A->archive = cached;
		A->p->origin = kmb_xasprintf("%s (cached, SHA256 verified)", cached);
		free(name);
		return 0;
	}
	const char *mirror = conf2(A->ctx, "template_deb_mirror", "headers_mirror");
	const char *keyring = conf2(A->ctx, "template_deb_keyring", "headers_keyring");
	char *kr = keyring ? kmb_xstrdup(keyring)
			   : kmb_root_or_host_path(
				     A->ctx, "/usr/share/keyrings/debian-archive-keyring.gpg");
	struct kmb_deb_source src = {
		.mirror = mirror ? mirror : "http://deb.debian.org/debian",
		.suite = s->suite,
		.component = "main",
		.arch = kmb_deb_arch(),
		.keyring = kr,
	};
	struct kmb_deb_index idx = {0};
	struct kmb_deb_pkg pkg = {0};
	char ferr[1024];
	char *idxdir = kmb_xasprintf("%s/index-%s", A->p->work, s->label);
	char *dl = NULL;

	kmb_mkdir_p(idxdir, 0755);
	kmb_info(A->ctx, "%s: reading %s %s for %s %s", A->t->name, src.mirror, src.suite, s->deb,
		 s->deb_version);
	r = kmb_deb_index_load(&src, idxdir, &A->fo, &idx, ferr, sizeof(ferr));
	if (r < 0) {
		seterr(err, errlen, "[source %s] %s", s->label, ferr);
		goto out;
	}
	r = kmb_deb_index_find(&idx, s->deb, "=", s->deb_version, &pkg);
	if (r < 0) {
		seterr(err, errlen, "[source %s] %s %s is not in %s %s", s->label, s->deb,
		       s->deb_version, src.mirror, src.suite);
		goto out;
	}
	if (strcasecmp(pkg.sha256, s->sha256)) {
		seterr(err, errlen,
		       "[source %s] checksum mismatch: %s %s has SHA256 %s in %s %s, "
		       "the template pins %s",
		       s->label, s->deb, s->deb_version, pkg.sha256, src.mirror, src.suite,
		       s->sha256);
		r = -EBADMSG;
		goto out;
	}
	dl = kmb_xasprintf("%s/dl/%s", A->p->work, name);
	A->fo.label = name;
	r = kmb_fetch_verified(pkg.url, dl, s->sha256, pkg.size, &A->fo, ferr, sizeof(ferr));
	if (r < 0) {
		char *part = kmb_xasprintf("%s.part", dl);
		unlink(part);
		free(part);
		seterr(err, errlen, "[source %s] %s%s", s->label,
		       r == -EBADMSG ? "checksum mismatch: " : "", ferr);
		goto out;
	}
	A->archive = kmb_xstrdup(dl);
	A->p->download = dl;
	dl = NULL;
	A->p->origin = kmb_xasprintf("%s %s from %s %s (SHA256 %s verified)", s->deb,
				     s->deb_version, src.mirror, src.suite, s->sha256);
	free(A->p->cache);
	A->p->cache = cached;
	cached = NULL;
out:
	free(dl);
	free(idxdir);
	kmb_deb_pkg_free(&pkg);
	kmb_deb_index_free(&idx);
	free(kr);
	free(cached);
	free(name);
	return r;
}

static int copy_tree(const char *src, const char *dst)
{
	char *from = kmb_xasprintf("%s/.", src);
	const char *argv[] = {"cp", "-R", "--no-preserve=ownership", from, dst, NULL};
	struct kmb_run r = {.argv = argv, .out_fd = -1, .in_fd = -1};
	kmb_mkdir_p(dst, 0755);
	int rc = kmb_run(&r);
	free(from);
	return rc == 0 ? 0 : -EIO;
}

/* The one directory in dir, or NULL when dir holds anything else too. */
static char *single_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *one = NULL;
	int count = 0;

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		count++;
		free(one);
		one = kmb_xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (count == 1 && kmb_is_dir(one))
		return one;
	free(one);
	return NULL;
}

/* The archive's top directory: its single top-level directory (tarballs), usr/src/<one>
 * (a *-dkms package), or the extraction dir itself. */
static char *archive_top(const char *x, bool deb, char *err, size_t errlen)
{
	if (deb) {
		char *usrsrc = kmb_xasprintf("%s/usr/src", x);
		char *one = single_dir(usrsrc);
		free(usrsrc);
		if (!one)
			seterr(err, errlen,
			       "the package does not hold exactly one /usr/src/NAME-VERSION "
			       "tree");
		return one;
	}
	char *one = single_dir(x);
	return one ? one : kmb_xstrdup(x);
}

static int install_definition(const struct kmb_template *t, const char *tree, const char *version,
			      char *err, size_t errlen)
{
	char *text = NULL, *dst = kmb_xasprintf("%s/kmbuild.conf", tree);
	int r = kmb_read_file(t->definition, &text, NULL);
	if (r == 0 && version && strcmp(version, t->version)) {
		char *nt = kmb_template_set_version(text, version);
		free(text);
		text = nt;
		if (!text)
			r = -EINVAL;
	}
	if (r == 0)
		r = kmb_write_file_atomic(dst, text, strlen(text), 0644);
	if (r < 0)
		seterr(err, errlen, "cannot write %s: %s", dst, strerror(-r));
	free(text);
	free(dst);
	return r;
}

static bool is_remote(const char *s)
{
	return strstr(s, "://") != NULL;
}

/* --source URL|PATH: a tarball/.deb/directory the user names, instead of the template's. */
static int prepare_override(struct attempt *A, const struct kmb_tpl_prepare_opts *o, char *err,
			    size_t errlen)
{
	const char *src = o->source;
	char ferr[1024];

	if (is_remote(src)) {
		const char *b = strrchr(src, '/');
		char *file = kmb_xstrndup(b + 1, strcspn(b + 1, "?#"));
		if (!kmb_is_safe_name(file)) {
			free(file);
			file = kmb_xstrdup("source.tar");
		}
		char *dl = kmb_xasprintf("%s/dl/%s", A->p->work, file);
		A->fo.label = file;
		int r = o->sha256 ? kmb_fetch_verified(src, dl, o->sha256, -1, &A->fo, ferr,
						       sizeof(ferr))
				  : kmb_fetch_file(src, dl, &A->fo, ferr, sizeof(ferr));
		free(file);
		if (r < 0) {
			seterr(err, errlen, "--source %s%s",
			       r == -EBADMSG ? "checksum mismatch: " : "", ferr);
			free(dl);
			return KMB_EXIT_NOTFOUND;
		}
		A->archive = dl; /* a one-off: never committed to the cache */
	} else if (kmb_is_dir(src)) {
		A->archive = NULL;
	} else if (kmb_exists(src)) {
		A->archive = kmb_xstrdup(src);
		if (o->sha256) {
			char hex[65];
			if (kmb_sha256_file(src, hex) < 0 || strcasecmp(hex, o->sha256)) {
				seterr(err, errlen,
				       "--source %s: checksum mismatch (SHA256 %s, "
				       "expected %s)",
				       src, hex, o->sha256);
				return KMB_EXIT_BADCONF;
			}
		}
	} else {
		seterr(err, errlen, "--source %s: no such file, directory or URL", src);
		return KMB_EXIT_USAGE;
	}
	A->is_deb = A->archive && kmb_endswith(A->archive, ".deb");
	if (A->archive) {
		char hex[65];
		if (kmb_sha256_file(A->archive, hex) == 0)
			A->p->sha256 = kmb_xstrdup(hex);
	}
	A->p->origin = kmb_xasprintf("%s (--source%s)", src, o->sha256 ? ", SHA256 verified" : "");
	return 0;
}

int kmb_template_prepare(const struct kmb_ctx *ctx, const struct kmb_template *t,
			 const struct kmb_tpl_prepare_opts *o, struct kmb_tpl_prepared *p,
			 char *err, size_t errlen)
{
	struct attempt A = {.ctx = ctx, .t = t, .p = p};
	const struct kmb_tpl_source *used = NULL;
	char aerr[1024];
	char *x = NULL, *top = NULL;
	int rc = 0, r;

	memset(p, 0, sizeof(*p));
	err[0] = 0;
	A.mirror = o->mirror ? o->mirror : kmb_config_get(ctx, "template_mirror");
	kmb_fetch_opts_init(&A.fo, ctx);
	p->cache = kmb_template_cache_dir(ctx);
	p->work = kmb_xasprintf("%s/.work.%ld", p->cache, (long)getpid());
	kmb_rm_rf(p->work);
	x = kmb_xasprintf("%s/dl", p->work);
	r = kmb_mkdir_p(x, 0755);
	free(x);
	x = NULL;
	if (r < 0) {
		seterr(err, errlen, "cannot create %s: %s", p->work, strerror(-r));
		return KMB_EXIT_FAIL;
	}

	if (o->source) {
		rc = prepare_override(&A, o, err, errlen);
		if (rc)
			goto out;
	} else {
		if (o->version && strcmp(o->version, t->version)) {
			seterr(err, errlen,
			       "%s@%s: the template provides version %s only (give "
			       "--source URL|PATH for another version)",
			       t->name, o->version, t->version);
			rc = KMB_EXIT_NOTFOUND;
			goto out;
		}
		for (size_t i = 0; i < t->n_src && !used; i++) {
			const struct kmb_tpl_source *s = &t->src[i];
			if (i > 0 && err[0]) {
				kmb_warn("%s: %s; trying [source %s]", t->name, err, s->label);
				err[0] = 0;
			}
			free(A.archive);
			A.archive = NULL;
			A.is_deb = s->kind == KMB_TPL_DEB;
			r = 0;
			if (s->kind == KMB_TPL_TARBALL)
				r = fetch_tarball(&A, s, err, errlen);
			else if (s->kind == KMB_TPL_DEB)
				r = fetch_deb(&A, s, err, errlen);
			else
				p->origin = kmb_xasprintf("%s/%s (shipped with the template)",
							  t->dir, s->path);
			if (r == 0)
				used = s;
		}
		if (!used) {
			char *e = kmb_xstrdup(err);
			seterr(err, errlen, "%s: no source could be fetched: %s", t->name, e);
			free(e);
			rc = KMB_EXIT_NOTFOUND;
			goto out;
		}
		if (used->sha256)
			p->sha256 = kmb_xstrdup(used->sha256);
	}

	/* Extract (or copy) into work/x; libarchive refuses anything leaving it. */
	x = kmb_xasprintf("%s/x", p->work);
	if (A.archive && A.is_deb) {
		r = kmb_archive_extract_deb_data(A.archive, x, aerr, sizeof(aerr));
	} else if (A.archive) {
		r = kmb_archive_extract(A.archive, x, aerr, sizeof(aerr));
	} else {
		char *from = o->source ? kmb_xstrdup(o->source)
				       : kmb_xasprintf("%s/%s", t->dir, used->path);
		r = copy_tree(from, x);
		snprintf(aerr, sizeof(aerr), "cannot copy %s", from);
		free(from);
	}
	if (r < 0) {
		/* Name the archive by its file name, not by the scratch path it sits at. */
		const char *msg = aerr;
		size_t al = A.archive ? strlen(A.archive) : 0;
		const char *slash = A.archive ? strrchr(A.archive, '/') : NULL;
		if (slash && !strncmp(aerr, A.archive, al) && aerr[al] == ':')
			msg = aerr + (slash + 1 - A.archive);
		seterr(err, errlen, "%s: %s", t->name, msg);
		rc = KMB_EXIT_BADCONF;
		goto out;
	}
	top = A.archive ? archive_top(x, A.is_deb, aerr, sizeof(aerr)) : kmb_xstrdup(x);
	if (!top) {
		seterr(err, errlen, "%s: %s", t->name, aerr);
		rc = KMB_EXIT_BADCONF;
		goto out;
	}
	const char *subdir = used && used->kind != KMB_TPL_LOCAL ? used->subdir : NULL;
	p->tree = subdir ? kmb_xasprintf("%s/%s", top, subdir) : kmb_xstrdup(top);
	if (!kmb_is_dir(p->tree)) {
		seterr(err, errlen, "%s: [source %s] subdir '%s' is not in the archive", t->name,
		       used->label, subdir);
		rc = KMB_EXIT_BADCONF;
		goto out;
	}
	if (install_definition(t, p->tree, o->version, err, errlen) < 0)
		rc = KMB_EXIT_FAIL;
out:
	free(A.archive);
	free(x);
	free(top);
	return rc;
}

int kmb_template_commit(struct kmb_tpl_prepared *p)
{
	if (!p->download)
		return 0;
	/* The archive was verified when downloaded; the cache is beside the work dir. */
	if (rename(p->download, p->cache) < 0)
		return -errno;
	free(p->download);
	p->download = NULL;
	char *dir = kmb_xstrdup(p->cache);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	kmb_fsync_dir(dir);
	free(dir);
	return 0;
}

void kmb_tpl_prepared_free(struct kmb_tpl_prepared *p)
{
	if (p->work)
		kmb_rm_rf(p->work);
	free(p->work);
	free(p->tree);
	free(p->download);
	free(p->cache);
	free(p->origin);
	free(p->sha256);
	memset(p, 0, sizeof(*p));
}
