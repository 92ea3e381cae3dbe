/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the package-manager hooks need from the engine besides autoinstall itself: the
 * hook-specific steps (a kernel reinstalled in place, a kernel going away) and the failure
 * policy: a module that fails is reported loudly but never fails the kernel's installation,
 * unless kmbuild.conf says hook_strict = yes.
 *
 * Hooks name their situation with `kmbuild autoinstall --hook=H -k K`:
 *   postinst  the kernel's image was installed; its own initramfs hook runs after us
 *   headers   headers arrived (maybe after the image): regenerate the initramfs if needed
 *   preinst   the image is about to be (re)installed: rebuild K's modules at postinst
 *   prerm     the image is being removed: uninstall and delete K's builds, one depmod
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

enum kmb_hook {
	KMB_HOOK_NONE,
	KMB_HOOK_POSTINST,
	KMB_HOOK_HEADERS,
	KMB_HOOK_PREINST,
	KMB_HOOK_PRERM,
};

/* "postinst" -> KMB_HOOK_POSTINST ...; -EINVAL for anything else. */
int kmb_hook_parse(const char *s, enum kmb_hook *out);
const char *kmb_hook_name(enum kmb_hook h);

/* Is K being reinstalled in place (its modules must be rebuilt even if current)? */
bool kmb_hook_rebuild_pending(const struct kmb_ctx *ctx, const char *kernel);
void kmb_hook_rebuild_done(const struct kmb_ctx *ctx, const char *kernel);

/* preinst: when K is already installed (a reinstall or same-release upgrade), remember that
 * its modules must be rebuilt; nothing is removed, so a failed upgrade loses nothing.
 * Returns a kmb_exit code. The caller holds the lock. */
int kmb_hook_preinst(const struct kmb_ctx *ctx, const char *kernel);

/* prerm: uninstall every kmbuild module installed for K, delete every build for K (built,
 * failed), remove the then-empty destination directories, run depmod once. Returns a
 * kmb_exit code. The caller holds the lock. */
int kmb_hook_prerm(const struct kmb_ctx *ctx, const char *kernel);

/*
 * The exit code of a hook run of autoinstall (rc) for the kernels: failures are printed on
 * stderr with their reason and log, and turned into 0 unless hook_strict = yes. Missing
 * headers are never a failure of the hook (they come later; header_postinst.d catches up).
 */
int kmb_hook_finish(const struct kmb_ctx *ctx, enum kmb_hook h, char *const *kernels, size_t nk,
		    int rc);
