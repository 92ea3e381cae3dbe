// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void kmb_oom(void)
{
	fputs("kmbuild: out of memory\n", stderr);
	abort();
}

void *kmb_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		kmb_oom();
	return p;
}

void *kmb_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		kmb_oom();
	return p;
}

void *kmb_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		kmb_oom();
	return p;
}

char *kmb_xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		kmb_oom();
	return p;
}

char *kmb_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		kmb_oom();
	return p;
}

char *kmb_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		kmb_oom();
	va_end(ap);
	return p;
}

void kmb_errbuf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int kmb_fail(char **reason, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(reason, fmt, ap) < 0)
		kmb_oom();
	va_end(ap);
	for (char *p = *reason; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return rc;
}

void kmb_buf_add(struct kmb_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = kmb_xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void kmb_buf_adds(struct kmb_buf *b, const char *s)
{
	kmb_buf_add(b, s, strlen(s));
}

void kmb_buf_addc(struct kmb_buf *b, char c)
{
	kmb_buf_add(b, &c, 1);
}

void kmb_buf_printf(struct kmb_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		kmb_oom();
	kmb_buf_add(b, p, (size_t)n);
	free(p);
}

char *kmb_buf_steal(struct kmb_buf *b)
{
	char *s = b->s ? b->s : kmb_xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void kmb_buf_free(struct kmb_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void kmb_strv_push(struct kmb_strv *sv, const char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = kmb_xrealloc(sv->v, sv->cap * sizeof(char *));
	}
	sv->v[sv->n++] = kmb_xstrdup(s);
	sv->v[sv->n] = NULL;
}

void kmb_strv_pushf(struct kmb_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		kmb_oom();
	va_end(ap);
	kmb_strv_push(sv, p);
	free(p);
}

bool kmb_strv_contains(const struct kmb_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void kmb_strv_free(struct kmb_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int kmb_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void kmb_dir_names(const char *dir, const char *suffix, struct kmb_strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = out->n;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (!suffix || kmb_endswith(de->d_name, suffix)))
			kmb_strv_push(out, de->d_name);
	closedir(d);
	if (out->n > first)
		qsort(out->v + first, out->n - first, sizeof(char *), kmb_strcmp_p);
}

bool kmb_startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool kmb_endswith(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

bool kmb_is_safe_name(const char *s)
{
	return s && *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       !strchr(s, '\n');
}

int kmb_read_file(const char *path, char **out, size_t *len)
{
	struct kmb_buf b = {0};
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			kmb_buf_free(&b);
			return e;
		}
		kmb_buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (len)
		*len = b.len;
	*out = kmb_buf_steal(&b);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return kmb_xstrdup(".");
	if (slash == path)
		return kmb_xstrdup("/");
	return kmb_xstrndup(path, (size_t)(slash - path));
}

int kmb_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* Temp names carry the pid so two writers (never expected, but cheap) cannot collide. */
static char *temp_name(const char *path)
{
	return kmb_xasprintf("%s.kmb-tmp.%ld", path, (long)getpid());
}

int kmb_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = temp_name(path), *dir = dir_of(path);
	int r, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	else
		kmb_fsync_dir(dir);
out:
	free(tmp);
	free(dir);
	return r;
}

int kmb_copy_file_atomic(const char *src, const char *dst, mode_t mode)
{
	char *data;
	size_t len;
	int r = kmb_read_file(src, &data, &len);

	if (r < 0)
		return r;
	r = kmb_write_file_atomic(dst, data, len, mode);
	free(data);
	return r;
}

int kmb_mkdir_p(const char *path, mode_t mode)
{
	char *p = kmb_xstrdup(path);
	int r = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			r = -errno;
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		r = -errno;
	else if (!kmb_is_dir(p))
		r = -ENOTDIR;
out:
	free(p);
	return r;
}

static int rm_rf_at(int parent, const char *name)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;

	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int e = rm_rf_at(dirfd(d), de->d_name);
		if (e < 0 && r == 0)
			r = e;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int kmb_rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int kmb_symlink_atomic(const char *target, const char *linkpath)
{
	char *tmp = temp_name(linkpath), *dir = dir_of(linkpath);
	int r = 0;

	unlink(tmp);
	if (symlink(target, tmp) < 0)
		r = -errno;
	else if (rename(tmp, linkpath) < 0) {
		r = -errno;
		unlink(tmp);
	} else {
		kmb_fsync_dir(dir);
	}
	free(tmp);
	free(dir);
	return r;
}

bool kmb_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

bool kmb_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int kmb_sha256_file(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *data;
	size_t len;
	int r = kmb_read_file(path, &data, &len);

	if (r < 0)
		return r;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL)) {
		free(data);
		return -EIO;
	}
	free(data);
	for (unsigned int i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	hex[64] = '\0';
	return 0;
}

int kmb_run(const struct kmb_run *r)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int status, e;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* The scheduler blocks SIGCHLD; children must start with a clean mask. */
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	if (r->in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, r->in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (r->out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, r->out_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, r->out_fd, 2);
	}
	if (r->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, r->cwd);
	e = posix_spawnp(&pid, r->argv[0], &fa, &attr, (char *const *)r->argv,
			 r->env ? (char *const *)r->env : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e != 0)
		return -e;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int kmb_run_capture(const char *const *argv, const char *cwd, char **out)
{
	char tmpl[] = "/tmp/kmbuild-capture.XXXXXX";
	int fd = mkostemp(tmpl, O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	unlink(tmpl);
	/* stderr of the child is discarded: callers parse stdout only. */
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	if (devnull >= 0)
		posix_spawn_file_actions_adddup2(&fa, devnull, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (devnull >= 0)
		close(devnull);
	if (rc != 0) {
		close(fd);
		return -rc;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			close(fd);
			return -errno;
		}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (out) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (kmb_read_file(path, out, NULL) < 0)
			*out = kmb_xstrdup("");
	}
	close(fd);
	return rc;
}

long long kmb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
