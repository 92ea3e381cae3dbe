/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Installing built modules into <root>/lib/modules/<k>: DKMS's destination rules, backup and
 * restore of shadowed in-tree modules, atomic copies, an installed-file record, and depmod
 * run once per touched kernel by the caller.
 */
#pragma once

#include <stdbool.h>

#include "kernel/kernel.h"
#include "base/kmb.h"

/* Install (name, version) built for k. Another installed version of the module for this
 * kernel is uninstalled first. Does not run depmod. Returns a kmb_exit code. */
int kmb_install(const struct kmb_ctx *ctx, const char *name, const char *version,
		struct kmb_kernel *k, char **reason);

/* Remove the files, restore shadowed originals, drop the marker. No depmod. */
int kmb_uninstall(const struct kmb_ctx *ctx, const char *name, const char *version,
		  const char *kernel, const char *arch, char **reason);

/* Which version of name is installed for (kernel, arch), or NULL (malloc'd). */
char *kmb_installed_version(const struct kmb_ctx *ctx, const char *name, const char *kernel,
			    const char *arch);

/* depmod -a for one kernel (with -b for a sandbox root, -F System.map when present).
 * Skipped (returns 0) when <root>/lib/modules/<k> does not exist. */
int kmb_depmod(const struct kmb_ctx *ctx, struct kmb_kernel *k);

/* The directory under /lib/modules/<k> modules go to: DKMS's distro override (Debian/Ubuntu/
 * Arch "/updates/dkms", Fedora/RHEL "/extra", SUSE "/updates"), kmbuild.conf dest_location,
 * else the dkms.conf value. Returns malloc'd. */
char *kmb_dest_location(const struct kmb_ctx *ctx, const char *conf_location);
