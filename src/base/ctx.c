// SPDX-License-Identifier: GPL-2.0-or-later
/* The invocation context: root prefix, derived paths, settings, message helpers. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/kmb.h"
#include "base/util.h"

char *kmb_root_path(const struct kmb_ctx *ctx, const char *abs_path)
{
	return kmb_xasprintf("%s%s", ctx->root, abs_path);
}

char *kmb_root_or_host_path(const struct kmb_ctx *ctx, const char *abs_path)
{
	char *p = kmb_root_path(ctx, abs_path);
	if (kmb_exists(p))
		return p;
	free(p);
	return kmb_xstrdup(abs_path);
}

static void config_load(struct kmb_ctx *ctx)
{
	char *path = kmb_xasprintf("%s/kmbuild.conf", ctx->etc_dir);
	char *data, *line, *save = NULL;

	if (kmb_read_file(path, &data, NULL) < 0) {
		free(path);
		return;
	}
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *k, *v, *end;

		while (isspace((unsigned char)*line))
			line++;
		if (*line == '#' || *line == ';' || !*line)
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			kmb_warn("%s: ignoring line without '=': %s", path, line);
			continue;
		}
		*eq = '\0';
		k = line;
		v = eq + 1;
		for (end = eq; end > k && isspace((unsigned char)end[-1]); end--)
			end[-1] = '\0';
		while (isspace((unsigned char)*v))
			v++;
		for (end = v + strlen(v); end > v && isspace((unsigned char)end[-1]); end--)
			end[-1] = '\0';
		ctx->config_keys =
			kmb_xrealloc(ctx->config_keys, (ctx->n_config + 1) * sizeof(char *));
		ctx->config_values =
			kmb_xrealloc(ctx->config_values, (ctx->n_config + 1) * sizeof(char *));
		ctx->config_keys[ctx->n_config] = kmb_xstrdup(k);
		ctx->config_values[ctx->n_config] = kmb_xstrdup(v);
		ctx->n_config++;
	}
	free(data);
	free(path);
}

const char *kmb_config_get(const struct kmb_ctx *ctx, const char *key)
{
	char env[128];
	size_t i;

	snprintf(env, sizeof(env), "KMBUILD_%s", key);
	for (i = 8; env[i]; i++)
		env[i] = env[i] == '-' ? '_' : (char)toupper((unsigned char)env[i]);
	const char *e = getenv(env);
	if (e)
		return e;
	/* The last assignment wins, like a shell. */
	for (i = ctx->n_config; i-- > 0;)
		if (strcmp(ctx->config_keys[i], key) == 0)
			return ctx->config_values[i];
	return NULL;
}

bool kmb_config_bool(const struct kmb_ctx *ctx, const char *key, bool dflt)
{
	const char *v = kmb_config_get(ctx, key);
	if (!v)
		return dflt;
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
	    !strcasecmp(v, "on"))
		return true;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
	    !strcasecmp(v, "off"))
		return false;
	return dflt;
}

int kmb_ctx_init(struct kmb_ctx *ctx, const char *root)
{
	char resolved[PATH_MAX];

	memset(ctx, 0, sizeof(*ctx));
	ctx->lock_fd = -1;
	ctx->verbosity = KMB_NORMAL;
	ctx->lock_timeout_s = 900;
	ctx->tty = isatty(STDERR_FILENO);
	if (!root || !*root || strcmp(root, "/") == 0) {
		ctx->root = kmb_xstrdup("");
	} else {
		/* The root must exist: silently creating a typo'd sandbox would hide the typo. */
		if (!realpath(root, resolved))
			return -errno;
		if (!kmb_is_dir(resolved))
			return -ENOTDIR;
		ctx->root = kmb_xstrdup(strcmp(resolved, "/") == 0 ? "" : resolved);
	}
	ctx->etc_dir = kmb_root_path(ctx, "/etc/kmbuild");
	config_load(ctx);

	const char *tree = kmb_config_get(ctx, "state_dir");
	ctx->state_dir = tree ? kmb_root_path(ctx, tree) : kmb_root_path(ctx, "/var/lib/kmbuild");
	ctx->modules_dir = kmb_root_path(ctx, "/lib/modules");
	ctx->src_dir = kmb_root_path(ctx, "/usr/src");
	ctx->dkms_etc = kmb_root_path(ctx, "/etc/dkms");
	ctx->boot_dir = kmb_root_path(ctx, "/boot");
	ctx->efivars_dir = kmb_root_path(ctx, "/sys/firmware/efi/efivars");
	ctx->os_release = kmb_root_path(ctx, "/etc/os-release");
	if (!kmb_exists(ctx->os_release)) {
		free(ctx->os_release);
		ctx->os_release = kmb_root_path(ctx, "/usr/lib/os-release");
	}

	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *jobs = kmb_config_get(ctx, "jobs");
	ctx->jobs = jobs && atoi(jobs) > 0 ? atoi(jobs) : (n > 0 ? (int)n : 1);
	const char *lt = kmb_config_get(ctx, "lock_timeout");
	if (lt && atoi(lt) >= 0)
		ctx->lock_timeout_s = atoi(lt);
	return 0;
}

void kmb_ctx_free(struct kmb_ctx *ctx)
{
	if (ctx->lock_fd >= 0)
		close(ctx->lock_fd);
	for (size_t i = 0; i < ctx->n_config; i++) {
		free(ctx->config_keys[i]);
		free(ctx->config_values[i]);
	}
	free(ctx->config_keys);
	free(ctx->config_values);
	free(ctx->root);
	free(ctx->state_dir);
	free(ctx->modules_dir);
	free(ctx->src_dir);
	free(ctx->etc_dir);
	free(ctx->dkms_etc);
	free(ctx->boot_dir);
	free(ctx->efivars_dir);
	free(ctx->os_release);
	memset(ctx, 0, sizeof(*ctx));
	ctx->lock_fd = -1;
}

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	char line[4096];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "kmbuild: %s%s\n", prefix, line);
}

void kmb_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}

void kmb_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void kmb_info(const struct kmb_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	if (ctx->verbosity < KMB_NORMAL || ctx->json)
		return;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void kmb_debug(const struct kmb_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	if (ctx->verbosity < KMB_VERBOSE)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}
