// SPDX-License-Identifier: GPL-2.0-or-later
/* The plain-data subset of bash used by dkms.conf; see shlex.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/shlex.h"

/* Bigger indices are a typo or an attack on our module loop, not a module table. */
#define SH_MAX_INDEX 65535L
#define SH_MAX_NAME  128

enum wctx {
	W_VALUE,      /* NAME=word: no word splitting, no pathname expansion */
	W_ELEM,	      /* word inside NAME=( ... ): bash splits and globs it */
	W_ELEM_VALUE, /* [i]=word inside a list: like W_VALUE, but ')' ends it */
	W_REREAD,     /* DKMS's second read of a value: the whole text must stay one word */
};

struct lexer {
	const char *s;
	size_t pos;
	int line;
	bool strict; /* what would need bash is an error here */
	kmb_sh_lookup_fn lookup;
	void *ud;
	struct kmb_sh_diag *d;
};

static char cur(const struct lexer *lx)
{
	return lx->s[lx->pos];
}

static char peek(const struct lexer *lx, size_t k)
{
	for (size_t i = 0; i < k; i++)
		if (!lx->s[lx->pos + i])
			return '\0';
	return lx->s[lx->pos + k];
}

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

bool kmb_sh_is_name(const char *name)
{
	if (!name || !is_name_start(*name))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!is_name_char(*p))
			return false;
	return true;
}

static void vdiag(struct lexer *lx, int line, const char *fmt, va_list ap)
{
	lx->d->line = line;
	vsnprintf(lx->d->msg, sizeof(lx->d->msg), fmt, ap);
}

/* A construct only bash can evaluate: ask for bash, or fail where bash is not an option. */
__attribute__((format(printf, 2, 3))) static int needs_shell(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(lx, lx->line, fmt, ap);
	va_end(ap);
	return lx->strict ? -EINVAL : KMB_SH_NEEDS_SHELL;
}

__attribute__((format(printf, 3, 4))) static int syntax_error(struct lexer *lx, int line,
							      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(lx, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The word at the cursor, for messages: up to the next blank, at most 32 characters. */
static void word_at(const struct lexer *lx, char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = lx->s + lx->pos;

	while (p[n] && !strchr(" \t\n", p[n]) && n + 1 < outlen && n < 32)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
}

static void skip_blanks(struct lexer *lx)
{
	for (;;) {
		char c = cur(lx);
		if (c == ' ' || c == '\t') {
			lx->pos++;
		} else if (c == '\\' && peek(lx, 1) == '\n') {
			lx->pos += 2;
			lx->line++;
		} else {
			return;
		}
	}
}

static void skip_comment(struct lexer *lx)
{
	while (cur(lx) && cur(lx) != '\n')
		lx->pos++;
}

static int parse_single_quote(struct lexer *lx, struct kmb_buf *out)
{
	int line0 = lx->line;

	lx->pos++;
	for (;;) {
		char c = cur(lx);
		if (!c)
			return syntax_error(lx, line0, "unterminated single quote");
		lx->pos++;
		if (c == '\'')
			return 0;
		if (c == '\n')
			lx->line++;
		kmb_buf_addc(out, c);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* $'...' (bash prints values with control characters this way in `declare -p`). */
static int parse_ansi_c(struct lexer *lx, struct kmb_buf *out)
{
	int line0 = lx->line;

	lx->pos += 2;
	for (;;) {
		char c = cur(lx);
		if (!c)
			return syntax_error(lx, line0, "unterminated $'...' string");
		lx->pos++;
		if (c == '\'')
			return 0;
		if (c == '\n')
			lx->line++;
		if (c != '\\') {
			kmb_buf_addc(out, c);
			continue;
		}
		c = cur(lx);
		if (!c)
			return syntax_error(lx, line0, "unterminated $'...' string");
		lx->pos++;
		switch (c) {
		case 'a':
			kmb_buf_addc(out, '\a');
			break;
		case 'b':
			kmb_buf_addc(out, '\b');
			break;
		case 'e':
		case 'E':
			kmb_buf_addc(out, '\033');
			break;
		case 'f':
			kmb_buf_addc(out, '\f');
			break;
		case 'n':
			kmb_buf_addc(out, '\n');
			break;
		case 'r':
			kmb_buf_addc(out, '\r');
			break;
		case 't':
			kmb_buf_addc(out, '\t');
			break;
		case 'v':
			kmb_buf_addc(out, '\v');
			break;
		case '\\':
		case '\'':
		case '"':
		case '?':
			kmb_buf_addc(out, c);
			break;
		case 'x': {
			int v = 0, n = 0, h;
			while (n < 2 && (h = hexval(cur(lx))) >= 0) {
				v = v * 16 + h;
				lx->pos++;
				n++;
			}
			if (!n) {
				kmb_buf_adds(out, "\\x");
				break;
			}
			if (!v)
				return needs_shell(lx, "NUL byte in $'...' string");
			kmb_buf_addc(out, (char)v);
			break;
		}
		case '0':
		case '1':
		case '2':
		case '3':
		case '4':
		case '5':
		case '6':
		case '7': {
			int v = c - '0', n = 1;
			while (n < 3 && cur(lx) >= '0' && cur(lx) <= '7') {
				v = v * 8 + (cur(lx) - '0');
				lx->pos++;
				n++;
			}
			if (!(v & 0xff))
				return needs_shell(lx, "NUL byte in $'...' string");
			kmb_buf_addc(out, (char)v);
			break;
		}
		case 'c':
		case 'u':
		case 'U':
			return needs_shell(lx, "escape \\%c in $'...' string", c);
		default:
			kmb_buf_addc(out, '\\');
			kmb_buf_addc(out, c);
			break;
		}
	}
}

/* Characters that make bash split or glob the result of an unquoted expansion in a list. */
static bool splits_or_globs(const char *v)
{
	return !*v || strpbrk(v, " \t\n*?[") != NULL;
}

static int expand_var(struct lexer *lx, const char *name, long index, bool quoted, enum wctx ctx,
		      struct kmb_buf *out)
{
	const char *v = NULL;

	if (!lx->lookup || !lx->lookup(lx->ud, name, index, &v))
		return needs_shell(lx, "variable $%s is not known without running bash", name);
	if (!v)
		v = "";
	if (!quoted && ctx == W_ELEM && splits_or_globs(v))
		return needs_shell(lx, "unquoted $%s in a list is split or globbed by bash", name);
	kmb_buf_adds(out, v);
	return 0;
}

/* At '$': an expansion, or a literal dollar sign. */
static int parse_dollar(struct lexer *lx, bool quoted, enum wctx ctx, struct kmb_buf *out)
{
	char n = peek(lx, 1);
	char name[SH_MAX_NAME + 1];
	size_t len = 0;

	if (n == '{') {
		size_t p = lx->pos + 2;
		long index = -1;

		while (is_name_char(lx->s[p]) && len < SH_MAX_NAME)
			name[len++] = lx->s[p++];
		name[len] = '\0';
		if (!len || !is_name_start(name[0]))
			return needs_shell(lx, "parameter expansion '${%c...'", lx->s[lx->pos + 2]);
		if (lx->s[p] == '[') {
			char *end;
			p++;
			if (lx->s[p] < '0' || lx->s[p] > '9')
				return needs_shell(lx, "parameter expansion '${%s[...'", name);
			index = strtol(lx->s + p, &end, 10);
			if (*end != ']' || index > SH_MAX_INDEX)
				return needs_shell(lx, "parameter expansion '${%s[...'", name);
			p = (size_t)(end - lx->s) + 1;
		}
		if (lx->s[p] != '}')
			return needs_shell(lx, "parameter expansion '${%s%c...'", name, lx->s[p]);
		lx->pos = p + 1;
		return expand_var(lx, name, index, quoted, ctx, out);
	}
	if (n == '(')
		return needs_shell(lx, peek(lx, 2) == '(' ? "arithmetic expansion $((...))"
							  : "command substitution $(...)");
	if (n == '[')
		return needs_shell(lx, "arithmetic expansion $[...]");
	if (n == '\'' && !quoted)
		return parse_ansi_c(lx, out);
	if (n == '"' && !quoted)
		return needs_shell(lx, "locale string $\"...\"");
	if (is_name_start(n)) {
		lx->pos++;
		while (is_name_char(cur(lx)) && len < SH_MAX_NAME)
			name[len++] = lx->s[lx->pos++];
		name[len] = '\0';
		if (is_name_char(cur(lx)))
			return needs_shell(lx, "variable name longer than %d characters",
					   SH_MAX_NAME);
		return expand_var(lx, name, -1, quoted, ctx, out);
	}
	if ((n >= '0' && n <= '9') || (n && strchr("@*#?-$!", n)))
		return needs_shell(lx, "special parameter $%c", n);
	kmb_buf_addc(out, '$');
	lx->pos++;
	return 0;
}

static int parse_double_quote(struct lexer *lx, enum wctx ctx, struct kmb_buf *out)
{
	int line0 = lx->line;

	lx->pos++;
	for (;;) {
		char c = cur(lx);
		int r;

		switch (c) {
		case '\0':
			return syntax_error(lx, line0, "unterminated double quote");
		case '"':
			lx->pos++;
			return 0;
		case '\\': {
			char n = peek(lx, 1);
			if (n == '\n') {
				lx->pos += 2;
				lx->line++;
			} else if (n && strchr("$`\"\\", n)) {
				kmb_buf_addc(out, n);
				lx->pos += 2;
			} else {
				kmb_buf_addc(out, '\\');
				lx->pos++;
			}
			break;
		}
		case '$':
			r = parse_dollar(lx, true, ctx, out);
			if (r)
				return r;
			break;
		case '`':
			return needs_shell(lx, "command substitution `...`");
		case '\n':
			lx->line++;
			/* fall through */
		default:
			kmb_buf_addc(out, c);
			lx->pos++;
			break;
		}
	}
}

static bool ends_word(char c, enum wctx ctx)
{
	if (c == '\0' || c == '\n' || c == ' ' || c == '\t')
		return true;
	return c == ')' && (ctx == W_ELEM || ctx == W_ELEM_VALUE);
}

/* One shell word at the cursor, quotes removed and variables expanded, appended to out. */
static int parse_word(struct lexer *lx, enum wctx ctx, struct kmb_buf *out)
{
	bool start = true, after_colon = false;

	for (;;) {
		char c = cur(lx);
		int r = 0;

		if (ends_word(c, ctx)) {
			if (ctx == W_REREAD && c)
				return syntax_error(
					lx, lx->line,
					"unquoted whitespace splits it into several words");
			return 0;
		}
		switch (c) {
		case '\\':
			if (peek(lx, 1) == '\n') {
				lx->pos += 2;
				lx->line++;
				continue;
			}
			if (peek(lx, 1)) {
				kmb_buf_addc(out, peek(lx, 1));
				lx->pos += 2;
			} else {
				kmb_buf_addc(out, '\\');
				lx->pos++;
			}
			break;
		case '\'':
			r = parse_single_quote(lx, out);
			break;
		case '"':
			r = parse_double_quote(lx, ctx, out);
			break;
		case '$':
			r = parse_dollar(lx, false, ctx, out);
			break;
		case '`':
			return needs_shell(lx, "command substitution `...`");
		case ';':
		case '&':
		case '|':
		case '<':
		case '>':
		case '(':
		case ')':
			if (ctx == W_REREAD)
				return syntax_error(
					lx, lx->line,
					"an embedded quote exposes the shell operator '%c'", c);
			return needs_shell(lx, "shell operator '%c'", c);
		case '*':
		case '?':
		case '[':
		case '{':
			if (ctx == W_ELEM)
				return needs_shell(lx, "'%c' in a list is expanded by bash", c);
			kmb_buf_addc(out, c);
			lx->pos++;
			break;
		case '~':
			if (start || after_colon)
				return needs_shell(lx, "tilde expansion");
			/* fall through */
		default:
			kmb_buf_addc(out, c);
			lx->pos++;
			break;
		}
		if (r)
			return r;
		after_colon = c == ':';
		start = false;
	}
}

/* Name the variable whose value the diagnostic is about: "MAKE[0]: ...". */
static void name_diag(struct lexer *lx, const char *name, long index)
{
	char *m = index >= 0 ? kmb_xasprintf("%s[%ld]: %s", name, index, lx->d->msg)
			     : kmb_xasprintf("%s: %s", name, lx->d->msg);

	snprintf(lx->d->msg, sizeof(lx->d->msg), "%s", m);
	free(m);
}

static void free_elems(struct kmb_sh_elem *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].value);
	free(e);
}

/* "[digits]=" at the cursor inside a list: consume it and return the index, else -1. */
static long list_index(struct lexer *lx)
{
	const char *p = lx->s + lx->pos + 1;
	char *end;
	long v;

	if (*p < '0' || *p > '9')
		return -1;
	v = strtol(p, &end, 10);
	if (end[0] != ']' || end[1] != '=' || v > SH_MAX_INDEX)
		return -1;
	lx->pos = (size_t)(end + 2 - lx->s);
	return v;
}

static int parse_list(struct lexer *lx, struct kmb_sh_assign *a, kmb_sh_assign_fn assign, void *ud)
{
	struct kmb_sh_elem *e = NULL;
	size_t n = 0, cap = 0;
	int line0 = lx->line, r;

	lx->pos++;
	for (;;) {
		char c;
		long index = -1;
		struct kmb_buf w = {0};

		skip_blanks(lx);
		c = cur(lx);
		if (c == '\n') {
			lx->pos++;
			lx->line++;
			continue;
		}
		if (c == '#') {
			skip_comment(lx);
			continue;
		}
		if (!c) {
			r = syntax_error(lx, line0, "unterminated '(' list");
			goto out;
		}
		if (c == ')') {
			lx->pos++;
			break;
		}
		if (c == '[') {
			index = list_index(lx);
			if (index < 0) {
				r = needs_shell(lx, "'[' in a list is expanded by bash");
				goto out;
			}
		}
		r = parse_word(lx, index >= 0 ? W_ELEM_VALUE : W_ELEM, &w);
		if (r) {
			kmb_buf_free(&w);
			name_diag(lx, a->name, -1);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			e = kmb_xrealloc(e, cap * sizeof(*e));
		}
		e[n].index = index;
		e[n++].value = kmb_buf_steal(&w);
	}
	if (!ends_word(cur(lx), W_VALUE)) {
		r = needs_shell(lx, "text right after ')'");
		goto out;
	}
	a->kind = KMB_SH_LIST;
	a->n = n;
	a->elems = e;
	r = assign(ud, a, lx->d);
out:
	free_elems(e, n);
	return r;
}

/*
 * An assignment word at the cursor. *not_assignment is set (and nothing consumed) when the
 * word is something else; the caller decides what that means.
 */
static int parse_assignment(struct lexer *lx, kmb_sh_assign_fn assign, void *ud,
			    bool *not_assignment)
{
	char name[SH_MAX_NAME + 1];
	size_t start = lx->pos, len = 0;
	struct kmb_sh_assign a = {.name = name, .index = -1, .line = lx->line};
	struct kmb_buf v = {0};
	int r;

	*not_assignment = false;
	if (!is_name_start(cur(lx))) {
		*not_assignment = true;
		return 0;
	}
	while (is_name_char(cur(lx)) && len < SH_MAX_NAME)
		name[len++] = lx->s[lx->pos++];
	name[len] = '\0';
	if (cur(lx) == '[') {
		const char *p = lx->s + lx->pos + 1;
		char *end;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9') {
			lx->pos = start;
			return needs_shell(lx, "computed array index in '%s[...'", name);
		}
		a.index = strtol(p, &end, 10);
		while (*end == ' ')
			end++;
		if (*end != ']') {
			lx->pos = start;
			return needs_shell(lx, "computed array index in '%s[...'", name);
		}
		if (a.index > SH_MAX_INDEX)
			return syntax_error(lx, lx->line, "%s[%ld]: index too large", name,
					    a.index);
		lx->pos = (size_t)(end + 1 - lx->s);
		a.kind = KMB_SH_ELEMENT;
	}
	if (cur(lx) == '+' && peek(lx, 1) == '=') {
		a.append = true;
		lx->pos += 2;
	} else if (cur(lx) == '=') {
		lx->pos++;
	} else {
		lx->pos = start;
		*not_assignment = true;
		return 0;
	}
	if (cur(lx) == '(') {
		if (a.kind == KMB_SH_ELEMENT)
			return needs_shell(lx, "list assigned to the array element %s[%ld]", name,
					   a.index);
		return parse_list(lx, &a, assign, ud);
	}
	r = parse_word(lx, W_VALUE, &v);
	if (r)
		name_diag(lx, name, a.index);
	else {
		a.value = v.s ? v.s : "";
		r = assign(ud, &a, lx->d);
	}
	kmb_buf_free(&v);
	return r;
}

static bool is_keyword(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && memcmp(w, kw, n) == 0;
}

/* Flags of export/declare/...: which ones only change attributes we can ignore. */
static int parse_flags(struct lexer *lx, enum kmb_sh_mode mode)
{
	for (;;) {
		char w[40];

		skip_blanks(lx);
		if (cur(lx) != '-')
			return 0;
		word_at(lx, w, sizeof(w));
		for (const char *p = w + 1; *p; p++) {
			const char *ok = mode == KMB_SH_DECLARE ? "-airxgltu" : "-arxg";
			if (!strchr(ok, *p)) {
				if (mode == KMB_SH_DECLARE)
					return syntax_error(
						lx, lx->line,
						"unsupported attribute '%s' in bash output", w);
				return needs_shell(lx, "declaration option '%s'", w);
			}
		}
		lx->pos += strlen(w);
		if (!ends_word(cur(lx), W_VALUE))
			return needs_shell(lx, "declaration option '%s'", w);
	}
}

static int parse_statement(struct lexer *lx, enum kmb_sh_mode mode, kmb_sh_assign_fn assign,
			   void *ud)
{
	const char *w = lx->s + lx->pos;
	size_t wl = 0;
	bool decl = false;
	int r;

	while (is_name_char(w[wl]))
		wl++;
	if (wl && ends_word(w[wl], W_VALUE)) {
		decl = is_keyword(w, wl, "declare") || is_keyword(w, wl, "typeset");
		if (mode == KMB_SH_CONF)
			decl = decl || is_keyword(w, wl, "export") ||
			       is_keyword(w, wl, "readonly") || is_keyword(w, wl, "local");
	}
	if (mode == KMB_SH_DECLARE && !decl) {
		char word[40];
		word_at(lx, word, sizeof(word));
		return syntax_error(lx, lx->line, "unexpected '%s' in bash output", word);
	}
	if (decl) {
		lx->pos += wl;
		r = parse_flags(lx, mode);
		if (r)
			return r;
	}
	for (;;) {
		bool not_assignment;
		char c;

		skip_blanks(lx);
		c = cur(lx);
		if (!c)
			return 0;
		if (c == '\n') {
			lx->pos++;
			lx->line++;
			return 0;
		}
		if (c == '#') {
			skip_comment(lx);
			continue;
		}
		r = parse_assignment(lx, assign, ud, &not_assignment);
		if (r)
			return r;
		if (!not_assignment)
			continue;
		/* `export NAME` / `declare -a NAME` without a value do not change any value. */
		if (decl && is_name_start(c)) {
			size_t p = lx->pos;
			while (is_name_char(lx->s[p]))
				p++;
			if (ends_word(lx->s[p], W_VALUE)) {
				lx->pos = p;
				continue;
			}
		}
		char word[40];
		word_at(lx, word, sizeof(word));
		if (mode == KMB_SH_DECLARE)
			return syntax_error(lx, lx->line, "unexpected '%s' in bash output", word);
		return needs_shell(lx, "command '%s'", word);
	}
}

int kmb_sh_parse(const char *text, enum kmb_sh_mode mode, kmb_sh_lookup_fn lookup,
		 kmb_sh_assign_fn assign, void *ud, struct kmb_sh_diag *d)
{
	struct lexer lx = {
		.s = text,
		.line = 1,
		.strict = mode == KMB_SH_DECLARE,
		.lookup = lookup,
		.ud = ud,
		.d = d,
	};

	d->line = 0;
	d->msg[0] = '\0';
	for (;;) {
		int r;

		skip_blanks(&lx);
		switch (cur(&lx)) {
		case '\0':
			return 0;
		case '\n':
			lx.pos++;
			lx.line++;
			continue;
		case '#':
			skip_comment(&lx);
			continue;
		}
		r = parse_statement(&lx, mode, assign, ud);
		if (r)
			return r;
	}
}

int kmb_sh_dkms_reread(const char *value, kmb_sh_lookup_fn lookup, void *ud, char **out,
		       struct kmb_sh_diag *d)
{
	struct kmb_buf text = {0}, res = {0};
	size_t n = strlen(value);
	bool pending_space = false;
	struct lexer lx = {.line = 1, .lookup = lookup, .ud = ud, .d = d};
	int r;

	d->line = 0;
	d->msg[0] = '\0';
	if (n && value[n - 1] == '\r')
		n--;
	/*
	 * The value sits inside one word (NAME[i]=\"<value>\"), so every whitespace run becomes
	 * one space, leading and trailing runs included.
	 */
	kmb_buf_addc(&text, '"');
	for (size_t i = 0; i < n; i++) {
		char c = value[i];
		if (c == ' ' || c == '\t' || c == '\n') {
			pending_space = true;
			continue;
		}
		if (pending_space)
			kmb_buf_addc(&text, ' ');
		pending_space = false;
		kmb_buf_addc(&text, c);
	}
	if (pending_space)
		kmb_buf_addc(&text, ' ');
	kmb_buf_addc(&text, '"');
	lx.s = text.s;
	r = parse_word(&lx, W_REREAD, &res);
	if (!r && cur(&lx))
		r = syntax_error(&lx, 1, "text after the closing quote");
	kmb_buf_free(&text);
	if (r) {
		kmb_buf_free(&res);
		d->line = 0;
		return r;
	}
	*out = kmb_buf_steal(&res);
	return 0;
}

void kmb_sh_quote(struct kmb_buf *b, const char *s)
{
	kmb_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			kmb_buf_adds(b, "'\\''");
		else
			kmb_buf_addc(b, *s);
	}
	kmb_buf_addc(b, '\'');
}

void kmb_sh_scan_assignments(const char *text, const char *name, bool *unindexed, bool *indexed)
{
	size_t len = strlen(name);

	*unindexed = *indexed = false;
	for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
		const char *q = p + len;

		if (p > text && (is_name_char(p[-1]) || p[-1] == '$'))
			continue;
		if (p > text + 1 && p[-1] == '{' && p[-2] == '$')
			continue;
		if (*q == '[') {
			while (*q && *q != ']' && *q != '\n')
				q++;
			if (*q != ']')
				continue;
			q++;
			if (*q == '+')
				q++;
			if (*q == '=')
				*indexed = true;
			continue;
		}
		if (*q == '+')
			q++;
		if (*q == '=')
			*unindexed = true;
	}
}
