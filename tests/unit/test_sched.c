// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The scheduler with a stand-in worker: real forked processes and a real jobserver pipe, but
 * each task's "build" sleeps and logs start/end times, so ordering, concurrency under the job
 * budget, dependency propagation and cycle detection can be asserted exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/build.h"
#include "core/cost.h"
#include "kernel/kernel.h"
#include "core/sched.h"
#include "base/util.h"

static char logpath[] = "/tmp/kmb-sched-test.XXXXXX";

/* "fail*" tasks fail with exit 10, "excl*" are excluded (77); all others sleep 200 ms. */
static int fake_work(const struct kmb_ctx *ctx, const struct kmb_task *t,
		     const struct kmb_jobserver *js, bool force, char **reason)
{
	(void)ctx;
	(void)js;
	(void)force;
	int fd = open(logpath, O_WRONLY | O_APPEND);
	dprintf(fd, "start %s %s %lld\n", t->name, t->k->release, kmb_now_ms());
	usleep(200 * 1000);
	dprintf(fd, "end %s %s %lld\n", t->name, t->k->release, kmb_now_ms());
	close(fd);
	if (kmb_startswith(t->name, "fail")) {
		*reason = kmb_xstrdup("make failed");
		return 10;
	}
	if (kmb_startswith(t->name, "excl")) {
		*reason = kmb_xstrdup("excluded");
		return 77;
	}
	return 0;
}

struct fixture {
	struct unit_sandbox sb;
	struct kmb_kernel k1, k2;
};

static int setup(void **state)
{
	struct fixture *f = kmb_xcalloc(1, sizeof(*f));
	unit_sandbox_open(&f->sb);
	f->sb.ctx.verbosity = KMB_QUIET;
	f->sb.ctx.tty = false;
	f->k1.release = "6.1.0-1-amd64";
	f->k2.release = "6.1.0-2-amd64";
	f->k1.arch = f->k2.arch = "x86_64";
	int fd = mkstemp(logpath);
	assert_true(fd >= 0);
	close(fd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unit_sandbox_close(&f->sb);
	unlink(logpath);
	strcpy(logpath, "/tmp/kmb-sched-test.XXXXXX");
	free(f);
	return 0;
}

/* Parse the log: start/end time of a task, and the peak number of overlapping tasks. */
static long long when(const char *what, const char *name, const char *kernel)
{
	char *data, *line, *save = NULL;
	long long t = -1;
	assert_int_equal(kmb_read_file(logpath, &data, NULL), 0);
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char w[16], n[64], k[64];
		long long ms;
		if (sscanf(line, "%15s %63s %63s %lld", w, n, k, &ms) == 4 && !strcmp(w, what) &&
		    !strcmp(n, name) && !strcmp(k, kernel))
			t = ms;
	}
	free(data);
	return t;
}

static int peak_concurrency(void)
{
	char *data, *line, *save = NULL;
	int cur = 0, peak = 0;
	assert_int_equal(kmb_read_file(logpath, &data, NULL), 0);
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cur += kmb_startswith(line, "start") ? 1 : -1;
		peak = cur > peak ? cur : peak;
	}
	free(data);
	return peak;
}

static void test_parallel_under_budget(void **state)
{
	struct fixture *f = *state;
	struct kmb_plan plan = {0};
	struct kmb_sched_opts o = {.no_depmod = true, .work = fake_work};
	const char *names[] = {"a", "b", "c", "d", "e", "f"};

	f->sb.ctx.jobs = 3;
	for (size_t i = 0; i < KMB_ARRAY_SIZE(names); i++)
		kmb_plan_add(&plan, names[i], "1", i % 2 ? &f->k1 : &f->k2);
	long long t0 = kmb_now_ms();
	assert_int_equal(kmb_sched_run(&f->sb.ctx, &plan, &o), 0);
	long long dt = kmb_now_ms() - t0;
	for (size_t i = 0; i < plan.n; i++)
		assert_int_equal(plan.t[i].state, KMB_TASK_OK);
	/* Six 200 ms tasks, three at a time: about 400 ms, never more than three at once. */
	assert_int_equal(peak_concurrency(), 3);
	assert_true(dt < 1000);
	kmb_plan_free(&plan);
}

static void test_budget_one_is_serial(void **state)
{
	struct fixture *f = *state;
	struct kmb_plan plan = {0};
	struct kmb_sched_opts o = {.no_depmod = true, .work = fake_work};

	f->sb.ctx.jobs = 1;
	kmb_plan_add(&plan, "a", "1", &f->k1);
	kmb_plan_add(&plan, "b", "1", &f->k1);
	kmb_plan_add(&plan, "c", "1", &f->k1);
	assert_int_equal(kmb_sched_run(&f->sb.ctx, &plan, &o), 0);
	assert_int_equal(peak_concurrency(), 1);
	kmb_plan_free(&plan);
}

/* Longest first: the last build's duration from the state tree, else the source size. */
static void test_longest_first(void **state)
{
	struct fixture *f = *state;
	struct kmb_plan plan = {0};
	struct kmb_sched_opts o = {.no_depmod = true, .work = fake_work};
	char *src = kmb_xasprintf("%s/unbuilt/1/source", f->sb.ctx.state_dir);
	char *big = kmb_xasprintf("%s/big.c", src);
	char *blob = kmb_xcalloc(1, 1 << 20);

	f->sb.ctx.jobs = 1;
	for (const char *const *m = (const char *const[]){"short", "long", "mid", NULL}; *m; m++) {
		char *d = kmb_xasprintf("%s/%s", f->sb.ctx.state_dir, *m);
		assert_int_equal(kmb_mkdir_p(d, 0755), 0);
		free(d);
	}
	kmb_cost_note_build(&f->sb.ctx, "short", 100);
	kmb_cost_note_build(&f->sb.ctx, "long", 5000);
	kmb_cost_note_build(&f->sb.ctx, "mid", 3000);
	/* Never built: 1 MiB of source is expected to take longer than all three. */
	assert_int_equal(kmb_mkdir_p(src, 0755), 0);
	assert_int_equal(kmb_write_file_atomic(big, blob, 1 << 20, 0644), 0);
	assert_true(kmb_cost_expected_ms(&f->sb.ctx, "unbuilt", "1") > 5000);
	kmb_plan_add(&plan, "short", "1", &f->k1);
	kmb_plan_add(&plan, "long", "1", &f->k1);
	kmb_plan_add(&plan, "unbuilt", "1", &f->k1);
	kmb_plan_add(&plan, "mid", "1", &f->k1);
	assert_int_equal(kmb_sched_run(&f->sb.ctx, &plan, &o), 0);
	assert_true(when("start", "unbuilt", "6.1.0-1-amd64") <
		    when("start", "long", "6.1.0-1-amd64"));
	assert_true(when("start", "long", "6.1.0-1-amd64") < when("start", "mid", "6.1.0-1-amd64"));
	assert_true(when("start", "mid", "6.1.0-1-amd64") <
		    when("start", "short", "6.1.0-1-amd64"));
	kmb_plan_free(&plan);
	free(blob);
	free(big);
	free(src);
}

static void test_dependencies_order_and_failure(void **state)
{
	struct fixture *f = *state;
	struct kmb_plan plan = {0};
	struct kmb_sched_opts o = {.no_depmod = true, .work = fake_work};

	f->sb.ctx.jobs = 4;
	/* On k1: user -> prov. On k2: user2 -> failprov (fails), so user2 must not run;
	 * other -> exclprov (excluded counts as satisfied, like DKMS's 77). */
	struct kmb_task *t;
	t = kmb_plan_add(&plan, "user", "1", &f->k1);
	kmb_strv_push(&t->deps, "prov");
	kmb_plan_add(&plan, "prov", "1", &f->k1);
	t = kmb_plan_add(&plan, "user2", "1", &f->k2);
	kmb_strv_push(&t->deps, "failprov");
	kmb_plan_add(&plan, "failprov", "1", &f->k2);
	t = kmb_plan_add(&plan, "other", "1", &f->k2);
	kmb_strv_push(&t->deps, "exclprov");
	kmb_plan_add(&plan, "exclprov", "1", &f->k2);
	kmb_plan_add(&plan, "independent", "1", &f->k2);

	assert_int_equal(kmb_sched_run(&f->sb.ctx, &plan, &o), 2);
	assert_true(when("start", "user", "6.1.0-1-amd64") >= when("end", "prov", "6.1.0-1-amd64"));
	assert_int_equal(plan.t[0].state, KMB_TASK_OK);
	assert_int_equal(plan.t[2].state, KMB_TASK_FAILED);
	assert_int_equal(plan.t[2].rc, 13);
	assert_string_equal(plan.t[2].reason, "missing dependencies: failprov");
	assert_int_equal(when("start", "user2", "6.1.0-2-amd64"), -1);
	assert_int_equal(plan.t[3].state, KMB_TASK_FAILED);
	assert_int_equal(plan.t[3].rc, 10);
	assert_int_equal(plan.t[4].state, KMB_TASK_OK);
	assert_int_equal(plan.t[5].state, KMB_TASK_SKIPPED);
	assert_int_equal(plan.t[6].state, KMB_TASK_OK);
	kmb_plan_free(&plan);
}

static void test_cycle_and_unknown_dependency(void **state)
{
	struct fixture *f = *state;
	struct kmb_plan plan = {0};
	struct kmb_sched_opts o = {.no_depmod = true, .work = fake_work};
	struct kmb_task *t;

	f->sb.ctx.jobs = 2;
	t = kmb_plan_add(&plan, "x", "1", &f->k1);
	kmb_strv_push(&t->deps, "y");
	t = kmb_plan_add(&plan, "y", "1", &f->k1);
	kmb_strv_push(&t->deps, "x");
	t = kmb_plan_add(&plan, "z", "1", &f->k1);
	kmb_strv_push(&t->deps, "not-registered-anywhere");
	assert_int_equal(kmb_sched_run(&f->sb.ctx, &plan, &o), 2);
	assert_int_equal(plan.t[0].state, KMB_TASK_FAILED);
	assert_string_equal(plan.t[0].reason, "BUILD_DEPENDS cycle");
	assert_int_equal(plan.t[1].state, KMB_TASK_FAILED);
	/* A dependency kmbuild does not know defers the module: not a failure (DKMS). */
	assert_int_equal(plan.t[2].state, KMB_TASK_DEFERRED);
	assert_int_equal(when("start", "z", "6.1.0-1-amd64"), -1);
	kmb_plan_free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parallel_under_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_one_is_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dependencies_order_and_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cycle_and_unknown_dependency, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
