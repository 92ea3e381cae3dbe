/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small shared helpers: strings, files, processes. Errors are negative errno. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define KMB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is not a recoverable condition for a CLI tool: these abort. */
void *kmb_xmalloc(size_t n);
void *kmb_xcalloc(size_t n, size_t size);
void *kmb_xrealloc(void *p, size_t n);
char *kmb_xstrdup(const char *s);
char *kmb_xstrndup(const char *s, size_t n);
char *kmb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One-line error message into a caller's buffer (newlines become spaces); NULL/0 is fine. */
void kmb_errbuf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Set *reason to a malloc'd one-line message and return rc: `return kmb_fail(r, 8, "...")`. */
int kmb_fail(char **reason, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A growable string. */
struct kmb_buf {
	char *s;
	size_t len, cap;
};
void kmb_buf_add(struct kmb_buf *b, const char *s, size_t n);
void kmb_buf_adds(struct kmb_buf *b, const char *s);
void kmb_buf_addc(struct kmb_buf *b, char c);
void kmb_buf_printf(struct kmb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *kmb_buf_steal(struct kmb_buf *b); /* returns "" for an empty buffer, never NULL */
void kmb_buf_free(struct kmb_buf *b);

/* NULL-terminated string vectors. */
struct kmb_strv {
	char **v;
	size_t n, cap;
};
void kmb_strv_push(struct kmb_strv *sv, const char *s);
void kmb_strv_pushf(struct kmb_strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool kmb_strv_contains(const struct kmb_strv *sv, const char *s);
void kmb_strv_free(struct kmb_strv *sv);

/* qsort comparator for an array of char *. */
int kmb_strcmp_p(const void *a, const void *b);
/* Entry names of dir not starting with '.', ending in suffix when given, sorted, appended
 * to out. A missing dir adds nothing. */
void kmb_dir_names(const char *dir, const char *suffix, struct kmb_strv *out);
bool kmb_startswith(const char *s, const char *prefix);
bool kmb_endswith(const char *s, const char *suffix);
/* Valid as one path component: non-empty, no '/', not "." or "..". */
bool kmb_is_safe_name(const char *s);

/* Files. */
int kmb_read_file(const char *path, char **out, size_t *len); /* NUL-terminated */
/* Write temp file in the same dir, fsync, rename over path, fsync the dir. */
int kmb_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
int kmb_copy_file_atomic(const char *src, const char *dst, mode_t mode);
int kmb_mkdir_p(const char *path, mode_t mode);
int kmb_rm_rf(const char *path);
int kmb_fsync_dir(const char *dir);
/* Replace (or create) a symlink atomically: symlink to a temp name, rename over. */
int kmb_symlink_atomic(const char *target, const char *linkpath);
bool kmb_exists(const char *path);
bool kmb_is_dir(const char *path);
int kmb_sha256_file(const char *path, char hex[65]);

/* Processes. */
struct kmb_run {
	const char *const *argv; /* argv[0] is looked up in PATH */
	const char *cwd;	 /* NULL: inherit */
	const char *const *env;	 /* NULL: inherit environ */
	int out_fd;		 /* -1: inherit; else stdout and stderr go here */
	int in_fd;		 /* -1: /dev/null */
	const int *keep_fds;	 /* extra fds the child keeps (jobserver), -1 terminated */
};
/* Returns the exit status (0..255), 128+signal, or negative errno if it could not run. */
int kmb_run(const struct kmb_run *r);
/* Convenience: run argv, capture stdout (stderr to /dev/null) into *out. */
int kmb_run_capture(const char *const *argv, const char *cwd, char **out);

/* Monotonic milliseconds, for elapsed times and benchmarks. */
long long kmb_now_ms(void);
