// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An exclusion, a failed build or a build nobody ran all look alike after the reboot: the
 * module is gone. When the running kernel has it, that is an error for the next kernel (an
 * r8168 that vanishes takes the network with it), named with its reason and a fix.
 */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/build.h"
#include "verify/verify_reboot.h"

char *kmb_verify_running_release(const struct kmb_ctx *ctx)
{
	const char *c = kmb_config_get(ctx, "running_kernel");
	return c && *c ? kmb_xstrdup(c) : kmb_running_release();
}

/* " --root R" for the fix commands of a sandbox root, so that they run as printed. */
static const char *root_opt(const struct kmb_ctx *ctx)
{
	return ctx->root[0] ? " --root " : "";
}

/* "FIELD=\n" lines that lift the exclusions of why ("m: FIELD=...; m2: FIELD2..."), or NULL
 * when one is not a dkms.conf directive (native kmbuild.conf files take no overrides). */
static char *lifting_lines(const char *why)
{
	struct kmb_buf b = {0};
	char *copy = kmb_xstrdup(why), *save = NULL;
	bool ok = true;

	for (char *part = strtok_r(copy, ";", &save); part && ok;
	     part = strtok_r(NULL, ";", &save)) {
		char *colon = strstr(part, ": ");
		char *field = colon ? colon + 2 : part;
		size_t l = strcspn(field, "=");
		char *line = kmb_xasprintf("%.*s=\\n", (int)l, field);
		ok = field[l] == '=' && (kmb_startswith(field, "BUILD_EXCLUSIVE_") ||
					 kmb_startswith(field, "OBSOLETE_BY"));
		if (ok && (!b.s || !strstr(b.s, line)))
			kmb_buf_adds(&b, line);
		free(line);
	}
	free(copy);
	if (ok && b.len)
		return kmb_buf_steal(&b);
	kmb_buf_free(&b);
	return NULL;
}

/* Lift the exclusion for this kernel only, in DKMS's per-kernel override file, and rebuild. */
static char *exclusion_fix(const struct kmb_ctx *ctx, const struct kmb_entry *e, const char *k,
			   const char *why)
{
	char *lines = lifting_lines(why);
	char *fix;

	if (lines)
		fix = kmb_xasprintf("mkdir -p %s && printf '%s' >> %s/%s-%s-%s.conf && "
				    "kmbuild%s%s install %s/%s -k %s",
				    ctx->dkms_etc, lines, ctx->dkms_etc, e->name, e->version, k,
				    root_opt(ctx), ctx->root, e->name, e->version, k);
	else
		fix = kmb_xasprintf("change exclusive-* in the kmbuild.conf of %s/%s, then "
				    "kmbuild%s%s install %s/%s -k %s",
				    e->name, e->version, root_opt(ctx), ctx->root, e->name,
				    e->version, k);
	free(lines);
	return fix;
}

/* Registered, nothing recorded for k: excluded, not autoinstalled, or simply not built yet. */
static void added_reason(const struct kmb_ctx *ctx, struct kmb_kernel *k, const struct kmb_entry *e,
			 char **why, char **fix)
{
	struct kmb_pkg *pkg = NULL;
	char *err = NULL, *excl = NULL;

	if (kmb_pkg_load_registered(ctx, e->name, e->version, k, &pkg, &err) != 0) {
		*why = kmb_xasprintf("its definition cannot be read: %s", err ? err : "?");
		*fix = kmb_xasprintf("kmbuild%s%s build %s/%s -k %s", root_opt(ctx), ctx->root,
				     e->name, e->version, k->release);
	} else if ((excl = kmb_pkg_all_excluded(pkg, k->release, k->arch, kmb_kernel_config_lookup,
						k))) {
		*why = kmb_xasprintf("excluded (%s)", excl);
		*fix = exclusion_fix(ctx, e, k->release, excl);
	} else {
		*why = kmb_xstrdup(pkg->autoinstall ? "not built for it yet"
						    : "AUTOINSTALL is off, so no kernel upgrade "
						      "builds it");
		*fix = kmb_xasprintf("kmbuild%s%s install %s/%s -k %s", root_opt(ctx), ctx->root,
				     e->name, e->version, k->release);
	}
	free(excl);
	free(err);
	kmb_pkg_free(pkg);
}

/* Why e (the newest entry of its module for k) leaves the module out of k, and the fix. */
static void missing_reason(const struct kmb_ctx *ctx, struct kmb_kernel *k,
			   const struct kmb_entry *e, char **why, char **fix)
{
	const char *root = ctx->root;
	switch (e->state) {
	case KMB_ST_EXCLUDED:
		*why = kmb_xasprintf("excluded (%s)", e->reason ? e->reason : "BUILD_EXCLUSIVE");
		*fix = exclusion_fix(ctx, e, k->release, e->reason ? e->reason : "");
		return;
	case KMB_ST_FAILED:
		*why = kmb_xasprintf("its build failed (%s)",
				     e->reason ? e->reason : "see its log");
		break;
	case KMB_ST_BUILT:
		*why = kmb_xstrdup("built but not installed");
		break;
	case KMB_ST_BROKEN:
		*why = kmb_xasprintf("broken (%s)", e->reason ? e->reason : "?");
		break;
	default:
		added_reason(ctx, k, e, why, fix);
		return;
	}
	*fix = kmb_xasprintf("kmbuild%s%s install %s/%s -k %s", root_opt(ctx), root, e->name,
			     e->version, k->release);
}

static bool installed_for(const struct kmb_entry *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, name) && e[i].kernel &&
		    (e[i].state == KMB_ST_INSTALLED || e[i].state == KMB_ST_BROKEN))
			return true;
	return false;
}

void kmb_verify_reboot_coverage(const struct kmb_ctx *ctx, struct kmb_kernel *k,
				const struct kmb_entry *e, size_t n, struct kmb_findings *f,
				struct kmb_strv *handled)
{
	char *running = kmb_verify_running_release(ctx);
	struct kmb_entry *re = NULL;
	size_t rn = 0;

	if (strcmp(running, k->release) != 0)
		kmb_state_list(ctx, NULL, NULL, running, &re, &rn);
	for (size_t i = 0; i < n; i++) {
		/* Entries are sorted by name then version: the last of a name is the newest. */
		if (i + 1 < n && !strcmp(e[i + 1].name, e[i].name))
			continue;
		if (!installed_for(re, rn, e[i].name) || installed_for(e, n, e[i].name))
			continue;
		char *why = NULL, *fix = NULL;
		char *pkgname = kmb_xasprintf("%s/%s", e[i].name, e[i].version);
		struct kmb_vsubject s = {
			.kernel = k->release, .module = e[i].name, .package = pkgname};
		missing_reason(ctx, k, &e[i], &why, &fix);
		kmb_finding_add(f, &s, KMB_VC_COVERAGE, KMB_VS_ERROR, fix,
				"installed for the running kernel %s but missing after the reboot "
				"into %s: %s",
				running, k->release, why);
		kmb_strv_push(handled, e[i].name);
		free(why);
		free(pkgname);
	}
	kmb_entries_free(re, rn);
	free(running);
}
