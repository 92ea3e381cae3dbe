// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Debian repository access. Trust flows like apt's: the keyring vouches for InRelease (via
 * gpgv, and only the signed text gpgv writes out is parsed), InRelease vouches for the
 * Packages index (SHA256 + size), the index vouches for each .deb (SHA256 + size).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/archive.h"
#include "kernel/repo_deb.h"
#include "base/util.h"

/* Debian's unstable main index is ~100 MiB decompressed; anything far beyond is not one. */
#define KMB_MAX_PACKAGES_INDEX (1024LL * 1024 * 1024)
#define KMB_MAX_INRELEASE      (64LL * 1024 * 1024)

static char *strip_slash(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	return kmb_xstrndup(s, n);
}

/* --- dpkg version comparison (dpkg's lib/dpkg/version.c algorithm) --- */

static int order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int verrevcmp(const char *a, const char *b)
{
	while (*a || *b) {
		int first_diff = 0;
		while ((*a && !isdigit((unsigned char)*a)) || (*b && !isdigit((unsigned char)*b))) {
			int ac = order((unsigned char)*a), bc = order((unsigned char)*b);
			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (isdigit((unsigned char)*a))
			return 1;
		if (isdigit((unsigned char)*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

struct debver {
	long epoch;
	char *upstream, *revision;
};

static void debver_parse(const char *s, struct debver *v)
{
	const char *colon = strchr(s, ':');
	const char *up = s;
	char *hy;

	v->epoch = 0;
	if (colon) {
		v->epoch = strtol(s, NULL, 10);
		up = colon + 1;
	}
	v->upstream = kmb_xstrdup(up);
	hy = strrchr(v->upstream, '-');
	if (hy) {
		*hy = '\0';
		v->revision = kmb_xstrdup(hy + 1);
	} else {
		v->revision = kmb_xstrdup("");
	}
}

int kmb_deb_vercmp(const char *a, const char *b)
{
	struct debver va, vb;
	int r;

	debver_parse(a, &va);
	debver_parse(b, &vb);
	if (va.epoch != vb.epoch)
		r = va.epoch > vb.epoch ? 1 : -1;
	else if ((r = verrevcmp(va.upstream, vb.upstream)) == 0)
		r = verrevcmp(va.revision, vb.revision);
	free(va.upstream);
	free(va.revision);
	free(vb.upstream);
	free(vb.revision);
	return r < 0 ? -1 : r > 0;
}

bool kmb_deb_version_satisfies(const char *version, const char *op, const char *want)
{
	if (!op || !want)
		return true;
	int c = kmb_deb_vercmp(version, want);
	if (!strcmp(op, "="))
		return c == 0;
	if (!strcmp(op, ">="))
		return c >= 0;
	if (!strcmp(op, "<="))
		return c <= 0;
	if (!strcmp(op, ">>"))
		return c > 0;
	if (!strcmp(op, "<<"))
		return c < 0;
	return false;
}

/* --- Depends --- */

static char *trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return kmb_xstrndup(s, n);
}

int kmb_deb_parse_depends(const char *field, struct kmb_deb_dep **deps, size_t *n)
{
	*deps = NULL;
	*n = 0;
	for (const char *p = field; p && *p;) {
		const char *comma = strchrnul(p, ',');
		const char *bar = memchr(p, '|', (size_t)(comma - p));
		const char *end = bar ? bar : comma;
		char *clause = trim(p, (size_t)(end - p));
		struct kmb_deb_dep d = {0};
		char *paren = strchr(clause, '(');

		if (paren) {
			char *close = strchr(paren, ')');
			if (!close) {
				free(clause);
				kmb_deb_deps_free(*deps, *n);
				*deps = NULL;
				*n = 0;
				return -EBADMSG;
			}
			char *rel = trim(paren + 1, (size_t)(close - paren - 1));
			size_t ol = strspn(rel, "<>=");
			d.op = kmb_xstrndup(rel, ol);
			d.version = trim(rel + ol, strlen(rel + ol));
			/* Old-style "<" and ">" mean "<=" and ">=". */
			if (!strcmp(d.op, "<") || !strcmp(d.op, ">")) {
				char *o = kmb_xasprintf("%s=", d.op);
				free(d.op);
				d.op = o;
			}
			free(rel);
			*paren = '\0';
		}
		/* Drop an architecture qualifier ("pkg:any") and build-profile restrictions. */
		char *name = trim(clause, strcspn(clause, ":[<"));
		free(clause);
		if (*name) {
			d.name = name;
			*deps = kmb_xrealloc(*deps, (*n + 1) * sizeof(**deps));
			(*deps)[(*n)++] = d;
		} else {
			free(name);
			free(d.op);
			free(d.version);
		}
		p = *comma ? comma + 1 : comma;
	}
	return 0;
}

void kmb_deb_deps_free(struct kmb_deb_dep *deps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(deps[i].name);
		free(deps[i].op);
		free(deps[i].version);
	}
	free(deps);
}

/* --- RFC 822 style stanzas --- */

/* Value of field name in the stanza [s, e) (first line only, trimmed), or NULL. */
static char *stanza_field(const char *s, const char *e, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = s; p < e;) {
		const char *eol = memchr(p, '\n', (size_t)(e - p));
		if (!eol)
			eol = e;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
			return trim(p + nl + 1, (size_t)(eol - p - nl - 1));
		p = eol + 1;
	}
	return NULL;
}

/* A field's continuation lines (" hash size path" lists), as one string with '\n'. */
static char *stanza_multiline(const char *s, const char *e, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = s; p < e;) {
		const char *eol = memchr(p, '\n', (size_t)(e - p));
		if (!eol)
			eol = e;
		if ((size_t)(eol - p) >= nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *q = eol + 1;
			while (q < e && (*q == ' ' || *q == '\t')) {
				const char *qe = memchr(q, '\n', (size_t)(e - q));
				q = qe ? qe + 1 : e;
			}
			return kmb_xstrndup(eol + 1 < e ? eol + 1 : e,
					    eol + 1 < e ? (size_t)(q - eol - 1) : 0);
		}
		p = eol + 1;
	}
	return NULL;
}

/* --- gpgv --- */

static bool is_hex64(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return false;
	return n == 64;
}

int kmb_gpgv_verify(const char *keyring, const char *signed_path, const char *detached_data,
		    const char *out_path, const char *label, char *err, size_t errlen)
{
	char kr[PATH_MAX], home[] = "/tmp/kmbuild-gpgv.XXXXXX";
	char *log = NULL, *logdata = NULL;
	struct kmb_strv argv = {0};
	int r, fd;

	if (!keyring || !*keyring || !realpath(keyring, kr)) {
		kmb_errbuf(err, errlen, "keyring '%s': %s", keyring ? keyring : "",
			   keyring && *keyring ? strerror(errno) : "not set");
		return -EKEYREJECTED;
	}
	if (!kmb_exists(kr) || kmb_is_dir(kr)) {
		kmb_errbuf(err, errlen, "keyring %s: not a file", kr);
		return -EKEYREJECTED;
	}
	/* gpgv reads binary keyrings only; an armored one would fail as "no public key". */
	fd = open(kr, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char head[16] = "";
		ssize_t n = read(fd, head, sizeof(head) - 1);
		close(fd);
		if (n > 0 && kmb_startswith(head, "-----BEGIN PGP")) {
			kmb_errbuf(err, errlen,
				   "keyring %s is ASCII-armored; gpgv needs a binary one (gpg "
				   "--dearmor)",
				   kr);
			return -EKEYREJECTED;
		}
	}
	/* An empty home of its own: no default trustedkeys.kbx can vouch for anything. */
	if (!mkdtemp(home)) {
		r = -errno;
		kmb_errbuf(err, errlen, "gpgv: cannot create a temporary home: %s",
			   strerror(errno));
		return r;
	}
	log = kmb_xasprintf("%s/status", home);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	kmb_strv_push(&argv, "gpgv");
	kmb_strv_push(&argv, "--homedir");
	kmb_strv_push(&argv, home);
	kmb_strv_push(&argv, "--keyring");
	kmb_strv_push(&argv, kr);
	kmb_strv_push(&argv, "--status-fd");
	kmb_strv_push(&argv, "1");
	if (out_path) {
		unlink(out_path);
		kmb_strv_push(&argv, "--output");
		kmb_strv_push(&argv, out_path);
	}
	kmb_strv_push(&argv, signed_path);
	if (detached_data)
		kmb_strv_push(&argv, detached_data);
	struct kmb_run run = {.argv = (const char *const *)argv.v, .out_fd = fd, .in_fd = -1};
	r = kmb_run(&run);
	close(fd);
	if (r < 0) {
		kmb_errbuf(err, errlen, "%s: cannot run gpgv: %s", label, strerror(-r));
		goto out;
	}
	kmb_read_file(log, &logdata, NULL);
	if (r == 0 && logdata && strstr(logdata, "[GNUPG:] VALIDSIG ")) {
		r = 0;
		goto out;
	}
	/* One line saying why, from gpgv's own words. */
	const char *why = "signature verification failed";
	if (logdata && strstr(logdata, "[GNUPG:] BADSIG"))
		why = "BAD signature";
	else if (logdata && strstr(logdata, "[GNUPG:] NO_PUBKEY"))
		why = "signed by a key not in the keyring";
	else if (logdata && strstr(logdata, "[GNUPG:] EXPKEYSIG"))
		why = "signed by an expired key";
	else if (logdata && strstr(logdata, "[GNUPG:] REVKEYSIG"))
		why = "signed by a revoked key";
	else if (logdata &&
		 (strstr(logdata, "[GNUPG:] NODATA") || strstr(logdata, "no signature found")))
		why = "not signed";
	kmb_errbuf(err, errlen, "%s: %s (gpgv --keyring %s)", label, why, kr);
	r = -EKEYREJECTED;
	if (out_path)
		unlink(out_path);
out:
	free(logdata);
	kmb_strv_free(&argv);
	kmb_rm_rf(home);
	free(log);
	return r;
}

/* --- InRelease --- */

struct release_file {
	char *path;
	char *sha256;
	long long size;
};

static void release_files_free(struct release_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].sha256);
	}
	free(f);
}

static int parse_sha256_list(const char *list, struct release_file **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (const char *p = list; p && *p;) {
		const char *eol = strchrnul(p, '\n');
		char *line = trim(p, (size_t)(eol - p));
		char hash[129], path[4096];
		long long size;

		p = *eol ? eol + 1 : eol;
		if (!*line) {
			free(line);
			continue;
		}
		if (sscanf(line, "%128s %lld %4095s", hash, &size, path) != 3 || !is_hex64(hash) ||
		    size < 0) {
			free(line);
			release_files_free(*out, *n);
			*out = NULL;
			*n = 0;
			return -EBADMSG;
		}
		free(line);
		*out = kmb_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[*n].path = kmb_xstrdup(path);
		(*out)[*n].sha256 = kmb_xstrdup(hash);
		(*out)[*n].size = size;
		(*n)++;
	}
	return 0;
}

/* "Sat, 10 Jun 2023 09:19:03 UTC" -> time_t; -1 when unparsable. */
static time_t parse_rfc822_utc(const char *s)
{
	struct tm tm = {0};
	const char *e = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
	if (!e)
		return (time_t)-1;
	return timegm(&tm);
}

static int check_release(const char *text, const struct kmb_deb_source *src, const char *label,
			 char *err, size_t errlen)
{
	const char *end = text + strlen(text);
	char *suite = stanza_field(text, end, "Suite");
	char *codename = stanza_field(text, end, "Codename");
	char *valid = stanza_field(text, end, "Valid-Until");
	int r = 0;

	/* A signed Release of another suite (an old one, say) must not stand in for this one. */
	if ((suite || codename) && !(suite && !strcmp(suite, src->suite)) &&
	    !(codename && !strcmp(codename, src->suite))) {
		kmb_errbuf(err, errlen, "%s: is for suite '%s' (codename '%s'), not '%s'", label,
			   suite ? suite : "", codename ? codename : "", src->suite);
		r = -EBADMSG;
	} else if (valid) {
		time_t t = parse_rfc822_utc(valid);
		if (t == (time_t)-1) {
			kmb_errbuf(err, errlen, "%s: unparsable Valid-Until '%s'", label, valid);
			r = -EBADMSG;
		} else if (t < time(NULL)) {
			kmb_errbuf(err, errlen, "%s: expired (Valid-Until %s)", label, valid);
			r = -EBADMSG;
		}
	}
	free(suite);
	free(codename);
	free(valid);
	return r;
}

int kmb_deb_index_load(const struct kmb_deb_source *src, const char *workdir,
		       const struct kmb_fetch_opts *fo, struct kmb_deb_index *idx, char *err,
		       size_t errlen)
{
	char *mirror = strip_slash(src->mirror);
	char *url = kmb_xasprintf("%s/dists/%s/InRelease", mirror, src->suite);
	char *tag = kmb_xasprintf("%s-%s", src->suite, src->arch);
	char *raw = kmb_xasprintf("%s/%s.InRelease", workdir, tag);
	char *verified = kmb_xasprintf("%s/%s.Release", workdir, tag);
	char *text = NULL, *list = NULL, *ipath = NULL;
	struct release_file *files = NULL;
	size_t nfiles = 0;
	struct kmb_fetch_opts o = *fo;
	int r;

	memset(idx, 0, sizeof(*idx));
	if (!kmb_is_safe_name(src->suite) || !kmb_is_safe_name(src->component) ||
	    !kmb_is_safe_name(src->arch)) {
		kmb_errbuf(err, errlen, "invalid suite/component/arch '%s/%s/%s'", src->suite,
			   src->component, src->arch);
		r = -EINVAL;
		goto out;
	}
	o.max_size = KMB_MAX_INRELEASE;
	o.label = "InRelease";
	unlink(raw);
	r = kmb_fetch_file(url, raw, &o, err, errlen);
	if (r < 0)
		goto out;
	r = kmb_gpgv_verify(src->keyring, raw, NULL, verified, url, err, errlen);
	if (r < 0)
		goto out;
	r = kmb_read_file(verified, &text, NULL);
	if (r < 0) {
		kmb_errbuf(err, errlen, "%s: %s", verified, strerror(-r));
		goto out;
	}
	r = check_release(text, src, url, err, errlen);
	if (r < 0)
		goto out;
	list = stanza_multiline(text, text + strlen(text), "SHA256");
	if (!list || parse_sha256_list(list, &files, &nfiles) < 0 || !nfiles) {
		kmb_errbuf(err, errlen, "%s: no valid SHA256 list", url);
		r = -EBADMSG;
		goto out;
	}

	/* The smallest download first; each must be listed, or it cannot be trusted. */
	static const char *const exts[] = {".xz", ".gz", ""};
	r = -ENOENT;
	kmb_errbuf(err, errlen, "%s: lists no %s/binary-%s/Packages index", url, src->component,
		   src->arch);
	for (size_t e = 0; e < KMB_ARRAY_SIZE(exts) && r == -ENOENT; e++) {
		char *rel = kmb_xasprintf("%s/binary-%s/Packages%s", src->component, src->arch,
					  exts[e]);
		const struct release_file *f = NULL;
		for (size_t i = 0; i < nfiles && !f; i++)
			if (!strcmp(files[i].path, rel))
				f = &files[i];
		if (f) {
			char *iurl = kmb_xasprintf("%s/dists/%s/%s", mirror, src->suite, rel);
			free(ipath);
			ipath = kmb_xasprintf("%s/%s.Packages%s", workdir, tag, exts[e]);
			o.label = rel;
			o.max_size = 0;
			unlink(ipath);
			r = kmb_fetch_verified(iurl, ipath, f->sha256, f->size, &o, err, errlen);
			free(iurl);
		}
		free(rel);
	}
	if (r < 0)
		goto out;
	r = kmb_archive_read_raw(ipath, KMB_MAX_PACKAGES_INDEX, &idx->text, &idx->len, err, errlen);
	unlink(ipath);
	if (r < 0)
		goto out;
	idx->mirror = kmb_xstrdup(mirror);
	idx->suite = kmb_xstrdup(src->suite);
out:
	unlink(raw);
	unlink(verified);
	release_files_free(files, nfiles);
	free(ipath);
	free(list);
	free(text);
	free(tag);
	free(raw);
	free(verified);
	free(url);
	free(mirror);
	return r;
}

void kmb_deb_index_free(struct kmb_deb_index *idx)
{
	free(idx->mirror);
	free(idx->suite);
	free(idx->text);
	memset(idx, 0, sizeof(*idx));
}

void kmb_deb_pkg_free(struct kmb_deb_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->filename);
	free(p->sha256);
	free(p->depends);
	free(p->url);
	memset(p, 0, sizeof(*p));
}

/* A pool path: relative, no "..", no odd characters a URL would need escaped. */
static bool safe_filename(const char *f)
{
	if (!*f || *f == '/' || strstr(f, "/../") || kmb_startswith(f, "../") ||
	    kmb_endswith(f, "/.."))
		return false;
	for (const char *p = f; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._+~-:%", *p))
			return false;
	return true;
}

int kmb_deb_index_find(const struct kmb_deb_index *idx, const char *name, const char *op,
		       const char *version, struct kmb_deb_pkg *out)
{
	char *needle = kmb_xasprintf("Package: %s\n", name);
	size_t nl = strlen(needle);
	const char *text = idx->text, *end = idx->text + idx->len;
	struct kmb_deb_pkg best = {0};
	int r = -ENOENT;

	memset(out, 0, sizeof(*out));
	for (const char *p = text; p < end;) {
		const char *hit = memmem(p, (size_t)(end - p), needle, nl);
		if (!hit)
			break;
		p = hit + nl;
		if (hit != text && hit[-1] != '\n')
			continue;
		/* The stanza runs to the next blank line. */
		const char *s = hit;
		const char *e = memmem(hit, (size_t)(end - hit), "\n\n", 2);
		e = e ? e + 1 : end;
		char *ver = stanza_field(s, e, "Version");
		if (!ver || !kmb_deb_version_satisfies(ver, op, version) ||
		    (best.version && kmb_deb_vercmp(ver, best.version) <= 0)) {
			free(ver);
			continue;
		}
		struct kmb_deb_pkg c = {0};
		char *size = stanza_field(s, e, "Size");
		c.name = kmb_xstrdup(name);
		c.version = ver;
		c.arch = stanza_field(s, e, "Architecture");
		c.filename = stanza_field(s, e, "Filename");
		c.sha256 = stanza_field(s, e, "SHA256");
		c.depends = stanza_field(s, e, "Depends");
		char *endp = NULL;
		c.size = size ? strtoll(size, &endp, 10) : -1;
		bool ok = c.filename && safe_filename(c.filename) && c.sha256 &&
			  is_hex64(c.sha256) && size && endp && !*endp && c.size >= 0;
		free(size);
		if (!ok) {
			kmb_deb_pkg_free(&c);
			r = -EBADMSG;
			continue;
		}
		c.url = kmb_xasprintf("%s/%s", idx->mirror, c.filename);
		kmb_deb_pkg_free(&best);
		best = c;
		r = 0;
	}
	free(needle);
	if (best.name) {
		*out = best;
		return 0;
	}
	return r;
}

/* dpkg's name for the machine kmbuild runs on. */
const char *kmb_deb_arch(void)
{
	static const struct {
		const char *m, *a;
	} map[] = {
		{"x86_64", "amd64"},	{"aarch64", "arm64"},	    {"i686", "i386"},
		{"i586", "i386"},	{"i386", "i386"},	    {"armv7l", "armhf"},
		{"ppc64le", "ppc64el"}, {"s390x", "s390x"},	    {"riscv64", "riscv64"},
		{"mips64", "mips64el"}, {"loongarch64", "loong64"},
	};
	struct utsname u;
	if (uname(&u) == 0)
		for (size_t i = 0; i < KMB_ARRAY_SIZE(map); i++)
			if (!strcmp(u.machine, map[i].m))
				return map[i].a;
	return "amd64";
}
