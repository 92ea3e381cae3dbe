// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild.conf: the native, declarative module definition (docs/conf-formats.md). INI-like,
 * no shell anywhere: every key is known, every value is literal (only make= expands a fixed
 * set of ${...} names), and anything unknown is an error naming file, line and key.
 *
 * Sections are table-driven so that new ones (e.g. [source ...] for fetched sources) are one
 * more row in sections[] with their own key table.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "conf/conf_priv.h"

#define DEFAULT_DEST "/updates/dkms"

struct native;
typedef void (*key_fn)(struct native *N, const char *key, const char *val, int line);

struct key_def {
	const char *key;
	key_fn set;
};

struct section_def {
	const char *name;
	bool takes_arg; /* [module NAME], [patch FILE] */
	bool unique;	/* at most once per file */
	/* Called for the header line; returns false (error recorded) to reject the section. */
	bool (*open)(struct native *N, const char *arg, int line);
	const struct key_def *keys;
};

struct native {
	const char *path;
	const struct kmb_conf_vars *vars;
	struct kmb_pkg *pkg;
	struct kmb_strv errors;
	const struct section_def *sec; /* NULL before the first header */
	char *sec_label;	       /* "[module foo]", for messages */
	struct kmb_strv keys_seen;     /* keys of the current section */
	struct kmb_strv unique_seen;   /* unique sections already opened */
	char *make;
	int make_line;
	int name_line, version_line;
};

__attribute__((format(printf, 4, 5))) static void nerr(struct native *N, int line, const char *key,
						       const char *fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (line)
		kmb_conf_errf(&N->errors, "%s:%d: %s: %s", N->path, line, key, what);
	else
		kmb_conf_errf(&N->errors, "%s: %s: %s", N->path, key, what);
	free(what);
}

static bool parse_bool(struct native *N, const char *key, const char *val, int line, bool *out)
{
	if (!strcasecmp(val, "yes") || !strcasecmp(val, "true") || !strcmp(val, "1")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(val, "no") || !strcasecmp(val, "false") || !strcmp(val, "0")) {
		*out = false;
		return true;
	}
	nerr(N, line, key, "'%s' is not yes or no", val);
	return false;
}

static struct kmb_module_def *cur_module(struct native *N)
{
	return &N->pkg->modules[N->pkg->n_modules - 1];
}

static void set_string(char **slot, const char *val)
{
	free(*slot);
	*slot = kmb_xstrdup(val);
}

/* ---- [package] --------------------------------------------------------------------------- */

static void set_name(struct native *N, const char *key, const char *val, int line)
{
	if (!kmb_is_safe_name(val) || strpbrk(val, " \t")) {
		nerr(N, line, key, "'%s' cannot be a directory name", val);
		return;
	}
	if (!strcmp(key, "name")) {
		set_string(&N->pkg->name, val);
		N->name_line = line;
	} else {
		set_string(&N->pkg->version, val);
		N->version_line = line;
	}
}

static void set_pkg_bool(struct native *N, const char *key, const char *val, int line)
{
	bool b;

	if (!parse_bool(N, key, val, line, &b))
		return;
	if (!strcmp(key, "autoinstall"))
		N->pkg->autoinstall = b;
	else if (!strcmp(key, "build-depends-rebuild"))
		N->pkg->build_depends_rebuild = b;
	else if (!strcmp(key, "no-weak-modules"))
		N->pkg->no_weak_modules = b;
	else if (!strcmp(key, "initramfs"))
		N->pkg->remake_initrd = b;
}

static void set_depends(struct native *N, const char *key, const char *val, int line)
{
	char *copy = kmb_xstrdup(val), *save = NULL;

	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (!kmb_is_safe_name(t))
			nerr(N, line, key, "'%s' is not a package name", t);
		else if (!kmb_strv_contains(&N->pkg->build_depends, t))
			kmb_strv_push(&N->pkg->build_depends, t);
	}
	free(copy);
}

static void set_make(struct native *N, const char *key, const char *val, int line)
{
	(void)key;
	set_string(&N->make, val);
	N->make_line = line;
}

static void set_hook(struct native *N, const char *key, const char *val, int line)
{
	static const struct {
		const char *key;
		size_t off;
	} hooks[] = {
		{"pre-build", offsetof(struct kmb_pkg, pre_build)},
		{"post-build", offsetof(struct kmb_pkg, post_build)},
		{"post-add", offsetof(struct kmb_pkg, post_add)},
		{"pre-install", offsetof(struct kmb_pkg, pre_install)},
		{"post-install", offsetof(struct kmb_pkg, post_install)},
		{"post-remove", offsetof(struct kmb_pkg, post_remove)},
	};

	if (val[0] == '/' || kmb_conf_has_dotdot(val)) {
		nerr(N, line, key, "'%s' must be a path relative to the source directory", val);
		return;
	}
	for (size_t i = 0; i < KMB_ARRAY_SIZE(hooks); i++)
		if (!strcmp(hooks[i].key, key))
			set_string((char **)((char *)N->pkg + hooks[i].off), val);
}

/* exclusive-* in [package] or [module NAME]. */
static void set_excl(struct native *N, const char *key, const char *val, int line)
{
	struct kmb_exclusive *x =
		strcmp(N->sec->name, "module") == 0 ? &cur_module(N)->excl : &N->pkg->excl;
	const char *f = key + strlen("exclusive-");

	if (!strcmp(f, "kernel") || !strcmp(f, "arch")) {
		if (!kmb_conf_regex_ok(val)) {
			nerr(N, line, key, "'%s' is not a valid extended regular expression", val);
			return;
		}
		set_string(!strcmp(f, "kernel") ? &x->kernel : &x->arch, val);
	} else if (!strcmp(f, "kernel-min") || !strcmp(f, "kernel-max")) {
		if (strpbrk(val, " \t")) {
			nerr(N, line, key, "'%s' is not a kernel version", val);
			return;
		}
		set_string(!strcmp(f, "kernel-min") ? &x->kernel_min : &x->kernel_max, val);
	} else {
		char *copy = kmb_xstrdup(val), *save = NULL;
		for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			const char *n = t[0] == '!' ? t + 1 : t;
			bool ok = *n != '\0';
			for (const char *c = n; *c; c++)
				ok = ok && (*c == '_' || (*c >= 'A' && *c <= 'Z') ||
					    (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'));
			if (!ok) {
				nerr(N, line, key, "'%s' is not CONFIG_NAME or !CONFIG_NAME", t);
				free(copy);
				return;
			}
		}
		free(copy);
		set_string(&x->config, val);
	}
}

/* ---- [module NAME] ----------------------------------------------------------------------- */

static void set_location(struct native *N, const char *key, const char *val, int line)
{
	struct kmb_module_def *m = cur_module(N);

	if (!kmb_conf_rel_path_ok(val)) {
		nerr(N, line, key, "'%s' must be a relative path without '..'", val);
		return;
	}
	free(m->built_location);
	m->built_location = kmb_endswith(val, "/") ? kmb_xstrdup(val) : kmb_xasprintf("%s/", val);
}

static void set_dest_name(struct native *N, const char *key, const char *val, int line)
{
	if (kmb_conf_has_obj_suffix(val) || !kmb_is_safe_name(val)) {
		nerr(N, line, key, "'%s' must be a module name without .ko/.o or '/'", val);
		return;
	}
	set_string(&cur_module(N)->dest_name, val);
}

static void set_dest(struct native *N, const char *key, const char *val, int line)
{
	if (!kmb_conf_dest_prefix_ok(val) || kmb_conf_has_dotdot(val)) {
		nerr(N, line, key, "'%s' must start with /kernel, /updates or /extra (no '..')",
		     val);
		return;
	}
	set_string(&cur_module(N)->dest_location, val);
}

static void set_strip(struct native *N, const char *key, const char *val, int line)
{
	parse_bool(N, key, val, line, &cur_module(N)->strip);
}

/* ---- [patch FILE] ------------------------------------------------------------------------ */

static void set_match(struct native *N, const char *key, const char *val, int line)
{
	if (!kmb_conf_regex_ok(val)) {
		nerr(N, line, key, "'%s' is not a valid extended regular expression", val);
		return;
	}
	set_string(&N->pkg->patches[N->pkg->n_patches - 1].match, val);
}

/* ---- tables ------------------------------------------------------------------------------ */

#define EXCLUSIVE_KEYS                                                                             \
	{"exclusive-kernel", set_excl}, {"exclusive-kernel-min", set_excl},                        \
		{"exclusive-kernel-max", set_excl}, {"exclusive-arch", set_excl},                  \
	{                                                                                          \
		"exclusive-config", set_excl                                                       \
	}

static const struct key_def package_keys[] = {
	{"name", set_name},
	{"version", set_name},
	{"autoinstall", set_pkg_bool},
	{"build-depends", set_depends},
	{"build-depends-rebuild", set_pkg_bool},
	{"no-weak-modules", set_pkg_bool},
	{"initramfs", set_pkg_bool},
	{"make", set_make},
	{"pre-build", set_hook},
	{"post-build", set_hook},
	{"post-add", set_hook},
	{"pre-install", set_hook},
	{"post-install", set_hook},
	{"post-remove", set_hook},
	EXCLUSIVE_KEYS,
	{NULL, NULL},
};

static const struct key_def module_keys[] = {
	{"location", set_location},
	{"dest-name", set_dest_name},
	{"dest", set_dest},
	{"strip", set_strip},
	EXCLUSIVE_KEYS,
	{NULL, NULL},
};

static const struct key_def patch_keys[] = {
	{"match", set_match},
	{NULL, NULL},
};

static bool open_package(struct native *N, const char *arg, int line)
{
	(void)N;
	(void)arg;
	(void)line;
	return true;
}

static bool open_module(struct native *N, const char *arg, int line)
{
	struct kmb_pkg *pkg = N->pkg;
	struct kmb_module_def *m;

	if (kmb_conf_has_obj_suffix(arg) || !kmb_is_safe_name(arg)) {
		nerr(N, line, N->sec_label, "'%s' must be a module name without .ko/.o or '/'",
		     arg);
		return false;
	}
	pkg->modules = kmb_xrealloc(pkg->modules, (pkg->n_modules + 1) * sizeof(*pkg->modules));
	m = &pkg->modules[pkg->n_modules++];
	memset(m, 0, sizeof(*m));
	m->built_name = kmb_xstrdup(arg);
	m->built_location = kmb_xstrdup("");
	m->strip = true;
	return true;
}

static bool open_patch(struct native *N, const char *arg, int line)
{
	struct kmb_pkg *pkg = N->pkg;

	if (!kmb_conf_rel_path_ok(arg)) {
		nerr(N, line, N->sec_label,
		     "'%s' must be a file name under patches/ (relative, without '..')", arg);
		return false;
	}
	for (size_t i = 0; i < pkg->n_patches; i++)
		if (!strcmp(pkg->patches[i].file, arg)) {
			nerr(N, line, N->sec_label, "patch listed twice");
			return false;
		}
	pkg->patches = kmb_xrealloc(pkg->patches, (pkg->n_patches + 1) * sizeof(*pkg->patches));
	pkg->patches[pkg->n_patches++] = (struct kmb_patch){.file = kmb_xstrdup(arg)};
	return true;
}

static const struct section_def sections[] = {
	{"package", false, true, open_package, package_keys},
	{"module", true, false, open_module, module_keys},
	{"patch", true, false, open_patch, patch_keys},
};

/* ---- parsing ----------------------------------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static void header(struct native *N, char *line, int lineno)
{
	char *end = strrchr(line, ']'), *name, *arg;
	size_t nl;

	free(N->sec_label);
	N->sec_label = kmb_xstrdup(line);
	N->sec = NULL;
	kmb_strv_free(&N->keys_seen);
	if (!end || end[1] != '\0') {
		nerr(N, lineno, line,
		     "a section header is '[name]' or '[name ARG]' on its own line");
		return;
	}
	*end = '\0';
	name = trim(line + 1);
	nl = strcspn(name, " \t");
	arg = name[nl] ? trim(name + nl) : name + nl;
	name[nl] = '\0';
	for (size_t i = 0; i < KMB_ARRAY_SIZE(sections); i++) {
		const struct section_def *s = &sections[i];
		if (strcmp(s->name, name) != 0)
			continue;
		if (s->takes_arg && !*arg) {
			nerr(N, lineno, N->sec_label, "needs an argument: [%s %s]", name,
			     !strcmp(name, "module") ? "NAME" : "FILE");
			return;
		}
		if (!s->takes_arg && *arg) {
			nerr(N, lineno, N->sec_label, "takes no argument: [%s]", name);
			return;
		}
		if (s->unique && kmb_strv_contains(&N->unique_seen, name)) {
			nerr(N, lineno, N->sec_label, "section appears twice");
			return;
		}
		if (!s->open(N, arg, lineno))
			return;
		if (s->unique)
			kmb_strv_push(&N->unique_seen, name);
		N->sec = s;
		return;
	}
	nerr(N, lineno, N->sec_label,
	     "unknown section (expected [package], [module NAME] or [patch FILE])");
}

static void key_value(struct native *N, char *line, int lineno)
{
	char *eq = strchr(line, '='), *key, *val;

	if (!eq) {
		nerr(N, lineno, trim(line), "expected 'key = value' or a [section] header");
		return;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (!*key) {
		nerr(N, lineno, "=", "missing key before '='");
		return;
	}
	if (!N->sec) {
		/* Keys after a rejected header were already reported with the header. */
		if (!N->sec_label)
			nerr(N, lineno, key, "outside any section (start with [package])");
		return;
	}
	for (const struct key_def *k = N->sec->keys; k->key; k++) {
		if (strcmp(k->key, key) != 0)
			continue;
		if (kmb_strv_contains(&N->keys_seen, key)) {
			nerr(N, lineno, key, "given twice in %s", N->sec_label);
			return;
		}
		kmb_strv_push(&N->keys_seen, key);
		if (*val) /* an empty value leaves the key unset */
			k->set(N, key, val, lineno);
		return;
	}
	nerr(N, lineno, key, "unknown key in %s", N->sec_label);
}

static int parse_text(struct native *N, char *text)
{
	int lineno = 0;
	char *save = NULL;

	for (char *raw = text; raw; raw = save) {
		struct kmb_buf joined = {0};
		int start;
		char *line;

		save = strchr(raw, '\n');
		if (save)
			*save++ = '\0';
		start = ++lineno;
		line = trim(raw);
		/* A trailing backslash continues the value on the next line. */
		while (kmb_endswith(line, "\\") && save) {
			char *next = save;
			line[strlen(line) - 1] = '\0';
			kmb_buf_adds(&joined, trim(line));
			kmb_buf_addc(&joined, ' ');
			save = strchr(next, '\n');
			if (save)
				*save++ = '\0';
			lineno++;
			line = trim(next);
		}
		if (joined.len) {
			kmb_buf_adds(&joined, line);
			line = joined.s;
		}
		if (*line && *line != '#' && *line != ';') {
			if (*line == '[')
				header(N, line, start);
			else
				key_value(N, line, start);
		}
		kmb_buf_free(&joined);
	}
	return 0;
}

/* make= may use ${kernelver} ${kernel_source_dir} ${build_dir} ${arch} ${name} ${version}. */
static char *expand_make(struct native *N)
{
	const struct kmb_conf_vars *v = N->vars;
	const char *names[] = {"kernelver", "kernel_source_dir", "build_dir", "arch", "name",
			       "version"};
	/* No build dir given: DKMS's <dkms_tree>/<name>/<version>/build, as MAKE= would say. */
	char *dflt = !v->build_dir && v->dkms_tree ? kmb_xasprintf("%s/%s/%s/build", v->dkms_tree,
								   N->pkg->name, N->pkg->version)
						   : NULL;
	const char *bdir = v->build_dir ? v->build_dir : dflt;
	const char *vals[] = {v->kernelver, v->kernel_source_dir, bdir,
			      v->arch,	    N->pkg->name,	  N->pkg->version};
	struct kmb_buf b = {0};

	for (const char *p = N->make; *p; p++) {
		const char *close;
		size_t i;

		if (*p != '$') {
			kmb_buf_addc(&b, *p);
			continue;
		}
		if (p[1] == '$') {
			kmb_buf_addc(&b, '$');
			p++;
			continue;
		}
		close = p[1] == '{' ? strchr(p, '}') : NULL;
		for (i = 0; close && i < KMB_ARRAY_SIZE(names); i++)
			if ((size_t)(close - p - 2) == strlen(names[i]) &&
			    !strncmp(p + 2, names[i], strlen(names[i])))
				break;
		if (!close || i == KMB_ARRAY_SIZE(names)) {
			nerr(N, N->make_line, "make",
			     "'%.20s' is not one of ${kernelver} ${kernel_source_dir} ${build_dir} "
			     "${arch} ${name} ${version} (write $$ for a literal $)",
			     p);
			kmb_buf_free(&b);
			free(dflt);
			return NULL;
		}
		kmb_buf_adds(&b, vals[i] ? vals[i] : "");
		p = close;
	}
	free(dflt);
	return kmb_buf_steal(&b);
}

static void finish(struct native *N)
{
	struct kmb_pkg *pkg = N->pkg;

	if (!pkg->name)
		nerr(N, 0, "name", "missing in [package]");
	if (!pkg->version)
		nerr(N, 0, "version", "missing in [package]");
	/* No [module] section: one module named after the package, as DKMS defaults it. */
	if (!pkg->n_modules && pkg->name) {
		if (kmb_conf_has_obj_suffix(pkg->name))
			nerr(N, N->name_line, "name", "cannot default a module name from '%s'",
			     pkg->name);
		else
			open_module(N, pkg->name, N->name_line);
	}
	for (size_t i = 0; i < pkg->n_modules; i++) {
		struct kmb_module_def *m = &pkg->modules[i];
		if (!m->dest_name)
			m->dest_name = kmb_xstrdup(m->built_name);
		if (!m->dest_location)
			m->dest_location = kmb_xstrdup(DEFAULT_DEST);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(m->built_name, pkg->modules[j].built_name) &&
			    !strcmp(m->built_location, pkg->modules[j].built_location))
				nerr(N, 0, "module", "[module %s] appears twice", m->built_name);
			else if (!strcmp(m->dest_name, pkg->modules[j].dest_name))
				nerr(N, 0, "dest-name",
				     "modules '%s' and '%s' would both install as %s.ko",
				     pkg->modules[j].built_name, m->built_name, m->dest_name);
		}
	}
	if (N->make && !N->errors.n) {
		char *cmd = expand_make(N);
		if (cmd) {
			pkg->make = kmb_xcalloc(1, sizeof(*pkg->make));
			pkg->make[0].cmd = cmd;
			pkg->n_make = 1;
		}
	}
}

int kmb_conf_load_native(const char *path, const struct kmb_conf_vars *vars, struct kmb_pkg **out,
			 struct kmb_conf_error *err)
{
	static const struct kmb_conf_vars none = {0};
	struct native N = {.path = path, .vars = vars ? vars : &none};
	char *text;
	bool changed;
	int r;

	*out = NULL;
	r = kmb_conf_read_text(path, &text, &changed, err);
	if (r < 0) {
		if (r == -ENOENT)
			kmb_conf_seterr(err, "%s: no such file", path);
		return r;
	}
	N.pkg = kmb_xcalloc(1, sizeof(*N.pkg));
	N.pkg->format = KMB_CONF_NATIVE;
	N.pkg->conf_path = kmb_xstrdup(path);
	parse_text(&N, text);
	finish(&N);
	free(text);
	r = kmb_conf_err_finish(&N.errors, err);
	if (r < 0) {
		kmb_pkg_free(N.pkg);
	} else {
		*out = N.pkg;
	}
	kmb_strv_free(&N.errors);
	kmb_strv_free(&N.keys_seen);
	kmb_strv_free(&N.unique_seen);
	free(N.sec_label);
	free(N.make);
	return r;
}
