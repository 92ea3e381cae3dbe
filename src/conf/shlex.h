/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A lexer for the plain-data subset of bash that dkms.conf files are written in: assignments
 * (NAME=, NAME[i]=, NAME=(...), +=, export/declare prefixes), quoting, escapes, comments, line
 * continuations and $var / ${var} / ${var[i]} expansion. It never guesses: anything outside that
 * subset makes kmb_sh_parse() return KMB_SH_NEEDS_SHELL (conf mode) or an error (strict modes),
 * with the line and the construct in the diagnostic.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Positive return of kmb_sh_parse(): the text is real shell, evaluate it with bash. */
#define KMB_SH_NEEDS_SHELL 1

struct kmb_sh_diag {
	int line; /* 1-based line of the construct, 0 if unknown */
	char msg[256];
};

enum kmb_sh_kind {
	KMB_SH_SCALAR,	/* NAME=value, NAME+=value */
	KMB_SH_ELEMENT, /* NAME[i]=value, NAME[i]+=value */
	KMB_SH_LIST,	/* NAME=(a b [5]=c), NAME+=(...) */
};

struct kmb_sh_elem {
	long index; /* explicit [i]=, or -1: one after the previous element */
	char *value;
};

struct kmb_sh_assign {
	const char *name;
	enum kmb_sh_kind kind;
	bool append;
	long index;	   /* KMB_SH_ELEMENT */
	const char *value; /* KMB_SH_SCALAR, KMB_SH_ELEMENT */
	size_t n;	   /* KMB_SH_LIST */
	const struct kmb_sh_elem *elems;
	int line;
};

/*
 * Resolve $name (index -1) or ${name[index]}. Return false when the variable is unknown: the
 * parser then asks for real bash (or fails in strict modes) instead of substituting "".
 */
typedef bool (*kmb_sh_lookup_fn)(void *ud, const char *name, long index, const char **value);
/* Apply one assignment; return 0 or -EINVAL with d->msg set. */
typedef int (*kmb_sh_assign_fn)(void *ud, const struct kmb_sh_assign *a, struct kmb_sh_diag *d);

enum kmb_sh_mode {
	KMB_SH_CONF,	/* a dkms.conf: constructs beyond plain data -> KMB_SH_NEEDS_SHELL */
	KMB_SH_DECLARE, /* output of `declare -p`: only `declare [-flags] NAME[=value]` lines */
};

/*
 * Parse text (LF line endings; callers normalise CRLF) statement by statement, calling assign
 * for each assignment in order, so that later expansions see earlier values.
 * Returns 0, KMB_SH_NEEDS_SHELL (conf mode) or -EINVAL; d is filled in both non-zero cases.
 */
int kmb_sh_parse(const char *text, enum kmb_sh_mode mode, kmb_sh_lookup_fn lookup,
		 kmb_sh_assign_fn assign, void *ud, struct kmb_sh_diag *d);

/*
 * DKMS's read-back of a value (safe_source, dkms.in:540-575): one trailing CR is stripped, the
 * value is echoed unquoted into NAME[i]="<value>" (IFS word splitting: every whitespace run,
 * leading and trailing ones included, becomes one space) and that line is sourced again, so
 * embedded double quotes, backslashes and $var are interpreted a second time. lookup resolves
 * the variables DKMS has at that point.
 * Returns 0 with *out set; KMB_SH_NEEDS_SHELL when the second read runs shell code (command
 * substitution, unknown variables, ...: only bash can give the value); -EINVAL when embedded
 * quotes make DKMS split the line (the value is lost and the rest runs as a command).
 * Pathname expansion of the unquoted echo is not reproduced (it depends on DKMS's cwd).
 */
int kmb_sh_dkms_reread(const char *value, kmb_sh_lookup_fn lookup, void *ud, char **out,
		       struct kmb_sh_diag *d);

/* Append s to b as one single-quoted shell word. */
void kmb_sh_quote(struct kmb_buf *b, const char *s);

/*
 * Does text contain an assignment to NAME written unindexed (NAME=, NAME+=) and/or indexed
 * (NAME[...]=)? A lexical scan for files that bash evaluates, where the two forms cannot be
 * told apart afterwards.
 */
void kmb_sh_scan_assignments(const char *text, const char *name, bool *unindexed, bool *indexed);

/* Is name a shell variable name ([A-Za-z_][A-Za-z0-9_]*)? */
bool kmb_sh_is_name(const char *name);
