/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The system around a kernel that decides what loads at boot, read through the root prefix:
 * the next boot's command line, the boot loader's default kernel, modprobe.d and
 * modules-load.d, sysctl, and which modules must be inside the initramfs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "initramfs/initramfs_read.h"
#include "base/kmb.h"
#include "base/util.h"
#include "verify/verify.h"

struct kmb_bootcmd {
	bool sig_enforce; /* module.sig_enforce=1 */
	char *lockdown;	  /* lockdown=... value or NULL */
	char *source;	  /* where the command line was read, root-relative */
};

/* The command line the next boot of release will get: /etc/kernel/cmdline, GRUB_CMDLINE_LINUX
 * and _DEFAULT of /etc/default/grub(.d), else /proc/cmdline. */
void kmb_verify_bootcmd_read(const struct kmb_ctx *ctx, const char *release, struct kmb_bootcmd *c);
void kmb_verify_bootcmd_free(struct kmb_bootcmd *c);

/* /boot/config-<release> (shipped by linux-image packages) as sorted NAME/value arrays. */
int kmb_verify_boot_config(const struct kmb_ctx *ctx, const char *release, char ***names,
			   char ***values, size_t *n);

/* Module loading configuration: /etc/modules, modules-load.d, kernel.modules_disabled. */
struct kmb_vpolicy {
	struct kmb_strv load;	  /* module names (underscored) configured to load at boot */
	struct kmb_strv load_src; /* root-relative file of each */
	char *modules_disabled;	  /* file setting kernel.modules_disabled=1, or NULL */
};
void kmb_vpolicy_read(const struct kmb_ctx *ctx, struct kmb_vpolicy *p);
void kmb_vpolicy_free(struct kmb_vpolicy *p);
void kmb_verify_policy_system(const struct kmb_vpolicy *p, const struct kmb_vsubject *s,
			      struct kmb_findings *f);
/* Blacklisted (or "install NAME /bin/false") in K's modprobe.d yet configured to load. */
void kmb_verify_policy_module(struct kmb_vkernel *vk, const struct kmb_vpolicy *p, const char *name,
			      const struct kmb_vsubject *s, struct kmb_findings *f);

/* Modules that must be inside the initramfs, each with the reason. */
struct kmb_initrd_req {
	struct kmb_strv names; /* underscored module names */
	struct kmb_strv why;
};
void kmb_initrd_req_read(const struct kmb_ctx *ctx, struct kmb_initrd_req *r);
void kmb_initrd_req_add(struct kmb_initrd_req *r, const char *name, const char *why);
const char *kmb_initrd_req_why(const struct kmb_initrd_req *r, const char *name);
void kmb_initrd_req_free(struct kmb_initrd_req *r);

/* <root>/boot/initrd.img-K (Debian) or initramfs-K.img (dracut elsewhere): the existing one,
 * else the Debian name. */
char *kmb_verify_initrd_path(const struct kmb_ctx *ctx, const char *release);

/*
 * Compare the copy of module m inside K's initramfs with the installed file. image_exists:
 * the image file is there; e: the module's entry in it (NULL: absent) and data/len its bytes
 * as read from the image (decompressed here when needed); required: why it must be in the
 * image, or NULL.
 */
void kmb_verify_initramfs_module(const struct kmb_vkernel *vk, const char *image_path,
				 bool image_exists, const struct kmb_initramfs_entry *e,
				 const unsigned char *data, size_t len, const struct kmb_modfile *m,
				 const char *required, const struct kmb_vsubject *s,
				 struct kmb_findings *f);

/* The image entry holding module name (any compression, anywhere under lib/modules/K). */
const struct kmb_initramfs_entry *kmb_initramfs_find_module(const struct kmb_initramfs *ir,
							    const char *release, const char *name);
