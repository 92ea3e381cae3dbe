/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The build scheduler: a job graph of (module, version, kernel) tasks run in parallel under
 * one global job budget (a GNU make jobserver shared by every build), BUILD_DEPENDS ordered
 * per kernel, a failure never stopping unrelated tasks, installs done by the scheduler
 * itself as builds finish, and one depmod per touched kernel at the end.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kernel/kernel.h"
#include "base/kmb.h"
#include "base/util.h"

enum kmb_task_state {
	KMB_TASK_WAITING,
	KMB_TASK_RUNNING,
	KMB_TASK_OK,	   /* built (and installed when asked) */
	KMB_TASK_SKIPPED,  /* excluded (77) */
	KMB_TASK_DEFERRED, /* BUILD_DEPENDS on a module kmbuild does not know */
	KMB_TASK_FAILED,
};

struct kmb_task {
	char *name, *version;
	struct kmb_kernel *k; /* borrowed */
	struct kmb_strv deps; /* BUILD_DEPENDS (package names) */
	bool build;	      /* false: already built, only install */
	bool install;
	/* results */
	enum kmb_task_state state;
	int rc;
	char *reason;
	long long start_ms, ms;
	bool depmod_ok; /* this task installed and its kernel's depmod succeeded */
	/* scheduler private */
	int pid, result_fd;
	bool has_token;
	long long expect_ms; /* expected build time: ready tasks start longest first */
};

struct kmb_jobserver;

/* What a worker process does for one task: kmb_build() unless a test substitutes it.
 * Returns a kmb_exit code and sets *reason (malloc'd) on failure. */
typedef int (*kmb_task_work_fn)(const struct kmb_ctx *ctx, const struct kmb_task *t,
				const struct kmb_jobserver *js, bool force, char **reason);

struct kmb_sched_opts {
	bool force; /* build despite missing BUILD_DEPENDS */
	bool no_depmod;
	kmb_task_work_fn work; /* NULL: build with kmb_build() */
};

/* Add a task; returns it (owned by the plan). deps are read from the module's conf. */
struct kmb_plan {
	struct kmb_task *t;
	size_t n, cap;
};
struct kmb_task *kmb_plan_add(struct kmb_plan *plan, const char *name, const char *version,
			      struct kmb_kernel *k);
void kmb_plan_free(struct kmb_plan *plan);

/*
 * BUILD_DEPENDS_REBUILD: for every task that installs module X for kernel K, add a rebuild +
 * reinstall of each module installed for K whose definition says BUILD_DEPENDS_REBUILD=yes
 * and depends on X (transitively), ordered after X. Returns how many tasks were added.
 */
size_t kmb_plan_add_rebuild_dependents(const struct kmb_ctx *ctx, struct kmb_plan *plan);

/* Kernels with a task that installed and whose depmod succeeded: each once, plan order.
 * *n gets the count; the array is malloc'd, the kernels borrowed. */
struct kmb_kernel **kmb_plan_installed_kernels(const struct kmb_plan *plan, size_t *n);

/* Run every task, ready ones longest first (core/cost.h). Returns 0 when all are
 * OK/skipped/deferred, else the number failed. */
int kmb_sched_run(const struct kmb_ctx *ctx, struct kmb_plan *plan,
		  const struct kmb_sched_opts *opts);
