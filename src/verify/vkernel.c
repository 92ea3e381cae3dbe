// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Describing kernel K for the checks of verify.c: its exports, vermagic, config switches and
 * signature policy, read from its headers, module tree, boot config and efivars.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libkmod.h>
#include <openssl/x509.h>

#include "base/util.h"
#include "sign/efivars.h"
#include "sign/mok.h"
#include "verify/verify.h"
#include "verify/verify_sys.h"

/* ---- building the kernel description ------------------------------------------------------- */

static void kmod_quiet(void *data, int priority, const char *file, int line, const char *fn,
		       const char *format, va_list args)
{
	(void)data;
	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	(void)format;
	(void)args;
}

struct cfg_src {
	struct kmb_kernel *k;
	char **names, **values; /* <boot>/config-K when the headers have none */
	size_t n;
};

static void cfg_src_free(void *data)
{
	struct cfg_src *cs = data;

	for (size_t i = 0; i < cs->n; i++) {
		free(cs->names[i]);
		free(cs->values[i]);
	}
	free(cs->names);
	free(cs->values);
	free(cs);
}

static const char *cfg_lookup(void *data, const char *name)
{
	struct cfg_src *c = data;
	const char *v = kmb_kernel_config(c->k, name);

	if (v || !c->n)
		return v;
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(name, c->names[mid]);
		if (!r)
			return c->values[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* From a kernel module of K's own tree when there is one (the authority), else computed the
 * way include/linux/vermagic.h does for x86_64. */
static char *expected_vermagic(struct kmb_vkernel *vk, unsigned *machine)
{
	char *order = kmb_xasprintf("%s/modules.order", vk->modules_dir), *data = NULL;
	char *line, *save = NULL, *res = NULL;

	if (kmb_read_file(order, &data, NULL) == 0) {
		int tries = 0;
		for (line = strtok_r(data, "\n", &save); line && !res && tries < 8;
		     line = strtok_r(NULL, "\n", &save)) {
			const char *sfx[] = {"", ".xz", ".zst", ".gz"};
			for (size_t i = 0; i < KMB_ARRAY_SIZE(sfx) && !res; i++) {
				char *p = kmb_xasprintf("%s/%s%s", vk->modules_dir, line, sfx[i]);
				struct kmb_modfile *m;
				char *err = NULL;
				if (kmb_exists(p)) {
					tries++;
					if (kmb_modfile_open(p, &m, &err) == 0) {
						if (m->vermagic)
							res = kmb_xstrdup(m->vermagic);
						*machine = m->machine;
						kmb_modfile_free(m);
					}
				}
				free(err);
				free(p);
			}
		}
	}
	free(data);
	free(order);
	if (res || !vk->config || !kmb_vkernel_cfg_y(vk, "CONFIG_X86_64"))
		return res;
	*machine = 62; /* EM_X86_64 */
	return kmb_xasprintf("%s %s%s%s%s", vk->release,
			     kmb_vkernel_cfg_y(vk, "CONFIG_SMP") ? "SMP " : "",
			     kmb_vkernel_cfg_y(vk, "CONFIG_PREEMPT_BUILD") ? "preempt "
			     : kmb_vkernel_cfg_y(vk, "CONFIG_PREEMPT_RT")  ? "preempt_rt "
									   : "",
			     kmb_vkernel_cfg_y(vk, "CONFIG_MODULE_UNLOAD") ? "mod_unload " : "",
			     kmb_vkernel_cfg_y(vk, "CONFIG_MODVERSIONS") ? "modversions " : "");
}

static void load_exports(const struct kmb_ctx *ctx, struct kmb_kernel *k, struct kmb_vkernel *vk,
			 const struct kmb_symtab *want, struct kmb_findings *f,
			 const struct kmb_vsubject *sys)
{
	char *err = NULL;
	char *symvers = k->headers_dir ? kmb_xasprintf("%s/Module.symvers", k->headers_dir) : NULL;

	(void)ctx;
	if (symvers && kmb_exists(symvers)) {
		vk->vmlinux = kmb_symtab_new();
		vk->symvers_mods = kmb_symtab_new();
		if (kmb_symvers_load_only(vk->vmlinux, vk->symvers_mods, symvers, want, &err) >=
			    0 &&
		    (want || kmb_symtab_count(vk->vmlinux) > 0)) {
			vk->vmlinux_src = symvers;
			return;
		}
		kmb_finding_add(f, sys, KMB_VC_SYMBOLS, KMB_VS_WARN, NULL, "%s",
				err ? err : "Module.symvers lists no vmlinux export");
		free(err);
		err = NULL;
		kmb_symtab_free(vk->vmlinux);
		kmb_symtab_free(vk->symvers_mods);
		vk->vmlinux = vk->symvers_mods = NULL;
	}
	free(symvers);
	if (k->sysmap) {
		vk->vmlinux = kmb_symtab_new();
		if (kmb_sysmap_load(vk->vmlinux, k->sysmap, &err) > 0) {
			vk->vmlinux_src = kmb_xstrdup(k->sysmap);
			kmb_finding_add(
				f, sys, KMB_VC_MODVERSIONS, KMB_VS_INFO,
				kmb_xasprintf("kmbuild headers %s", k->release),
				"no headers for %s: symbols checked against System.map, CRCs "
				"not checked",
				k->release);
			return;
		}
		kmb_symtab_free(vk->vmlinux);
		vk->vmlinux = NULL;
	}
	kmb_finding_add(f, sys, KMB_VC_SYMBOLS, KMB_VS_WARN,
			kmb_xasprintf("kmbuild headers %s", k->release),
			"cannot check symbols or CRCs: no Module.symvers (headers) for %s%s%s",
			k->release, err ? " and " : "", err ? err : "");
	free(err);
}

static void load_mok(const struct kmb_ctx *ctx, struct kmb_vkernel *vk)
{
	unsigned char *d = NULL;
	size_t len, n;
	struct kmb_esl_entry *v = NULL;

	if (kmb_efi_mok_list(ctx, "MokListRT", &d, &len) < 0)
		return;
	if (kmb_esl_parse(d, len, &v, &n) == 0) {
		vk->mok_known = true;
		vk->mok = kmb_xcalloc(n ? n : 1, sizeof(*vk->mok));
		for (size_t i = 0; i < n; i++) {
			const unsigned char *p = v[i].data;
			X509 *x;
			if (strcmp(v[i].type, KMB_EFI_CERT_X509_GUID) != 0)
				continue;
			if ((x = d2i_X509(NULL, &p, (long)v[i].len)))
				vk->mok[vk->n_mok++] = x;
		}
	}
	free(v);
	free(d);
}

static void load_signing_policy(const struct kmb_ctx *ctx, struct kmb_vkernel *vk,
				struct kmb_findings *f, const struct kmb_vsubject *sys)
{
	struct kmb_keypair kp;
	char err[512] = "";
	struct kmb_bootcmd cmd;

	vk->sig_enabled = kmb_vkernel_cfg_y(vk, "CONFIG_MODULE_SIG");
	const char *h = kmb_vkernel_cfg(vk, "CONFIG_MODULE_SIG_HASH");
	vk->sig_hash = h ? kmb_xstrdup(h) : NULL;

	/* Secure Boot as the kernel will see it: on, not in setup mode, shim validation on. */
	int sb = kmb_efivar_bool(ctx, "SecureBoot", KMB_EFI_GLOBAL_GUID);
	int setup = kmb_efivar_bool(ctx, "SetupMode", KMB_EFI_GLOBAL_GUID);
	int moksb = kmb_efivar_bool(ctx, "MokSBStateRT", KMB_EFI_SHIM_GUID);
	vk->secure_boot = sb < 0 ? -1 : (sb == 1 && setup != 1 && moksb != 1);
	vk->mok_usable = vk->secure_boot == 1;
	if (vk->mok_usable)
		load_mok(ctx, vk);

	kmb_verify_bootcmd_read(ctx, vk->release, &cmd);
	if (kmb_vkernel_cfg_y(vk, "CONFIG_MODULE_SIG_FORCE"))
		vk->enforce_why = kmb_xasprintf("%s has CONFIG_MODULE_SIG_FORCE", vk->release);
	else if (cmd.sig_enforce)
		vk->enforce_why = kmb_xasprintf("module.sig_enforce=1 is on the kernel command "
						"line (%s)",
						cmd.source);
	else if (vk->secure_boot == 1 &&
		 kmb_vkernel_cfg_y(vk, "CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT"))
		vk->enforce_why = kmb_xstrdup("Secure Boot is on and the kernel locks down");
	else if (cmd.lockdown && kmb_vkernel_cfg_y(vk, "CONFIG_SECURITY_LOCKDOWN_LSM"))
		vk->enforce_why = kmb_xasprintf("lockdown=%s is on the kernel command line (%s)",
						cmd.lockdown, cmd.source);
	else if (kmb_vkernel_cfg_y(vk, "CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY") ||
		 kmb_vkernel_cfg_y(vk, "CONFIG_LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY"))
		vk->enforce_why = kmb_xasprintf("%s is always locked down", vk->release);
	vk->sig_enforced = vk->sig_enabled && vk->enforce_why;
	kmb_verify_bootcmd_free(&cmd);

	int r = kmb_keypair_discover(ctx, &kp, err, sizeof(err));
	if (r == -EINVAL)
		kmb_finding_add(f, sys, KMB_VC_SIGNATURE, KMB_VS_WARN, NULL, "%s", err);
	if (r == 0) {
		X509 *x = NULL;
		if (kmb_cert_load(kp.cert, &x, err, sizeof(err)) == 0) {
			struct kmb_cert_info info;
			vk->signing_cert = x;
			vk->signing_cert_path = kmb_xstrdup(kp.cert);
			kmb_cert_describe(x, &info);
			vk->signing_cn = kmb_xstrdup(info.cn);
		} else {
			kmb_finding_add(f, sys, KMB_VC_SIGNATURE, KMB_VS_WARN, NULL, "%s", err);
		}
		kmb_keypair_free(&kp);
	}
}

int kmb_vkernel_open(const struct kmb_ctx *ctx, struct kmb_kernel *k, const struct kmb_symtab *want,
		     struct kmb_vkernel **out, struct kmb_findings *f)
{
	struct kmb_vkernel *vk = kmb_vkernel_new(k->release);
	struct kmb_vsubject sys = {.kernel = k->release};
	struct cfg_src *cs = kmb_xcalloc(1, sizeof(*cs));

	vk->root = ctx->root;
	vk->modules_dir = kmb_xstrdup(k->modules_dir);
	cs->k = k;
	kmb_verify_boot_config(ctx, k->release, &cs->names, &cs->values, &cs->n);
	vk->config = cfg_lookup;
	vk->config_data = cs;
	vk->config_free = cfg_src_free;
	if (!kmb_kernel_config(k, "CONFIG_MODULES") && !cs->n) {
		kmb_vkernel_release_config(vk);
		kmb_finding_add(f, &sys, KMB_VC_SIGNATURE, KMB_VS_WARN,
				kmb_xasprintf("kmbuild headers %s", k->release),
				"no .config for %s (no headers, no /boot/config-%s): signature "
				"policy and CRC checks are guesses",
				k->release, k->release);
	}
	vk->modversions = vk->config ? kmb_vkernel_cfg_y(vk, "CONFIG_MODVERSIONS") : true;
	vk->force_load = kmb_vkernel_cfg_y(vk, "CONFIG_MODULE_FORCE_LOAD");
	load_exports(ctx, k, vk, want, f, &sys);
	vk->vermagic = expected_vermagic(vk, &vk->machine);

	char *depbin = kmb_xasprintf("%s/modules.dep.bin", vk->modules_dir);
	bool have_index = kmb_exists(depbin);
	free(depbin);
	if (k->installed) {
		const char *dirs[] = {"/etc/modprobe.d", "/run/modprobe.d",
				      "/usr/local/lib/modprobe.d", "/lib/modprobe.d",
				      "/usr/lib/modprobe.d"};
		char *paths[KMB_ARRAY_SIZE(dirs) + 1] = {0};
		size_t np = 0;
		for (size_t i = 0; i < KMB_ARRAY_SIZE(dirs); i++) {
			char *p = kmb_root_path(ctx, dirs[i]);
			if (kmb_is_dir(p))
				paths[np++] = p;
			else
				free(p);
		}
		vk->kmod = kmod_new(vk->modules_dir, (const char *const *)paths);
		for (size_t i = 0; i < np; i++)
			free(paths[i]);
		if (vk->kmod) {
			kmod_set_log_fn(vk->kmod, kmod_quiet, NULL);
			kmod_load_resources(vk->kmod);
		}
	}
	vk->have_index = have_index;
	load_signing_policy(ctx, vk, f, &sys);
	*out = vk;
	return 0;
}
