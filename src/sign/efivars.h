/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Read-only access to the UEFI variables that decide whether a module signature will be
 * trusted: SecureBoot/SetupMode (global GUID) and shim's MokListRT, MokNew, MokListTrustedRT.
 * Everything is read through ctx->efivars_dir so tests use a fake efivarfs tree. A file there
 * is "<Name>-<GUID>" holding a 4-byte attribute word followed by the variable's data.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/kmb.h"

#define KMB_EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define KMB_EFI_SHIM_GUID   "605dab50-e046-4300-abb6-3dd810dd8b23"

/* One entry of an EFI_SIGNATURE_LIST; data points into the parsed buffer. */
struct kmb_esl_entry {
	char type[37];	/* signature type GUID, lower-case text */
	char owner[37]; /* SignatureOwner GUID */
	const unsigned char *data;
	size_t len;
};

#define KMB_EFI_CERT_X509_GUID	 "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
#define KMB_EFI_CERT_SHA256_GUID "c1c41626-504c-4092-aca9-41f936934328"

/*
 * Parse a sequence of EFI_SIGNATURE_LISTs (MokListRT, MokNew, db, ...). Returns 0 and a
 * malloc'd array (entries point into buf), or -EBADMSG if any list header is inconsistent
 * with the buffer: a half-parsed list would make "not enrolled" indistinguishable from
 * "could not read".
 */
int kmb_esl_parse(const unsigned char *buf, size_t len, struct kmb_esl_entry **out, size_t *n);

/* Does the list hold an X.509 entry byte-identical to der? */
bool kmb_esl_has_cert(const struct kmb_esl_entry *v, size_t n, const unsigned char *der,
		      size_t der_len);

/* Raw variable: 0, -ENOENT (absent), -EBADMSG (shorter than the attribute word), -errno. */
int kmb_efivar_read(const struct kmb_ctx *ctx, const char *name, const char *guid, uint32_t *attrs,
		    unsigned char **data, size_t *len);

/* A one-byte boolean variable: 1, 0, or negative errno (-ENOENT when absent). */
int kmb_efivar_bool(const struct kmb_ctx *ctx, const char *name, const char *guid);

/* Booted with UEFI at all: <root>/sys/firmware/efi exists. */
bool kmb_efi_booted(const struct kmb_ctx *ctx);

/*
 * A MOK list as the running kernel sees it: efivars NAME, NAME1, NAME2, ... concatenated
 * (shim splits lists too big for one variable), falling back to the MOKvar config table copy
 * in <root>/sys/firmware/efi/mok-variables/NAME (no attribute word). -ENOENT if neither.
 */
int kmb_efi_mok_list(const struct kmb_ctx *ctx, const char *name, unsigned char **data,
		     size_t *len);

/* The state relevant to module signing, gathered in one read. Negative values: absent. */
struct kmb_efi_state {
	bool efi;		/* booted via UEFI */
	int secure_boot;	/* 1, 0, -1 unknown */
	int setup_mode;		/* 1, 0, -1 unknown */
	int mok_trusted;	/* MokListTrustedRT: 1, 0, -1 absent */
	int enrolled;		/* cert in MokListRT: 1, 0, -1 list absent/unreadable */
	int pending;		/* cert in MokNew: 1, 0, -1 absent */
	int pending_delete;	/* cert in MokDel: 1, 0, -1 absent */
	size_t n_mok_certs;	/* X.509 entries in MokListRT */
	const char *list_error; /* NULL, or why MokListRT could not be parsed */
};

/* cert may be NULL (then enrolled/pending stay -1/0 and only the firmware state is read). */
void kmb_efi_state_read(const struct kmb_ctx *ctx, const unsigned char *cert_der, size_t cert_len,
			struct kmb_efi_state *st);
