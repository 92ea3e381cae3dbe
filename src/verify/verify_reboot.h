/* SPDX-License-Identifier: GPL-2.0-or-later */
/* verify: modules the running kernel has that the next kernel will not. */
#pragma once

#include "core/state.h"
#include "kernel/kernel.h"
#include "base/kmb.h"
#include "base/util.h"
#include "verify/verify.h"

/* The kernel this system runs: kmbuild.conf's running_kernel (KMBUILD_RUNNING_KERNEL), for a
 * --root system that is not the host's, else uname -r. malloc'd. */
char *kmb_verify_running_release(const struct kmb_ctx *ctx);

/*
 * Every module installed for the running kernel but not for k (e: the state entries for k)
 * is an error, whatever the reason (excluded, failed, built only, not built, broken): the
 * finding names the reason and a command that fixes it. The names reported are added to
 * *handled so that the caller does not report them a second time.
 */
void kmb_verify_reboot_coverage(const struct kmb_ctx *ctx, struct kmb_kernel *k,
				const struct kmb_entry *e, size_t n, struct kmb_findings *f,
				struct kmb_strv *handled);
