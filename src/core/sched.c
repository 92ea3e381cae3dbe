// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/build.h"
#include "core/cost.h"
#include "core/install.h"
#include "base/progress.h"
#include "core/registry.h"
#include "core/sched.h"
#include "core/state.h"
#include "base/util.h"

struct kmb_task *kmb_plan_add(struct kmb_plan *plan, const char *name, const char *version,
			      struct kmb_kernel *k)
{
	if (plan->n == plan->cap) {
		plan->cap = plan->cap ? plan->cap * 2 : 16;
		plan->t = kmb_xrealloc(plan->t, plan->cap * sizeof(*plan->t));
	}
	struct kmb_task *t = &plan->t[plan->n++];
	memset(t, 0, sizeof(*t));
	t->name = kmb_xstrdup(name);
	t->version = kmb_xstrdup(version);
	t->k = k;
	t->build = true;
	t->pid = -1;
	t->result_fd = -1;
	return t;
}

void kmb_plan_free(struct kmb_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->t[i].name);
		free(plan->t[i].version);
		free(plan->t[i].reason);
		kmb_strv_free(&plan->t[i].deps);
	}
	free(plan->t);
	memset(plan, 0, sizeof(*plan));
}

static struct kmb_task *find_task(struct kmb_plan *p, const char *name, const char *kernel);

size_t kmb_plan_add_rebuild_dependents(const struct kmb_ctx *ctx, struct kmb_plan *plan)
{
	char **names = NULL;
	size_t n_names = 0, added = 0;

	kmb_registry_names(ctx, &names, &n_names);
	/* Tasks appended while iterating are visited too: that is the transitive closure. */
	for (size_t ti = 0; ti < plan->n; ti++) {
		char *dep = kmb_xstrdup(plan->t[ti].name);
		struct kmb_kernel *k = plan->t[ti].k;
		if (!plan->t[ti].install) {
			free(dep);
			continue;
		}
		for (size_t i = 0; i < n_names; i++) {
			if (find_task(plan, names[i], k->release))
				continue;
			char *v = kmb_installed_version(ctx, names[i], k->release, k->arch);
			struct kmb_pkg *pkg = NULL;
			char *reason = NULL;
			if (v && kmb_pkg_load_registered(ctx, names[i], v, k, &pkg, &reason) == 0 &&
			    pkg->build_depends_rebuild &&
			    kmb_strv_contains(&pkg->build_depends, dep)) {
				struct kmb_task *t = kmb_plan_add(plan, names[i], v, k);
				t->install = true;
				t->build = true;
				for (size_t d = 0; d < pkg->build_depends.n; d++)
					kmb_strv_push(&t->deps, pkg->build_depends.v[d]);
				added++;
			}
			kmb_pkg_free(pkg);
			free(reason);
			free(v);
		}
		free(dep);
	}
	kmb_registry_strv_free(names, n_names);
	return added;
}

static bool finished(const struct kmb_task *t)
{
	return t->state >= KMB_TASK_OK;
}

static struct kmb_task *find_task(struct kmb_plan *p, const char *name, const char *kernel)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->t[i].name, name) && !strcmp(p->t[i].k->release, kernel))
			return &p->t[i];
	return NULL;
}

static void set_result(struct kmb_task *t, enum kmb_task_state s, int rc, char *reason)
{
	t->state = s;
	t->rc = rc;
	free(t->reason);
	t->reason = reason;
}

/* Decide whether a waiting task can start now (1), must wait (0), or is settled (-1). */
static int deps_ready(const struct kmb_ctx *ctx, struct kmb_plan *p, struct kmb_task *t)
{
	struct kmb_buf missing = {0}, unknown = {0};
	bool wait = false;

	for (size_t i = 0; i < t->deps.n; i++) {
		const char *d = t->deps.v[i];
		struct kmb_task *dt = find_task(p, d, t->k->release);
		if (dt) {
			if (!finished(dt))
				wait = true;
			else if (dt->state == KMB_TASK_FAILED || dt->state == KMB_TASK_DEFERRED)
				kmb_buf_printf(&missing, "%s%s", missing.len ? " " : "", d);
			continue;
		}
		char *iv = kmb_installed_version(ctx, d, t->k->release, t->k->arch);
		char *mdir = kmb_xasprintf("%s/%s", ctx->state_dir, d);
		if (!iv && kmb_is_dir(mdir))
			kmb_buf_printf(&missing, "%s%s", missing.len ? " " : "", d);
		else if (!iv)
			kmb_buf_printf(&unknown, "%s%s", unknown.len ? " " : "", d);
		free(iv);
		free(mdir);
	}
	int r = 1;
	if (missing.len) {
		set_result(t, KMB_TASK_FAILED, KMB_EXIT_DEPENDS,
			   kmb_xasprintf("missing dependencies: %s", missing.s));
		r = -1;
	} else if (unknown.len) {
		set_result(
			t, KMB_TASK_DEFERRED, 0,
			kmb_xasprintf("BUILD_DEPENDS not registered with kmbuild: %s", unknown.s));
		r = -1;
	} else if (wait) {
		r = 0;
	}
	kmb_buf_free(&missing);
	kmb_buf_free(&unknown);
	return r;
}

static int build_task(const struct kmb_ctx *ctx, const struct kmb_task *t,
		      const struct kmb_jobserver *js, bool force, char **reason)
{
	struct kmb_build_opts bo = {.js = js, .force = force};
	return kmb_build(ctx, t->name, t->version, t->k, &bo, reason);
}

static int start_task(const struct kmb_ctx *ctx, struct kmb_task *t, const struct kmb_jobserver *js,
		      const struct kmb_sched_opts *o)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(p[0]);
		char *reason = NULL;
		int rc = o->work ? o->work(ctx, t, js, o->force, &reason)
				 : build_task(ctx, t, js, o->force, &reason);
		if (reason && write(p[1], reason, strlen(reason)) < 0)
			rc = rc ? rc : KMB_EXIT_FAIL;
		_exit(rc);
	}
	close(p[1]);
	t->pid = pid;
	t->result_fd = p[0];
	t->state = KMB_TASK_RUNNING;
	t->start_ms = kmb_now_ms();
	return 0;
}

static char *read_all_fd(int fd)
{
	struct kmb_buf b = {0};
	char chunk[1024];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		kmb_buf_add(&b, chunk, (size_t)n);
	return b.len ? kmb_buf_steal(&b) : (kmb_buf_free(&b), NULL);
}

static void task_done(const struct kmb_ctx *ctx, struct kmb_task *t, int status)
{
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	char *reason = read_all_fd(t->result_fd);
	close(t->result_fd);
	t->result_fd = -1;
	t->pid = -1;
	t->ms = kmb_now_ms() - t->start_ms;
	if (rc == KMB_EXIT_EXCLUDED) {
		set_result(t, KMB_TASK_SKIPPED, rc, reason);
		return;
	}
	if (rc != 0) {
		set_result(t, KMB_TASK_FAILED, rc,
			   reason ? reason : kmb_xasprintf("build exited %d", rc));
		return;
	}
	free(reason);
	reason = NULL;
	if (t->install) {
		rc = kmb_install(ctx, t->name, t->version, t->k, &reason);
		if (rc) {
			set_result(t, KMB_TASK_FAILED, rc, reason);
			return;
		}
	}
	set_result(t, KMB_TASK_OK, 0, NULL);
}

/* Tasks that need no build (already built, install only) run inline in the parent. */
static void run_inline(const struct kmb_ctx *ctx, struct kmb_task *t)
{
	char *reason = NULL;
	t->start_ms = kmb_now_ms();
	int rc = t->install ? kmb_install(ctx, t->name, t->version, t->k, &reason) : 0;
	t->ms = kmb_now_ms() - t->start_ms;
	set_result(t, rc ? KMB_TASK_FAILED : KMB_TASK_OK, rc, reason);
}

static void report_line(const struct kmb_ctx *ctx, struct kmb_progress *pg,
			const struct kmb_task *t)
{
	const char *what = t->state == KMB_TASK_OK	   ? (t->install ? "installed" : "built")
			   : t->state == KMB_TASK_SKIPPED  ? "skipped"
			   : t->state == KMB_TASK_DEFERRED ? "deferred"
							   : "FAILED";
	char line[1024];
	char *signing = NULL;
	/* Whether a module is signed decides whether it loads under Secure Boot: say it. */
	if (t->state == KMB_TASK_OK && t->build) {
		char *kd =
			kmb_state_kernel_dir(ctx, t->name, t->version, t->k->release, t->k->arch);
		kmb_record_read(kd, "signing", &signing);
		free(kd);
	}
	snprintf(line, sizeof(line), "%s/%s %s %s: %s (%.1fs)%s%s%s%s", t->name, t->version,
		 t->k->release, t->k->arch, what, (double)t->ms / 1000.0, t->reason ? ": " : "",
		 t->reason ? t->reason : "", signing ? ", " : "", signing ? signing : "");
	free(signing);
	kmb_progress_line(pg, ctx, line, t->state == KMB_TASK_FAILED);
}

static int cmp_longest_first(const void *a, const void *b, void *arg)
{
	const struct kmb_plan *p = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	long long x = p->t[i].expect_ms, y = p->t[j].expect_ms;

	if (x != y)
		return x > y ? -1 : 1;
	return i < j ? -1 : i > j; /* plan order among equals */
}

/* The order ready tasks are started in: longest expected build first. malloc'd. */
static size_t *start_order(const struct kmb_ctx *ctx, struct kmb_plan *plan)
{
	size_t *order = kmb_xcalloc(plan->n ? plan->n : 1, sizeof(*order));

	for (size_t i = 0; i < plan->n; i++) {
		struct kmb_task *t = &plan->t[i];
		t->expect_ms = t->build ? kmb_cost_expected_ms(ctx, t->name, t->version) : 0;
		order[i] = i;
	}
	qsort_r(order, plan->n, sizeof(*order), cmp_longest_first, plan);
	return order;
}

int kmb_sched_run(const struct kmb_ctx *ctx, struct kmb_plan *plan,
		  const struct kmb_sched_opts *opts)
{
	struct kmb_jobserver js = {-1, -1, 1};
	struct kmb_progress pg;
	sigset_t chld, old;
	int sfd, tok_fd = -1, running = 0, failed = 0;
	size_t done = 0;

	if (kmb_jobserver_init(&js, ctx->jobs) < 0)
		return -errno;
	/* Our own open file description of the token pipe, so O_NONBLOCK on our reads does
	 * not change how the makes sharing the pipe read it. */
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", js.rfd);
	tok_fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	kmb_progress_init(&pg, ctx, plan->n);
	size_t *order = start_order(ctx, plan);

	while (done < plan->n) {
		bool waiting_token = false;
		for (size_t oi = 0; oi < plan->n; oi++) {
			struct kmb_task *t = &plan->t[order[oi]];
			if (t->state != KMB_TASK_WAITING)
				continue;
			int d = deps_ready(ctx, plan, t);
			if (d < 0) {
				done++;
				failed += t->state == KMB_TASK_FAILED;
				report_line(ctx, &pg, t);
				continue;
			}
			if (d == 0)
				continue;
			if (!t->build) {
				run_inline(ctx, t);
				done++;
				failed += t->state == KMB_TASK_FAILED;
				report_line(ctx, &pg, t);
				continue;
			}
			bool token = false;
			if (running > 0) {
				char c;
				if (tok_fd < 0 || read(tok_fd, &c, 1) != 1) {
					waiting_token = true;
					continue;
				}
				token = true;
			}
			if (start_task(ctx, t, &js, opts) < 0) {
				if (token && write(js.wfd, "+", 1) < 0)
					kmb_warn("lost a jobserver token");
				set_result(t, KMB_TASK_FAILED, KMB_EXIT_FAIL,
					   kmb_xstrdup("cannot start a build process"));
				done++;
				failed++;
				report_line(ctx, &pg, t);
				continue;
			}
			t->has_token = token;
			running++;
			kmb_progress_start(&pg, t->name, t->version, t->k->release);
		}
		if (done >= plan->n)
			break;
		if (running == 0 && !waiting_token) {
			/* Nothing runs and nothing can start: a dependency cycle. */
			for (size_t i = 0; i < plan->n; i++) {
				struct kmb_task *t = &plan->t[i];
				if (t->state != KMB_TASK_WAITING)
					continue;
				set_result(t, KMB_TASK_FAILED, KMB_EXIT_DEPENDS,
					   kmb_xstrdup("BUILD_DEPENDS cycle"));
				done++;
				failed++;
				report_line(ctx, &pg, t);
			}
			break;
		}
		struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN},
				       {.fd = waiting_token ? tok_fd : -1, .events = POLLIN}};
		poll(pf, 2, pg.tty ? 1000 : -1);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			;
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (size_t i = 0; i < plan->n; i++) {
				struct kmb_task *t = &plan->t[i];
				if (t->pid != pid)
					continue;
				if (t->has_token && write(js.wfd, "+", 1) < 0)
					kmb_warn("lost a jobserver token");
				t->has_token = false;
				running--;
				kmb_progress_stop(&pg, t->name, t->version, t->k->release);
				task_done(ctx, t, status);
				done++;
				failed += t->state == KMB_TASK_FAILED;
				report_line(ctx, &pg, t);
			}
		}
		kmb_progress_draw(&pg, done);
	}
	kmb_progress_finish(&pg);
	free(order);

	/* One depmod per kernel that got something installed. */
	for (size_t i = 0; i < plan->n && !opts->no_depmod; i++) {
		struct kmb_task *t = &plan->t[i];
		bool first = true;
		for (size_t j = 0; j < i; j++)
			if (plan->t[j].k == t->k && plan->t[j].install &&
			    plan->t[j].state == KMB_TASK_OK)
				first = false;
		if (!first || !t->install || t->state != KMB_TASK_OK)
			continue;
		int rc = kmb_depmod(ctx, t->k);
		if (rc != 0) {
			kmb_err("depmod for %s failed (exit %d)", t->k->release, rc);
			failed++;
			continue;
		}
		for (size_t j = i; j < plan->n; j++)
			if (plan->t[j].k == t->k && plan->t[j].install &&
			    plan->t[j].state == KMB_TASK_OK)
				plan->t[j].depmod_ok = true;
	}
	if (sfd >= 0)
		close(sfd);
	if (tok_fd >= 0)
		close(tok_fd);
	kmb_jobserver_free(&js);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return failed;
}

struct kmb_kernel **kmb_plan_installed_kernels(const struct kmb_plan *plan, size_t *n)
{
	struct kmb_kernel **v = kmb_xcalloc(plan->n ? plan->n : 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < plan->n; i++) {
		bool seen = false;
		if (!plan->t[i].depmod_ok)
			continue;
		for (size_t j = 0; j < *n && !seen; j++)
			seen = v[j] == plan->t[i].k;
		if (!seen)
			v[(*n)++] = plan->t[i].k;
	}
	return v;
}
