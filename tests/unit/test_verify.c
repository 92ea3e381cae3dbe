// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The per-module checks of `kmbuild verify` with explicit inputs: a kernel description made by
 * hand (exports, CRCs, vermagic, signature policy) and module descriptions as the module
 * reader fills them. Each case is one of the kernel's refusals (shared/reference/
 * load-failures.md) or a look-alike the kernel accepts, which must stay silent.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verify/symvers.h"
#include "base/util.h"
#include "verify/verify.h"

#define REL	    "6.1.0-56-amd64"
#define MAGIC_FLAGS " SMP preempt mod_unload modversions "
#define LAYOUT_CRC  0x9060323fu

static const char *cfg_none(void *d, const char *name)
{
	(void)d;
	(void)name;
	return NULL;
}

static const char *cfg_debian(void *d, const char *name)
{
	(void)d;
	static const char *const y[] = {"CONFIG_MODULE_SIG", "CONFIG_MODVERSIONS",
					"CONFIG_CRYPTO_SHA256", "CONFIG_CRYPTO_SHA512",
					"CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(y); i++)
		if (strcmp(name, y[i]) == 0)
			return "y";
	if (strcmp(name, "CONFIG_MODULE_SIG_HASH") == 0)
		return "sha256";
	return NULL;
}

static void add_sym(struct kmb_symtab *t, const char *name, const char *owner, uint32_t crc,
		    bool gpl, const char *ns)
{
	struct kmb_ksym s = {.name = name,
			     .owner = owner,
			     .crc = crc,
			     .has_crc = true,
			     .gpl = gpl,
			     .gpl_known = true,
			     .ns = ns};
	kmb_symtab_add(t, &s, false);
}

/* K: a Debian-like 6.1 kernel with a handful of exports. */
static struct kmb_vkernel *kernel(void)
{
	struct kmb_vkernel *vk = kmb_vkernel_new(REL);

	vk->modules_dir = kmb_xstrdup("/lib/modules/" REL);
	vk->vmlinux = kmb_symtab_new();
	add_sym(vk->vmlinux, "module_layout", "vmlinux", LAYOUT_CRC, false, NULL);
	add_sym(vk->vmlinux, "_printk", "vmlinux", 0x92997ed8, false, NULL);
	add_sym(vk->vmlinux, "init_uts_ns", "vmlinux", 0x039823de, true, NULL);
	add_sym(vk->vmlinux, "usb_stor_x", "vmlinux", 0x11111111, false, "USB_STORAGE");
	vk->vermagic = kmb_xstrdup(REL MAGIC_FLAGS);
	vk->modversions = true;
	vk->machine = 62;
	vk->config = cfg_debian;
	vk->sig_enabled = true;
	vk->sig_hash = kmb_xstrdup("sha256");
	return vk;
}

struct fake {
	struct kmb_modfile m;
	struct kmb_modsym undef[8];
	struct kmb_modver ver[8];
	struct kmb_modinfo_kv mi[8];
};

/* A healthy module built for K: imports _printk, CRCs recorded. */
static void module(struct fake *f, const char *vermagic)
{
	memset(f, 0, sizeof(*f));
	f->m.path = "/lib/modules/" REL "/updates/dkms/hello.ko";
	f->m.name = "hello";
	f->m.vermagic = vermagic;
	f->m.license = "GPL";
	f->m.machine = 62;
	f->m.elf64 = true;
	f->m.has_versions_section = true;
	f->m.undef = f->undef;
	f->m.versions = f->ver;
	f->m.modinfo = f->mi;
	f->undef[f->m.n_undef++] = (struct kmb_modsym){"_printk", false};
	f->ver[f->m.n_versions++] = (struct kmb_modver){"module_layout", LAYOUT_CRC};
	f->ver[f->m.n_versions++] = (struct kmb_modver){"_printk", 0x92997ed8};
}

static void import(struct fake *f, const char *sym, uint32_t crc)
{
	f->undef[f->m.n_undef++] = (struct kmb_modsym){sym, false};
	f->ver[f->m.n_versions++] = (struct kmb_modver){sym, crc};
}

static void modinfo(struct fake *f, const char *key, const char *value)
{
	f->mi[f->m.n_modinfo++] = (struct kmb_modinfo_kv){key, strlen(key), value};
}

static const struct kmb_vsubject subj = {.kernel = REL, .module = "hello"};

static void check_all(struct kmb_vkernel *vk, struct fake *f, struct kmb_findings *out)
{
	kmb_verify_vermagic(vk, &f->m, &subj, out);
	kmb_verify_symbols(vk, &f->m, &subj, false, out);
	kmb_verify_signature(vk, &f->m, &subj, false, out);
}

/* Exactly one finding of at least WARN, of this class, or none when cls == KMB_VC_N. */
static void assert_only(const struct kmb_findings *f, enum kmb_vclass cls, const char *needle)
{
	size_t n = kmb_findings_count(f, KMB_VC_N, KMB_VS_WARN);
	if (cls == KMB_VC_N) {
		if (n)
			fail_msg("unexpected finding: %s: %s", kmb_vclass_name(f->v[0].cls),
				 f->v[0].msg);
		return;
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].sev >= KMB_VS_WARN && f->v[i].cls != cls)
			fail_msg("finding of class %s, expected only %s: %s",
				 kmb_vclass_name(f->v[i].cls), kmb_vclass_name(cls), f->v[i].msg);
	assert_int_equal(n, 1);
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].sev >= KMB_VS_WARN && needle && !strstr(f->v[i].msg, needle))
			fail_msg("'%s' not in: %s", needle, f->v[i].msg);
}

/* ---- the cases: one module, one kernel, what verify must say ------------------------------ */

/* Changes made to K and the module after kernel() and module(). */
typedef void setup_fn(struct kmb_vkernel *vk, struct fake *f, const char *arg);

enum vcheck {
	CHECK_ALL,	   /* vermagic, symbols and signature of a module kmbuild does not manage */
	CHECK_SIG,	   /* the signature alone */
	CHECK_SIG_MANAGED, /* the signature alone, of a module kmbuild signs */
};

#define NOTHING KMB_VC_N

struct vcase {
	const char *name;
	setup_fn *setup;
	const char *arg; /* for setup */
	enum vcheck check;
	bool count_only;      /* check .count alone, not that .only is the only class */
	enum kmb_vclass only; /* the only class of warnings and errors (NOTHING: none) */
	const char *needle;   /* in its message */
	const char *also;     /* in the first finding's message too */
	struct {
		enum kmb_vclass cls;
		enum kmb_vsev min;
		size_t n; /* 0: not checked */
	} count;
	struct {
		bool checked;
		int code;
	} exit; /* kmb_findings_exit */
};

static void built_for(struct kmb_vkernel *vk, struct fake *f, const char *vermagic)
{
	(void)vk;
	f->m.vermagic = vermagic;
}

static void other_abi(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	built_for(vk, f, arg);
	f->ver[0].crc = 0xbce1a965; /* module_layout of 6.1.0-54 */
	f->ver[1].crc = 0x12345678; /* _printk differs too: folded into the one error */
}

static void no_versions(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	vk->modversions = false;
	built_for(vk, f, arg);
	f->m.has_versions_section = false;
	f->m.n_versions = 0;
}

static void other_machine(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	(void)vk;
	(void)arg;
	f->m.machine = 183; /* aarch64 */
}

static void prov_exports(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	(void)f;
	(void)arg;
	add_sym(vk->modexp, "prov_fn", "prov", 0xaaaa0001, false, NULL);
}

static void prov_other_crc(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	prov_exports(vk, f, arg);
	import(f, "prov_fn", 0xbbbb0002);
}

/* An import without a recorded CRC only makes the kernel warn once. */
static void prov_no_crc(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	prov_exports(vk, f, arg);
	f->undef[f->m.n_undef++] = (struct kmb_modsym){"prov_fn", false};
}

static void imports(struct kmb_vkernel *vk, struct fake *f, const char *sym)
{
	(void)vk;
	import(f, sym, 0x1);
}

static void weak_import(struct kmb_vkernel *vk, struct fake *f, const char *sym)
{
	(void)vk;
	f->undef[f->m.n_undef++] = (struct kmb_modsym){sym, true};
}

/* Module.symvers names an in-tree exporter that is not on disk. */
static void symvers_names_snd_pcm(struct kmb_vkernel *vk)
{
	struct kmb_ksym h = {.name = "snd_pcm_new",
			     .owner = "snd_pcm",
			     .path = "sound/core/snd-pcm",
			     .has_crc = true,
			     .crc = 7};

	vk->symvers_mods = kmb_symtab_new();
	kmb_symtab_add(vk->symvers_mods, &h, false);
}

static void exporter_gone(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	(void)arg;
	symvers_names_snd_pcm(vk);
	import(f, "snd_pcm_new", 7);
}

static void depends_missing(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	(void)arg;
	symvers_names_snd_pcm(vk);
	f->m.depends = "kmbprov";
	import(f, "kmbprov_fn", 9);
}

static void licensed(struct kmb_vkernel *vk, struct fake *f, const char *license)
{
	(void)vk;
	f->m.license = license;
}

static void gpl_import(struct kmb_vkernel *vk, struct fake *f, const char *license)
{
	licensed(vk, f, license);
	import(f, "init_uts_ns", 0x039823de);
}

static void ns_import(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	(void)vk;
	(void)arg;
	import(f, "usb_stor_x", 0x11111111);
}

static void ns_imported(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	ns_import(vk, f, arg);
	modinfo(f, "import_ns", "USB_STORAGE");
}

/* The signature cases build on each other, as a policy is tightened step by step. */
static void sig_enforced(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	(void)f;
	(void)arg;
	vk->sig_enforced = true;
	vk->enforce_why = kmb_xstrdup("module.sig_enforce=1 is on the kernel command line");
}

/* A broken trailer is fatal even without enforcement. */
static void sig_malformed(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	sig_enforced(vk, f, arg);
	vk->sig_enforced = false;
	f->m.sig.state = KMB_SIG_MALFORMED;
	f->m.sig.error = "signature length 4096 exceeds the file";
}

/* A hash K cannot check. */
static void sig_hash_unknown(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	sig_malformed(vk, f, arg);
	f->m.sig.state = KMB_SIG_OK;
	f->m.sig.parsed = true; /* details given by hand, no PKCS#7 blob behind them */
	f->m.sig.error = NULL;
	f->m.sig.hash_algo = "sha3-256";
}

/* K's own hash, enforced, MOK usable; in-tree modules trust the kernel's built-in key. */
static void sig_intree(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	sig_hash_unknown(vk, f, arg);
	f->m.sig.hash_algo = "sha256";
	vk->sig_enforced = true;
	vk->mok_usable = true;
	vk->mok_known = true;
	modinfo(f, "intree", "Y");
}

static void sig_other_signer(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	sig_intree(vk, f, arg);
	f->m.n_modinfo = 0;
	f->m.sig.signer = "Some other key";
}

/* Enforced but Secure Boot off: MOK keys are not loaded at all. */
static void sig_secure_boot_off(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	sig_other_signer(vk, f, arg);
	vk->mok_usable = false;
}

/* No CONFIG_MODULE_SIG: signatures are not looked at. */
static void sig_disabled(struct kmb_vkernel *vk, struct fake *f, const char *arg)
{
	sig_secure_boot_off(vk, f, arg);
	vk->sig_enabled = false;
	f->m.sig.state = KMB_SIG_MALFORMED;
}

#define GPL_OK(lic)                                                                                \
	{                                                                                          \
		.name = "GPL-only symbol, license " lic, .setup = gpl_import, .arg = lic,          \
		.only = NOTHING                                                                    \
	}
#define GPL_REFUSED(lic)                                                                           \
	{                                                                                          \
		.name = "GPL-only symbol, license " lic, .setup = gpl_import, .arg = lic,          \
		.only = KMB_VC_SYMBOLS, .needle = "GPL-only"                                       \
	}

static const struct vcase cases[] = {
	{.name = "healthy", .only = NOTHING, .exit = {true, 0}},
	/* Built for another release of the same ABI: the kernel ignores the release (CRCs
	 * decide). */
	{.name = "same ABI, other release",
	 .setup = built_for,
	 .arg = "6.1.0-55-amd64" MAGIC_FLAGS,
	 .only = NOTHING},
	{.name = "other ABI: module_layout",
	 .setup = other_abi,
	 .arg = "6.1.0-54-amd64" MAGIC_FLAGS,
	 .only = KMB_VC_MODVERSIONS,
	 .needle = "disagrees about version of symbol module_layout",
	 .also = "6.1.0-54-amd64",
	 .count = {KMB_VC_MODVERSIONS, KMB_VS_INFO, 2},
	 .exit = {true, 2}},
	/* No __versions: then the whole vermagic string must match. */
	{.name = "no __versions, other release",
	 .setup = no_versions,
	 .arg = "6.1.0-47-amd64" MAGIC_FLAGS,
	 .only = KMB_VC_VERMAGIC,
	 .needle = "version magic '6.1.0-47-amd64"},
	/* Same release, other flags: refused even with __versions. */
	{.name = "same release, other flags",
	 .setup = built_for,
	 .arg = REL " SMP mod_unload modversions ",
	 .only = KMB_VC_VERMAGIC,
	 .needle = "should be"},
	{.name = "another architecture",
	 .setup = other_machine,
	 .count_only = true,
	 .count = {KMB_VC_VERMAGIC, KMB_VS_ERROR, 1}},
	{.name = "ordinary CRC mismatch",
	 .setup = prov_other_crc,
	 .only = KMB_VC_MODVERSIONS,
	 .needle = "disagrees about version of symbol prov_fn",
	 .also = "err -22"},
	{.name = "import without a CRC", .setup = prov_no_crc, .only = NOTHING},
	{.name = "unknown symbol",
	 .setup = imports,
	 .arg = "kmb_nobody_exports_this",
	 .only = KMB_VC_SYMBOLS,
	 .needle = "Unknown symbol kmb_nobody_exports_this (err -2)"},
	/* Unresolved weak symbols are fine. */
	{.name = "unresolved weak symbol",
	 .setup = weak_import,
	 .arg = "kmb_optional",
	 .only = NOTHING},
	{.name = "exporter missing from the tree",
	 .setup = exporter_gone,
	 .only = KMB_VC_SYMBOLS,
	 .needle = "exported by module snd_pcm, which is missing"},
	/* depends= names a module K does not have. */
	{.name = "depends= module missing",
	 .setup = depends_missing,
	 .only = KMB_VC_SYMBOLS,
	 .needle = "depends on kmbprov, which is not installed"},
	GPL_OK("GPL"),
	GPL_OK("GPL v2"),
	GPL_OK("GPL and additional rights"),
	GPL_OK("Dual BSD/GPL"),
	GPL_OK("Dual MIT/GPL"),
	GPL_OK("Dual MPL/GPL"),
	GPL_REFUSED("Proprietary"),
	GPL_REFUSED("BSD"),
	GPL_REFUSED("MIT"),
	GPL_REFUSED("GPL v3"),
	{.name = "GPL-only symbol, no license",
	 .setup = gpl_import,
	 .only = KMB_VC_SYMBOLS,
	 .needle = "GPL-only"},
	/* Non-GPL modules may use plain exports. */
	{.name = "plain exports, license Proprietary",
	 .setup = licensed,
	 .arg = "Proprietary",
	 .only = NOTHING},
	{.name = "namespace not imported",
	 .setup = ns_import,
	 .only = KMB_VC_SYMBOLS,
	 .needle = "namespace USB_STORAGE"},
	{.name = "namespace imported", .setup = ns_imported, .only = NOTHING},
	/* Unsigned, not enforced, no key configured: the user chose not to sign. */
	{.name = "unsigned, not enforced", .check = CHECK_SIG_MANAGED, .only = NOTHING},
	{.name = "unsigned, enforced",
	 .setup = sig_enforced,
	 .check = CHECK_SIG_MANAGED,
	 .only = KMB_VC_SIGNATURE,
	 .needle = "Loading of unsigned module is rejected"},
	{.name = "malformed signature",
	 .setup = sig_malformed,
	 .check = CHECK_SIG,
	 .only = KMB_VC_SIGNATURE,
	 .needle = "malformed signature",
	 .exit = {true, 2}},
	{.name = "hash K cannot check",
	 .setup = sig_hash_unknown,
	 .check = CHECK_SIG,
	 .only = KMB_VC_SIGNATURE,
	 .needle = "sha3-256"},
	{.name = "in-tree module, enforced",
	 .setup = sig_intree,
	 .check = CHECK_SIG,
	 .only = NOTHING},
	/* Out of tree, enforced, signer not in MokListRT: rejected. */
	{.name = "signer not enrolled",
	 .setup = sig_other_signer,
	 .check = CHECK_SIG,
	 .only = KMB_VC_SIGNATURE,
	 .needle = "not enrolled"},
	{.name = "enforced, Secure Boot off",
	 .setup = sig_secure_boot_off,
	 .check = CHECK_SIG,
	 .only = KMB_VC_SIGNATURE,
	 .needle = "Secure Boot is off"},
	{.name = "CONFIG_MODULE_SIG off",
	 .setup = sig_disabled,
	 .check = CHECK_SIG,
	 .only = NOTHING},
};

static void run_case(void **state)
{
	const struct vcase *c = *state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	module(&f, REL MAGIC_FLAGS);
	if (c->setup)
		c->setup(vk, &f, c->arg);
	if (c->check == CHECK_ALL)
		check_all(vk, &f, &out);
	else
		kmb_verify_signature(vk, &f.m, &subj, c->check == CHECK_SIG_MANAGED, &out);
	if (!c->count_only)
		assert_only(&out, c->only, c->needle);
	if (c->also)
		assert_non_null(strstr(out.v[0].msg, c->also));
	if (c->count.n)
		assert_int_equal(kmb_findings_count(&out, c->count.cls, c->count.min), c->count.n);
	if (c->exit.checked)
		assert_int_equal(kmb_findings_exit(&out), c->exit.code);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

static void test_findings_exit_and_unknown_kernel(void **state)
{
	(void)state;
	struct kmb_findings out = {0};
	struct kmb_vkernel *vk = kmb_vkernel_new(REL);
	struct fake f;

	/* Nothing known about K (no headers): nothing is claimed. */
	vk->config = cfg_none;
	module(&f, "5.10.0-1-amd64" MAGIC_FLAGS);
	import(&f, "whatever", 1);
	check_all(vk, &f, &out);
	assert_int_equal(out.n, 0);

	kmb_finding_add(&out, &subj, KMB_VC_POLICY, KMB_VS_INFO, NULL, "note %d", 1);
	assert_int_equal(kmb_findings_exit(&out), 0);
	kmb_finding_add(&out, &subj, KMB_VC_POLICY, KMB_VS_WARN, kmb_xstrdup("fix"), "w");
	assert_int_equal(kmb_findings_exit(&out), 1);
	kmb_finding_add(&out, &subj, KMB_VC_INITRAMFS, KMB_VS_ERROR, NULL, "e");
	assert_int_equal(kmb_findings_exit(&out), 2);
	assert_string_equal(out.v[0].msg, "note 1");
	assert_string_equal(out.v[0].module, "hello");
	assert_int_equal(kmb_findings_count(&out, KMB_VC_POLICY, KMB_VS_INFO), 2);
	assert_string_equal(kmb_vclass_name(KMB_VC_MODVERSIONS), "modversions");
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

int main(void)
{
	struct CMUnitTest tests[KMB_ARRAY_SIZE(cases) + 1];

	for (size_t i = 0; i < KMB_ARRAY_SIZE(cases); i++)
		tests[i] = (struct CMUnitTest){.name = cases[i].name,
					       .test_func = run_case,
					       .initial_state = (void *)&cases[i]};
	tests[KMB_ARRAY_SIZE(cases)] =
		(struct CMUnitTest)cmocka_unit_test(test_findings_exit_and_unknown_kernel);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
