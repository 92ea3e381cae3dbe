// SPDX-License-Identifier: GPL-2.0-or-later
/* EFI_SIGNATURE_LIST parsing and efivarfs reading through a fake root. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "sign/efivars.h"
#include "base/kmb.h"
#include "base/util.h"

/* GUID text -> EFI byte order (three little-endian fields). */
static void guid_bytes(const char *txt, unsigned char out[16])
{
	unsigned int b[16];
	sscanf(txt, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x", &b[0], &b[1], &b[2],
	       &b[3], &b[4], &b[5], &b[6], &b[7], &b[8], &b[9], &b[10], &b[11], &b[12], &b[13],
	       &b[14], &b[15]);
	static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	for (int i = 0; i < 16; i++)
		out[i] = (unsigned char)b[order[i]];
}

static void put32(struct kmb_buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};
	kmb_buf_add(b, (const char *)x, 4);
}

#define OWNER "605dab50-e046-4300-abb6-3dd810dd8b23"

/* One EFI_SIGNATURE_LIST of n equally sized entries. */
static void add_list(struct kmb_buf *b, const char *type, const unsigned char *const *data,
		     size_t each, size_t n)
{
	unsigned char g[16];

	guid_bytes(type, g);
	kmb_buf_add(b, (const char *)g, 16);
	put32(b, (uint32_t)(28 + n * (16 + each)));
	put32(b, 0);
	put32(b, (uint32_t)(16 + each));
	guid_bytes(OWNER, g);
	for (size_t i = 0; i < n; i++) {
		kmb_buf_add(b, (const char *)g, 16);
		kmb_buf_add(b, (const char *)data[i], each);
	}
}

static const unsigned char cert_a[8] = {0x30, 0x82, 0, 4, 'A', 'A', 'A', 'A'};
static const unsigned char cert_b[8] = {0x30, 0x82, 0, 4, 'B', 'B', 'B', 'B'};
static const unsigned char cert_c[8] = {0x30, 0x82, 0, 4, 'C', 'C', 'C', 'C'};

static void test_parse_lists(void **state)
{
	(void)state;
	struct kmb_buf b = {0};
	const unsigned char *two[] = {cert_a, cert_b};
	unsigned char hash[32];
	const unsigned char *h[] = {hash};
	struct kmb_esl_entry *v;
	size_t n;

	memset(hash, 0x5a, sizeof(hash));
	add_list(&b, KMB_EFI_CERT_X509_GUID, two, sizeof(cert_a), 2);
	add_list(&b, KMB_EFI_CERT_SHA256_GUID, h, sizeof(hash), 1);
	assert_int_equal(kmb_esl_parse((unsigned char *)b.s, b.len, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].type, KMB_EFI_CERT_X509_GUID);
	assert_string_equal(v[0].owner, OWNER);
	assert_int_equal(v[0].len, sizeof(cert_a));
	assert_memory_equal(v[1].data, cert_b, sizeof(cert_b));
	assert_string_equal(v[2].type, KMB_EFI_CERT_SHA256_GUID);
	assert_true(kmb_esl_has_cert(v, n, cert_a, sizeof(cert_a)));
	assert_true(kmb_esl_has_cert(v, n, cert_b, sizeof(cert_b)));
	assert_false(kmb_esl_has_cert(v, n, cert_c, sizeof(cert_c)));
	/* A hash entry with the same bytes is not a certificate. */
	assert_false(kmb_esl_has_cert(v, n, hash, sizeof(hash)));
	free(v);
	kmb_buf_free(&b);

	assert_int_equal(kmb_esl_parse(NULL, 0, &v, &n), 0);
	assert_int_equal(n, 0);
}

static void test_parse_malformed(void **state)
{
	(void)state;
	const unsigned char *one[] = {cert_a};
	struct kmb_esl_entry *v;
	size_t n;
	struct kmb_buf b = {0};

	add_list(&b, KMB_EFI_CERT_X509_GUID, one, sizeof(cert_a), 1);
	unsigned char *p = (unsigned char *)b.s;

	/* Truncated anywhere: list size beyond the buffer, or a partial header. */
	for (size_t cut = 1; cut < b.len; cut++)
		assert_int_equal(kmb_esl_parse(p, cut, &v, &n), -EBADMSG);
	/* Signature size not dividing the body. */
	p[24] = 15;
	assert_int_equal(kmb_esl_parse(p, b.len, &v, &n), -EBADMSG);
	p[24] = 16; /* only an owner GUID, no data */
	assert_int_equal(kmb_esl_parse(p, b.len, &v, &n), -EBADMSG);
	p[24] = 24;
	/* Header size eating the list. */
	p[20] = 200;
	assert_int_equal(kmb_esl_parse(p, b.len, &v, &n), -EBADMSG);
	p[20] = 0;
	/* List size smaller than its own header. */
	p[16] = 10;
	assert_int_equal(kmb_esl_parse(p, b.len, &v, &n), -EBADMSG);
	p[16] = 28 + 24;
	assert_int_equal(kmb_esl_parse(p, b.len, &v, &n), 0);
	free(v);
	kmb_buf_free(&b);
}

struct fx {
	struct unit_sandbox sb;
};

static void write_var(struct fx *f, const char *name, const char *guid, uint32_t attrs,
		      const void *data, size_t len)
{
	struct kmb_buf b = {0};
	char *dir = kmb_xasprintf("%s/sys/firmware/efi/efivars", f->sb.root);
	char *path = kmb_xasprintf("%s/%s-%s", dir, name, guid);

	put32(&b, attrs);
	kmb_buf_add(&b, data, len);
	unit_write(path, b.s, b.len, 0644);
	kmb_buf_free(&b);
	free(path);
	free(dir);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	unit_sandbox_open(&f->sb);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unit_sandbox_close(&f->sb);
	free(f);
	return 0;
}

static void test_no_efi(void **state)
{
	struct fx *f = *state;
	struct kmb_efi_state st;

	kmb_efi_state_read(&f->sb.ctx, cert_a, sizeof(cert_a), &st);
	assert_false(st.efi);
	assert_int_equal(st.secure_boot, -1);
	assert_int_equal(st.enrolled, -1);
	assert_int_equal(st.pending, -1);
	assert_int_equal(kmb_efivar_bool(&f->sb.ctx, "SecureBoot", KMB_EFI_GLOBAL_GUID), -ENOENT);
}

static void test_vars(void **state)
{
	struct fx *f = *state;
	const unsigned char one = 1, zero = 0;
	unsigned char *d;
	size_t n;
	uint32_t attrs;

	write_var(f, "SecureBoot", KMB_EFI_GLOBAL_GUID, 6, &one, 1);
	write_var(f, "SetupMode", KMB_EFI_GLOBAL_GUID, 6, &zero, 1);
	assert_int_equal(kmb_efivar_bool(&f->sb.ctx, "SecureBoot", KMB_EFI_GLOBAL_GUID), 1);
	assert_int_equal(kmb_efivar_bool(&f->sb.ctx, "SetupMode", KMB_EFI_GLOBAL_GUID), 0);
	assert_int_equal(
		kmb_efivar_read(&f->sb.ctx, "SecureBoot", KMB_EFI_GLOBAL_GUID, &attrs, &d, &n), 0);
	assert_int_equal(attrs, 6);
	assert_int_equal(n, 1);
	free(d);
	/* Shorter than the attribute word: not a variable. */
	char *short_path =
		kmb_xasprintf("%s/SecureBoot-%s", f->sb.ctx.efivars_dir, KMB_EFI_GLOBAL_GUID);
	unit_write(short_path, "\x06\x00", 2, 0644);
	assert_int_equal(kmb_efivar_bool(&f->sb.ctx, "SecureBoot", KMB_EFI_GLOBAL_GUID), -EBADMSG);
	free(short_path);
	/* Empty data. */
	write_var(f, "SecureBoot", KMB_EFI_GLOBAL_GUID, 6, "", 0);
	assert_int_equal(kmb_efivar_bool(&f->sb.ctx, "SecureBoot", KMB_EFI_GLOBAL_GUID), -EBADMSG);
}

static void test_state(void **state)
{
	struct fx *f = *state;
	const unsigned char one = 1;
	const unsigned char *a[] = {cert_a}, *bc[] = {cert_b, cert_c};
	struct kmb_buf l0 = {0}, l1 = {0};
	struct kmb_efi_state st;

	write_var(f, "SecureBoot", KMB_EFI_GLOBAL_GUID, 6, &one, 1);
	/* shim splits big lists: MokListRT + MokListRT1 are one list. */
	add_list(&l0, KMB_EFI_CERT_X509_GUID, a, sizeof(cert_a), 1);
	add_list(&l1, KMB_EFI_CERT_X509_GUID, bc, sizeof(cert_b), 2);
	write_var(f, "MokListRT", KMB_EFI_SHIM_GUID, 6, l0.s, l0.len);
	write_var(f, "MokListRT1", KMB_EFI_SHIM_GUID, 6, l1.s, l1.len);
	kmb_efi_state_read(&f->sb.ctx, cert_c, sizeof(cert_c), &st);
	assert_true(st.efi);
	assert_int_equal(st.secure_boot, 1);
	assert_int_equal(st.setup_mode, -1);
	assert_int_equal(st.enrolled, 1);
	assert_int_equal(st.n_mok_certs, 3);
	assert_int_equal(st.pending, -1);
	assert_int_equal(st.mok_trusted, -1);

	/* Pending: MokNew holds it, MokListRT not. */
	const unsigned char d[] = {'D', 'D', 'D', 'D', 'D', 'D', 'D', 'D'};
	write_var(f, "MokNew", KMB_EFI_SHIM_GUID, 7, l0.s, l0.len);
	write_var(f, "MokListTrustedRT", KMB_EFI_SHIM_GUID, 6, &one, 1);
	kmb_efi_state_read(&f->sb.ctx, cert_a, sizeof(cert_a), &st);
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.mok_trusted, 1);
	kmb_efi_state_read(&f->sb.ctx, d, sizeof(d), &st);
	assert_int_equal(st.enrolled, 0);
	assert_int_equal(st.pending, 0);

	/* A corrupt MokListRT is reported, not read as "not enrolled". */
	write_var(f, "MokListRT1", KMB_EFI_SHIM_GUID, 6, l1.s, l1.len - 3);
	kmb_efi_state_read(&f->sb.ctx, cert_a, sizeof(cert_a), &st);
	assert_int_equal(st.enrolled, -1);
	assert_non_null(st.list_error);
	kmb_buf_free(&l0);
	kmb_buf_free(&l1);
}

static void test_mokvar_table_fallback(void **state)
{
	struct fx *f = *state;
	const unsigned char *a[] = {cert_a};
	struct kmb_buf l = {0};
	unsigned char *d;
	size_t n;

	add_list(&l, KMB_EFI_CERT_X509_GUID, a, sizeof(cert_a), 1);
	char *dir = kmb_xasprintf("%s/sys/firmware/efi/mok-variables", f->sb.root);
	char *p = kmb_xasprintf("%s/MokListRT", dir);
	unit_write(p, l.s, l.len, 0644);
	assert_int_equal(kmb_efi_mok_list(&f->sb.ctx, "MokListRT", &d, &n), 0);
	assert_int_equal(n, l.len);
	assert_memory_equal(d, l.s, l.len);
	free(d);
	assert_int_equal(kmb_efi_mok_list(&f->sb.ctx, "MokNew", &d, &n), -ENOENT);
	free(p);
	free(dir);
	kmb_buf_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lists),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test_setup_teardown(test_no_efi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mokvar_table_fallback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
