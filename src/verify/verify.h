/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pre-reboot verification: will kernel K load these modules? Each check predicts one of the
 * kernel's (or modprobe's) real refusals (docs/verify.md lists them with the exact kernel
 * messages). The per-module checks take explicit inputs (a kmb_vkernel describing K and a
 * kmb_modfile) so they can be tested without a machine; kmb_verify_run() wires them to the
 * state tree, K's module tree, its initramfs and the system policy under the root.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/kernel.h"
#include "base/kmb.h"
#include "verify/modfile.h"
#include "verify/symvers.h"

struct kmod_ctx;
struct x509_st;

enum kmb_vclass {
	KMB_VC_COVERAGE,
	KMB_VC_VERMAGIC,
	KMB_VC_SYMBOLS,
	KMB_VC_MODVERSIONS,
	KMB_VC_INDEXES,
	KMB_VC_SIGNATURE,
	KMB_VC_INITRAMFS,
	KMB_VC_POLICY,
	KMB_VC_N
};
const char *kmb_vclass_name(enum kmb_vclass c);

enum kmb_vsev {
	KMB_VS_INFO,  /* worth knowing, changes nothing at boot */
	KMB_VS_WARN,  /* loads, but not as intended (taint, stale copy, ...) */
	KMB_VS_ERROR, /* will fail at boot */
};
const char *kmb_vsev_name(enum kmb_vsev s);

struct kmb_finding {
	char *kernel;
	char *module;  /* module name, or "(system)" */
	char *package; /* "name/version" for kmbuild-managed modules, else NULL */
	char *path;    /* root-relative file, or NULL */
	enum kmb_vclass cls;
	enum kmb_vsev sev;
	char *msg; /* one line: what the kernel/modprobe will do and why */
	char *fix; /* one line: the concrete command or change */
};

struct kmb_findings {
	struct kmb_finding *v;
	size_t n, cap;
};

/* Subject of the findings being added: set once per module. */
struct kmb_vsubject {
	const char *kernel, *module, *package, *path;
};

void kmb_finding_add(struct kmb_findings *f, const struct kmb_vsubject *s, enum kmb_vclass cls,
		     enum kmb_vsev sev, char *fix, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void kmb_findings_free(struct kmb_findings *f);
/* 0 ready, 1 warnings only, 2 something will fail (INFO does not count). */
int kmb_findings_exit(const struct kmb_findings *f);
size_t kmb_findings_count(const struct kmb_findings *f, enum kmb_vclass cls, enum kmb_vsev min);

/* What K offers and enforces. Filled by kmb_vkernel_open(); tests may fill one by hand. */
struct kmb_vkernel {
	char *release;
	char *modules_dir; /* absolute <root>/lib/modules/K */
	const char *root;  /* ctx root prefix, "" for the real system */

	struct kmb_symtab *vmlinux;	 /* vmlinux exports; NULL: unknown (no headers) */
	const char *vmlinux_src;	 /* "Module.symvers" path or System.map path */
	struct kmb_symtab *symvers_mods; /* module exports named by Module.symvers (hints) */
	struct kmb_symtab *modexp;	 /* exports of module files read so far */

	char *vermagic; /* what K's own modules carry; NULL: unknown */
	bool modversions;
	bool force_load;  /* CONFIG_MODULE_FORCE_LOAD */
	unsigned machine; /* e_machine of K's modules, 0 unknown */

	/* Signatures. */
	bool sig_enabled;     /* CONFIG_MODULE_SIG */
	bool sig_enforced;    /* rejects unsigned/untrusted modules */
	char *enforce_why;    /* "module.sig_enforce=1 on the kernel command line", ... */
	char *sig_hash;	      /* CONFIG_MODULE_SIG_HASH */
	int secure_boot;      /* 1, 0, -1 unknown */
	bool mok_usable;      /* K will load MokListRT keys (Secure Boot on, validation on) */
	bool mok_known;	      /* MokListRT was read */
	struct x509_st **mok; /* X.509 entries of MokListRT */
	size_t n_mok;
	struct x509_st *signing_cert; /* kmbuild's configured certificate, or NULL */
	char *signing_cert_path;
	char *signing_cn;
	const char *(*config)(void *k, const char *name); /* K's .config lookup */
	void *config_data;
	void (*config_free)(void *data);	       /* frees config_data, NULL: not owned */
	int kmod_has_xz, kmod_has_zstd, kmod_has_zlib; /* -1: not probed yet */

	struct kmod_ctx *kmod;	  /* K's module indexes, may be NULL */
	bool have_index;	  /* <modules_dir>/modules.dep.bin exists */
	struct kmb_vcache *cache; /* module name -> file */
	struct kmb_vcache *known; /* paths known to exist (read this run) */
};

/* K's .config value of name (NULL: unset or unknown), and whether it is "y". */
const char *kmb_vkernel_cfg(const struct kmb_vkernel *vk, const char *name);
bool kmb_vkernel_cfg_y(const struct kmb_vkernel *vk, const char *name);

/* An empty kernel description (everything unknown), for tests and as the base of open(). */
struct kmb_vkernel *kmb_vkernel_new(const char *release);
void kmb_vkernel_free(struct kmb_vkernel *vk);

/*
 * Describe K: exports (Module.symvers of K's headers, else a real System.map), its vermagic,
 * config switches, signature policy (config, command line, Secure Boot/MOK via efivars),
 * libkmod on <root>/lib/modules/K. Anything unreadable becomes a (system) finding.
 * want: when not NULL, only these exported symbols are loaded (checking a few modules).
 */
int kmb_vkernel_open(const struct kmb_ctx *ctx, struct kmb_kernel *k, const struct kmb_symtab *want,
		     struct kmb_vkernel **out, struct kmb_findings *f);

/* Drop the config lookup kmb_vkernel_open() installed (no-op for hand-made descriptions). */
void kmb_vkernel_release_config(struct kmb_vkernel *vk);
/* Make a module file known under its name (owned by the caller, outlives vk's use of it);
 * name NULL: only record that path exists. */
void kmb_vkernel_cache_module(struct kmb_vkernel *vk, const char *name, const char *path,
			      struct kmb_modfile *m);

/* The file modules.dep names for a module of K, read once (NULL: none, or unreadable). */
const struct kmb_modfile *kmb_vkernel_module(struct kmb_vkernel *vk, const char *name);
/* Who exports sym for K (vmlinux, module files read, K's modules.symbols, Module.symvers). */
const struct kmb_ksym *kmb_vkernel_resolve(struct kmb_vkernel *vk, const char *sym);
/* The modules named by m's depends= that K does not have, as "a, b" (malloc'd), or NULL. */
char *kmb_vkernel_missing_depends(struct kmb_vkernel *vk, const struct kmb_modfile *m);

/* Add a module file's exports to vk->modexp (owner = its module name). */
void kmb_vkernel_add_exports(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			     const char *rel_path);

/* Per-module checks. s names the module in findings. */
void kmb_verify_vermagic(const struct kmb_vkernel *vk, const struct kmb_modfile *m,
			 const struct kmb_vsubject *s, struct kmb_findings *f);
/* Undefined symbols (symbols class) and __versions CRCs (modversions class). lookup_tree:
 * ask K's modules.symbols index for providers not in vk->modexp. */
void kmb_verify_symbols(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			const struct kmb_vsubject *s, bool lookup_tree, struct kmb_findings *f);
/* modules.dep(.bin): the name resolves to abs_path, and its dependency closure is on disk and
 * covers every module the file takes symbols from. strict: a different file winning is an
 * error (kmbuild-managed), else only information (shadowed in-tree module). */
void kmb_verify_indexes(struct kmb_vkernel *vk, const struct kmb_modfile *m, const char *abs_path,
			const struct kmb_vsubject *s, bool strict, struct kmb_findings *f);
/* managed: kmbuild signed it (signer must be the configured key). */
void kmb_verify_signature(struct kmb_vkernel *vk, const struct kmb_modfile *m,
			  const struct kmb_vsubject *s, bool managed, struct kmb_findings *f);

struct kmb_verify_opts {
	const char *const *kernels; /* NULL-terminated; NULL: the one that boots next */
	bool all;		    /* every module of K's tree too */
	bool json;
	int jobs; /* threads for reading module files */
};

/* The whole run: returns the exit code (0/1/2) or KMB_EXIT_* for usage/setup errors. */
int kmb_verify_run(const struct kmb_ctx *ctx, const struct kmb_verify_opts *o);

/* The depmod command that rebuilds the indexes of release under root ("" or NULL: /). */
char *kmb_verify_depmod_fix(const char *root, const char *release);

/* Kernel that boots next: boot loader default when readable, else the newest installed.
 * NULL when no kernel is installed under the root. */
char *kmb_verify_default_kernel(const struct kmb_ctx *ctx);
