/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures the unit tests share: a temporary directory removed at the end, files written into
 * it with their directories, and a kmb_ctx whose root is such a directory (a sandbox). Static
 * inline, because the Makefile links each test_*.c alone with the engine objects. Include it
 * after <cmocka.h>.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/kmb.h"
#include "base/util.h"

/* The directory of a group run with unit_group_setup and unit_group_teardown. */
static char *unit_tmp __attribute__((unused));

/* A new directory /tmp/kmb-<test binary>.XXXXXX (malloc'd), or NULL. */
static inline char *unit_mkdtemp(void)
{
	char *dir = kmb_xasprintf("/tmp/kmb-%s.XXXXXX", program_invocation_short_name);

	if (mkdtemp(dir))
		return dir;
	free(dir);
	return NULL;
}

/* cmocka group setup and teardown: unit_tmp exists while the group runs. */
static inline int unit_group_setup(void **state)
{
	(void)state;
	unit_tmp = unit_mkdtemp();
	return unit_tmp ? 0 : -1;
}

static inline int unit_group_teardown(void **state)
{
	(void)state;
	kmb_rm_rf(unit_tmp);
	free(unit_tmp);
	unit_tmp = NULL;
	return 0;
}

/* unit_tmp/rel (malloc'd). */
static inline char *unit_path(const char *rel)
{
	return kmb_xasprintf("%s/%s", unit_tmp, rel);
}

static inline void unit_mkdir(const char *dir)
{
	assert_int_equal(kmb_mkdir_p(dir, 0755), 0);
}

/* Create the directory a file goes into. */
static inline void unit_mkdir_parent(const char *path)
{
	char *dir = kmb_xstrdup(path);

	*strrchr(dir, '/') = '\0';
	unit_mkdir(dir);
	free(dir);
}

/* Write a file, its directories first. */
static inline void unit_write(const char *path, const void *data, size_t len, mode_t mode)
{
	unit_mkdir_parent(path);
	assert_int_equal(kmb_write_file_atomic(path, data, len, mode), 0);
}

static inline void unit_write_text(const char *path, const char *text)
{
	unit_write(path, text, strlen(text), 0644);
}

/* Write text to unit_tmp/rel; returns the path (malloc'd). */
static inline char *unit_put(const char *rel, const char *text)
{
	char *path = unit_path(rel);

	unit_write_text(path, text);
	return path;
}

/* A kmb_ctx on a root directory (created). */
static inline void unit_ctx_init(struct kmb_ctx *ctx, const char *root)
{
	unit_mkdir(root);
	assert_int_equal(kmb_ctx_init(ctx, root), 0);
}

/* A ctx whose root is a temp dir of its own, for per-test fixtures. */
struct unit_sandbox {
	char *root;
	struct kmb_ctx ctx;
};

static inline void unit_sandbox_open(struct unit_sandbox *sb)
{
	sb->root = unit_mkdtemp();
	assert_non_null(sb->root);
	assert_int_equal(kmb_ctx_init(&sb->ctx, sb->root), 0);
}

static inline void unit_sandbox_close(struct unit_sandbox *sb)
{
	kmb_ctx_free(&sb->ctx);
	kmb_rm_rf(sb->root);
	free(sb->root);
	sb->root = NULL;
}
