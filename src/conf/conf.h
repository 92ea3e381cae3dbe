/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Module definitions: dkms.conf (DKMS 3.4 semantics, read without running bash whenever the
 * file is plain data) and kmbuild's native declarative kmbuild.conf. Both produce a kmb_pkg.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Values DKMS lets dkms.conf expand ($kernelver, ${arch}, ...). NULL reads as "". */
struct kmb_conf_vars {
	const char *kernelver;
	const char *arch;
	const char *kernel_source_dir;
	const char *dkms_tree;
	const char *source_tree;
	const char *install_tree;
	/* $module / $module_version; NULL: PACKAGE_NAME / PACKAGE_VERSION of the main file when
	 * naming the override files, "" when expanded inside dkms.conf (as DKMS before `add`). */
	const char *module;
	const char *module_version;
	/* ${build_dir} in kmbuild.conf's make=; NULL: <dkms_tree>/<name>/<version>/build. */
	const char *build_dir;
	/* Wall-clock limit for bash evaluating a dkms.conf that needs a shell; 0: 5000 ms. */
	unsigned shell_timeout_ms;
	/* Never run bash: a definition that needs a real shell fails to load, with the reason
	 * (verbs that only read, and the parser fuzz targets). */
	bool no_shell;
	/* Directory holding the per-module overrides <m>[-<v>[-<k>[-<a>]]].conf and
	 * <m>--<k>[-<a>].conf (normally <root>/etc/dkms); NULL: none are read. */
	const char *overrides_dir;
};

/* BUILD_EXCLUSIVE_* of the package or of one module. NULL = not set. */
struct kmb_exclusive {
	char *kernel;	  /* ERE matched against kernelver (bash =~) */
	char *kernel_min; /* compared with kmb_vercmp */
	char *kernel_max;
	char *arch;   /* ERE matched against arch */
	char *config; /* space list of CONFIG_X / !CONFIG_X, checked for =y or =m */
};

struct kmb_module_def {
	char *built_name;     /* BUILT_MODULE_NAME, never ends in .ko/.o */
	char *built_location; /* relative to the build dir: "" or ends in '/' */
	char *dest_name;      /* DEST_MODULE_NAME, defaults to built_name */
	char *dest_location; /* DEST_MODULE_LOCATION as written (/kernel.., /updates.., /extra..) */
	bool strip;	     /* STRIP[i], default yes, empty inherits STRIP[0] */
	struct kmb_exclusive excl;
};

struct kmb_make_rule {
	char *cmd;   /* MAKE[i]; NULL where only MAKE_MATCH[i] is set */
	char *match; /* MAKE_MATCH[i] (ERE) or NULL */
};

struct kmb_patch {
	char *file;  /* PATCH[i], a file name under <source>/patches, never containing ".." */
	char *match; /* PATCH_MATCH[i] (ERE against kernelver) or NULL = always */
};

enum kmb_conf_format { KMB_CONF_DKMS, KMB_CONF_NATIVE };

struct kmb_pkg {
	char *name;	 /* PACKAGE_NAME */
	char *version;	 /* PACKAGE_VERSION */
	char *conf_path; /* the file it was read from */
	enum kmb_conf_format format;
	bool used_shell; /* the file needed real bash and was evaluated in a sandboxed child */
	/* Why, e.g. "dkms.conf:5: command 'if'"; NULL unless used_shell. */
	char *shell_reason;

	size_t n_modules;
	struct kmb_module_def *modules;
	size_t n_make; /* index-linked MAKE/MAKE_MATCH, holes allowed */
	struct kmb_make_rule *make;
	size_t n_patches;
	struct kmb_patch *patches;

	struct kmb_strv build_depends; /* BUILD_DEPENDS: package names */
	bool build_depends_rebuild;
	bool autoinstall;	   /* AUTOINSTALL=yes */
	bool no_weak_modules;	   /* NO_WEAK_MODULES=yes */
	bool remake_initrd;	   /* REMAKE_INITRD=yes (deprecated in DKMS; kmbuild honours it) */
	char *obsolete_by;	   /* OBSOLETE_BY */
	struct kmb_exclusive excl; /* package-wide BUILD_EXCLUSIVE_* (unindexed assignments) */

	/* Script hooks, relative to the source dir as written; NULL if unset. */
	char *pre_build, *post_build, *post_add, *pre_install, *post_install, *post_remove;

	/* Non-fatal notes for the user (deprecated directives, ...), one line each. */
	struct kmb_strv warnings;
};

/* One-line error naming the file (and line/field where known). */
struct kmb_conf_error {
	char msg[512];
};

/*
 * Load a definition. path is a dkms.conf, a kmbuild.conf, or a directory holding one of them
 * (kmbuild.conf wins). vars may be NULL (registration time: $kernelver etc. expand to "").
 * Returns 0, or a negative errno with err->msg set: -ENOENT (no file), -EINVAL (malformed).
 */
int kmb_pkg_load(const char *path, const struct kmb_conf_vars *vars, struct kmb_pkg **out,
		 struct kmb_conf_error *err);
void kmb_pkg_free(struct kmb_pkg *pkg);

/* Look up a kernel config value ("y", "m", a string without quotes) or NULL if unset. */
typedef const char *(*kmb_kconfig_lookup_fn)(void *userdata, const char *name);

/*
 * Is module idx of pkg excluded on this kernel? Module-level values override package-level
 * ones field by field. Returns true and sets *reason (malloc'd, one line, e.g.
 * "BUILD_EXCLUSIVE_KERNEL_MIN=6.2 > 6.1.0-56-amd64") when excluded.
 */
bool kmb_pkg_module_excluded(const struct kmb_pkg *pkg, size_t idx, const char *kernelver,
			     const char *arch, kmb_kconfig_lookup_fn lookup, void *userdata,
			     char **reason);

/* Are all of pkg's modules excluded on this kernel (DKMS's exit 77)? Then "<module>: <reason>"
 * for each, joined by "; " (malloc'd); else NULL. */
char *kmb_pkg_all_excluded(const struct kmb_pkg *pkg, const char *kernelver, const char *arch,
			   kmb_kconfig_lookup_fn lookup, void *userdata);

/* The make command for this kernel (DKMS rules: last MAKE[i] whose MAKE_MATCH[i] matches,
 * else MAKE[0] if MAKE_MATCH[0] is empty), or NULL for the default. Not rewritten. */
const char *kmb_pkg_make_command(const struct kmb_pkg *pkg, const char *kernelver);

/* Does PATCH_MATCH of patch i match this kernel (NULL match = yes)? */
bool kmb_pkg_patch_applies(const struct kmb_pkg *pkg, size_t i, const char *kernelver);
