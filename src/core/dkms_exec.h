/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How DKMS runs what a dkms.conf names, so that a package sees what it sees under DKMS: the
 * per-version build dir at DKMS's path, $kernel_source_dir, the make command line, the
 * compiler in CC, and the two ways DKMS runs a script. docs/conf-formats.md §4 cites the
 * dkms.in lines each rule comes from.
 */
#pragma once

#include <stdbool.h>

#include "conf/conf.h"
#include "kernel/kernel.h"
#include "base/kmb.h"
#include "base/util.h"

/*
 * From here on this process (one build worker) has a private mount namespace in which
 * <root>/var/lib/dkms/<m>/<v>/build and the module's source tree (src_link resolved) are
 * build_dir, so packages that hard-code DKMS's tree find the build in progress, and parallel
 * builds of one module for several kernels each see their own. Returns DKMS's path (malloc'd)
 * or NULL when no private namespace could be made (not root, or mounts that would leak to the
 * host); the reason is written to log_fd.
 */
char *kmb_dkms_view_enter(const struct kmb_ctx *ctx, const char *name, const char *version,
			  const char *build_dir, const char *src_link, int log_fd);

/*
 * PRE_BUILD and POST_BUILD as DKMS 3.4 runs them (run_build_script with a log, dkms.in:1148-
 * 1190): "cd <run_dir>/ && <run_dir>/<script>" evaluated by bash; /etc/dkms/<m>/<first
 * word> wins when executable. base gives the environment, the fds kept and the log (out_fd).
 * Returns the exit status (0: unset, or not executable, which DKMS only warns about).
 */
int kmb_dkms_build_script(const struct kmb_ctx *ctx, const char *module, const char *what,
			  const char *script, const char *run_dir, const struct kmb_run *base);

/* POST_ADD, PRE_INSTALL, POST_INSTALL and POST_REMOVE as DKMS runs them (no log):
 * "( cd <run_dir>/; exec <run_dir>/<script> )", the string split into words and globbed, not
 * parsed again. Returns the exit status (0 when unset or not executable). */
int kmb_dkms_exec_script(const struct kmb_ctx *ctx, const char *module, const char *script,
			 const char *run_dir, int log_fd);

/* The make command line: the dkms.conf's (or DKMS's default) with DKMS's rewrite of a leading
 * "make" (KERNELRELEASE; the -j budget comes from the jobserver) and LLVM=1 for a clang
 * kernel. build_path is the build dir as the package should see it. malloc'd. */
char *kmb_dkms_make_command(const struct kmb_ctx *ctx, const struct kmb_pkg *pkg,
			    struct kmb_kernel *k, const char *build_path);

/* What DKMS exports for a build: CC and KERNEL_CC (the kernel's compiler when installed; clang
 * for a clang kernel), LD and KERNEL_LD for an lld-linked one. Appended to env. */
void kmb_dkms_build_env(struct kmb_kernel *k, struct kmb_strv *env);
