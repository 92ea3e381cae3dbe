/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keeping a kernel's initramfs in step with the modules kmbuild installed for it: which tool
 * makes the image (update-initramfs, dracut, mkinitcpio, kernel-install), whether the image is
 * stale, and regenerating it so that a failed run never leaves a worse image than before.
 *
 * "Stale" is decided from content, not from what this run happened to do, so a hook, a manual
 * `kmbuild initramfs --check` and the boot service all agree. A kmbuild-installed module
 * belongs in the image when its package says REMAKE_INITRD=yes, when the tool's configuration
 * lists it (initramfs-tools modules files, dracut add_drivers/force_drivers, mkinitcpio
 * MODULES), or when the current image already carries a module of that name.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

enum kmb_irb {
	KMB_IRB_NONE, /* no tool found, or initramfs_backend = none */
	KMB_IRB_UPDATE_INITRAMFS,
	KMB_IRB_DRACUT,
	KMB_IRB_MKINITCPIO,
	KMB_IRB_KERNEL_INSTALL,
};
const char *kmb_irb_name(enum kmb_irb b);

struct kmb_irb_info {
	enum kmb_irb backend;
	char *tool; /* root-prefixed program path; NULL for NONE */
	char *why;  /* one line: "initramfs_backend = dracut in kmbuild.conf", "found ..." */
};

/*
 * The backend: kmbuild.conf `initramfs_backend` (update-initramfs|dracut|mkinitcpio|
 * kernel-install|none|auto) wins; auto probes the root for update-initramfs, dracut,
 * mkinitcpio, kernel-install in that order. With --root the tool found under the root is the
 * one run. Returns 0, or -EINVAL for an unknown setting (err set to one line).
 */
int kmb_irb_detect(const struct kmb_ctx *ctx, struct kmb_irb_info *out, char **err);
void kmb_irb_info_free(struct kmb_irb_info *b);

/* The image the backend writes for kernel (root-prefixed, malloc'd), or NULL when unknown. */
char *kmb_initramfs_image(const struct kmb_ctx *ctx, const struct kmb_irb_info *b,
			  const char *kernel);

/* Why a module belongs in the image (bit set). */
enum {
	KMB_IRW_REMAKE_INITRD = 1 << 0,
	KMB_IRW_CONFIG = 1 << 1,
	KMB_IRW_IMAGE = 1 << 2,
};

enum kmb_irm_state {
	KMB_IRM_CURRENT, /* the image holds the installed bytes */
	KMB_IRM_ABSENT,	 /* not in the image and does not belong there */
	KMB_IRM_STALE,	 /* the image holds other bytes (an older build, the shadowed original) */
	KMB_IRM_MISSING, /* belongs but the image lacks it */
	KMB_IRM_NEWER,	 /* REMAKE_INITRD only: installed after the image was written */
	KMB_IRM_ORPHAN,	 /* the image holds a module file no longer installed */
};
const char *kmb_irm_state_name(enum kmb_irm_state s);

struct kmb_irm {
	char *module;	  /* module name as installed (file name without .ko*) */
	char *package;	  /* "name/version" of the kmbuild package; NULL for an orphan */
	char *path;	  /* root-relative installed file; for an orphan the image entry */
	char *image_name; /* entry in the image, or NULL */
	unsigned why;	  /* KMB_IRW_* */
	char *listed_in;  /* root-relative config file listing it, or NULL */
	enum kmb_irm_state state;
};

struct kmb_initramfs_check {
	char *kernel;
	struct kmb_irb_info backend;
	char *image; /* root-prefixed, or NULL when the backend has no known image path */
	bool image_exists;
	struct kmb_irm *mods;
	size_t n_mods;
	bool needed;
	char *reason; /* one line: why regeneration is (or is not) needed */
};

/* Compare K's image with what kmbuild installed for K. Returns 0 or a negative errno with
 * err set (bad config, unreadable image). */
int kmb_initramfs_check(const struct kmb_ctx *ctx, const char *kernel,
			struct kmb_initramfs_check *out, char **err);
void kmb_initramfs_check_free(struct kmb_initramfs_check *c);

/*
 * Run the backend for c->kernel. The current image is copied aside first; when the tool
 * fails, or leaves no readable image, the copy is put back and -EIO returned with err set.
 * The copy is removed once the new image has been read back successfully. Tool output goes
 * to stderr.
 */
int kmb_initramfs_regenerate(const struct kmb_ctx *ctx, const struct kmb_initramfs_check *c,
			     char **err);

/*
 * The policy callers use after installing or removing modules for kernel: check, and
 * regenerate when needed and an image exists (a kernel without an image gets one from its own
 * postinst/plugin). Messages are printed. Returns 0 when the image is current or was
 * regenerated, -EIO when regeneration failed (previous image restored), other negative errno
 * on setup errors. *regenerated may be NULL.
 */
int kmb_initramfs_update(const struct kmb_ctx *ctx, const char *kernel, bool *regenerated);
