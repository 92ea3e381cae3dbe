/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state tree: the one source of truth, laid out like DKMS's so that /var/lib/dkms can
 * later be a view of it (same layout under another tree root):
 *
 *   <state>/<m>/<v>/source            -> <root>/usr/src/<m>-<v>   registered ("added")
 *   <state>/<m>/<v>/<k>/<a>/module/    final .ko files (stripped, signed, compressed)
 *   <state>/<m>/<v>/<k>/<a>/log/make.log
 *   <state>/<m>/<v>/<k>/<a>/build/     private kbuild dir of this (m, v, k, a)
 *   <state>/<m>/<v>/<k>/<a>/record     "key=value" lines, written atomically; status is
 *                                     built, failed or excluded
 *   <state>/<m>/<v>/<k>/<a>/installed  "<sha256> <root-relative path> <module>" lines
 *   <state>/<m>/<v>/build             DKMS's per-version build dir: in a build's private
 *                                     mount namespace, that build (core/dkms_exec.h); else
 *                                     an empty directory
 *   <state>/<m>/kernel-<k>-<a>        -> <v>/<k>/<a>    installed marker (DKMS semantics)
 *   <state>/<m>/original_module/<k>/<a>/...   in-tree modules we shadowed, restored on uninstall
 *   <state>/<m>/.last_build_ms        how long its last build took (core/cost.h)
 *   <state>/.lock                     flock: one kmbuild run at a time
 *
 * Everything under <m>/<v>/<k>/<a> is keyed by (module, version, kernel, arch) and holds no
 * absolute path of the machine, so a build directory can be copied to another machine.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

enum kmb_state {
	KMB_ST_ADDED,	  /* registered, not built for this kernel */
	KMB_ST_BUILT,	  /* built, not installed */
	KMB_ST_INSTALLED, /* marker symlink points at this (v, k, a) */
	KMB_ST_FAILED,	  /* last build attempt failed (record has reason + log) */
	KMB_ST_BROKEN,	  /* source missing, or installed files missing/modified */
	KMB_ST_EXCLUDED,  /* BUILD_EXCLUSIVE_* excluded every module (record has the reason) */
};

const char *kmb_state_name(enum kmb_state s);

struct kmb_entry {
	char *name, *version;
	char *kernel, *arch; /* NULL for a version-level entry (added/broken) */
	enum kmb_state state;
	char *reason; /* NULL, or one line: why failed/broken, or an "installed" anomaly */
	char *log;    /* make.log path when it exists */
};

/* Entries sorted by name, version (kmb_vercmp), kernel (newest first), arch. Filters may be
 * NULL. Reads only directory entries, symlinks and small records: never parses dkms.conf. */
int kmb_state_list(const struct kmb_ctx *ctx, const char *name, const char *version,
		   const char *kernel, struct kmb_entry **out, size_t *n);
void kmb_entries_free(struct kmb_entry *v, size_t n);

struct kmb_installed_file {
	char *module; /* module name (file name without .ko[.xz]) */
	char *path;   /* root-relative, e.g. /lib/modules/6.1.0-56-amd64/updates/dkms/x.ko */
	char sha256[65];
};

/* Files installed for (m, v, k, a), as recorded at install time. */
int kmb_state_installed_files(const struct kmb_ctx *ctx, const char *name, const char *version,
			      const char *kernel, const char *arch, struct kmb_installed_file **out,
			      size_t *n);
void kmb_installed_files_free(struct kmb_installed_file *v, size_t n);
/* Rewrite the installed record (e.g. after re-signing changed the files' hashes). */
int kmb_state_write_installed(const struct kmb_ctx *ctx, const char *name, const char *version,
			      const char *kernel, const char *arch,
			      const struct kmb_installed_file *files, size_t n);

/* Paths (malloc'd). */
char *kmb_state_version_dir(const struct kmb_ctx *ctx, const char *name, const char *version);
char *kmb_state_kernel_dir(const struct kmb_ctx *ctx, const char *name, const char *version,
			   const char *kernel, const char *arch);

/* Small key=value record of one (m, v, k, a). */
int kmb_record_read(const char *kernel_dir, const char *key, char **value);
int kmb_record_write(const char *kernel_dir, const char *const *keys, const char *const *values,
		     size_t n);

/* Take the global lock (waits up to ctx->lock_timeout_s, saying so once). */
int kmb_lock_take(struct kmb_ctx *ctx);
