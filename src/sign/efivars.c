// SPDX-License-Identifier: GPL-2.0-or-later
/* UEFI variables relevant to module signing, read through the root prefix. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign/efivars.h"
#include "base/util.h"

/* EFI GUIDs are stored mixed-endian: three little-endian fields, then 8 bytes as they are. */
static void guid_text(const unsigned char *g, char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* EFI_SIGNATURE_LIST header: SignatureType, ListSize, HeaderSize, SignatureSize. */
#define ESL_HDR 28
/* EFI_SIGNATURE_DATA starts with the owner GUID. */
#define ESD_OWNER 16

int kmb_esl_parse(const unsigned char *buf, size_t len, struct kmb_esl_entry **out, size_t *n)
{
	struct kmb_esl_entry *v = NULL;
	size_t cnt = 0, off = 0;

	*out = NULL;
	*n = 0;
	while (off < len) {
		if (len - off < ESL_HDR)
			goto bad;
		const unsigned char *l = buf + off;
		uint32_t list_size = le32(l + 16), hdr_size = le32(l + 20), sig_size = le32(l + 24);
		char type[37];

		if (list_size < ESL_HDR || list_size > len - off)
			goto bad;
		if (hdr_size > list_size - ESL_HDR || sig_size <= ESD_OWNER)
			goto bad;
		size_t body = list_size - ESL_HDR - hdr_size;
		if (body % sig_size != 0)
			goto bad;
		guid_text(l, type);
		for (size_t p = ESL_HDR + hdr_size; p < list_size; p += sig_size) {
			struct kmb_esl_entry *e;

			v = kmb_xrealloc(v, (cnt + 1) * sizeof(*v));
			e = &v[cnt++];
			memcpy(e->type, type, sizeof(type));
			guid_text(l + p, e->owner);
			e->data = l + p + ESD_OWNER;
			e->len = sig_size - ESD_OWNER;
		}
		off += list_size;
	}
	*out = v;
	*n = cnt;
	return 0;
bad:
	free(v);
	return -EBADMSG;
}

bool kmb_esl_has_cert(const struct kmb_esl_entry *v, size_t n, const unsigned char *der,
		      size_t der_len)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].type, KMB_EFI_CERT_X509_GUID) == 0 && v[i].len == der_len &&
		    memcmp(v[i].data, der, der_len) == 0)
			return true;
	return false;
}

int kmb_efivar_read(const struct kmb_ctx *ctx, const char *name, const char *guid, uint32_t *attrs,
		    unsigned char **data, size_t *len)
{
	char *path = kmb_xasprintf("%s/%s-%s", ctx->efivars_dir, name, guid);
	char *raw;
	size_t n;
	int r = kmb_read_file(path, &raw, &n);

	free(path);
	if (r < 0)
		return r;
	if (n < 4) {
		free(raw);
		return -EBADMSG;
	}
	if (attrs)
		*attrs = le32((unsigned char *)raw);
	memmove(raw, raw + 4, n - 4);
	*data = (unsigned char *)raw;
	*len = n - 4;
	return 0;
}

int kmb_efivar_bool(const struct kmb_ctx *ctx, const char *name, const char *guid)
{
	unsigned char *d;
	size_t n;
	int r = kmb_efivar_read(ctx, name, guid, NULL, &d, &n);

	if (r < 0)
		return r;
	r = n >= 1 ? d[0] != 0 : -EBADMSG;
	free(d);
	return r;
}

bool kmb_efi_booted(const struct kmb_ctx *ctx)
{
	char *p = kmb_root_path(ctx, "/sys/firmware/efi");
	bool r = kmb_is_dir(p);

	free(p);
	return r;
}

int kmb_efi_mok_list(const struct kmb_ctx *ctx, const char *name, unsigned char **data, size_t *len)
{
	struct kmb_buf b = {0};
	bool found = false;

	for (int i = 0;; i++) {
		char var[64];
		unsigned char *d;
		size_t n;

		if (i == 0)
			snprintf(var, sizeof(var), "%s", name);
		else
			snprintf(var, sizeof(var), "%s%d", name, i);
		if (kmb_efivar_read(ctx, var, KMB_EFI_SHIM_GUID, NULL, &d, &n) < 0)
			break;
		found = true;
		kmb_buf_add(&b, (const char *)d, n);
		free(d);
	}
	if (!found) {
		char *p = kmb_xasprintf("%s/sys/firmware/efi/mok-variables/%s", ctx->root, name);
		char *raw;
		size_t n;
		int r = kmb_read_file(p, &raw, &n);

		free(p);
		if (r < 0)
			return -ENOENT;
		kmb_buf_add(&b, raw, n);
		free(raw);
	}
	*len = b.len;
	*data = (unsigned char *)kmb_buf_steal(&b);
	return 0;
}

/* 1/0 if list NAME holds the cert, -1 if absent; *err set when present but malformed. */
static int list_has(const struct kmb_ctx *ctx, const char *name, const unsigned char *der,
		    size_t der_len, size_t *n_x509, const char **err)
{
	unsigned char *d;
	size_t len, n;
	struct kmb_esl_entry *v;
	int r;

	if (kmb_efi_mok_list(ctx, name, &d, &len) < 0)
		return -1;
	if (kmb_esl_parse(d, len, &v, &n) < 0) {
		free(d);
		if (err)
			*err = "malformed EFI_SIGNATURE_LIST";
		return -1;
	}
	r = der ? kmb_esl_has_cert(v, n, der, der_len) : 0;
	if (n_x509) {
		*n_x509 = 0;
		for (size_t i = 0; i < n; i++)
			*n_x509 += strcmp(v[i].type, KMB_EFI_CERT_X509_GUID) == 0;
	}
	free(v);
	free(d);
	return r;
}

static int tri(int r)
{
	return r < 0 ? -1 : r;
}

void kmb_efi_state_read(const struct kmb_ctx *ctx, const unsigned char *cert_der, size_t cert_len,
			struct kmb_efi_state *st)
{
	memset(st, 0, sizeof(*st));
	st->efi = kmb_efi_booted(ctx);
	st->secure_boot = tri(kmb_efivar_bool(ctx, "SecureBoot", KMB_EFI_GLOBAL_GUID));
	st->setup_mode = tri(kmb_efivar_bool(ctx, "SetupMode", KMB_EFI_GLOBAL_GUID));
	st->mok_trusted = tri(kmb_efivar_bool(ctx, "MokListTrustedRT", KMB_EFI_SHIM_GUID));
	st->enrolled =
		list_has(ctx, "MokListRT", cert_der, cert_len, &st->n_mok_certs, &st->list_error);
	st->pending = list_has(ctx, "MokNew", cert_der, cert_len, NULL, NULL);
	st->pending_delete = list_has(ctx, "MokDel", cert_der, cert_len, NULL, NULL);
	if (!cert_der)
		st->enrolled = st->pending = st->pending_delete = -1;
}
