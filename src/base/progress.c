// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>
#include <string.h>

#include "base/progress.h"
#include "base/util.h"

void kmb_progress_init(struct kmb_progress *pg, const struct kmb_ctx *ctx, size_t total)
{
	memset(pg, 0, sizeof(*pg));
	pg->tty = ctx->tty && !ctx->json && ctx->verbosity >= KMB_NORMAL;
	pg->quiet = ctx->json || ctx->verbosity < KMB_NORMAL;
	pg->total = total;
	pg->t0 = kmb_now_ms();
}

static void label(char *buf, size_t len, const char *name, const char *version, const char *kernel)
{
	snprintf(buf, len, "%s/%s@%s", name, version, kernel);
}

void kmb_progress_start(struct kmb_progress *pg, const char *name, const char *version,
			const char *kernel)
{
	if (pg->n_running >= KMB_ARRAY_SIZE(pg->running))
		return;
	label(pg->running[pg->n_running].label, sizeof(pg->running[0].label), name, version,
	      kernel);
	pg->running[pg->n_running].since = kmb_now_ms();
	pg->n_running++;
}

void kmb_progress_stop(struct kmb_progress *pg, const char *name, const char *version,
		       const char *kernel)
{
	char l[160];
	label(l, sizeof(l), name, version, kernel);
	for (size_t i = 0; i < pg->n_running; i++) {
		if (strcmp(pg->running[i].label, l) != 0)
			continue;
		memmove(&pg->running[i], &pg->running[i + 1],
			(pg->n_running - i - 1) * sizeof(pg->running[0]));
		pg->n_running--;
		return;
	}
}

static void clear(struct kmb_progress *pg)
{
	if (pg->tty)
		fputs("\r\033[K", stderr);
}

void kmb_progress_line(struct kmb_progress *pg, const struct kmb_ctx *ctx, const char *line,
		       bool is_error)
{
	(void)ctx;
	clear(pg);
	if (!pg->quiet)
		printf("%s\n", line);
	else if (is_error)
		fprintf(stderr, "kmbuild: %s\n", line);
	fflush(stdout);
}

void kmb_progress_draw(struct kmb_progress *pg, size_t done)
{
	if (!pg->tty)
		return;
	long long now = kmb_now_ms();
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "[%zu/%zu] %llds", done, pg->total,
			 (now - pg->t0) / 1000);
	for (size_t i = 0; i < pg->n_running && n < (int)sizeof(buf) - 40; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s %s %llds",
			      i ? "," : " building", pg->running[i].label,
			      (now - pg->running[i].since) / 1000);
	/* Keep it on one terminal line. */
	if (n > 150)
		strcpy(buf + 147, "...");
	fprintf(stderr, "\r\033[K%s", buf);
	fflush(stderr);
}

void kmb_progress_finish(struct kmb_progress *pg)
{
	clear(pg);
	if (pg->tty)
		fflush(stderr);
}
