/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared context of one kmbuild invocation. No global state: every engine call takes the
 * context it needs, so tests and the future `dkms` personality can run several side by side.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define KMB_VERSION "0.1.0"

/* Exit codes (kmbuild(8), EXIT STATUS). Where a DKMS user scripts on a number, it is DKMS's. */
enum kmb_exit {
	KMB_EXIT_OK = 0,
	KMB_EXIT_FAIL = 1,	    /* generic failure */
	KMB_EXIT_USAGE = 2,	    /* bad command line */
	KMB_EXIT_EXISTS = 3,	    /* already added / already built */
	KMB_EXIT_NOTFOUND = 4,	    /* module, version or conf not found; broken entry */
	KMB_EXIT_INSTALLED = 5,	    /* already installed (without --force) */
	KMB_EXIT_INSTALL = 6,	    /* kernel dir missing, install or depmod failed */
	KMB_EXIT_NOKO = 7,	    /* build produced no .ko */
	KMB_EXIT_BADCONF = 8,	    /* malformed dkms.conf / kmbuild.conf */
	KMB_EXIT_MAKE = 10,	    /* make failed */
	KMB_EXIT_AUTOINSTALL = 11,  /* autoinstall: at least one module failed */
	KMB_EXIT_DEPENDS = 13,	    /* BUILD_DEPENDS not installed */
	KMB_EXIT_LOCK = 15,	    /* could not take the state lock in time */
	KMB_EXIT_NOHEADERS = 21,    /* kernel headers not found */
	KMB_EXIT_EXCLUDED = 77,	    /* BUILD_EXCLUSIVE excluded every module */
	KMB_EXIT_PRE_INSTALL = 101, /* PRE_INSTALL script failed */
};

enum kmb_verbosity { KMB_QUIET = 0, KMB_NORMAL = 1, KMB_VERBOSE = 2 };

struct kmb_ctx {
	/* "" for the real system, else an absolute directory every system path lives under. */
	char *root;
	/* Derived from root (and config): absolute paths, no trailing slash. */
	char *state_dir;   /* <root>/var/lib/kmbuild: the one source of truth */
	char *modules_dir; /* <root>/lib/modules */
	char *src_dir;	   /* <root>/usr/src */
	char *etc_dir;	   /* <root>/etc/kmbuild */
	char *dkms_etc;	   /* <root>/etc/dkms: per-module overrides, patches, scripts */
	char *boot_dir;	   /* <root>/boot */
	char *efivars_dir; /* <root>/sys/firmware/efi/efivars */
	char *os_release;  /* <root>/etc/os-release (falls back to usr/lib/os-release) */
	int jobs;	   /* global job budget: builds x make jobs */
	enum kmb_verbosity verbosity;
	bool json;
	bool tty;	    /* stderr is a terminal: progress lines allowed */
	int lock_fd;	    /* -1 until kmb_lock_take() */
	int lock_timeout_s; /* how long to wait for another kmbuild run */
	/* <root>/etc/kmbuild/kmbuild.conf as "key = value" lines; see kmbuild(8). */
	char **config_keys, **config_values;
	size_t n_config;
};

int kmb_ctx_init(struct kmb_ctx *ctx, const char *root);
void kmb_ctx_free(struct kmb_ctx *ctx);
/* A setting from kmbuild.conf, or NULL. KMBUILD_<KEY> in the environment wins (tests). */
const char *kmb_config_get(const struct kmb_ctx *ctx, const char *key);
/* Same, as a boolean (yes/true/1 vs no/false/0); dflt when unset or unrecognised. */
bool kmb_config_bool(const struct kmb_ctx *ctx, const char *key, bool dflt);
/* Prefix an absolute system path with the root: kmb_root_path(ctx, "/etc/x") (malloc'd). */
char *kmb_root_path(const struct kmb_ctx *ctx, const char *abs_path);
/* Trust anchors and tools' data: the root's copy when it has one, else the host's. */
char *kmb_root_or_host_path(const struct kmb_ctx *ctx, const char *abs_path);

/* Messages: one line each. Errors go to stderr as "kmbuild: ..." and never mix with data. */
void kmb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kmb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kmb_info(const struct kmb_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kmb_debug(const struct kmb_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
