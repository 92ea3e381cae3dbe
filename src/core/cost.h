/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a build costs, for the scheduler's "longest first": the duration of the module's last
 * build, kept in the state tree (<state>/<m>/.last_build_ms), else an estimate from the size of
 * its source. Started first, zfs's and openafs's long serial configure overlaps the other
 * builds instead of running alone at the end (DKMS goes alphabetically: zfs comes last).
 */
#pragma once

#include "base/kmb.h"

/* Remember how long the last build of module `name` took (any version, kernel). */
void kmb_cost_note_build(const struct kmb_ctx *ctx, const char *name, long long ms);

/* Expected build time of (name, version) in ms: the last build's, else source bytes / 100
 * (about what a mid-sized module compiles at on one core), 0 when nothing is known. */
long long kmb_cost_expected_ms(const struct kmb_ctx *ctx, const char *name, const char *version);
