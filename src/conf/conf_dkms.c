// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dkms.conf with DKMS 3.4 semantics (read_conf, dkms.in:600-923).
 *
 * DKMS sources each file (dkms.conf, then the /etc/dkms overrides) in a subshell, echoes the
 * whitelisted variables back and sources that echo: only those variables survive from one file
 * to the next, and every value is re-read through an unquoted echo. We do the same on a
 * variable table: a file that is plain data is parsed by shlex.c; a file that is a real shell
 * program is run by bash in a sandboxed child (conf_shell.c) that prints `declare -p` of the
 * whitelisted names, which goes through the same lexer.
 *
 * One deliberate difference (docs/conf-formats.md): an unindexed BUILD_EXCLUSIVE_X= applies to
 * the whole package while X[0]= applies to module 0 only. In bash both are X[0], which makes
 * DKMS treat a module-0 restriction as package-wide.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/conf_priv.h"
#include "conf/shlex.h"

#define SH_NAME_BUF 160

/* dkms_conf_variables (dkms.in:87-100), upper-case part: what survives a file. */
static const char *const directives[] = {
	"PACKAGE_NAME",
	"PACKAGE_VERSION",
	"POST_ADD",
	"POST_BUILD",
	"POST_INSTALL",
	"POST_REMOVE",
	"PRE_BUILD",
	"PRE_INSTALL",
	"BUILD_DEPENDS",
	"BUILD_EXCLUSIVE_ARCH",
	"BUILD_EXCLUSIVE_CONFIG",
	"BUILD_EXCLUSIVE_KERNEL",
	"BUILD_EXCLUSIVE_KERNEL_MIN",
	"BUILD_EXCLUSIVE_KERNEL_MAX",
	"MAKE",
	"MAKE_MATCH",
	"PATCH",
	"PATCH_MATCH",
	"BUILT_MODULE_NAME",
	"BUILT_MODULE_LOCATION",
	"DEST_MODULE_NAME",
	"DEST_MODULE_LOCATION",
	"STRIP",
	"AUTOINSTALL",
	"NO_WEAK_MODULES",
	"BUILD_DEPENDS_REBUILD",
	"OBSOLETE_BY",
	"CLEAN",
	"REMAKE_INITRD",
	"MODULES_CONF",
	"MODULES_CONF_OBSOLETES",
	"MODULES_CONF_ALIAS_TYPE",
	"MODULES_CONF_OBSOLETE_ONLY",
};

/* Lower-case DKMS internals that DKMS unsets before sourcing: known, and empty. */
static const char *const internals[] = {
	"build_exclude",
	"patch_array",
	"built_module_name",
	"built_module_location",
	"dest_module_name",
	"dest_module_location",
	"strip",
};

/* Variables DKMS has set while it sources a dkms.conf (read_conf's locals and globals). */
enum ctxvar {
	CV_KERNELVER,
	CV_ARCH,
	CV_KSRC,
	CV_DKMS_TREE,
	CV_SOURCE_TREE,
	CV_INSTALL_TREE,
	CV_MODULE,
	CV_MODULE_VERSION,
	CV_N
};
static const char *const ctx_names[CV_N] = {
	"kernelver",	"arch",	  "kernel_source_dir", "dkms_tree", "source_tree",
	"install_tree", "module", "module_version",
};

static bool in_list(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static bool is_directive(const char *name)
{
	return in_list(directives, KMB_ARRAY_SIZE(directives), name);
}

/* The variables where unindexed and [0] are kept apart (package vs module 0). */
static bool is_split(const char *name)
{
	return kmb_startswith(name, "BUILD_EXCLUSIVE_");
}

/* ---- variable table ---------------------------------------------------------------------- */

struct dval {
	long idx;
	char *val;
	const char *file; /* interned in struct loader.files */
	int line;	  /* 0: not known (bash-evaluated file) */
};

struct dvar {
	char *name;
	bool split;
	bool has_scalar; /* split variables only: the unindexed value */
	struct dval scalar;
	size_t n, cap;
	struct dval *el; /* sorted by idx */
};

struct dtable {
	size_t n, cap;
	struct dvar *v;
};

static void dvar_clear(struct dvar *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->el[i].val);
	v->n = 0;
}

static void dvar_free(struct dvar *v)
{
	dvar_clear(v);
	free(v->el);
	free(v->scalar.val);
	free(v->name);
}

static void dtable_free(struct dtable *t)
{
	for (size_t i = 0; i < t->n; i++)
		dvar_free(&t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

static struct dvar *dtable_find(const struct dtable *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static struct dvar *dtable_get(struct dtable *t, const char *name)
{
	struct dvar *v = dtable_find(t, name);

	if (v)
		return v;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = kmb_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	v = &t->v[t->n++];
	memset(v, 0, sizeof(*v));
	v->name = kmb_xstrdup(name);
	v->split = is_split(name);
	return v;
}

static void dtable_remove(struct dtable *t, struct dvar *v)
{
	size_t i = (size_t)(v - t->v);

	dvar_free(v);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
}

static struct dval *dvar_el(const struct dvar *v, long idx)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (v->el[i].idx == idx)
			return &v->el[i];
	return NULL;
}

static long dvar_max(const struct dvar *v)
{
	return v && v->n ? v->el[v->n - 1].idx : -1;
}

/* Set (or append to) element idx. Takes ownership of val. */
static void dvar_set(struct dvar *v, long idx, char *val, bool append, const char *file, int line)
{
	struct dval *e = dvar_el(v, idx);
	size_t pos = 0;

	if (e) {
		if (append) {
			char *j = kmb_xasprintf("%s%s", e->val, val);
			free(val);
			val = j;
		}
		free(e->val);
		e->val = val;
		e->file = file;
		e->line = line;
		return;
	}
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 4;
		v->el = kmb_xrealloc(v->el, v->cap * sizeof(*v->el));
	}
	while (pos < v->n && v->el[pos].idx < idx)
		pos++;
	memmove(&v->el[pos + 1], &v->el[pos], (v->n - pos) * sizeof(*v->el));
	v->el[pos] = (struct dval){.idx = idx, .val = val, .file = file, .line = line};
	v->n++;
}

static void dvar_set_scalar(struct dvar *v, char *val, bool append, const char *file, int line)
{
	if (v->has_scalar && append) {
		char *j = kmb_xasprintf("%s%s", v->scalar.val, val);
		free(val);
		val = j;
	}
	free(v->scalar.val);
	v->scalar = (struct dval){.val = val, .file = file, .line = line};
	v->has_scalar = true;
}

static void dvar_copy(struct dvar *dst, const struct dvar *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->name = kmb_xstrdup(src->name);
	dst->split = src->split;
	dst->has_scalar = src->has_scalar;
	dst->scalar = src->scalar;
	dst->scalar.val = src->has_scalar ? kmb_xstrdup(src->scalar.val) : NULL;
	dst->n = dst->cap = src->n;
	dst->el = src->n ? kmb_xcalloc(src->n, sizeof(*dst->el)) : NULL;
	for (size_t i = 0; i < src->n; i++) {
		dst->el[i] = src->el[i];
		dst->el[i].val = kmb_xstrdup(src->el[i].val);
	}
}

static void dtable_copy(struct dtable *dst, const struct dtable *src)
{
	dst->n = dst->cap = src->n;
	dst->v = src->n ? kmb_xcalloc(src->n, sizeof(*dst->v)) : NULL;
	for (size_t i = 0; i < src->n; i++)
		dvar_copy(&dst->v[i], &src->v[i]);
}

/* ---- loader ------------------------------------------------------------------------------ */

struct loader {
	const char *ctx[CV_N]; /* never NULL */
	struct dtable t;       /* directives after the files read so far */
	struct dtable *work;   /* the table a plain parse writes to */
	const char *file;      /* file being read (interned) */
	struct kmb_strv files;
	struct kmb_strv warnings;
	struct kmb_strv errors;
	bool used_shell;
	char *shell_reason;
	unsigned timeout_ms;
	bool no_shell; /* vars->no_shell */
};

static const char *intern_file(struct loader *L, const char *path)
{
	for (size_t i = 0; i < L->files.n; i++)
		if (strcmp(L->files.v[i], path) == 0)
			return L->files.v[i];
	kmb_strv_push(&L->files, path);
	return L->files.v[L->files.n - 1];
}

static const char *ctx_value(const struct loader *L, const char *name)
{
	for (int i = 0; i < CV_N; i++)
		if (strcmp(ctx_names[i], name) == 0)
			return L->ctx[i];
	return NULL;
}

/* $name while a file is parsed: its own assignments, DKMS's context, or unset directives. */
static bool work_lookup(void *ud, const char *name, long index, const char **value)
{
	struct loader *L = ud;
	const struct dvar *v = dtable_find(L->work, name);
	const struct dval *e;

	if (v) {
		if (index < 0 && v->split && v->has_scalar) {
			*value = v->scalar.val;
			return true;
		}
		e = dvar_el(v, index < 0 ? 0 : index);
		*value = e ? e->val : "";
		return true;
	}
	if (index <= 0 && (*value = ctx_value(L, name)))
		return true;
	if (is_directive(name) || in_list(internals, KMB_ARRAY_SIZE(internals), name) ||
	    ctx_value(L, name)) {
		*value = "";
		return true;
	}
	return false;
}

static int work_assign(void *ud, const struct kmb_sh_assign *a, struct kmb_sh_diag *d)
{
	struct loader *L = ud;
	struct dvar *v;
	long next;

	if (kmb_startswith(a->name, "DKMS_DIRECTIVE")) {
		d->line = a->line;
		snprintf(d->msg, sizeof(d->msg),
			 "%s: DKMS_DIRECTIVE* variables (a hidden DKMS feature) are not supported",
			 a->name);
		return -EINVAL;
	}
	v = dtable_get(L->work, a->name);
	switch (a->kind) {
	case KMB_SH_SCALAR:
		if (v->split)
			dvar_set_scalar(v, kmb_xstrdup(a->value), a->append, L->file, a->line);
		else
			dvar_set(v, 0, kmb_xstrdup(a->value), a->append, L->file, a->line);
		break;
	case KMB_SH_ELEMENT:
		dvar_set(v, a->index, kmb_xstrdup(a->value), a->append, L->file, a->line);
		break;
	case KMB_SH_LIST:
		next = a->append ? dvar_max(v) + 1 : 0;
		if (!a->append)
			dvar_clear(v);
		for (size_t i = 0; i < a->n; i++) {
			long idx = a->elems[i].index >= 0 ? a->elems[i].index : next;
			dvar_set(v, idx, kmb_xstrdup(a->elems[i].value), false, L->file, a->line);
			next = idx + 1;
		}
		break;
	}
	return 0;
}

/* Keep only what DKMS's echo hands back. */
static void keep_directives(struct dtable *t)
{
	for (size_t i = 0; i < t->n;) {
		if (!is_directive(t->v[i].name) || (!t->v[i].n && !t->v[i].has_scalar))
			dtable_remove(t, &t->v[i]);
		else
			i++;
	}
}

/* Second read of a value happens in DKMS's own context: only its variables expand. */
static bool reread_lookup(void *ud, const char *name, long index, const char **value)
{
	const struct loader *L = ud;

	if (index > 0)
		return false;
	*value = ctx_value(L, name);
	return *value != NULL;
}

static void where(char *buf, size_t len, const struct dval *e, const char *fallback)
{
	if (e && e->file && e->line)
		snprintf(buf, len, "%s:%d", e->file, e->line);
	else
		snprintf(buf, len, "%s", e && e->file ? e->file : fallback);
}

static void elem_name(char *buf, size_t len, const struct dvar *v, const struct dval *e)
{
	if (e == &v->scalar || (!v->split && e->idx == 0))
		snprintf(buf, len, "%s", v->name);
	else
		snprintf(buf, len, "%s[%ld]", v->name, e->idx);
}

/*
 * DKMS's echo-and-source of one value. Returns 0 (e->val replaced unless check_only),
 * KMB_SH_NEEDS_SHELL (*why set), or -EINVAL (error recorded).
 */
static int reread_one(struct loader *L, const struct dvar *v, struct dval *e, bool check_only,
		      char **why)
{
	struct kmb_sh_diag d;
	char *nv = NULL, w[PATH_MAX + 16], n[SH_NAME_BUF];
	int r = kmb_sh_dkms_reread(e->val, reread_lookup, L, &nv, &d);

	elem_name(n, sizeof(n), v, e);
	where(w, sizeof(w), e, L->file);
	if (r < 0) {
		kmb_conf_errf(
			&L->errors,
			"%s: %s: DKMS reads this value back through 'echo' and bash, and then "
			"%s",
			w, n, d.msg);
		return -EINVAL;
	}
	if (r == KMB_SH_NEEDS_SHELL) {
		if (why && !*why)
			*why = kmb_xasprintf("%s: %s: DKMS's second read of the value runs %s", w,
					     n, d.msg);
		return r;
	}
	if (check_only) {
		free(nv);
		return 0;
	}
	free(e->val);
	e->val = nv;
	return 0;
}

/* DKMS's unquoted echo + source of every surviving value, once per file read. */
static int reread_table(struct loader *L, struct dtable *t, bool check_only, char **why)
{
	int r = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct dvar *v = &t->v[i];
		for (size_t j = 0; j <= v->n; j++) {
			struct dval *e = j < v->n ? &v->el[j] : (v->has_scalar ? &v->scalar : NULL);
			int q = e ? reread_one(L, v, e, check_only, why) : 0;
			if (q < 0)
				r = -EINVAL;
			else if (q > 0 && r == 0)
				r = q;
		}
	}
	return r;
}

/*
 * DKMS assigns back only what the subshell still has: an element a later file removed (a
 * new list, unset) survives. Put such elements of prev back into t.
 */
static void restore_removed(struct dtable *t, const struct dtable *prev)
{
	for (size_t i = 0; i < prev->n; i++) {
		const struct dvar *pv = &prev->v[i];
		struct dvar *v = dtable_get(t, pv->name);

		if (pv->has_scalar && !v->has_scalar)
			dvar_set_scalar(v, kmb_xstrdup(pv->scalar.val), false, pv->scalar.file,
					pv->scalar.line);
		for (size_t j = 0; j < pv->n; j++)
			if (!dvar_el(v, pv->el[j].idx))
				dvar_set(v, pv->el[j].idx, kmb_xstrdup(pv->el[j].val), false,
					 pv->el[j].file, pv->el[j].line);
	}
}

/* ---- bash evaluation --------------------------------------------------------------------- */

static void script_assign(struct kmb_buf *b, const char *name, long idx, const char *val)
{
	if (idx >= 0)
		kmb_buf_printf(b, "%s[%ld]=", name, idx);
	else
		kmb_buf_printf(b, "%s=", name);
	kmb_sh_quote(b, val);
	kmb_buf_addc(b, '\n');
}

/* The value bash starts with for NAME[idx] (split variables: the unindexed one wins [0]). */
static const char *fed_value(const struct dvar *v, long idx)
{
	const struct dval *e;

	if (idx == 0 && v->split && v->has_scalar)
		return v->scalar.val;
	e = dvar_el(v, idx);
	return e ? e->val : NULL;
}

static void add_names(struct kmb_buf *b)
{
	for (size_t i = 0; i < KMB_ARRAY_SIZE(directives); i++)
		kmb_buf_printf(b, " %s", directives[i]);
}

/*
 * safe_source (dkms.in:540-575) with its two reads made visible: the file is sourced in a
 * subshell, which prints the directives as the file left them (pass 1, for our checks) and
 * DKMS's `eval echo` lines; those lines are then evaluated in the outer context, which only
 * has DKMS's variables and the directives of earlier files, like read_conf (pass 2).
 * Globbing of the unquoted echo is off (set -f): its result would depend on DKMS's cwd.
 */
static char *bash_script(const struct loader *L)
{
	struct kmb_buf b = {0};

	for (int i = 0; i < CV_N; i++)
		script_assign(&b, ctx_names[i], -1, L->ctx[i]);
	for (size_t i = 0; i < L->t.n; i++) {
		const struct dvar *v = &L->t.v[i];
		if (v->split && v->has_scalar)
			script_assign(&b, v->name, 0, v->scalar.val);
		for (size_t j = 0; j < v->n; j++)
			if (!(v->split && v->has_scalar && v->el[j].idx == 0))
				script_assign(&b, v->name, v->el[j].idx, v->el[j].val);
	}
	/*
	 * bash runs the commands of a sourced file up to a syntax error and carries on, as
	 * DKMS would with half a file: check the whole file first and refuse it instead.
	 */
	kmb_buf_adds(&b, "\"$BASH\" -O extglob -n \"$1\" || exit 99\n"
			 "shopt -s extglob\n" /* DKMS runs with it on, dkms.in:82 */
			 "exec 3>&1\n"
			 "__kmbuild_eval() {\n"
			 "\t. \"$1\" >/dev/null 3>&-\n"
			 "\t{\n"
			 "\tbuiltin echo '#kmbuild-pass1'\n"
			 "\tbuiltin declare -p");
	add_names(&b);
	kmb_buf_adds(&b, " 2>/dev/null\n"
			 "\tfor __kmbuild_v in $(builtin compgen -v DKMS_DIRECTIVE); do\n"
			 "\t\tbuiltin echo \"#kmbuild-directive $__kmbuild_v\"\n"
			 "\tdone\n"
			 "\tbuiltin echo '#kmbuild-pass1-end'\n"
			 "\t} >&3\n"
			 "\tset -f\n"
			 "\tlocal __kmbuild_cr=$'\\r' __kmbuild_i __kmbuild_ix\n"
			 "\tfor __kmbuild_v in");
	add_names(&b);
	kmb_buf_adds(
		&b, "; do\n"
		    /* DKMS: for _i in $(eval echo ...); same indices, no fork per name */
		    "\t\teval \"__kmbuild_ix=(\\\"\\${!${__kmbuild_v}[@]}\\\")\"\n"
		    "\t\tfor __kmbuild_i in \"${__kmbuild_ix[@]}\"; do\n"
		    "\t\t\teval builtin echo '$__kmbuild_v[$__kmbuild_i]=\\\"${'\"${__kmbuild_v}\"'"
		    "[$__kmbuild_i]%$__kmbuild_cr}\\\"'\n"
		    "\t\tdone\n"
		    "\tdone\n"
		    "}\n"
		    "__kmbuild_lines=$(__kmbuild_eval \"$1\")\n"
		    "builtin echo \"#kmbuild-status $?\"\n"
		    "builtin echo '#kmbuild-pass2'\n"
		    "eval \"$__kmbuild_lines\" >/dev/null\n"
		    "builtin declare -p");
	add_names(&b);
	kmb_buf_adds(&b, " 2>/dev/null\n"
			 "builtin echo '#kmbuild-end'\n");
	return kmb_buf_steal(&b);
}

struct out_ctx {
	struct dtable t;
	const char *file;
};

static int out_assign(void *ud, const struct kmb_sh_assign *a, struct kmb_sh_diag *d)
{
	struct out_ctx *o = ud;
	struct dvar *v;
	long next = 0;

	if (!is_directive(a->name)) {
		d->line = a->line;
		snprintf(d->msg, sizeof(d->msg), "unexpected variable %s in bash output", a->name);
		return -EINVAL;
	}
	v = dtable_get(&o->t, a->name);
	v->split = false; /* bash has no unindexed slot */
	dvar_clear(v);
	if (a->kind != KMB_SH_LIST) {
		dvar_set(v, 0, kmb_xstrdup(a->value), false, o->file, 0);
		return 0;
	}
	for (size_t i = 0; i < a->n; i++) {
		long idx = a->elems[i].index >= 0 ? a->elems[i].index : next;
		dvar_set(v, idx, kmb_xstrdup(a->elems[i].value), false, o->file, 0);
		next = idx + 1;
	}
	return 0;
}

/* Did bash hand back exactly what it was given for v? */
static bool unchanged(const struct dvar *prev, const struct dvar *out)
{
	size_t fed = 0;

	if (!prev)
		return !out || !out->n;
	for (size_t j = 0; j < prev->n; j++)
		if (!(prev->split && prev->has_scalar && prev->el[j].idx == 0))
			fed++;
	if (prev->split && prev->has_scalar)
		fed++;
	if (!out)
		return fed == 0;
	if (out->n != fed)
		return false;
	for (size_t j = 0; j < out->n; j++) {
		const char *f = fed_value(prev, out->el[j].idx);
		if (!f || strcmp(f, out->el[j].val) != 0)
			return false;
	}
	return true;
}

/* Take bash's value of one directive into the table. */
static void merge_var(struct loader *L, const char *name, const struct dvar *out, const char *text)
{
	struct dvar *prev = dtable_find(&L->t, name);
	struct dvar nv;
	bool unidx = false, idxd = false, zero_is_pkg;

	if (unchanged(prev, out))
		return; /* keeps file/line and the package/module-0 distinction */
	memset(&nv, 0, sizeof(nv));
	nv.name = kmb_xstrdup(name);
	nv.split = is_split(name);
	/*
	 * bash cannot tell X= from X[0]=. Module 0 only when the file writes X only in the
	 * indexed form; otherwise DKMS's reading (package-wide) is the one its author tested.
	 */
	kmb_sh_scan_assignments(text, name, &unidx, &idxd);
	zero_is_pkg = nv.split && !(idxd && !unidx);
	for (size_t j = 0; out && j < out->n; j++) {
		const struct dval *e = &out->el[j];
		const char *pv = prev ? fed_value(prev, e->idx) : NULL;
		const struct dval *pe = NULL;

		/* Same value as before: keep where it was written. */
		if (pv && strcmp(pv, e->val) == 0)
			pe = (e->idx == 0 && prev->split && prev->has_scalar)
				     ? &prev->scalar
				     : dvar_el(prev, e->idx);
		if (e->idx == 0 && zero_is_pkg)
			dvar_set_scalar(&nv, kmb_xstrdup(e->val), false, pe ? pe->file : L->file,
					pe ? pe->line : 0);
		else
			dvar_set(&nv, e->idx, kmb_xstrdup(e->val), false, pe ? pe->file : L->file,
				 pe ? pe->line : 0);
	}
	if (prev)
		dtable_remove(&L->t, prev);
	if (!nv.n && !nv.has_scalar) {
		dvar_free(&nv);
		return;
	}
	if (L->t.n == L->t.cap) {
		L->t.cap = L->t.cap ? L->t.cap * 2 : 16;
		L->t.v = kmb_xrealloc(L->t.v, L->t.cap * sizeof(*L->t.v));
	}
	L->t.v[L->t.n++] = nv;
}

static char *first_line(const char *s)
{
	size_t n;

	while (*s == '\n')
		s++;
	n = strcspn(s, "\n");
	return kmb_xstrndup(s, n > 200 ? 200 : n);
}

/* The text between "#<from>\n" and "#<to>\n" of bash's output, or NULL. */
static char *section(const char *out, const char *from, const char *to)
{
	char *f = kmb_xasprintf("#%s\n", from), *t = kmb_xasprintf("\n#%s\n", to);
	const char *a = strstr(out, f), *b;
	char *r = NULL;

	if (a) {
		a += strlen(f);
		b = strstr(a - 1, t);
		if (b)
			r = kmb_xstrndup(a, (size_t)(b + 1 - a));
	}
	free(f);
	free(t);
	return r;
}

static int parse_section(struct loader *L, const char *path, const char *text, struct out_ctx *o)
{
	struct kmb_sh_diag d;

	o->file = L->file;
	if (kmb_sh_parse(text, KMB_SH_DECLARE, NULL, out_assign, o, &d) != 0) {
		kmb_conf_errf(&L->errors, "%s: cannot read bash's output: %s", path, d.msg);
		return -EINVAL;
	}
	return 0;
}

static int eval_with_bash(struct loader *L, const char *path, const char *text, bool normalised)
{
	char *script = bash_script(L), *out = NULL, *errtext = NULL, *tmp = NULL;
	char *pass1 = NULL, *pass2 = NULL;
	char why[256], real[PATH_MAX], dir[PATH_MAX];
	const char *src;
	struct out_ctx o1 = {.file = NULL}, o2 = {.file = NULL};
	int r = -EINVAL, status;

	if (!realpath(path, real)) {
		kmb_conf_errf(&L->errors, "%s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s", real);
	dirname(dir);
	src = real;
	if (normalised) {
		/* CRLF file: bash gets the LF text we checked, not the original. */
		size_t len = strlen(text);
		int fd;

		tmp = kmb_xstrdup("/tmp/kmbuild-conf.XXXXXX");
		fd = mkstemp(tmp);
		if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
			kmb_conf_errf(&L->errors, "%s: cannot write a temporary copy: %s", path,
				      strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		src = tmp;
	}
	status = kmb_conf_run_bash(dir, script, src, L->timeout_ms, &out, &errtext, why,
				   sizeof(why));
	if (status < 0) {
		kmb_conf_errf(&L->errors, "%s: evaluating with bash failed: %s", path, why);
		goto out;
	}
	pass1 = section(out, "kmbuild-pass1", "kmbuild-pass1-end");
	pass2 = section(out, "kmbuild-pass2", "kmbuild-end");
	if (!pass1 || !pass2) {
		char *fl = first_line(errtext);
		const char *st = strstr(out, "#kmbuild-status ");
		/* `exit N` in the file ends the subshell that sources it, not bash. */
		if (st)
			status = atoi(st + strlen("#kmbuild-status "));
		kmb_conf_errf(&L->errors,
			      status == 99 && !st
				      ? "%s: not valid bash (exit %d)%s%s"
				      : "%s: bash stopped before the end of the file (exit %d)%s%s",
			      path, status, *fl ? ": " : "", fl);
		free(fl);
		goto out;
	}
	if (*errtext) {
		char *fl = first_line(errtext);
		kmb_strv_pushf(&L->warnings, "%s: bash: %s", path, fl);
		free(fl);
	}
	if (strstr(pass1, "#kmbuild-directive ")) {
		char *fl = first_line(strstr(pass1, "#kmbuild-directive ") + 19);
		kmb_conf_errf(&L->errors,
			      "%s: %s: DKMS_DIRECTIVE* variables (a hidden DKMS feature) are not "
			      "supported",
			      path, fl);
		free(fl);
		goto out;
	}
	if (parse_section(L, path, pass1, &o1) < 0 || parse_section(L, path, pass2, &o2) < 0)
		goto out;
	/* Values DKMS would mangle on the second read are errors, as for plain files. */
	if (reread_table(L, &o1.t, true, NULL) < 0)
		goto out;
	for (size_t i = 0; i < KMB_ARRAY_SIZE(directives); i++)
		merge_var(L, directives[i], dtable_find(&o2.t, directives[i]), text);
	r = 0;
out:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	dtable_free(&o1.t);
	dtable_free(&o2.t);
	free(pass1);
	free(pass2);
	free(script);
	free(out);
	free(errtext);
	return r;
}

/* ---- one file ---------------------------------------------------------------------------- */

static int read_one(struct loader *L, const char *path, struct kmb_conf_error *err)
{
	char *text, *why = NULL;
	bool normalised;
	struct dtable work = {0};
	struct kmb_sh_diag d;
	int r;

	r = kmb_conf_read_text(path, &text, &normalised, err);
	if (r < 0) {
		kmb_conf_errf(&L->errors, "%s", err->msg);
		return r;
	}
	L->file = intern_file(L, path);
	dtable_copy(&work, &L->t);
	L->work = &work;
	r = kmb_sh_parse(text, KMB_SH_CONF, work_lookup, work_assign, L, &d);
	L->work = NULL;
	if (r == KMB_SH_NEEDS_SHELL) {
		why = kmb_xasprintf("%s:%d: %s", path, d.line, d.msg);
	} else if (r < 0) {
		kmb_conf_errf(&L->errors, "%s:%d: %s", path, d.line, d.msg);
	} else {
		keep_directives(&work);
		restore_removed(&work, &L->t);
		r = reread_table(L, &work, false, &why);
		if (r == 0) {
			dtable_free(&L->t);
			L->t = work;
			memset(&work, 0, sizeof(work));
		}
	}
	dtable_free(&work);
	if (r == KMB_SH_NEEDS_SHELL && L->no_shell) {
		kmb_conf_errf(&L->errors,
			      "%s: needs a shell to evaluate, which is not run here (%s)", path,
			      why);
		r = -EINVAL;
	} else if (r == KMB_SH_NEEDS_SHELL) {
		if (!L->used_shell)
			L->shell_reason = why;
		else
			free(why);
		why = NULL;
		L->used_shell = true;
		r = eval_with_bash(L, path, text, normalised);
	}
	free(why);
	free(text);
	return r < 0 ? -EINVAL : 0;
}

/* ---- building the package ---------------------------------------------------------------- */

static const struct dvar *var(const struct loader *L, const char *name)
{
	return dtable_find(&L->t, name);
}

/* ${NAME[idx]} as read_conf sees it, NULL when unset or empty. */
static const struct dval *elem(const struct loader *L, const char *name, long idx)
{
	const struct dval *e = dvar_el(var(L, name), idx);
	return e && *e->val ? e : NULL;
}

static char *dup_elem(const struct loader *L, const char *name, long idx)
{
	const struct dval *e = elem(L, name, idx);
	return e ? kmb_xstrdup(e->val) : NULL;
}

/* check_yes_no_value (dkms.in:898-913): "", yes or no in any case, else an error. */
static bool yes_no(struct loader *L, const char *name, const char *main)
{
	const struct dval *e = dvar_el(var(L, name), 0);
	char w[PATH_MAX + 16];

	if (!e || !*e->val || strcasecmp(e->val, "no") == 0)
		return false;
	if (strcasecmp(e->val, "yes") == 0)
		return true;
	where(w, sizeof(w), e, main);
	kmb_conf_errf(&L->errors, "%s: %s: Unsupported %s value '%s' (use yes, no or nothing)", w,
		      name, name, e->val);
	return false;
}

static void fill_excl(struct loader *L, struct kmb_exclusive *x, bool pkg, long idx)
{
	static const char *const names[] = {"BUILD_EXCLUSIVE_KERNEL", "BUILD_EXCLUSIVE_KERNEL_MIN",
					    "BUILD_EXCLUSIVE_KERNEL_MAX", "BUILD_EXCLUSIVE_ARCH",
					    "BUILD_EXCLUSIVE_CONFIG"};
	char **slot[] = {&x->kernel, &x->kernel_min, &x->kernel_max, &x->arch, &x->config};

	for (size_t i = 0; i < KMB_ARRAY_SIZE(names); i++) {
		const struct dvar *v = var(L, names[i]);
		const struct dval *e =
			pkg ? (v && v->has_scalar ? &v->scalar : NULL) : dvar_el(v, idx);
		char w[PATH_MAX + 16];

		if (!e || !*e->val)
			continue;
		*slot[i] = kmb_xstrdup(e->val);
		if ((i == 0 || i == 3) && !kmb_conf_regex_ok(e->val)) {
			where(w, sizeof(w), e, L->file);
			kmb_strv_pushf(&L->warnings,
				       "%s: %s: '%s' is not a valid extended regular expression; "
				       "every kernel is excluded",
				       w, names[i], e->val);
		}
	}
}

static void deprecations(struct loader *L, const char *main)
{
	static const char *const ignored[] = {"MODULES_CONF", "MODULES_CONF_OBSOLETES",
					      "MODULES_CONF_ALIAS_TYPE",
					      "MODULES_CONF_OBSOLETE_ONLY"};
	const struct dvar *v;
	char w[PATH_MAX + 16];

	if ((v = var(L, "CLEAN")) && v->n) {
		const char *c = v->el[0].idx == 0 ? v->el[0].val : "";
		if (strcmp(c, "true") && strcmp(c, "/bin/true") && strcmp(c, "/usr/bin/true")) {
			where(w, sizeof(w), &v->el[0], main);
			kmb_strv_pushf(&L->warnings,
				       "%s: CLEAN: deprecated and ignored (the build directory is "
				       "thrown away instead)",
				       w);
		}
	}
	if ((v = var(L, "REMAKE_INITRD")) && v->n) {
		where(w, sizeof(w), &v->el[0], main);
		kmb_strv_pushf(&L->warnings,
			       "%s: REMAKE_INITRD: deprecated in DKMS (ignored there since 2.8.8); "
			       "kmbuild still honours it",
			       w);
	}
	for (size_t i = 0; i < KMB_ARRAY_SIZE(ignored); i++) {
		if (!(v = var(L, ignored[i])) || !v->n)
			continue;
		where(w, sizeof(w), &v->el[0], main);
		kmb_strv_pushf(&L->warnings, "%s: %s: deprecated and ignored", w, ignored[i]);
	}
	if ((v = var(L, "OBSOLETE_BY")) && v->n) {
		where(w, sizeof(w), &v->el[0], main);
		kmb_strv_pushf(
			&L->warnings,
			"%s: OBSOLETE_BY: deprecated, use BUILD_EXCLUSIVE_KERNEL_MAX instead", w);
	}
}

static void build_modules(struct loader *L, struct kmb_pkg *pkg, const char *main)
{
	static const char *const family[] = {"BUILT_MODULE_NAME", "BUILT_MODULE_LOCATION",
					     "DEST_MODULE_NAME", "DEST_MODULE_LOCATION"};
	long max = -1;
	char w[PATH_MAX + 16];

	/* Sparse arrays: the highest index of the four decides, holes are errors (dkms.in:687). */
	for (size_t i = 0; i < KMB_ARRAY_SIZE(family); i++) {
		long m = dvar_max(var(L, family[i]));
		max = m > max ? m : max;
	}
	pkg->n_modules = (size_t)(max + 1);
	pkg->modules = pkg->n_modules ? kmb_xcalloc(pkg->n_modules, sizeof(*pkg->modules)) : NULL;
	for (long i = 0; i <= max; i++) {
		struct kmb_module_def *m = &pkg->modules[i];
		const struct dval *bn = elem(L, "BUILT_MODULE_NAME", i);
		const struct dval *dn = elem(L, "DEST_MODULE_NAME", i);
		const struct dval *bl = elem(L, "BUILT_MODULE_LOCATION", i);
		const struct dval *dl = elem(L, "DEST_MODULE_LOCATION", i);
		const struct dval *st = dvar_el(var(L, "STRIP"), i);

		m->built_name = bn ? kmb_xstrdup(bn->val)
				   : (max == 0 && pkg->name ? kmb_xstrdup(pkg->name) : NULL);
		m->dest_name = dn ? kmb_xstrdup(dn->val)
				  : (m->built_name ? kmb_xstrdup(m->built_name) : NULL);
		if (!bl)
			m->built_location = kmb_xstrdup("");
		else if (kmb_endswith(bl->val, "/"))
			m->built_location = kmb_xstrdup(bl->val);
		else
			m->built_location = kmb_xasprintf("%s/", bl->val);
		m->dest_location = dl ? kmb_xstrdup(dl->val) : NULL;

		if (st && (st->val[0] == 'n' || st->val[0] == 'N'))
			m->strip = false;
		else if (st && (st->val[0] == 'y' || st->val[0] == 'Y'))
			m->strip = true;
		else
			m->strip = i == 0 ? true : pkg->modules[0].strip;
		if (st && *st->val && !strchr("yYnN", st->val[0])) {
			where(w, sizeof(w), st, main);
			kmb_strv_pushf(&L->warnings,
				       "%s: STRIP[%ld]: '%s' is neither yes nor no; "
				       "stripping (like DKMS)",
				       w, i, st->val);
			m->strip = true;
		}

		if (!m->built_name) {
			kmb_conf_errf(&L->errors,
				      "%s: BUILT_MODULE_NAME: No 'BUILT_MODULE_NAME' directive "
				      "specified for record #%ld",
				      main, i);
		} else if (kmb_conf_has_obj_suffix(m->built_name) ||
			   !kmb_is_safe_name(m->built_name)) {
			where(w, sizeof(w), bn, main);
			kmb_conf_errf(&L->errors,
				      kmb_conf_has_obj_suffix(m->built_name)
					      ? "%s: BUILT_MODULE_NAME[%ld]: 'BUILT_MODULE_NAME' "
						"directive ends in '.o' or '.ko' in record #%ld"
					      : "%s: BUILT_MODULE_NAME[%ld]: not a file name in "
						"record #%ld",
				      w, i, i);
		}
		if (m->dest_name && dn &&
		    (kmb_conf_has_obj_suffix(m->dest_name) || !kmb_is_safe_name(m->dest_name))) {
			where(w, sizeof(w), dn, main);
			kmb_conf_errf(&L->errors,
				      kmb_conf_has_obj_suffix(m->dest_name)
					      ? "%s: DEST_MODULE_NAME[%ld]: 'DEST_MODULE_NAME' "
						"directive ends in '.o' or '.ko' in record #%ld"
					      : "%s: DEST_MODULE_NAME[%ld]: not a file name in "
						"record #%ld",
				      w, i, i);
		}
		if (bl && !kmb_conf_rel_path_ok(bl->val)) {
			where(w, sizeof(w), bl, main);
			kmb_conf_errf(
				&L->errors,
				"%s: BUILT_MODULE_LOCATION[%ld]: '%s' must be a relative path "
				"without '..'",
				w, i, bl->val);
		}
		if (!dl) {
			kmb_conf_errf(
				&L->errors,
				"%s: DEST_MODULE_LOCATION: No 'DEST_MODULE_LOCATION' directive "
				"specified for record #%ld",
				main, i);
		} else if (!kmb_conf_dest_prefix_ok(dl->val) || kmb_conf_has_dotdot(dl->val)) {
			where(w, sizeof(w), dl, main);
			kmb_conf_errf(
				&L->errors,
				kmb_conf_has_dotdot(dl->val)
					? "%s: DEST_MODULE_LOCATION[%ld]: contains a '..' path "
					  "component in record #%ld"
					: "%s: DEST_MODULE_LOCATION[%ld]: Directive "
					  "'DEST_MODULE_LOCATION' does not begin with '/kernel', "
					  "'/updates', or '/extra' in record #%ld",
				w, i, i);
		}
		fill_excl(L, &m->excl, false, i);
	}
}

/* read_conf_strict (dkms.in:927-972): duplicate names would overwrite each other. */
static void check_duplicates(struct loader *L, struct kmb_pkg *pkg)
{
	char w[PATH_MAX + 16];

	for (size_t i = 0; i < pkg->n_modules; i++) {
		const struct kmb_module_def *m = &pkg->modules[i];
		for (size_t j = 0; j < i; j++) {
			const struct kmb_module_def *o = &pkg->modules[j];
			if (m->built_name && o->built_name &&
			    strcmp(m->built_name, o->built_name) == 0 &&
			    strcmp(m->built_location, o->built_location) == 0) {
				where(w, sizeof(w), elem(L, "BUILT_MODULE_NAME", (long)i),
				      pkg->conf_path);
				kmb_conf_errf(&L->errors,
					      "%s: BUILT_MODULE_NAME[%zu]: Duplicate module '%s%s' "
					      "in 'BUILT_MODULE_NAME[%zu]'",
					      w, i, m->built_location, m->built_name, i);
				break;
			}
		}
		for (size_t j = 0; j < i; j++) {
			const struct kmb_module_def *o = &pkg->modules[j];
			if (m->dest_name && o->dest_name &&
			    strcmp(m->dest_name, o->dest_name) == 0) {
				const struct dval *e = elem(L, "DEST_MODULE_NAME", (long)i);
				where(w, sizeof(w), e ? e : elem(L, "BUILT_MODULE_NAME", (long)i),
				      pkg->conf_path);
				kmb_conf_errf(&L->errors,
					      "%s: DEST_MODULE_NAME[%zu]: Duplicate module '%s' in "
					      "'DEST_MODULE_NAME[%zu]'",
					      w, i, m->dest_name, i);
				break;
			}
		}
	}
}

static void build_make_patches(struct loader *L, struct kmb_pkg *pkg, const char *main)
{
	long mk = dvar_max(var(L, "MAKE")), mm = dvar_max(var(L, "MAKE_MATCH"));
	long n = (mk > mm ? mk : mm) + 1;
	const struct dvar *pv = var(L, "PATCH");
	const struct dvar *pm = var(L, "PATCH_MATCH");
	char w[PATH_MAX + 16];

	/* All indices, where DKMS's ${#MAKE[@]} loop misses the tail of a sparse array. */
	pkg->n_make = (size_t)n;
	pkg->make = n ? kmb_xcalloc((size_t)n, sizeof(*pkg->make)) : NULL;
	for (long i = 0; i < n; i++) {
		pkg->make[i].cmd = dup_elem(L, "MAKE", i);
		pkg->make[i].match = dup_elem(L, "MAKE_MATCH", i);
		if (pkg->make[i].match && !kmb_conf_regex_ok(pkg->make[i].match)) {
			where(w, sizeof(w), elem(L, "MAKE_MATCH", i), main);
			kmb_strv_pushf(&L->warnings,
				       "%s: MAKE_MATCH[%ld]: '%s' is not a valid extended regular "
				       "expression; it never matches",
				       w, i, pkg->make[i].match);
		}
	}
	pkg->patches = pv && pv->n ? kmb_xcalloc(pv->n, sizeof(*pkg->patches)) : NULL;
	for (size_t j = 0; pv && j < pv->n; j++) {
		const struct dval *e = &pv->el[j];
		struct kmb_patch *p;

		if (!*e->val)
			continue;
		if (!kmb_conf_rel_path_ok(e->val)) {
			where(w, sizeof(w), e, main);
			kmb_conf_errf(&L->errors, "%s: PATCH[%ld]: '%s' %s", w, e->idx, e->val,
				      e->val[0] == '/' ? "is an absolute path (patches are "
							 "named relative to patches/)"
						       : "contains a '..' path component");
			continue;
		}
		p = &pkg->patches[pkg->n_patches++];
		p->file = kmb_xstrdup(e->val);
		p->match = dup_elem(L, "PATCH_MATCH", e->idx);
		if (p->match && !kmb_conf_regex_ok(p->match)) {
			where(w, sizeof(w), elem(L, "PATCH_MATCH", e->idx), main);
			kmb_strv_pushf(&L->warnings,
				       "%s: PATCH_MATCH[%ld]: '%s' is not a valid extended regular "
				       "expression; the patch is never applied",
				       w, e->idx, p->match);
		}
	}
	for (size_t j = 0; pm && j < pm->n; j++) {
		if (!elem(L, "PATCH", pm->el[j].idx)) {
			where(w, sizeof(w), &pm->el[j], main);
			kmb_strv_pushf(&L->warnings, "%s: PATCH_MATCH[%ld]: no PATCH[%ld]; ignored",
				       w, pm->el[j].idx, pm->el[j].idx);
		}
	}
}

static void build_depends(struct loader *L, struct kmb_pkg *pkg)
{
	const struct dvar *v = var(L, "BUILD_DEPENDS");

	/* Elements are package names; a "a b" element is read as two, like autoinstall does. */
	for (size_t j = 0; v && j < v->n; j++) {
		char *copy = kmb_xstrdup(v->el[j].val), *save = NULL;
		for (char *t = strtok_r(copy, " \t\n", &save); t;
		     t = strtok_r(NULL, " \t\n", &save))
			if (!kmb_strv_contains(&pkg->build_depends, t))
				kmb_strv_push(&pkg->build_depends, t);
		free(copy);
	}
}

static void warn_stray_exclusive(struct loader *L, const struct kmb_pkg *pkg, const char *main)
{
	static const char *const names[] = {"BUILD_EXCLUSIVE_KERNEL", "BUILD_EXCLUSIVE_KERNEL_MIN",
					    "BUILD_EXCLUSIVE_KERNEL_MAX", "BUILD_EXCLUSIVE_ARCH",
					    "BUILD_EXCLUSIVE_CONFIG"};
	char w[PATH_MAX + 16];

	for (size_t i = 0; i < KMB_ARRAY_SIZE(names); i++) {
		const struct dvar *v = var(L, names[i]);
		for (size_t j = 0; v && j < v->n; j++) {
			if ((size_t)v->el[j].idx < pkg->n_modules)
				continue;
			where(w, sizeof(w), &v->el[j], main);
			kmb_strv_pushf(&L->warnings,
				       "%s: %s[%ld]: there is no module #%ld; ignored", w, names[i],
				       v->el[j].idx, v->el[j].idx);
		}
	}
}

static struct kmb_pkg *build_pkg(struct loader *L, const char *main)
{
	struct kmb_pkg *pkg = kmb_xcalloc(1, sizeof(*pkg));
	const struct dval *e;
	char w[PATH_MAX + 16];

	pkg->format = KMB_CONF_DKMS;
	pkg->conf_path = kmb_xstrdup(main);
	pkg->name = dup_elem(L, "PACKAGE_NAME", 0);
	pkg->version = dup_elem(L, "PACKAGE_VERSION", 0);
	if (!pkg->name)
		kmb_conf_errf(&L->errors, "%s: PACKAGE_NAME: No 'PACKAGE_NAME' directive specified",
			      main);
	else if (!kmb_is_safe_name(pkg->name) || strpbrk(pkg->name, " \t")) {
		where(w, sizeof(w), elem(L, "PACKAGE_NAME", 0), main);
		kmb_conf_errf(&L->errors, "%s: PACKAGE_NAME: '%s' cannot be a directory name", w,
			      pkg->name);
	}
	if (!pkg->version)
		kmb_conf_errf(&L->errors,
			      "%s: PACKAGE_VERSION: No 'PACKAGE_VERSION' directive specified",
			      main);
	else if (!kmb_is_safe_name(pkg->version) || strpbrk(pkg->version, " \t")) {
		where(w, sizeof(w), elem(L, "PACKAGE_VERSION", 0), main);
		kmb_conf_errf(&L->errors, "%s: PACKAGE_VERSION: '%s' cannot be a directory name", w,
			      pkg->version);
	}
	pkg->pre_build = dup_elem(L, "PRE_BUILD", 0);
	pkg->post_build = dup_elem(L, "POST_BUILD", 0);
	pkg->post_add = dup_elem(L, "POST_ADD", 0);
	pkg->pre_install = dup_elem(L, "PRE_INSTALL", 0);
	pkg->post_install = dup_elem(L, "POST_INSTALL", 0);
	pkg->post_remove = dup_elem(L, "POST_REMOVE", 0);
	pkg->obsolete_by = dup_elem(L, "OBSOLETE_BY", 0);
	e = elem(L, "REMAKE_INITRD", 0);
	pkg->remake_initrd = e && (e->val[0] == 'y' || e->val[0] == 'Y');
	build_depends(L, pkg);
	fill_excl(L, &pkg->excl, true, 0);
	build_modules(L, pkg, main);
	check_duplicates(L, pkg);
	build_make_patches(L, pkg, main);
	/* After the module checks, in DKMS's order of messages. */
	pkg->autoinstall = yes_no(L, "AUTOINSTALL", main);
	pkg->build_depends_rebuild = yes_no(L, "BUILD_DEPENDS_REBUILD", main);
	pkg->no_weak_modules = yes_no(L, "NO_WEAK_MODULES", main);
	warn_stray_exclusive(L, pkg, main);
	deprecations(L, main);

	/* OBSOLETE_BY is a package-wide KERNEL_MAX unless any max is set (dkms.in:820-830). */
	if (pkg->obsolete_by && !pkg->excl.kernel_max) {
		bool per_module = false;
		for (size_t i = 0; i < pkg->n_modules; i++)
			per_module = per_module || pkg->modules[i].excl.kernel_max;
		if (!per_module)
			pkg->excl.kernel_max = kmb_xstrdup(pkg->obsolete_by);
	}
	if (!pkg->n_modules)
		kmb_strv_pushf(&L->warnings, "%s: Zero modules specified", main);
	return pkg;
}

static const char *value0(const struct loader *L, const char *name)
{
	const struct dval *e = elem(L, name, 0);
	return e ? e->val : NULL;
}

/* ---- entry point ------------------------------------------------------------------------- */

static void add_override(struct kmb_strv *list, const char *dir, const char *const parts[],
			 size_t n)
{
	struct kmb_buf b = {0};

	for (size_t i = 0; i < n; i++)
		if (!kmb_is_safe_name(parts[i]))
			return;
	kmb_buf_printf(&b, "%s/", dir);
	for (size_t i = 0; i < n; i++) {
		/* parts[] alternate name and separator; separators are literal. */
		kmb_buf_adds(&b, parts[i]);
	}
	kmb_buf_adds(&b, ".conf");
	kmb_strv_push(list, b.s);
	kmb_buf_free(&b);
}

/* dkms.in:637-647, in this order; the -- forms are undocumented but read by DKMS. */
static void override_files(const struct kmb_conf_vars *vars, const char *m, const char *v,
			   struct kmb_strv *list)
{
	const char *dir = vars->overrides_dir;
	const char *k = vars->kernelver && *vars->kernelver ? vars->kernelver : NULL;
	const char *a = vars->arch && *vars->arch ? vars->arch : NULL;

	if (!dir || !m || !kmb_is_safe_name(m))
		return;
	add_override(list, dir, (const char *const[]){m}, 1);
	if (v) {
		add_override(list, dir, (const char *const[]){m, "-", v}, 3);
		if (k)
			add_override(list, dir, (const char *const[]){m, "-", v, "-", k}, 5);
		if (k && a)
			add_override(list, dir, (const char *const[]){m, "-", v, "-", k, "-", a},
				     7);
	}
	if (k)
		add_override(list, dir, (const char *const[]){m, "--", k}, 3);
	if (k && a)
		add_override(list, dir, (const char *const[]){m, "--", k, "-", a}, 5);
}

int kmb_conf_load_dkms(const char *path, const struct kmb_conf_vars *vars, struct kmb_pkg **out,
		       struct kmb_conf_error *err)
{
	static const struct kmb_conf_vars none = {0};
	struct loader L = {0};
	struct kmb_strv overrides = {0};
	struct kmb_pkg *pkg = NULL;
	const char *m, *v;
	int r;

	*out = NULL;
	vars = vars ? vars : &none;
	L.ctx[CV_KERNELVER] = vars->kernelver;
	L.ctx[CV_ARCH] = vars->arch;
	L.ctx[CV_KSRC] = vars->kernel_source_dir;
	L.ctx[CV_DKMS_TREE] = vars->dkms_tree;
	L.ctx[CV_SOURCE_TREE] = vars->source_tree;
	L.ctx[CV_INSTALL_TREE] = vars->install_tree;
	L.ctx[CV_MODULE] = vars->module;
	L.ctx[CV_MODULE_VERSION] = vars->module_version;
	for (int i = 0; i < CV_N; i++)
		L.ctx[i] = L.ctx[i] ? L.ctx[i] : "";
	L.timeout_ms = vars->shell_timeout_ms;
	L.no_shell = vars->no_shell;

	r = read_one(&L, path, err);
	if (r < 0 && r != -EINVAL) {
		/* The file itself cannot be read: err->msg already names it and why. */
		if (r == -ENOENT)
			kmb_conf_seterr(err, "%s: no such file", path);
		goto out;
	}
	if (r < 0)
		goto fail;

	/* $module/$module_version name the overrides; before `add` they are the package's. */
	m = vars->module ? vars->module : value0(&L, "PACKAGE_NAME");
	v = vars->module_version ? vars->module_version : value0(&L, "PACKAGE_VERSION");
	override_files(vars, m, v, &overrides);
	for (size_t i = 0; i < overrides.n; i++) {
		if (!kmb_exists(overrides.v[i]))
			continue;
		if (read_one(&L, overrides.v[i], err) < 0)
			goto fail;
	}

	pkg = build_pkg(&L, path);
	if (L.errors.n)
		goto fail;
	pkg->used_shell = L.used_shell;
	pkg->shell_reason = L.shell_reason;
	L.shell_reason = NULL;
	pkg->warnings = L.warnings;
	memset(&L.warnings, 0, sizeof(L.warnings));
	*out = pkg;
	pkg = NULL;
	r = 0;
	goto out;
fail:
	r = kmb_conf_err_finish(&L.errors, err);
	if (!r) {
		kmb_conf_seterr(err, "%s: malformed", path);
		r = -EINVAL;
	}
out:
	kmb_pkg_free(pkg);
	kmb_strv_free(&overrides);
	dtable_free(&L.t);
	kmb_strv_free(&L.files);
	kmb_strv_free(&L.warnings);
	kmb_strv_free(&L.errors);
	free(L.shell_reason);
	return r;
}
