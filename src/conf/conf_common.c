// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Format-independent part of the module definitions: error collection, path and name
 * checks, freeing, and the per-kernel decisions (BUILD_EXCLUSIVE_*, MAKE[]/MAKE_MATCH[],
 * PATCH_MATCH[]). Both readers build on it; conf_load.c sits above them.
 */
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/conf_priv.h"
#include "base/version.h"

void kmb_conf_seterr(struct kmb_conf_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* One line, whatever a file name or value contained. */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

void kmb_conf_errf(struct kmb_strv *errs, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	kmb_strv_push(errs, s);
	free(s);
}

int kmb_conf_err_finish(const struct kmb_strv *errs, struct kmb_conf_error *err)
{
	if (!errs->n)
		return 0;
	if (errs->n == 1)
		kmb_conf_seterr(err, "%s", errs->v[0]);
	else
		kmb_conf_seterr(err, "%s (and %zu more error%s)", errs->v[0], errs->n - 1,
				errs->n > 2 ? "s" : "");
	return -EINVAL;
}

int kmb_conf_read_text(const char *path, char **text, bool *changed, struct kmb_conf_error *err)
{
	char *s;
	size_t len, j = 0;
	int r = kmb_read_file(path, &s, &len);

	if (r < 0) {
		kmb_conf_seterr(err, "%s: cannot read: %s", path, strerror(-r));
		return r;
	}
	if (strlen(s) != len) {
		free(s);
		kmb_conf_seterr(err, "%s: contains a NUL byte (not a text file)", path);
		return -EINVAL;
	}
	*changed = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n') {
			*changed = true;
			continue;
		}
		s[j++] = s[i];
	}
	s[j] = '\0';
	*text = s;
	return 0;
}

bool kmb_conf_has_dotdot(const char *p)
{
	for (const char *c = p; (c = strstr(c, "..")); c += 2) {
		bool start = c == p || c[-1] == '/';
		bool end = c[2] == '\0' || c[2] == '/';
		if (start && end)
			return true;
	}
	return false;
}

bool kmb_conf_rel_path_ok(const char *p)
{
	return p[0] != '/' && !kmb_conf_has_dotdot(p) && !strchr(p, '\n');
}

bool kmb_conf_dest_prefix_ok(const char *loc)
{
	return (kmb_startswith(loc, "/kernel") || kmb_startswith(loc, "/updates") ||
		kmb_startswith(loc, "/extra"));
}

bool kmb_conf_has_obj_suffix(const char *s)
{
	return kmb_endswith(s, ".o") || kmb_endswith(s, ".ko");
}

bool kmb_conf_regex_ok(const char *re)
{
	regex_t rx;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	regfree(&rx);
	return true;
}

/* bash's [[ s =~ re ]]: 1 match, 0 no match, -1 the regex does not compile. */
static int ere_match(const char *re, const char *s)
{
	regex_t rx;
	int r;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		return -1;
	r = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return r;
}

static void excl_free(struct kmb_exclusive *e)
{
	free(e->kernel);
	free(e->kernel_min);
	free(e->kernel_max);
	free(e->arch);
	free(e->config);
}

void kmb_pkg_free(struct kmb_pkg *pkg)
{
	if (!pkg)
		return;
	free(pkg->name);
	free(pkg->version);
	free(pkg->conf_path);
	free(pkg->shell_reason);
	for (size_t i = 0; i < pkg->n_modules; i++) {
		struct kmb_module_def *m = &pkg->modules[i];
		free(m->built_name);
		free(m->built_location);
		free(m->dest_name);
		free(m->dest_location);
		excl_free(&m->excl);
	}
	free(pkg->modules);
	for (size_t i = 0; i < pkg->n_make; i++) {
		free(pkg->make[i].cmd);
		free(pkg->make[i].match);
	}
	free(pkg->make);
	for (size_t i = 0; i < pkg->n_patches; i++) {
		free(pkg->patches[i].file);
		free(pkg->patches[i].match);
	}
	free(pkg->patches);
	kmb_strv_free(&pkg->build_depends);
	free(pkg->obsolete_by);
	excl_free(&pkg->excl);
	free(pkg->pre_build);
	free(pkg->post_build);
	free(pkg->post_add);
	free(pkg->pre_install);
	free(pkg->post_install);
	free(pkg->post_remove);
	kmb_strv_free(&pkg->warnings);
	free(pkg);
}

/* The directive's name as the user wrote it, for reasons: DKMS or native spelling. */
static char *field_name(const struct kmb_pkg *pkg, size_t idx, bool module_level, const char *dkms,
			const char *native)
{
	if (pkg->format == KMB_CONF_NATIVE)
		return module_level ? kmb_xasprintf("[module %s] %s", pkg->modules[idx].built_name,
						    native)
				    : kmb_xstrdup(native);
	return module_level ? kmb_xasprintf("%s[%zu]", dkms, idx) : kmb_xstrdup(dkms);
}

/* Pick the module's own value, else the package's. */
#define PICK(f)	      (m->excl.f ? m->excl.f : pkg->excl.f)
#define NAME(f, d, n) field_name(pkg, idx, m->excl.f != NULL, d, n)

static bool config_excludes(const struct kmb_pkg *pkg, size_t idx, kmb_kconfig_lookup_fn lookup,
			    void *userdata, char **reason)
{
	const struct kmb_module_def *m = &pkg->modules[idx];
	const char *list = PICK(config);
	char *copy, *save = NULL, *tok;
	bool excluded = false;

	/* DKMS skips the check when the kernel has no config file; no lookup is the same. */
	if (!list || !lookup)
		return false;
	copy = kmb_xstrdup(list);
	for (tok = strtok_r(copy, " \t\n", &save); tok && !excluded;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		bool neg = tok[0] == '!';
		const char *name = neg ? tok + 1 : tok;
		const char *v = lookup(userdata, name);
		bool set = v && (strcmp(v, "y") == 0 || strcmp(v, "m") == 0);
		char *fn;

		if (set == !neg)
			continue;
		fn = NAME(config, "BUILD_EXCLUSIVE_CONFIG", "exclusive-config");
		if (neg)
			*reason = kmb_xasprintf("%s=\"%s\": %s is set (=%s)", fn, list, name, v);
		else
			*reason =
				kmb_xasprintf("%s=\"%s\": %s is not set to y or m", fn, list, name);
		free(fn);
		excluded = true;
	}
	free(copy);
	return excluded;
}

bool kmb_pkg_module_excluded(const struct kmb_pkg *pkg, size_t idx, const char *kernelver,
			     const char *arch, kmb_kconfig_lookup_fn lookup, void *userdata,
			     char **reason)
{
	const struct kmb_module_def *m;
	const char *v;
	char *fn;
	int r;

	if (reason)
		*reason = NULL;
	if (!pkg || idx >= pkg->n_modules)
		return false;
	m = &pkg->modules[idx];
	kernelver = kernelver ? kernelver : "";
	arch = arch ? arch : "";
	char *dummy = NULL, **why = reason ? reason : &dummy;

	/* Same order as DKMS's check_build_exclusive_for_module (dkms.in:850-886). */
	if ((v = PICK(kernel)) && (r = ere_match(v, kernelver)) != 1) {
		fn = NAME(kernel, "BUILD_EXCLUSIVE_KERNEL", "exclusive-kernel");
		*why = kmb_xasprintf(r < 0 ? "%s=%s is not a valid regular expression"
					   : "%s=%s does not match %s",
				     fn, v, kernelver);
		goto excluded;
	}
	if ((v = PICK(kernel_min)) && kmb_vercmp(kernelver, v) < 0) {
		fn = NAME(kernel_min, "BUILD_EXCLUSIVE_KERNEL_MIN", "exclusive-kernel-min");
		*why = kmb_xasprintf("%s=%s > %s", fn, v, kernelver);
		goto excluded;
	}
	if ((v = PICK(kernel_max)) && kmb_vercmp(kernelver, v) > 0) {
		fn = NAME(kernel_max, "BUILD_EXCLUSIVE_KERNEL_MAX", "exclusive-kernel-max");
		if (!m->excl.kernel_max && pkg->obsolete_by && strcmp(pkg->obsolete_by, v) == 0) {
			free(fn);
			fn = kmb_xstrdup("OBSOLETE_BY");
		}
		*why = kmb_xasprintf("%s=%s < %s", fn, v, kernelver);
		goto excluded;
	}
	if ((v = PICK(arch)) && (r = ere_match(v, arch)) != 1) {
		fn = NAME(arch, "BUILD_EXCLUSIVE_ARCH", "exclusive-arch");
		*why = kmb_xasprintf(r < 0 ? "%s=%s is not a valid regular expression"
					   : "%s=%s does not match %s",
				     fn, v, arch);
		goto excluded;
	}
	if (config_excludes(pkg, idx, lookup, userdata, why))
		goto excluded_nofn;
	return false;

excluded:
	free(fn);
excluded_nofn:
	free(dummy);
	return true;
}

#undef PICK
#undef NAME

char *kmb_pkg_all_excluded(const struct kmb_pkg *pkg, const char *kernelver, const char *arch,
			   kmb_kconfig_lookup_fn lookup, void *userdata)
{
	struct kmb_buf why = {0};
	bool all = pkg && pkg->n_modules > 0;

	for (size_t i = 0; all && i < pkg->n_modules; i++) {
		char *r = NULL;
		all = kmb_pkg_module_excluded(pkg, i, kernelver, arch, lookup, userdata, &r);
		if (all)
			kmb_buf_printf(&why, "%s%s: %s", why.len ? "; " : "",
				       pkg->modules[i].built_name, r);
		free(r);
	}
	if (all)
		return kmb_buf_steal(&why);
	kmb_buf_free(&why);
	return NULL;
}

const char *kmb_pkg_make_command(const struct kmb_pkg *pkg, const char *kernelver)
{
	const char *cmd = NULL;

	if (!pkg || !pkg->n_make)
		return NULL;
	kernelver = kernelver ? kernelver : "";
	if (!pkg->make[0].match)
		cmd = pkg->make[0].cmd;
	for (size_t i = 0; i < pkg->n_make; i++) {
		const struct kmb_make_rule *r = &pkg->make[i];
		if (r->cmd && r->match && ere_match(r->match, kernelver) == 1)
			cmd = r->cmd;
	}
	return cmd;
}

bool kmb_pkg_patch_applies(const struct kmb_pkg *pkg, size_t i, const char *kernelver)
{
	if (!pkg || i >= pkg->n_patches)
		return false;
	if (!pkg->patches[i].match)
		return true;
	return ere_match(pkg->patches[i].match, kernelver ? kernelver : "") == 1;
}
