// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading one module file with libelf (sections, symbols, __versions, .modinfo), libarchive
 * (compressed modules) and OpenSSL (the PKCS#7 signature). Plain .ko files are mapped and
 * parsed in place: `verify --all` reads ~4,000 of them and must not copy them.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "verify/modfile.h"
#include "base/util.h"

#define SIG_MAGIC     "~Module signature appended~\n"
#define SIG_MAGIC_LEN (sizeof(SIG_MAGIC) - 1)
#define SIG_INFO_LEN  12 /* struct module_signature */
#define PKEY_ID_PKCS7 2

/* Elf handle kept for the lifetime of the modfile: symbol names point into its data. */
struct modfile_priv {
	struct kmb_modfile pub;
	Elf *elf;
};

bool kmb_license_is_gpl_compatible(const char *license)
{
	/* include/linux/license.h: anything else marks the module proprietary. */
	static const char *const ok[] = {
		"GPL",		"GPL v2",	"GPL and additional rights",
		"Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"};

	if (!license)
		return false;
	for (size_t i = 0; i < KMB_ARRAY_SIZE(ok); i++)
		if (strcmp(license, ok[i]) == 0)
			return true;
	return false;
}

void kmb_module_name_from_path(const char *path, char *out, size_t outsz)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	const char *dot = strstr(base, ".ko");
	size_t n = dot ? (size_t)(dot - base) : strlen(base);

	if (outsz == 0)
		return;
	if (n >= outsz)
		n = outsz - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[n] = '\0';
}

const char *kmb_modfile_modname(const struct kmb_modfile *m, char *buf, size_t bufsz)
{
	if (m->name && *m->name)
		return m->name;
	kmb_module_name_from_path(m->path, buf, bufsz);
	return buf;
}

bool kmb_modfile_next_depend(const char **p, char *buf, size_t bufsz)
{
	while (*p && **p) {
		const char *name = *p;
		size_t n = strcspn(name, ",");

		*p += n + (name[n] == ',');
		if (n && n < bufsz) {
			memcpy(buf, name, n);
			buf[n] = '\0';
			return true;
		}
	}
	return false;
}

size_t kmb_modfile_modinfo_all(const struct kmb_modfile *m, const char *key, const char **v,
			       size_t n)
{
	size_t klen = strlen(key), found = 0;

	for (size_t i = 0; i < m->n_modinfo; i++) {
		if (m->modinfo[i].key_len != klen || memcmp(m->modinfo[i].key, key, klen) != 0)
			continue;
		if (found < n)
			v[found] = m->modinfo[i].value;
		found++;
	}
	return found;
}

static int cmp_modver(const void *a, const void *b)
{
	return strcmp(((const struct kmb_modver *)a)->name, ((const struct kmb_modver *)b)->name);
}

const struct kmb_modver *kmb_modfile_version(const struct kmb_modfile *m, const char *sym)
{
	struct kmb_modver key = {.name = sym};

	if (m->versions_sorted)
		return bsearch(&key, m->versions, m->n_versions, sizeof(key), cmp_modver);
	for (size_t i = 0; i < m->n_versions; i++)
		if (strcmp(m->versions[i].name, sym) == 0)
			return &m->versions[i];
	return NULL;
}

static enum kmb_compress magic_compress(const unsigned char *p, size_t len)
{
	if (len >= 6 && memcmp(p,
			       "\xfd"
			       "7zXZ\0",
			       6) == 0)
		return KMB_COMPRESS_XZ;
	if (len >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		return KMB_COMPRESS_ZSTD;
	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return KMB_COMPRESS_GZIP;
	return KMB_COMPRESS_NONE;
}

int kmb_decompress_mem(const void *in, size_t len, unsigned char **out, size_t *out_len, char **why)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t cap = len * 4 + 4096, n = 0;
	unsigned char *buf = NULL;
	int rc = -EIO;

	*why = NULL;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, in, len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		*why = kmb_xstrdup(archive_error_string(a) ? archive_error_string(a)
							   : "unknown format");
		goto out;
	}
	buf = kmb_xmalloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = kmb_xrealloc(buf, cap);
		}
		la_ssize_t r = archive_read_data(a, buf + n, cap - n);
		if (r < 0) {
			*why = kmb_xstrdup(archive_error_string(a) ? archive_error_string(a)
								   : "corrupt data");
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*out_len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	archive_read_free(a);
	return rc;
}

static int decompress(struct kmb_modfile *m, char **err)
{
	char *why = NULL;
	int rc = kmb_decompress_mem(m->map, m->map_len, &m->owned, &m->image_len, &why);

	if (rc < 0) {
		*err = kmb_xasprintf("%s: cannot decompress: %s", m->path, why);
		free(why);
		return rc;
	}
	m->image = m->owned;
	return 0;
}

enum kmb_compress kmb_compress_of(const void *p, size_t len)
{
	return magic_compress(p, len);
}

static char *hex_colon(const unsigned char *p, size_t n)
{
	struct kmb_buf b = {0};

	for (size_t i = 0; i < n; i++)
		kmb_buf_printf(&b, i ? ":%02X" : "%02X", p[i]);
	return kmb_buf_steal(&b);
}

static CMS_ContentInfo *sig_cms(const struct kmb_modfile *m)
{
	const unsigned char *p = m->image + m->sig.offset;

	return d2i_CMS_ContentInfo(NULL, &p, (long)m->sig.len);
}

static void sig_malformed(struct kmb_modfile *m, char *why)
{
	m->sig.state = KMB_SIG_MALFORMED;
	m->sig.error = why;
}

/* The same checks as the kernel's mod_check_sig(), then what modinfo shows. */
static void parse_signature(struct kmb_modfile *m)
{
	size_t len = m->image_len;
	const unsigned char *ms;
	uint32_t sig_len;

	m->elf_len = len;
	if (len < SIG_MAGIC_LEN || memcmp(m->image + len - SIG_MAGIC_LEN, SIG_MAGIC, SIG_MAGIC_LEN))
		return;
	len -= SIG_MAGIC_LEN;
	m->elf_len = len;
	if (len <= SIG_INFO_LEN) {
		sig_malformed(m, kmb_xstrdup("signature trailer without a signature block"));
		return;
	}
	ms = m->image + len - SIG_INFO_LEN;
	sig_len = (uint32_t)ms[8] << 24 | (uint32_t)ms[9] << 16 | (uint32_t)ms[10] << 8 | ms[11];
	if (sig_len >= len - SIG_INFO_LEN) {
		sig_malformed(m, kmb_xasprintf("signature length %u exceeds the file", sig_len));
		return;
	}
	m->elf_len = len - SIG_INFO_LEN - sig_len;
	if (ms[2] != PKEY_ID_PKCS7) {
		sig_malformed(m, kmb_xasprintf("signature id_type %u is not PKCS#7 (2)", ms[2]));
		m->sig.state = KMB_SIG_FOREIGN;
		return;
	}
	if (ms[0] || ms[1] || ms[3] || ms[4] || ms[5] || ms[6] || ms[7]) {
		sig_malformed(m, kmb_xstrdup("signature block has non-zero reserved fields"));
		return;
	}
	m->sig.offset = m->elf_len;
	m->sig.len = sig_len;
	m->sig.state = KMB_SIG_OK;
}

void kmb_modfile_sig_details(const struct kmb_modfile *cm)
{
	/* The details are a cache filled on first use: `verify --all` never needs them for the
	 * kernel's own modules, and parsing 4,000 PKCS#7 blobs costs a tenth of its time. */
	struct kmb_modfile *m = (struct kmb_modfile *)(uintptr_t)cm;

	if (m->sig.state != KMB_SIG_OK || m->sig.parsed)
		return;
	m->sig.parsed = true;
	CMS_ContentInfo *cms = sig_cms(m);
	if (!cms) {
		sig_malformed(m, kmb_xstrdup("signature is not a DER PKCS#7/CMS message"));
		return;
	}
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	CMS_SignerInfo *si =
		sis && sk_CMS_SignerInfo_num(sis) > 0 ? sk_CMS_SignerInfo_value(sis, 0) : NULL;
	if (!si) {
		sig_malformed(m, kmb_xstrdup("signature has no signer"));
		CMS_ContentInfo_free(cms);
		return;
	}
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *obj = NULL;

	if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) == 1) {
		if (issuer) {
			int idx = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
			X509_NAME_ENTRY *ne = idx >= 0 ? X509_NAME_get_entry(issuer, idx) : NULL;
			ASN1_STRING *cn = ne ? X509_NAME_ENTRY_get_data(ne) : NULL;
			if (cn)
				m->sig.signer =
					kmb_xstrndup((const char *)ASN1_STRING_get0_data(cn),
						     (size_t)ASN1_STRING_length(cn));
		}
		if (serial)
			m->sig.key_id = hex_colon(ASN1_STRING_get0_data(serial),
						  (size_t)ASN1_STRING_length(serial));
		else if (keyid)
			m->sig.key_id = hex_colon(ASN1_STRING_get0_data(keyid),
						  (size_t)ASN1_STRING_length(keyid));
	}
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	if (dig)
		X509_ALGOR_get0(&obj, NULL, NULL, dig);
	if (obj && OBJ_obj2nid(obj) != NID_undef)
		m->sig.hash_algo = kmb_xstrdup(OBJ_nid2ln(OBJ_obj2nid(obj)));
	CMS_ContentInfo_free(cms);
}

/* The signature as a CMS message: 0, -ENODATA (none usable) or -EBADMSG. */
static int sig_open(const struct kmb_modfile *m, CMS_ContentInfo **cms)
{
	kmb_modfile_sig_details(m);
	if (m->sig.state != KMB_SIG_OK)
		return -ENODATA;
	*cms = sig_cms(m);
	return *cms ? 0 : -EBADMSG;
}

int kmb_modfile_signed_by(const struct kmb_modfile *m, struct x509_st *cert)
{
	CMS_ContentInfo *cms;
	int rc = sig_open(m, &cms);

	if (rc < 0)
		return rc;
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	int r = 0;
	if (sis && sk_CMS_SignerInfo_num(sis) > 0)
		r = CMS_SignerInfo_cert_cmp(sk_CMS_SignerInfo_value(sis, 0), cert) == 0;
	CMS_ContentInfo_free(cms);
	return r;
}

int kmb_modfile_verify_sig(const struct kmb_modfile *m, struct x509_st *cert)
{
	CMS_ContentInfo *cms;
	int rc = sig_open(m, &cms);

	if (rc < 0)
		return rc;
	STACK_OF(X509) *certs = sk_X509_new_null();
	BIO *content = BIO_new_mem_buf(m->image, (int)m->elf_len);
	int r = -ENOMEM;

	if (certs && content && sk_X509_push(certs, cert) > 0) {
		/* Trust is the kernel's keyring's business, not a CA chain's: check the math. */
		r = CMS_verify(cms, certs, NULL, content, NULL,
			       CMS_BINARY | CMS_NOVERIFY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
		ERR_clear_error();
	}
	BIO_free(content);
	sk_X509_free(certs);
	CMS_ContentInfo_free(cms);
	return r;
}

static Elf_Data *scn_data(Elf *elf, size_t idx, GElf_Shdr *sh)
{
	Elf_Scn *scn = idx ? elf_getscn(elf, idx) : NULL;

	if (!scn || !gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS)
		return NULL;
	return elf_getdata(scn, NULL);
}

/* A name and the offset of the struct field it fills. */
struct named_field {
	const char *name;
	size_t off;
};

static void parse_modinfo(struct kmb_modfile *m, Elf_Data *d)
{
	if (!d->d_buf || !d->d_size)
		return; /* an empty .modinfo: nothing to index */
	const char *p = d->d_buf, *end = p + d->d_size;
	size_t cap = 0;

	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		const char *eq;
		if (!nul)
			break; /* unterminated tail: the kernel ignores it too */
		eq = memchr(p, '=', (size_t)(nul - p));
		if (eq) {
			if (m->n_modinfo == cap) {
				cap = cap ? cap * 2 : 32;
				m->modinfo = kmb_xrealloc(m->modinfo, cap * sizeof(*m->modinfo));
			}
			struct kmb_modinfo_kv *kv = &m->modinfo[m->n_modinfo++];
			kv->key = p;
			kv->key_len = (size_t)(eq - p);
			kv->value = eq + 1;
		}
		p = nul + 1;
	}
	static const struct named_field shortcuts[] = {
		{"name", offsetof(struct kmb_modfile, name)},
		{"vermagic", offsetof(struct kmb_modfile, vermagic)},
		{"license", offsetof(struct kmb_modfile, license)},
		{"depends", offsetof(struct kmb_modfile, depends)},
		{"version", offsetof(struct kmb_modfile, version)},
		{"srcversion", offsetof(struct kmb_modfile, srcversion)},
	};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(shortcuts); i++) {
		const char *v = NULL;
		if (kmb_modfile_modinfo_all(m, shortcuts[i].name, &v, 1))
			*(const char **)((char *)m + shortcuts[i].off) = v;
	}
}

static void parse_versions(struct kmb_modfile *m, Elf_Data *d)
{
	size_t crc_len = m->elf64 ? 8 : 4, ent = 64;
	const unsigned char *p = d->d_buf;
	size_t n = d->d_size / ent;

	m->versions = kmb_xcalloc(n ? n : 1, sizeof(*m->versions));
	for (size_t i = 0; i < n; i++, p += ent) {
		const char *name = (const char *)p + crc_len;
		uint32_t crc;
		if (!memchr(name, '\0', ent - crc_len))
			continue;
		/* Only the low 32 bits are a CRC; modpost writes them zero-extended. */
		memcpy(&crc, p, sizeof(crc));
		m->versions[m->n_versions].name = name;
		m->versions[m->n_versions].crc = crc;
		m->n_versions++;
	}
	/* Every imported symbol is looked up here: sorted once, searched in O(log n). */
	qsort(m->versions, m->n_versions, sizeof(*m->versions), cmp_modver);
	m->versions_sorted = true;
}

struct symref {
	const char *name; /* the exported name the helper symbol refers to */
	uint32_t crc;
	const char *ns;
};

/* Helper symbols (__crc_*, __kstrtabns_*) in symtab order, sorted before lookups. */
struct symrefs {
	struct symref *v;
	size_t n, cap;
};

static int cmp_export(const void *a, const void *b)
{
	return strcmp(((const struct kmb_modexport *)a)->name,
		      ((const struct kmb_modexport *)b)->name);
}

static int cmp_modsym(const void *a, const void *b)
{
	return strcmp(((const struct kmb_modsym *)a)->name, ((const struct kmb_modsym *)b)->name);
}

static int cmp_symref(const void *a, const void *b)
{
	return strcmp(((const struct symref *)a)->name, ((const struct symref *)b)->name);
}

static void symrefs_push(struct symrefs *r, struct symref x)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = kmb_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	r->v[r->n++] = x;
}

static const struct symref *symrefs_find(const struct symrefs *r, const char *name)
{
	struct symref key = {.name = name};

	return r->n ? bsearch(&key, r->v, r->n, sizeof(*r->v), cmp_symref) : NULL;
}

struct secidx {
	size_t ksymtab, ksymtab_gpl, kcrctab, kcrctab_gpl, kstrings;
};

/* One pass over the symbol table: imports, exports and the exports' helper symbols. */
struct symwalk {
	const struct secidx *s;
	Elf_Data *kcrc, *kcrc_gpl, *kstr;
	struct symrefs crcs, nss;
	size_t cap_undef, cap_exports;
};

static void add_undef(struct kmb_modfile *m, struct symwalk *w, const char *name,
		      const GElf_Sym *sym)
{
	if (GELF_ST_BIND(sym->st_info) == STB_LOCAL)
		return;
	if (m->n_undef == w->cap_undef) {
		w->cap_undef = w->cap_undef ? w->cap_undef * 2 : 64;
		m->undef = kmb_xrealloc(m->undef, w->cap_undef * sizeof(*m->undef));
	}
	m->undef[m->n_undef].name = name;
	m->undef[m->n_undef].weak = GELF_ST_BIND(sym->st_info) == STB_WEAK;
	m->n_undef++;
}

static void add_export(struct kmb_modfile *m, struct symwalk *w, const char *name, bool gpl)
{
	if (m->n_exports == w->cap_exports) {
		w->cap_exports = w->cap_exports ? w->cap_exports * 2 : 32;
		m->exports = kmb_xrealloc(m->exports, w->cap_exports * sizeof(*m->exports));
	}
	struct kmb_modexport *e = &m->exports[m->n_exports++];
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->gpl = gpl;
}

/* The value of a __crc_ symbol: absolute before 6.0, else a word in __kcrctab(_gpl). */
static bool crc_value(const struct symwalk *w, const GElf_Sym *sym, uint32_t *crc)
{
	Elf_Data *cd = sym->st_shndx == w->s->kcrctab	    ? w->kcrc
		       : sym->st_shndx == w->s->kcrctab_gpl ? w->kcrc_gpl
							    : NULL;

	if (sym->st_shndx == SHN_ABS) {
		*crc = (uint32_t)sym->st_value;
		return true;
	}
	if (!cd || sym->st_value + 4 > cd->d_size)
		return false;
	memcpy(crc, (const char *)cd->d_buf + sym->st_value, 4);
	return true;
}

static void walk_symbol(struct kmb_modfile *m, struct symwalk *w, const char *name,
			const GElf_Sym *sym)
{
	const struct secidx *s = w->s;
	uint32_t crc;

	if (sym->st_shndx == SHN_UNDEF) {
		add_undef(m, w, name, sym);
		return;
	}
	if (name[0] != '_' || name[1] != '_')
		return;
	if (kmb_startswith(name, "__ksymtab_") &&
	    (sym->st_shndx == s->ksymtab || sym->st_shndx == s->ksymtab_gpl) &&
	    sym->st_shndx != 0) {
		add_export(m, w, name + strlen("__ksymtab_"), sym->st_shndx == s->ksymtab_gpl);
	} else if (kmb_startswith(name, "__crc_")) {
		if (crc_value(w, sym, &crc))
			symrefs_push(&w->crcs,
				     (struct symref){.name = name + strlen("__crc_"), .crc = crc});
	} else if (kmb_startswith(name, "__kstrtabns_") && w->kstr &&
		   sym->st_shndx == s->kstrings && sym->st_value < w->kstr->d_size) {
		const char *ns = (const char *)w->kstr->d_buf + sym->st_value;
		if (memchr(ns, '\0', w->kstr->d_size - sym->st_value) && *ns)
			symrefs_push(&w->nss, (struct symref){.name = name + strlen("__kstrtabns_"),
							      .ns = ns});
	}
}

/* Give each export the CRC and namespace its helper symbols recorded. */
static void attach_symrefs(struct kmb_modfile *m, struct symrefs *crcs, struct symrefs *nss)
{
	if (!m->n_exports || (!crcs->n && !nss->n))
		return;
	if (crcs->n)
		qsort(crcs->v, crcs->n, sizeof(*crcs->v), cmp_symref);
	if (nss->n)
		qsort(nss->v, nss->n, sizeof(*nss->v), cmp_symref);
	for (size_t i = 0; i < m->n_exports; i++) {
		const struct symref *c = symrefs_find(crcs, m->exports[i].name);
		const struct symref *ns = symrefs_find(nss, m->exports[i].name);
		if (c) {
			m->exports[i].crc = c->crc;
			m->exports[i].has_crc = true;
		}
		if (ns)
			m->exports[i].ns = ns->ns;
	}
}

static void parse_symtab(struct kmb_modfile *m, Elf *elf, size_t symidx, const struct secidx *s)
{
	GElf_Shdr sh, csh;
	Elf_Data *d = scn_data(elf, symidx, &sh);
	struct symwalk w = {.s = s};
	size_t n;

	if (!d || !sh.sh_entsize)
		return;
	w.kcrc = s->kcrctab ? scn_data(elf, s->kcrctab, &csh) : NULL;
	w.kcrc_gpl = s->kcrctab_gpl ? scn_data(elf, s->kcrctab_gpl, &csh) : NULL;
	w.kstr = s->kstrings ? scn_data(elf, s->kstrings, &csh) : NULL;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(d, (int)i, &sym))
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (name && *name)
			walk_symbol(m, &w, name, &sym);
	}
	attach_symrefs(m, &w.crcs, &w.nss);
	if (m->n_exports > 1)
		qsort(m->exports, m->n_exports, sizeof(*m->exports), cmp_export);
	/* Sorted like __versions so that checks can walk both in step. */
	if (m->n_undef > 1)
		qsort(m->undef, m->n_undef, sizeof(*m->undef), cmp_modsym);
	free(w.crcs.v);
	free(w.nss.v);
}

/* The sections a module is read from, by index (0: absent). */
struct modsections {
	size_t modinfo, versions, symtab, comment;
	struct secidx sym;
};

static void find_sections(Elf *elf, size_t shstrndx, struct modsections *x)
{
	static const struct named_field wanted[] = {
		{".modinfo", offsetof(struct modsections, modinfo)},
		{"__versions", offsetof(struct modsections, versions)},
		{"__ksymtab", offsetof(struct modsections, sym.ksymtab)},
		{"__ksymtab_gpl", offsetof(struct modsections, sym.ksymtab_gpl)},
		{"__kcrctab", offsetof(struct modsections, sym.kcrctab)},
		{"__kcrctab_gpl", offsetof(struct modsections, sym.kcrctab_gpl)},
		{"__ksymtab_strings", offsetof(struct modsections, sym.kstrings)},
		{".comment", offsetof(struct modsections, comment)},
	};
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		size_t idx = elf_ndxscn(scn);

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			x->symtab = idx;
			continue;
		}
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		for (size_t i = 0; name && i < KMB_ARRAY_SIZE(wanted); i++)
			if (strcmp(name, wanted[i].name) == 0) {
				*(size_t *)((char *)x + wanted[i].off) = idx;
				break;
			}
	}
}

/* .comment starts with a NUL in some toolchains: the compiler is the first non-empty string. */
static void parse_comment(struct kmb_modfile *m, Elf_Data *d)
{
	const char *c = d->d_buf, *end = c + d->d_size;

	while (c < end && !*c)
		c++;
	if (c < end && memchr(c, '\0', (size_t)(end - c)))
		m->compiler = c;
}

static int parse_elf(struct modfile_priv *p, char **err)
{
	struct kmb_modfile *m = &p->pub;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf_Data *d;
	size_t shstrndx;
	struct modsections x = {0};

	if (m->elf_len < 4 || memcmp(m->image, ELFMAG, SELFMAG) != 0) {
		*err = kmb_xasprintf("%s: not an ELF file", m->path);
		return -ENOEXEC;
	}
	elf_version(EV_CURRENT);
	/* libelf wants a writable pointer; it only writes when converting byte order, and the
	 * mapping is private, so the file is never touched. */
	p->elf = elf_memory((char *)(uintptr_t)m->image, m->elf_len);
	if (!p->elf || !gelf_getehdr(p->elf, &eh) || eh.e_type != ET_REL ||
	    elf_getshdrstrndx(p->elf, &shstrndx) != 0) {
		*err = kmb_xasprintf("%s: not a relocatable ELF module: %s", m->path,
				     elf_errmsg(-1));
		return -ENOEXEC;
	}
	m->elf64 = gelf_getclass(p->elf) == ELFCLASS64;
	m->machine = eh.e_machine;
	find_sections(p->elf, shstrndx, &x);
	if (!x.modinfo) {
		*err = kmb_xasprintf("%s: no .modinfo section: not a kernel module", m->path);
		return -ENOEXEC;
	}
	if ((d = scn_data(p->elf, x.modinfo, &sh)))
		parse_modinfo(m, d);
	if (x.versions) {
		m->has_versions_section = true;
		if ((d = scn_data(p->elf, x.versions, &sh)))
			parse_versions(m, d);
	}
	if (x.comment && (d = scn_data(p->elf, x.comment, &sh)) && d->d_size)
		parse_comment(m, d);
	if (x.symtab)
		parse_symtab(m, p->elf, x.symtab, &x.sym);
	return 0;
}

int kmb_modfile_open(const char *path, struct kmb_modfile **out, char **err)
{
	struct modfile_priv *p = kmb_xcalloc(1, sizeof(*p));
	struct kmb_modfile *m = &p->pub;
	struct stat st;
	int fd, rc;

	*out = NULL;
	*err = NULL;
	m->path = kmb_xstrdup(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		*err = kmb_xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		rc = S_ISREG(st.st_mode) ? -ENOEXEC : -EISDIR;
		*err = kmb_xasprintf("%s: %s", path,
				     S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
		close(fd);
		goto fail;
	}
	m->map_len = (size_t)st.st_size;
	m->map = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		rc = -errno;
		*err = kmb_xasprintf("%s: mmap: %s", path, strerror(errno));
		goto fail;
	}
	m->comp = magic_compress(m->map, m->map_len);
	if (m->comp != KMB_COMPRESS_NONE) {
		rc = decompress(m, err);
		if (rc < 0)
			goto fail;
	} else {
		m->image = m->map;
		m->image_len = m->map_len;
	}
	parse_signature(m);
	rc = parse_elf(p, err);
	if (rc < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	kmb_modfile_free(m);
	return rc;
}

void kmb_modfile_free(struct kmb_modfile *m)
{
	struct modfile_priv *p = (struct modfile_priv *)m;

	if (!m)
		return;
	if (p->elf)
		elf_end(p->elf);
	if (m->map)
		munmap(m->map, m->map_len);
	free(m->owned);
	free(m->modinfo);
	free(m->undef);
	free(m->versions);
	free(m->exports);
	free(m->sig.error);
	free(m->sig.signer);
	free(m->sig.key_id);
	free(m->sig.hash_algo);
	free(m->path);
	free(p);
}
