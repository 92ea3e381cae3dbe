/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kernel discovery: installed kernels, their headers, arch and build configuration. */
#pragma once

#include <stdbool.h>

#include "base/kmb.h"

enum kmb_compress { KMB_COMPRESS_NONE, KMB_COMPRESS_GZIP, KMB_COMPRESS_XZ, KMB_COMPRESS_ZSTD };

struct kmb_kernel {
	char *release;	   /* e.g. 6.1.0-56-amd64 */
	char *arch;	   /* uname -m style: x86_64, aarch64, ... */
	char *modules_dir; /* <root>/lib/modules/<release> (may not exist) */
	char *headers_dir; /* resolved headers (root first, then host, read-only); NULL if none */
	bool installed;	   /* <root>/lib/modules/<release> exists */
	/* Parsed .config (include/config/auto.conf preferred): sorted "NAME=value" pairs. */
	char **cfg_names, **cfg_values;
	size_t n_cfg;
	bool config_read;
	char *sysmap; /* <root>/boot/System.map-<release> if it exists, else NULL */
	/* DKMS's kernel_source_dir: <root>/lib/modules/<release>/build (or the host's, for host
	 * headers) when that link leads to headers_dir, else NULL. See kmb_kernel_source_dir(). */
	char *build_link;
};

/* Discover one kernel by release. Never fails for an unknown release: fields stay NULL. */
int kmb_kernel_open(const struct kmb_ctx *ctx, const char *release, struct kmb_kernel **out);
void kmb_kernel_free(struct kmb_kernel *k);

/* Headers obtained later (fetched, installed): use them and re-read the configuration. */
void kmb_kernel_set_headers(struct kmb_kernel *k, const char *dir);

/* Every kernel known under the root (installed dirs, plus kernels whose headers exist under
 * the root or, read-only, on the host), sorted newest first by kmb_vercmp. */
int kmb_kernel_list(const struct kmb_ctx *ctx, struct kmb_kernel ***out, size_t *n);
void kmb_kernel_list_free(struct kmb_kernel **v, size_t n);

/* The path a dkms.conf sees as $kernel_source_dir and kbuild gets as -C: DKMS's unresolved
 * /lib/modules/<release>/build when it leads to the headers (zfs derives the source tree from
 * it: ${kernel_source_dir/%build/source}), else the headers dir; NULL without headers. */
const char *kmb_kernel_source_dir(const struct kmb_kernel *k);

/* Config value without quotes ("y", "m", "sha256"), or NULL. Loads the config on demand. */
const char *kmb_kernel_config(struct kmb_kernel *k, const char *name);
/* Adapter for kmb_pkg_module_excluded(). */
const char *kmb_kernel_config_lookup(void *kernel, const char *name);

/* The compiler the kernel was built with (first word of CONFIG_CC_VERSION_TEXT, e.g. gcc-12)
 * in *name (malloc'd, NULL when unknown); returns whether it is on PATH. */
bool kmb_kernel_compiler(struct kmb_kernel *k, char **name);

/* Is this build tool (gcc-12, clang, ld.lld) on PATH, or executable when it is a path? */
bool kmb_kernel_tool_found(const char *name);

enum kmb_compress kmb_kernel_compression(struct kmb_kernel *k);
const char *kmb_compress_suffix(enum kmb_compress c); /* "", ".gz", ".xz", ".zst" */

/* The running kernel's release (uname -r), malloc'd. */
char *kmb_running_release(void);
