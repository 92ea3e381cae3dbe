// SPDX-License-Identifier: GPL-2.0-or-later
/* The state tree (layout in state.h): listing, records, installed-file lists, the lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/state.h"
#include "base/util.h"
#include "base/version.h"

const char *kmb_state_name(enum kmb_state s)
{
	switch (s) {
	case KMB_ST_ADDED:
		return "added";
	case KMB_ST_BUILT:
		return "built";
	case KMB_ST_INSTALLED:
		return "installed";
	case KMB_ST_FAILED:
		return "failed";
	case KMB_ST_BROKEN:
		return "broken";
	case KMB_ST_EXCLUDED:
		return "excluded";
	}
	return "unknown";
}

char *kmb_state_version_dir(const struct kmb_ctx *ctx, const char *name, const char *version)
{
	return kmb_xasprintf("%s/%s/%s", ctx->state_dir, name, version);
}

char *kmb_state_kernel_dir(const struct kmb_ctx *ctx, const char *name, const char *version,
			   const char *kernel, const char *arch)
{
	return kmb_xasprintf("%s/%s/%s/%s/%s", ctx->state_dir, name, version, kernel, arch);
}

int kmb_record_read(const char *kernel_dir, const char *key, char **value)
{
	char *path = kmb_xasprintf("%s/record", kernel_dir), *data, *line, *save = NULL;
	size_t kl = strlen(key);
	int r = kmb_read_file(path, &data, NULL);

	free(path);
	*value = NULL;
	if (r < 0)
		return r;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
			*value = kmb_xstrdup(line + kl + 1);
			break;
		}
	}
	free(data);
	return *value ? 0 : -ENOENT;
}

int kmb_record_write(const char *kernel_dir, const char *const *keys, const char *const *values,
		     size_t n)
{
	struct kmb_buf b = {0};
	char *path = kmb_xasprintf("%s/record", kernel_dir);
	int r;

	for (size_t i = 0; i < n; i++) {
		if (!values[i])
			continue;
		/* Values are single lines by construction; a newline would forge a key. */
		kmb_buf_printf(&b, "%s=", keys[i]);
		for (const char *p = values[i]; *p; p++)
			kmb_buf_addc(&b, *p == '\n' ? ' ' : *p);
		kmb_buf_addc(&b, '\n');
	}
	r = kmb_write_file_atomic(path, b.s ? b.s : "", b.len, 0644);
	kmb_buf_free(&b);
	free(path);
	return r;
}

static bool is_kernel_dir_name(const char *s)
{
	return s[0] >= '0' && s[0] <= '9';
}

static void entry_push(struct kmb_entry **v, size_t *n, size_t *cap, struct kmb_entry e)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = kmb_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = e;
}

static struct kmb_strv list_dir(const char *dir)
{
	struct kmb_strv out = {0};
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return out;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			kmb_strv_push(&out, de->d_name);
	closedir(d);
	return out;
}

/* Installed but a recorded file is gone or changed: say which. */
static char *check_installed_files(const struct kmb_ctx *ctx, const char *kdir)
{
	char *path = kmb_xasprintf("%s/installed", kdir), *data, *line, *save = NULL;
	char *reason = NULL;

	if (kmb_read_file(path, &data, NULL) < 0) {
		free(path);
		return kmb_xstrdup("installed-file record missing");
	}
	free(path);
	for (line = strtok_r(data, "\n", &save); line && !reason;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		char *rel = sp + 1, *sp2 = strchr(rel, ' ');
		if (sp2)
			*sp2 = '\0';
		char *abs = kmb_root_path(ctx, rel);
		if (!kmb_exists(abs))
			reason = kmb_xasprintf("installed file missing: %s", rel);
		free(abs);
	}
	free(data);
	return reason;
}

/* The record's status word; a decision (failed, excluded) keeps its reason. */
static enum kmb_state record_state(const char *status)
{
	if (strcmp(status, "failed") == 0)
		return KMB_ST_FAILED;
	if (strcmp(status, "excluded") == 0)
		return KMB_ST_EXCLUDED;
	return KMB_ST_BUILT;
}

static void list_version(const struct kmb_ctx *ctx, const char *name, const char *version,
			 const char *kernel_filter, struct kmb_entry **v, size_t *n, size_t *cap)
{
	char *vdir = kmb_state_version_dir(ctx, name, version);
	char *src = kmb_xasprintf("%s/source", vdir);
	bool broken = !kmb_is_dir(src);
	size_t before = *n;
	struct kmb_strv kernels = list_dir(vdir);

	for (size_t i = 0; i < kernels.n; i++) {
		const char *k = kernels.v[i];
		if (!is_kernel_dir_name(k) || (kernel_filter && strcmp(k, kernel_filter) != 0))
			continue;
		char *kd = kmb_xasprintf("%s/%s", vdir, k);
		struct kmb_strv arches = list_dir(kd);
		for (size_t j = 0; j < arches.n; j++) {
			char *adir = kmb_xasprintf("%s/%s", kd, arches.v[j]);
			char *status = NULL, *reason = NULL;
			struct kmb_entry e = {0};

			if (!kmb_is_dir(adir) || kmb_record_read(adir, "status", &status) < 0) {
				free(adir);
				free(status);
				continue; /* a build still in progress, or debris */
			}
			kmb_record_read(adir, "reason", &reason);
			e.name = kmb_xstrdup(name);
			e.version = kmb_xstrdup(version);
			e.kernel = kmb_xstrdup(k);
			e.arch = kmb_xstrdup(arches.v[j]);
			e.state = record_state(status);
			e.reason = e.state != KMB_ST_BUILT ? reason : NULL;
			if (e.state == KMB_ST_BUILT)
				free(reason);
			char *log = kmb_xasprintf("%s/log/make.log", adir);
			if (kmb_exists(log))
				e.log = log;
			else
				free(log);

			char *marker = kmb_xasprintf("%s/%s/kernel-%s-%s", ctx->state_dir, name, k,
						     arches.v[j]);
			char *want = kmb_xasprintf("%s/%s/%s", version, k, arches.v[j]);
			char target[4096];
			ssize_t tl = readlink(marker, target, sizeof(target) - 1);
			if (tl > 0) {
				target[tl] = '\0';
				if (strcmp(target, want) == 0) {
					e.state = KMB_ST_INSTALLED;
					free(e.reason);
					e.reason = check_installed_files(ctx, adir);
					if (e.reason)
						e.state = KMB_ST_BROKEN;
				}
			}
			free(marker);
			free(want);
			free(status);
			free(adir);
			entry_push(v, n, cap, e);
		}
		kmb_strv_free(&arches);
		free(kd);
	}
	kmb_strv_free(&kernels);
	if (broken || *n == before) {
		if (kernel_filter && !broken) {
			/* "added" is per version; a kernel filter still shows it. */
		}
		struct kmb_entry e = {0};
		e.name = kmb_xstrdup(name);
		e.version = kmb_xstrdup(version);
		e.state = broken ? KMB_ST_BROKEN : KMB_ST_ADDED;
		if (broken)
			e.reason = kmb_xasprintf("source missing: %s", src);
		entry_push(v, n, cap, e);
	}
	free(src);
	free(vdir);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct kmb_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	if ((c = kmb_vercmp(x->version, y->version)))
		return c;
	if (!x->kernel || !y->kernel)
		return x->kernel ? 1 : (y->kernel ? -1 : 0);
	if ((c = kmb_vercmp(y->kernel, x->kernel)))
		return c;
	return strcmp(x->arch, y->arch);
}

int kmb_state_list(const struct kmb_ctx *ctx, const char *name, const char *version,
		   const char *kernel, struct kmb_entry **out, size_t *n)
{
	struct kmb_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	struct kmb_strv names = list_dir(ctx->state_dir);

	for (size_t i = 0; i < names.n; i++) {
		if (name && strcmp(names.v[i], name) != 0)
			continue;
		char *mdir = kmb_xasprintf("%s/%s", ctx->state_dir, names.v[i]);
		struct kmb_strv versions = list_dir(mdir);
		for (size_t j = 0; j < versions.n; j++) {
			const char *ver = versions.v[j];
			if (kmb_startswith(ver, "kernel-") || strcmp(ver, "original_module") == 0)
				continue;
			if (version && strcmp(ver, version) != 0)
				continue;
			/* A version dir has a "source" entry, possibly dangling (broken). */
			char *src = kmb_xasprintf("%s/%s/source", mdir, ver);
			if (kmb_exists(src))
				list_version(ctx, names.v[i], ver, kernel, &v, &cnt, &cap);
			free(src);
		}
		kmb_strv_free(&versions);
		free(mdir);
	}
	kmb_strv_free(&names);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), entry_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

void kmb_entries_free(struct kmb_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].version);
		free(v[i].kernel);
		free(v[i].arch);
		free(v[i].reason);
		free(v[i].log);
	}
	free(v);
}

int kmb_state_installed_files(const struct kmb_ctx *ctx, const char *name, const char *version,
			      const char *kernel, const char *arch, struct kmb_installed_file **out,
			      size_t *n)
{
	char *kd = kmb_state_kernel_dir(ctx, name, version, kernel, arch);
	char *path = kmb_xasprintf("%s/installed", kd), *data, *line, *save = NULL;
	struct kmb_installed_file *v = NULL;
	size_t cnt = 0;
	int r = kmb_read_file(path, &data, NULL);

	free(kd);
	free(path);
	*out = NULL;
	*n = 0;
	if (r < 0)
		return r;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[3] = {line, NULL, NULL};
		for (int i = 1; i < 3; i++) {
			char *sp = strchr(f[i - 1], ' ');
			if (!sp)
				break;
			*sp = '\0';
			f[i] = sp + 1;
		}
		if (!f[2] || strlen(f[0]) != 64)
			continue;
		v = kmb_xrealloc(v, (cnt + 1) * sizeof(*v));
		memcpy(v[cnt].sha256, f[0], 65);
		v[cnt].path = kmb_xstrdup(f[1]);
		v[cnt].module = kmb_xstrdup(f[2]);
		cnt++;
	}
	free(data);
	*out = v;
	*n = cnt;
	return 0;
}

void kmb_installed_files_free(struct kmb_installed_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].module);
		free(v[i].path);
	}
	free(v);
}

int kmb_state_write_installed(const struct kmb_ctx *ctx, const char *name, const char *version,
			      const char *kernel, const char *arch,
			      const struct kmb_installed_file *files, size_t n)
{
	char *kd = kmb_state_kernel_dir(ctx, name, version, kernel, arch);
	char *path = kmb_xasprintf("%s/installed", kd);
	struct kmb_buf b = {0};

	for (size_t i = 0; i < n; i++)
		kmb_buf_printf(&b, "%s %s %s\n", files[i].sha256, files[i].path, files[i].module);
	int r = kmb_write_file_atomic(path, b.s ? b.s : "", b.len, 0644);
	kmb_buf_free(&b);
	free(path);
	free(kd);
	return r;
}

int kmb_lock_take(struct kmb_ctx *ctx)
{
	char *path;
	int fd, r;

	if (ctx->lock_fd >= 0)
		return 0;
	r = kmb_mkdir_p(ctx->state_dir, 0755);
	if (r < 0)
		return r;
	path = kmb_xasprintf("%s/.lock", ctx->state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		ctx->lock_fd = fd;
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		r = -errno;
		close(fd);
		return r;
	}
	kmb_warn("another kmbuild run holds %s/.lock; waiting up to %ds", ctx->state_dir,
		 ctx->lock_timeout_s);
	long long deadline = kmb_now_ms() + (long long)ctx->lock_timeout_s * 1000;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || kmb_now_ms() >= deadline) {
			close(fd);
			return -ETIMEDOUT;
		}
		usleep(50 * 1000);
	}
	ctx->lock_fd = fd;
	return 0;
}
