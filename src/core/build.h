/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Building one (module, version, kernel, arch): a private build dir, patches, scripts, make
 * through a shared GNU make jobserver (one global -j budget, never -j on -j), then
 * strip -> sign -> compress into <k>/<a>/module, swapped into place atomically.
 */
#pragma once

#include <stdbool.h>

#include "conf/conf.h"
#include "kernel/kernel.h"
#include "base/kmb.h"

/* A GNU make jobserver: a pipe holding jobs-1 tokens; each running build owns one implicit
 * token, its make takes the others from the pipe. */
struct kmb_jobserver {
	int rfd, wfd;
	int jobs;
};
int kmb_jobserver_init(struct kmb_jobserver *js, int jobs);
void kmb_jobserver_free(struct kmb_jobserver *js);

struct kmb_build_opts {
	const struct kmb_jobserver *js;
	bool force; /* build despite missing BUILD_DEPENDS */
};

/* Variables a dkms.conf may expand, for this kernel (strings point into ctx and k). */
void kmb_conf_vars_for(const struct kmb_ctx *ctx, const struct kmb_kernel *k,
		       struct kmb_conf_vars *vars);

/* Load the definition of a registered (name, version) for kernel k (NULL: no kernel). */
int kmb_pkg_load_registered(const struct kmb_ctx *ctx, const char *name, const char *version,
			    const struct kmb_kernel *k, struct kmb_pkg **pkg, char **reason);

/*
 * Build synchronously. Returns a kmb_exit code; *reason gets one line on failure (or, for
 * KMB_EXIT_EXCLUDED, why). A failed rebuild leaves a previous good build (and whatever was
 * installed from it) untouched.
 */
int kmb_build(const struct kmb_ctx *ctx, const char *name, const char *version,
	      struct kmb_kernel *k, const struct kmb_build_opts *opts, char **reason);

/* Is (name, version) built for (kernel, arch) with status=built? */
bool kmb_is_built(const struct kmb_ctx *ctx, const char *name, const char *version,
		  const char *kernel, const char *arch);

/* Run a dkms.conf script hook (PRE_BUILD etc.): /etc/dkms/<m>/<script> wins when executable.
 * Returns the script's exit status, 0 when unset; output goes to log_fd. */
int kmb_run_script(const struct kmb_ctx *ctx, const char *module, const char *script,
		   const char *cwd, int log_fd);
