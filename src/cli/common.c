// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/registry.h"
#include "core/sched.h"
#include "core/state.h"
#include "initramfs/initramfs.h"
#include "base/util.h"

int kmb_cli_lock(struct kmb_ctx *ctx)
{
	int r = kmb_lock_take(ctx);

	if (r == 0)
		return 0;
	kmb_err("cannot take the lock in %s: %s", ctx->state_dir,
		r == -ETIMEDOUT ? "another kmbuild run still holds it" : strerror(-r));
	return KMB_EXIT_LOCK;
}

int kmb_cli_split_nv(const char *arg, char **name, char **version)
{
	const char *slash = strchr(arg, '/');
	*name = slash ? kmb_xstrndup(arg, (size_t)(slash - arg)) : kmb_xstrdup(arg);
	*version = slash ? kmb_xstrdup(slash + 1) : NULL;
	if (!kmb_is_safe_name(*name) || (*version && !kmb_is_safe_name(*version))) {
		kmb_err("'%s' is not a module name or name/version", arg);
		free(*name);
		free(*version);
		*name = *version = NULL;
		return -EINVAL;
	}
	return 0;
}

int kmb_cli_resolve_nv(const struct kmb_ctx *ctx, const char *arg, bool pick_highest, char **name,
		       char **version)
{
	char **vers;
	size_t n;

	if (kmb_cli_split_nv(arg, name, version) < 0)
		return KMB_EXIT_USAGE;
	kmb_registry_versions(ctx, *name, &vers, &n);
	if (*version) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= strcmp(vers[i], *version) == 0;
		kmb_registry_strv_free(vers, n);
		if (!found) {
			kmb_err("%s/%s is not added (kmbuild status lists what is)", *name,
				*version);
			goto notfound;
		}
		return 0;
	}
	if (n == 0) {
		kmb_err("module %s is not added (kmbuild status lists what is)", *name);
		kmb_registry_strv_free(vers, n);
		goto notfound;
	}
	if (n > 1 && !pick_highest) {
		kmb_err("%s has %zu versions added; say which: %s/%s", *name, n, *name, vers[0]);
		kmb_registry_strv_free(vers, n);
		free(*name);
		*name = NULL;
		return KMB_EXIT_USAGE;
	}
	*version = kmb_xstrdup(vers[0]);
	kmb_registry_strv_free(vers, n);
	return 0;
notfound:
	free(*name);
	free(*version);
	*name = *version = NULL;
	return KMB_EXIT_NOTFOUND;
}

static bool set_has(const struct kmb_kernel_set *s, const char *rel)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->k[i]->release, rel) == 0)
			return true;
	return false;
}

static void set_add(struct kmb_kernel_set *s, struct kmb_kernel *k)
{
	s->k = kmb_xrealloc(s->k, (s->n + 1) * sizeof(*s->k));
	s->k[s->n++] = k;
}

int kmb_cli_kernels(const struct kmb_ctx *ctx, const struct kmb_cli_opts *o,
		    struct kmb_kernel_set *out)
{
	char **names = o->kernels.v;
	size_t n_names = o->kernels.n;
	bool all = o->all_kernels;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n_names; i++) {
		/* The parser checked that each part is a name. */
		char *rel = kmb_xstrdup(names[i]), *arch = strchr(rel, '/');
		struct kmb_kernel *k;
		if (arch)
			*arch++ = '\0';
		kmb_kernel_open(ctx, rel, &k);
		if (arch && *arch && strcmp(arch, k->arch) != 0) {
			/* The arch names a directory (DKMS -a); kbuild decides what is built. */
			free(k->arch);
			k->arch = kmb_xstrdup(arch);
		}
		if (!set_has(out, rel))
			set_add(out, k);
		else
			kmb_kernel_free(k);
		free(rel);
	}
	if (n_names)
		return 0;

	struct kmb_kernel **list;
	size_t n;
	kmb_kernel_list(ctx, &list, &n);
	char *running = kmb_running_release();
	for (size_t i = 0; i < n; i++) {
		struct kmb_kernel *k = list[i];
		bool take;
		if (all)
			take = k->installed;
		else
			take = strcmp(k->release, running) == 0 && (k->installed || k->headers_dir);
		if (take) {
			set_add(out, k);
			list[i] = NULL;
		}
	}
	/* The kernel that boots next is the newest installed one: build for it too. */
	for (size_t i = 0; i < n && !all; i++) {
		if (list[i] && list[i]->installed) {
			if (!set_has(out, list[i]->release)) {
				set_add(out, list[i]);
				list[i] = NULL;
			}
			break;
		}
		if (!list[i])
			break; /* the newest installed kernel is the running one, already taken */
	}
	free(running);
	kmb_kernel_list_free(list, n);
	if (out->n == 0) {
		kmb_err("no installed kernel found under %s (use -k RELEASE)", ctx->modules_dir);
		return KMB_EXIT_INSTALL;
	}
	return 0;
}

void kmb_cli_kernels_free(struct kmb_kernel_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		kmb_kernel_free(set->k[i]);
	free(set->k);
	memset(set, 0, sizeof(*set));
}

int kmb_cli_refresh_initramfs(const struct kmb_ctx *ctx, const struct kmb_plan *plan)
{
	size_t n;
	struct kmb_kernel **ks = kmb_plan_installed_kernels(plan, &n);
	int failed = 0;

	for (size_t i = 0; i < n; i++)
		failed += kmb_initramfs_update(ctx, ks[i]->release, NULL) < 0;
	free(ks);
	return failed;
}
