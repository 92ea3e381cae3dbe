/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Registering module sources ("add") and forgetting them ("remove"). */
#pragma once

#include "base/kmb.h"

/*
 * Register a module from a directory holding dkms.conf/kmbuild.conf, a path to such a file,
 * or a source tarball. The source lands in <root>/usr/src/<m>-<v> (unless it already is
 * there) and <state>/<m>/<v>/source points at it. On error nothing is left behind.
 * Sets name and version (malloc'd) on success. Returns a kmb_exit code.
 */
int kmb_registry_add(const struct kmb_ctx *ctx, const char *path, char **name, char **version,
		     char **reason);

/* Registered versions of name, highest first (kmb_vercmp). */
int kmb_registry_versions(const struct kmb_ctx *ctx, const char *name, char ***versions, size_t *n);
/* Registered module names, sorted. */
int kmb_registry_names(const struct kmb_ctx *ctx, char ***names, size_t *n);
void kmb_registry_strv_free(char **v, size_t n);

/* Forget (name, version) entirely: its state dir (not the source under /usr/src unless we
 * copied it there). The caller has uninstalled it everywhere first. */
int kmb_registry_forget(const struct kmb_ctx *ctx, const char *name, const char *version);
