/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Progress of long operations: a redrawn status line on a TTY (module x kernel, elapsed),
 * plain one-line-per-event output when piped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

struct kmb_progress {
	bool tty;
	bool quiet;
	size_t total;
	long long t0;
	struct {
		char label[160];
		long long since;
	} running[64];
	size_t n_running;
};

void kmb_progress_init(struct kmb_progress *pg, const struct kmb_ctx *ctx, size_t total);
void kmb_progress_start(struct kmb_progress *pg, const char *name, const char *version,
			const char *kernel);
void kmb_progress_stop(struct kmb_progress *pg, const char *name, const char *version,
		       const char *kernel);
/* A finished event: printed as one line (errors also when quiet). */
void kmb_progress_line(struct kmb_progress *pg, const struct kmb_ctx *ctx, const char *line,
		       bool is_error);
void kmb_progress_draw(struct kmb_progress *pg, size_t done);
void kmb_progress_finish(struct kmb_progress *pg);
