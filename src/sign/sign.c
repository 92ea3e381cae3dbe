// SPDX-License-Identifier: GPL-2.0-or-later
/* In-process module signer: the same CMS structure as the kernel's sign-file. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include "kernel/kernel.h"
#include "sign/mok.h"
#include "sign/sign.h"
#include "base/util.h"

#define PKEY_ID_PKCS7 2

struct kmb_signer {
	EVP_PKEY *key;
	X509 *cert;
	const EVP_MD *md;
	OSSL_PROVIDER *prov; /* pkcs11 provider kept loaded while the key lives */
	char *key_path, *cert_path, *hash, *origin;
};

static const char *const hashes[] = {"sha1",   "sha224",   "sha256",   "sha384",
				     "sha512", "sha3-256", "sha3-384", "sha3-512"};

bool kmb_sign_hash_supported(const char *hash)
{
	for (size_t i = 0; i < KMB_ARRAY_SIZE(hashes); i++)
		if (hash && strcmp(hash, hashes[i]) == 0)
			return true;
	return false;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

void kmb_signer_free(struct kmb_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
	if (s->prov)
		OSSL_PROVIDER_unload(s->prov);
	free(s->key_path);
	free(s->cert_path);
	free(s->hash);
	free(s->origin);
	free(s);
}

int kmb_signer_open(const struct kmb_ctx *ctx, const char *hash, const char *key_path,
		    const char *cert_path, struct kmb_signer **out, char *err, size_t errlen)
{
	struct kmb_signer *s;
	struct kmb_keypair kp = {0};
	int r;

	*out = NULL;
	if (!hash)
		hash = "sha256";
	if (!kmb_sign_hash_supported(hash) || !EVP_get_digestbyname(hash)) {
		snprintf(err, errlen,
			 "hash '%s' is not supported for module signatures (sha256, sha384, "
			 "sha512, sha224, sha1, sha3-256, sha3-384, sha3-512)",
			 hash);
		return -EINVAL;
	}
	if (!key_path != !cert_path) {
		snprintf(err, errlen, "%s given without a %s: both are needed",
			 key_path ? "signing key" : "certificate",
			 key_path ? "certificate" : "signing key");
		return -EINVAL;
	}
	s = kmb_xcalloc(1, sizeof(*s));
	if (!key_path) {
		r = kmb_keypair_discover(ctx, &kp, err, errlen);
		if (r < 0)
			goto fail;
		s->key_path = kp.key;
		s->cert_path = kp.cert;
		s->origin = kp.why;
		kp.key = kp.cert = kp.why = NULL;
		kmb_keypair_free(&kp);
	} else {
		s->key_path = kmb_xstrdup(key_path);
		s->cert_path = kmb_xstrdup(cert_path);
	}
	s->hash = kmb_xstrdup(hash);
	s->md = EVP_get_digestbyname(hash);
	/* Certificate first: a missing cert is the cheaper, more common mistake. */
	r = kmb_cert_load(s->cert_path, &s->cert, err, errlen);
	if (r < 0)
		goto fail;
	r = kmb_key_load(ctx, s->key_path, &s->key, &s->prov, err, errlen);
	if (r < 0)
		goto fail;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: private key does not match certificate %s", s->key_path,
			 s->cert_path);
		r = -EINVAL;
		goto fail;
	}
	/* libelf wants its version set once before use; doing it here keeps threads out of it. */
	elf_version(EV_CURRENT);
	*out = s;
	return 0;
fail:
	kmb_signer_free(s);
	return r;
}

const char *kmb_signer_cert_path(const struct kmb_signer *s)
{
	return s->cert_path;
}

const char *kmb_signer_key_path(const struct kmb_signer *s)
{
	return s->key_path;
}

const char *kmb_signer_hash(const struct kmb_signer *s)
{
	return s->hash;
}

const char *kmb_signer_origin(const struct kmb_signer *s)
{
	return s->origin;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int kmb_sig_split(const unsigned char *data, size_t len, size_t *unsigned_len, size_t *sig_len)
{
	const unsigned char *ms;
	size_t body, sl;

	*unsigned_len = len;
	*sig_len = 0;
	if (len < KMB_SIG_MAGIC_LEN ||
	    memcmp(data + len - KMB_SIG_MAGIC_LEN, KMB_SIG_MAGIC, KMB_SIG_MAGIC_LEN) != 0)
		return 0;
	body = len - KMB_SIG_MAGIC_LEN;
	if (body < KMB_SIG_INFO_LEN)
		return -EBADMSG;
	/* The checks of the kernel's mod_check_sig(): anything else is not a signature. */
	ms = data + body - KMB_SIG_INFO_LEN;
	sl = be32(ms + 8);
	if (ms[0] || ms[1] || ms[2] != PKEY_ID_PKCS7 || ms[3] || ms[4] || ms[5] || ms[6] || ms[7] ||
	    sl == 0 || sl >= body - KMB_SIG_INFO_LEN)
		return -EBADMSG;
	*unsigned_len = body - KMB_SIG_INFO_LEN - sl;
	*sig_len = sl;
	return 1;
}

/*
 * A complete ELF relocatable object with a .modinfo section: catches truncated copies and
 * files that are not kernel modules before a signature makes them look legitimate.
 */
static int check_module(const char *path, unsigned char *data, size_t len, char *err, size_t errlen)
{
	Elf *e;
	GElf_Ehdr eh;
	size_t shnum, shstrndx;
	bool modinfo = false;
	int r = -ENOEXEC;

	if (len < 4 || memcmp(data, ELFMAG, SELFMAG) != 0) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		return -ENOEXEC;
	}
	e = elf_memory((char *)data, len);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		snprintf(err, errlen, "%s: truncated or corrupt ELF header", path);
		goto out;
	}
	if (eh.e_type != ET_REL) {
		snprintf(err, errlen, "%s: ELF file is not a relocatable kernel module", path);
		goto out;
	}
	if (elf_getshdrnum(e, &shnum) < 0 || elf_getshdrstrndx(e, &shstrndx) < 0 ||
	    eh.e_shoff > len ||
	    shnum > (len - eh.e_shoff) / (eh.e_shentsize ? eh.e_shentsize : 1)) {
		snprintf(err, errlen, "%s: truncated ELF section table", path);
		goto out;
	}
	for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			break;
		if (sh.sh_type != SHT_NOBITS &&
		    (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)) {
			snprintf(err, errlen, "%s: truncated ELF file (section %zu ends past EOF)",
				 path, elf_ndxscn(scn));
			goto out;
		}
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (name && strcmp(name, ".modinfo") == 0)
			modinfo = true;
	}
	if (!modinfo) {
		snprintf(err, errlen, "%s: ELF object has no .modinfo section: not a kernel module",
			 path);
		goto out;
	}
	r = 0;
out:
	if (e)
		elf_end(e);
	return r;
}

/* The signature trailer for `module`: CMS DER + module_signature + magic (malloc'd). */
static int make_trailer(const struct kmb_signer *s, const char *path, const unsigned char *mod,
			size_t len, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	const unsigned int flags = CMS_NOCERTS | CMS_BINARY;
	CMS_ContentInfo *cms = NULL;
	BIO *bm = NULL;
	unsigned char *der = NULL;
	int n, r = -EIO;

	if (len > INT_MAX) {
		snprintf(err, errlen, "%s: module too large to sign", path);
		return -EFBIG;
	}
	bm = BIO_new_mem_buf(mod, (int)len);
	cms = CMS_sign(NULL, NULL, NULL, NULL, flags | CMS_PARTIAL | CMS_DETACHED | CMS_STREAM);
	if (!bm || !cms)
		goto ssl_fail;
	if (!CMS_add1_signer(cms, s->cert, s->key, s->md, flags | CMS_NOSMIMECAP | CMS_NOATTR))
		goto ssl_fail;
	if (CMS_final(cms, bm, NULL, flags) != 1)
		goto ssl_fail;
	n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0)
		goto ssl_fail;

	size_t tl = (size_t)n + KMB_SIG_INFO_LEN + KMB_SIG_MAGIC_LEN;
	unsigned char *t = kmb_xmalloc(tl);
	unsigned char *info = t + n;

	memcpy(t, der, (size_t)n);
	memset(info, 0, KMB_SIG_INFO_LEN);
	info[2] = PKEY_ID_PKCS7;
	info[8] = (unsigned char)((unsigned)n >> 24);
	info[9] = (unsigned char)((unsigned)n >> 16);
	info[10] = (unsigned char)((unsigned)n >> 8);
	info[11] = (unsigned char)n;
	memcpy(info + KMB_SIG_INFO_LEN, KMB_SIG_MAGIC, KMB_SIG_MAGIC_LEN);
	*out = t;
	*outlen = tl;
	r = 0;
	goto out;
ssl_fail:
	snprintf(err, errlen, "%s: signing failed: %s", path, ssl_reason());
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(bm);
	return r;
}

static int write_all(int fd, const struct iovec *iov, int n)
{
	struct iovec v[2];
	int cnt = n;

	if (n < 1 || n > 2)
		return -EINVAL;
	memcpy(v, iov, sizeof(*iov) * (size_t)n);
	for (int i = 0; i < cnt;) {
		ssize_t w = writev(fd, v + i, cnt - i);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (i < cnt && (size_t)w >= v[i].iov_len) {
			w -= (ssize_t)v[i].iov_len;
			i++;
		}
		if (i < cnt) {
			v[i].iov_base = (char *)v[i].iov_base + w;
			v[i].iov_len -= (size_t)w;
		}
	}
	return 0;
}

/*
 * Signing a file is split in two so that a batch needs one filesystem sync instead of one per
 * file: prepare() writes the complete new content to a temporary file next to the target
 * (nothing visible changes), commit() renames it over the target. abort() removes it.
 */
struct prep {
	char *dst; /* resolved target */
	char *tmp; /* finished temporary file, same directory */
	dev_t dev; /* filesystem of tmp, for the batch sync */
};

static void prep_abort(struct prep *p)
{
	if (p->tmp)
		unlink(p->tmp);
	free(p->dst);
	free(p->tmp);
	memset(p, 0, sizeof(*p));
}

static int prep_commit(struct prep *p, const char *path, char *err, size_t errlen)
{
	int r = 0;

	if (rename(p->tmp, p->dst) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot replace: %s", path, strerror(-r));
	} else {
		free(p->tmp);
		p->tmp = NULL;
	}
	prep_abort(p);
	return r;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), r = 0;

	if (fd < 0)
		return -errno;
	if (fdatasync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Write mod[0..len) + trailer to a temp file next to dst with dst's mode and owner. */
static int write_temp(struct prep *p, const struct stat *st, const unsigned char *mod, size_t len,
		      const unsigned char *trailer, size_t tlen, const char *path, char *err,
		      size_t errlen)
{
	char *tmp = kmb_xasprintf("%s.~kmbsign~XXXXXX", p->dst);
	struct iovec iov[2] = {{(void *)mod, len}, {(void *)trailer, tlen}};
	int fd = mkostemp(tmp, O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot create temporary file: %s", path, strerror(-r));
		free(tmp);
		return r;
	}
	r = write_all(fd, iov, 2);
	if (r == 0 && fchmod(fd, st->st_mode & 07777) < 0)
		r = -errno;
	/* Ownership matters for installed modules; unprivileged callers keep their own. */
	if (r == 0 && fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
		r = -errno;
	p->dev = st->st_dev;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot write signed module: %s", path, strerror(-r));
		unlink(tmp);
		free(tmp);
		return r;
	}
	p->tmp = tmp;
	return 0;
}

/* The file to replace: a symlinked module is replaced at its target, as sign-file would. */
static int resolve(const char *path, struct prep *p, struct stat *st)
{
	if (lstat(path, st) < 0)
		return -errno;
	if (!S_ISLNK(st->st_mode)) {
		p->dst = kmb_xstrdup(path);
		return 0;
	}
	p->dst = realpath(path, NULL);
	if (!p->dst || stat(p->dst, st) < 0) {
		int e = -errno;
		free(p->dst);
		p->dst = NULL;
		return e;
	}
	return 0;
}

static int prepare_plain(const struct kmb_signer *s, const char *path, struct prep *p, char *err,
			 size_t errlen)
{
	char *data = NULL;
	unsigned char *trailer = NULL;
	size_t len, ulen, sl, tlen;
	struct stat st;
	int r;

	memset(p, 0, sizeof(*p));
	r = resolve(path, p, &st);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		r = -EINVAL;
		goto out;
	}
	r = kmb_read_file(p->dst, &data, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
		goto out;
	}
	/* Strip every trailer: sign-file stacks signatures, we replace them. */
	ulen = len;
	while ((r = kmb_sig_split((unsigned char *)data, ulen, &ulen, &sl)) == 1)
		;
	if (r < 0) {
		snprintf(err, errlen,
			 "%s: corrupt module signature trailer (magic present, descriptor "
			 "invalid)",
			 path);
		goto out;
	}
	r = check_module(path, (unsigned char *)data, ulen, err, errlen);
	if (r < 0)
		goto out;
	r = make_trailer(s, path, (unsigned char *)data, ulen, &trailer, &tlen, err, errlen);
	if (r < 0)
		goto out;
	r = write_temp(p, &st, (unsigned char *)data, ulen, trailer, tlen, path, err, errlen);
out:
	free(trailer);
	free(data);
	if (r < 0)
		prep_abort(p);
	return r;
}

/* ---- compressed modules ------------------------------------------------------------- */

struct zfmt {
	const char *suffix;
	const char *const *decomp; /* argv prefix; the file name is appended */
	const char *const *comp;
};

static const char *const xz_d[] = {"xz", "-d", "-q", NULL};
static const char *const xz_c[] = {"xz", "-q", "--check=crc32", "--lzma2=dict=1MiB", NULL};
static const char *const zst_d[] = {"zstd", "-d", "-q", "--rm", NULL};
static const char *const zst_c[] = {"zstd", "-T0", "-q", "--rm", NULL};
static const char *const gz_d[] = {"gzip", "-d", "-q", NULL};
static const char *const gz_c[] = {"gzip", "-n", "-q", NULL};

static const struct zfmt zfmts[] = {
	{".ko.xz", xz_d, xz_c},
	{".ko.zst", zst_d, zst_c},
	{".ko.gz", gz_d, gz_c},
};

/* Run prefix + file in dir; on failure err gets the tool's first output line. */
static int run_tool(const char *const *prefix, const char *dir, const char *file, const char *what,
		    char *err, size_t errlen)
{
	const char *argv[8];
	size_t n = 0;
	char *log = kmb_xasprintf("%s/tool.log", dir);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;

	while (prefix[n] && n < KMB_ARRAY_SIZE(argv) - 2) {
		argv[n] = prefix[n];
		n++;
	}
	/* The tool runs inside dir: the bare name works for relative dirs too. */
	argv[n++] = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	argv[n] = NULL;
	struct kmb_run run = {.argv = argv, .cwd = dir, .out_fd = fd, .in_fd = -1};
	rc = kmb_run(&run);
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		char *out = NULL;
		if (rc < 0)
			snprintf(err, errlen, "%s: cannot run %s: %s%s", what, argv[0],
				 strerror(-rc),
				 rc == -ENOENT ? " (install xz-utils, zstd or gzip)" : "");
		else if (kmb_read_file(log, &out, NULL) == 0) {
			out[strcspn(out, "\n")] = '\0';
			snprintf(err, errlen, "%s: %s failed (exit %d): %s", what, argv[0], rc,
				 out);
		}
		free(out);
		rc = rc < 0 ? rc : -EIO;
	}
	unlink(log);
	free(log);
	return rc;
}

/* Errors about our private copy must name the user's file. */
static void rename_in_err(char *err, size_t errlen, const char *tmpname, const char *path)
{
	char *p = strstr(err, tmpname);

	if (p) {
		char *rest = kmb_xstrdup(p + strlen(tmpname));
		snprintf(err, errlen, "%s%s", path, rest);
		free(rest);
	}
}

/* A scratch copy in our private directory: no sync, no rename needed. */
static int write_private_copy(const char *path, const void *data, size_t len)
{
	struct iovec iov[1] = {{(void *)data, len}};
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, iov, 1);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * Scratch work (decompress, sign, recompress) happens in a private directory under $TMPDIR,
 * never next to the module: the module's directory may be writable by another user, who could
 * rename our directory and plant links for path-based calls to follow. Only the finished
 * bytes go next to the target, through write_temp's descriptor-based mode and owner calls.
 */
static char *scratch_dir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = kmb_xasprintf("%s/kmbsign.XXXXXX", base && *base == '/' ? base : "/tmp");

	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* Decompress, sign and recompress data in scratch; *out gets the recompressed bytes. */
static int resign_in_scratch(const struct kmb_signer *s, const char *scratch, const char *path,
			     const struct zfmt *z, const char *data, size_t len, char **out,
			     size_t *outlen, char *err, size_t errlen)
{
	char *copy = kmb_xasprintf("%s/m%s", scratch, z->suffix);
	char *plain = kmb_xasprintf("%s/m.ko", scratch);
	struct prep inner;
	int r = write_private_copy(copy, data, len);

	if (r < 0) {
		snprintf(err, errlen, "%s: cannot copy: %s", path, strerror(-r));
		goto out;
	}
	r = run_tool(z->decomp, scratch, copy, path, err, errlen);
	if (r < 0)
		goto out;
	if (!kmb_exists(plain)) {
		snprintf(err, errlen, "%s: decompression produced no module", path);
		r = -EIO;
		goto out;
	}
	r = prepare_plain(s, plain, &inner, err, errlen);
	if (r == 0)
		r = prep_commit(&inner, plain, err, errlen);
	if (r < 0) {
		rename_in_err(err, errlen, plain, path);
		goto out;
	}
	unlink(copy);
	r = run_tool(z->comp, scratch, plain, path, err, errlen);
	if (r == 0 && (r = kmb_read_file(copy, out, outlen)) < 0)
		snprintf(err, errlen, "%s: cannot read recompressed module: %s", path,
			 strerror(-r));
out:
	free(copy);
	free(plain);
	return r;
}

static int prepare_compressed(const struct kmb_signer *s, const char *path, const struct zfmt *z,
			      struct prep *p, char *err, size_t errlen)
{
	char *data = NULL, *signed_z = NULL, *scratch = NULL;
	struct stat st;
	size_t len, zlen = 0;
	int r;

	memset(p, 0, sizeof(*p));
	r = resolve(path, p, &st);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto out;
	}
	r = kmb_read_file(p->dst, &data, &len);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-r));
		goto out;
	}
	scratch = scratch_dir();
	if (!scratch) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot create temporary directory: %s", path,
			 strerror(-r));
		goto out;
	}
	r = resign_in_scratch(s, scratch, path, z, data, len, &signed_z, &zlen, err, errlen);
	if (r == 0)
		r = write_temp(p, &st, (const unsigned char *)signed_z, zlen, NULL, 0, path, err,
			       errlen);
out:
	if (scratch)
		kmb_rm_rf(scratch);
	free(scratch);
	free(signed_z);
	free(data);
	if (r < 0)
		prep_abort(p);
	return r;
}

static int prepare(const struct kmb_signer *s, const char *path, struct prep *p, char *err,
		   size_t errlen)
{
	for (size_t i = 0; i < KMB_ARRAY_SIZE(zfmts); i++)
		if (kmb_endswith(path, zfmts[i].suffix))
			return prepare_compressed(s, path, &zfmts[i], p, err, errlen);
	return prepare_plain(s, path, p, err, errlen);
}

static int sign_one(const struct kmb_signer *s, const char *path, bool compressed_ok, char *err,
		    size_t errlen)
{
	struct prep p;
	int r = compressed_ok ? prepare(s, path, &p, err, errlen)
			      : prepare_plain(s, path, &p, err, errlen);

	if (r < 0)
		return r;
	/* Data must be on disk before the rename makes it the module. */
	r = fsync_path(p.tmp);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot sync signed module: %s", path, strerror(-r));
		prep_abort(&p);
		return r;
	}
	return prep_commit(&p, path, err, errlen);
}

int kmb_sign_file(const struct kmb_signer *s, const char *module_path, char *err, size_t errlen)
{
	return sign_one(s, module_path, false, err, errlen);
}

int kmb_sign_path(const struct kmb_signer *s, const char *path, char *err, size_t errlen)
{
	return sign_one(s, path, true, err, errlen);
}

/* ---- batches ------------------------------------------------------------------------ */

struct batch {
	const struct kmb_signer *s;
	const char *const *paths;
	size_t n;
	atomic_size_t next;
	bool commit;  /* this pass renames prepared files into place */
	bool prepare; /* this pass signs into temporary files */
	struct prep *preps;
	int *rc;
	char **errs;
};

/*
 * Renames run on the workers too: on a journaling filesystem a rename over a module costs
 * about as much as signing it, so a serial rename pass would halve the speed-up.
 */
static void *batch_worker(void *arg)
{
	struct batch *b = arg;
	char err[1024];

	for (;;) {
		size_t i = atomic_fetch_add(&b->next, 1);
		if (i >= b->n)
			break;
		err[0] = '\0';
		if (b->prepare)
			b->rc[i] = prepare(b->s, b->paths[i], &b->preps[i], err, sizeof(err));
		if (b->commit && b->rc[i] == 0)
			b->rc[i] = prep_commit(&b->preps[i], b->paths[i], err, sizeof(err));
		if (b->rc[i] < 0 && !b->errs[i])
			b->errs[i] = kmb_xstrdup(err[0] ? err : strerror(-b->rc[i]));
	}
	return NULL;
}

static void run_pass(struct batch *b, size_t nt)
{
	pthread_t *t = kmb_xcalloc(nt, sizeof(*t));
	size_t started = 0;

	atomic_store(&b->next, 0);
	/* The calling thread works too. */
	for (size_t i = 1; i < nt; i++)
		if (pthread_create(&t[started], NULL, batch_worker, b) == 0)
			started++;
	batch_worker(b);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
}

/* One sync per filesystem holding a prepared file: far cheaper than one per file. */
static void sync_batch(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		bool seen = false;
		int fd, r = 0;

		if (b->rc[i] < 0)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = b->rc[j] == 0 && b->preps[j].dev == b->preps[i].dev;
		if (seen)
			continue;
		fd = open(b->preps[i].tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0 || syncfs(fd) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
		if (r == 0)
			continue;
		/* Cannot vouch for any file on this filesystem: leave all of them untouched. */
		dev_t dev = b->preps[i].dev;
		for (size_t j = i; j < b->n; j++) {
			if (b->rc[j] < 0 || b->preps[j].dev != dev)
				continue;
			b->rc[j] = r;
			b->errs[j] = kmb_xasprintf("%s: cannot sync signed module: %s", b->paths[j],
						   strerror(-r));
			prep_abort(&b->preps[j]);
		}
	}
}

size_t kmb_sign_many(const struct kmb_signer *s, const char *const *paths, size_t n, int jobs,
		     bool sync, int *rc, char **errs)
{
	struct batch b = {.s = s, .paths = paths, .n = n, .rc = rc, .errs = errs};
	size_t nt = (size_t)(jobs > 1 ? jobs : 1), failed = 0;

	memset(rc, 0, n * sizeof(*rc));
	memset(errs, 0, n * sizeof(*errs));
	b.preps = kmb_xcalloc(n ? n : 1, sizeof(*b.preps));
	atomic_init(&b.next, 0);
	if (nt > n)
		nt = n ? n : 1;
	/* Without sync every file is replaced as soon as it is signed. */
	b.prepare = true;
	b.commit = !sync;
	run_pass(&b, nt);
	if (sync) {
		sync_batch(&b);
		b.prepare = false;
		b.commit = true;
		run_pass(&b, nt);
	}
	for (size_t i = 0; i < n; i++)
		failed += rc[i] < 0;
	free(b.preps);
	return failed;
}

/* ---- policy ------------------------------------------------------------------------- */

int kmb_sign_decide(struct kmb_kernel *k, const char **hash, char *why, size_t whylen)
{
	const char *sig = kmb_kernel_config(k, "CONFIG_MODULE_SIG");
	const char *h;

	*hash = NULL;
	if (!sig) {
		if (k->n_cfg == 0)
			snprintf(why, whylen, "no kernel configuration found for %s",
				 k->release ? k->release : "?");
		else
			snprintf(why, whylen, "kernel built without CONFIG_MODULE_SIG");
		return 0;
	}
	if (strcmp(sig, "y") != 0) {
		snprintf(why, whylen, "kernel built without CONFIG_MODULE_SIG");
		return 0;
	}
	h = kmb_kernel_config(k, "CONFIG_MODULE_SIG_HASH");
	if (!h || !*h) {
		snprintf(why, whylen, "kernel has CONFIG_MODULE_SIG but no CONFIG_MODULE_SIG_HASH");
		return 0;
	}
	if (!kmb_sign_hash_supported(h)) {
		snprintf(why, whylen,
			 "kernel wants module hash '%s', which kmbuild cannot sign with", h);
		return -ENOTSUP;
	}
	*hash = h;
	return 1;
}
