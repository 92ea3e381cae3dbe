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

static void test_healthy(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	module(&f, REL MAGIC_FLAGS);
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_N, NULL);
	assert_int_equal(kmb_findings_exit(&out), 0);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

/* Built for another release of the same ABI: the kernel ignores the release (CRCs decide). */
static void test_same_abi_other_release_loads(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	module(&f, "6.1.0-55-amd64" MAGIC_FLAGS);
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_N, NULL);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

static void test_other_abi_module_layout(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	module(&f, "6.1.0-54-amd64" MAGIC_FLAGS);
	f.ver[0].crc = 0xbce1a965; /* module_layout of 6.1.0-54 */
	f.ver[1].crc = 0x12345678; /* _printk differs too: folded into the one error */
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_MODVERSIONS, "disagrees about version of symbol module_layout");
	assert_non_null(strstr(out.v[0].msg, "6.1.0-54-amd64"));
	assert_int_equal(kmb_findings_count(&out, KMB_VC_MODVERSIONS, KMB_VS_INFO), 2);
	assert_int_equal(kmb_findings_exit(&out), 2);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

/* No __versions: then the whole vermagic string must match. */
static void test_vermagic_without_versions(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	vk->modversions = false;
	module(&f, "6.1.0-47-amd64" MAGIC_FLAGS);
	f.m.has_versions_section = false;
	f.m.n_versions = 0;
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_VERMAGIC, "version magic '6.1.0-47-amd64");
	kmb_findings_free(&out);

	/* Same release, other flags: refused even with __versions. */
	vk->modversions = true;
	module(&f, REL " SMP mod_unload modversions ");
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_VERMAGIC, "should be");
	kmb_findings_free(&out);

	/* Another architecture. */
	module(&f, REL MAGIC_FLAGS);
	f.m.machine = 183; /* aarch64 */
	check_all(vk, &f, &out);
	assert_int_equal(kmb_findings_count(&out, KMB_VC_VERMAGIC, KMB_VS_ERROR), 1);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

static void test_ordinary_crc_mismatch(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	add_sym(vk->modexp, "prov_fn", "prov", 0xaaaa0001, false, NULL);
	module(&f, REL MAGIC_FLAGS);
	import(&f, "prov_fn", 0xbbbb0002);
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_MODVERSIONS, "disagrees about version of symbol prov_fn");
	assert_non_null(strstr(out.v[0].msg, "err -22"));
	kmb_findings_free(&out);

	/* An import without a recorded CRC only makes the kernel warn once. */
	module(&f, REL MAGIC_FLAGS);
	f.undef[f.m.n_undef++] = (struct kmb_modsym){"prov_fn", false};
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_N, NULL);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

static void test_unknown_symbol(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	module(&f, REL MAGIC_FLAGS);
	import(&f, "kmb_nobody_exports_this", 0x1);
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_SYMBOLS, "Unknown symbol kmb_nobody_exports_this (err -2)");
	kmb_findings_free(&out);

	/* Unresolved weak symbols are fine. */
	module(&f, REL MAGIC_FLAGS);
	f.undef[f.m.n_undef++] = (struct kmb_modsym){"kmb_optional", true};
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_N, NULL);
	kmb_findings_free(&out);

	/* Module.symvers names an in-tree exporter that is not on disk. */
	vk->symvers_mods = kmb_symtab_new();
	struct kmb_ksym h = {.name = "snd_pcm_new",
			     .owner = "snd_pcm",
			     .path = "sound/core/snd-pcm",
			     .has_crc = true,
			     .crc = 7};
	kmb_symtab_add(vk->symvers_mods, &h, false);
	module(&f, REL MAGIC_FLAGS);
	import(&f, "snd_pcm_new", 7);
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_SYMBOLS, "exported by module snd_pcm, which is missing");
	kmb_findings_free(&out);

	/* depends= names a module K does not have. */
	module(&f, REL MAGIC_FLAGS);
	f.m.depends = "kmbprov";
	import(&f, "kmbprov_fn", 9);
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_SYMBOLS, "depends on kmbprov, which is not installed");
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

static void test_gpl_only(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;
	static const char *const gpl[] = {
		"GPL",		"GPL v2",	"GPL and additional rights",
		"Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"};

	for (size_t i = 0; i < KMB_ARRAY_SIZE(gpl); i++) {
		module(&f, REL MAGIC_FLAGS);
		f.m.license = gpl[i];
		import(&f, "init_uts_ns", 0x039823de);
		check_all(vk, &f, &out);
		assert_only(&out, KMB_VC_N, NULL);
		kmb_findings_free(&out);
	}
	const char *bad[] = {"Proprietary", "BSD", "MIT", "GPL v3", NULL};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(bad); i++) {
		module(&f, REL MAGIC_FLAGS);
		f.m.license = bad[i];
		import(&f, "init_uts_ns", 0x039823de);
		check_all(vk, &f, &out);
		assert_only(&out, KMB_VC_SYMBOLS, "GPL-only");
		kmb_findings_free(&out);
	}
	/* Non-GPL modules may use plain exports. */
	module(&f, REL MAGIC_FLAGS);
	f.m.license = "Proprietary";
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_N, NULL);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

static void test_namespace(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	module(&f, REL MAGIC_FLAGS);
	import(&f, "usb_stor_x", 0x11111111);
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_SYMBOLS, "namespace USB_STORAGE");
	kmb_findings_free(&out);

	modinfo(&f, "import_ns", "USB_STORAGE");
	check_all(vk, &f, &out);
	assert_only(&out, KMB_VC_N, NULL);
	kmb_findings_free(&out);
	kmb_vkernel_free(vk);
}

static void test_signature_policy(void **state)
{
	(void)state;
	struct kmb_vkernel *vk = kernel();
	struct kmb_findings out = {0};
	struct fake f;

	/* Unsigned, not enforced, no key configured: the user chose not to sign. */
	module(&f, REL MAGIC_FLAGS);
	kmb_verify_signature(vk, &f.m, &subj, true, &out);
	assert_only(&out, KMB_VC_N, NULL);

	/* Enforced: rejected. */
	vk->sig_enforced = true;
	vk->enforce_why = kmb_xstrdup("module.sig_enforce=1 is on the kernel command line");
	kmb_verify_signature(vk, &f.m, &subj, true, &out);
	assert_only(&out, KMB_VC_SIGNATURE, "Loading of unsigned module is rejected");
	kmb_findings_free(&out);

	/* A broken trailer is fatal even without enforcement. */
	vk->sig_enforced = false;
	f.m.sig.state = KMB_SIG_MALFORMED;
	f.m.sig.error = "signature length 4096 exceeds the file";
	kmb_verify_signature(vk, &f.m, &subj, false, &out);
	assert_only(&out, KMB_VC_SIGNATURE, "malformed signature");
	assert_int_equal(kmb_findings_exit(&out), 2);
	kmb_findings_free(&out);

	/* A hash K cannot check. */
	f.m.sig.state = KMB_SIG_OK;
	f.m.sig.parsed = true; /* details given by hand, no PKCS#7 blob behind them */
	f.m.sig.error = NULL;
	f.m.sig.hash_algo = "sha3-256";
	kmb_verify_signature(vk, &f.m, &subj, false, &out);
	assert_only(&out, KMB_VC_SIGNATURE, "sha3-256");
	kmb_findings_free(&out);

	/* K's own hash: fine; and in-tree modules trust the kernel's built-in key. */
	f.m.sig.hash_algo = "sha256";
	vk->sig_enforced = true;
	vk->mok_usable = true;
	vk->mok_known = true;
	modinfo(&f, "intree", "Y");
	kmb_verify_signature(vk, &f.m, &subj, false, &out);
	assert_only(&out, KMB_VC_N, NULL);

	/* Out of tree, enforced, signer not in MokListRT: rejected. */
	f.m.n_modinfo = 0;
	f.m.sig.signer = "Some other key";
	kmb_verify_signature(vk, &f.m, &subj, false, &out);
	assert_only(&out, KMB_VC_SIGNATURE, "not enrolled");
	kmb_findings_free(&out);

	/* Enforced but Secure Boot off: MOK keys are not loaded at all. */
	vk->mok_usable = false;
	kmb_verify_signature(vk, &f.m, &subj, false, &out);
	assert_only(&out, KMB_VC_SIGNATURE, "Secure Boot is off");
	kmb_findings_free(&out);

	/* No CONFIG_MODULE_SIG: signatures are not looked at. */
	vk->sig_enabled = false;
	f.m.sig.state = KMB_SIG_MALFORMED;
	kmb_verify_signature(vk, &f.m, &subj, false, &out);
	assert_only(&out, KMB_VC_N, NULL);
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
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_same_abi_other_release_loads),
		cmocka_unit_test(test_other_abi_module_layout),
		cmocka_unit_test(test_vermagic_without_versions),
		cmocka_unit_test(test_ordinary_crc_mismatch),
		cmocka_unit_test(test_unknown_symbol),
		cmocka_unit_test(test_gpl_only),
		cmocka_unit_test(test_namespace),
		cmocka_unit_test(test_signature_policy),
		cmocka_unit_test(test_findings_exit_and_unknown_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
