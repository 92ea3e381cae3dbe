// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "core/cost.h"

static char *note_path(const struct kmb_ctx *ctx, const char *name)
{
	return kmb_xasprintf("%s/%s/.last_build_ms", ctx->state_dir, name);
}

void kmb_cost_note_build(const struct kmb_ctx *ctx, const char *name, long long ms)
{
	char *p = note_path(ctx, name);
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld\n", ms);

	kmb_write_file_atomic(p, buf, (size_t)n, 0644);
	free(p);
}

/* Bytes of the regular files under dir (links not followed). */
static long long tree_bytes(int dirfd)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	long long sum = 0;

	if (!d) {
		close(dirfd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode))
			sum += st.st_size;
		else if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				sum += tree_bytes(fd);
		}
	}
	closedir(d);
	return sum;
}

long long kmb_cost_expected_ms(const struct kmb_ctx *ctx, const char *name, const char *version)
{
	char *p = note_path(ctx, name), *data = NULL;
	long long ms = -1;

	if (kmb_read_file(p, &data, NULL) == 0)
		ms = strtoll(data, NULL, 10);
	free(data);
	free(p);
	if (ms >= 0)
		return ms;
	/* The source link's target; links inside the tree are not followed. */
	char *src = kmb_xasprintf("%s/%s/%s/source/", ctx->state_dir, name, version);
	int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(src);
	return fd < 0 ? 0 : tree_bytes(fd) / 100;
}
