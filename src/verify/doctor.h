/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `kmbuild doctor`: explain module load failures after the fact, from a module file, a saved
 * kernel log (dmesg) or the journal, in plain words with the concrete fix. The log parser
 * knows the exact messages of the 6.1 kernel and of kmod's modprobe
 * (shared/reference/load-failures.md).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

enum kmb_lkind {
	KMB_LK_CRC,	    /* "M: disagrees about version of symbol S" */
	KMB_LK_UNKNOWN_SYM, /* "M: Unknown symbol S (err -N)" */
	KMB_LK_VERMAGIC,    /* "M: version magic 'A' should be 'B'" */
	KMB_LK_UNSIGNED,    /* "Loading of unsigned module is rejected" */
	KMB_LK_BADKEY,	    /* "Loading of module with unavailable key is rejected" */
	KMB_LK_BADCRYPTO,   /* "Loading of module with unsupported crypto is rejected" */
	KMB_LK_SIG_TAINT,   /* "M: module verification failed: signature and/or required key..." */
	KMB_LK_LICENSE,	    /* "M: module license 'L' taints kernel." */
	KMB_LK_NAMESPACE,   /* "M: module uses symbol (S) from namespace N, but does not import it."
			     */
	KMB_LK_NOT_FOUND,   /* modprobe: "FATAL: Module M not found in directory D" */
	KMB_LK_INSERT,	    /* modprobe: "ERROR: could not insert 'M': ERR" */
	KMB_LK_LOCKDOWN,    /* "Lockdown: P: unsigned module loading is restricted" */
	KMB_LK_LOAD_FAILED, /* systemd-modules-load: "Failed to insert module 'M': ERR" */
	KMB_LK_N
};

struct kmb_logevent {
	enum kmb_lkind kind;
	char *module; /* as logged (may be NULL: the kernel does not always say) */
	char *symbol; /* symbol, or NULL */
	char *a, *b; /* kind-specific: vermagic found/wanted, license, namespace, errno text, dir */
	int err;     /* Unknown symbol's errno (2, 22) */
	size_t line; /* 1-based line in the log */
	char *text;  /* the message as logged, without timestamp/prefix */
};

/* Parse a kernel log (dmesg, journalctl -k, serial console). Lines that are not module load
 * messages are skipped. The kernel release is taken from "Linux version R" or a modprobe
 * directory path when the log has one (*release malloc'd, else NULL). */
int kmb_doctor_parse_log(const char *text, struct kmb_logevent **out, size_t *n, char **release);
void kmb_logevents_free(struct kmb_logevent *v, size_t n);

struct kmb_doctor_opts {
	const char *file;   /* a module file, or NULL */
	const char *dmesg;  /* a saved kernel log, or NULL */
	bool journal;	    /* journalctl -k -b of the system (or under the root) */
	const char *kernel; /* -k: the kernel the log/file is about */
	bool json;
};

/* Returns 0 (nothing wrong found), 1 (problems explained) or a KMB_EXIT_* code. */
int kmb_doctor_run(const struct kmb_ctx *ctx, const struct kmb_doctor_opts *o);
