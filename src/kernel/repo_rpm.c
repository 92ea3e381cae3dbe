// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * RPM repository metadata. repomd.xml names the primary metadata file and its sha256;
 * primary lists every package with its location and sha256. Trust: TLS, plus gpgv on
 * repomd.xml.asc when a keyring is configured.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/archive.h"
#include "kernel/repo_deb.h"
#include "kernel/repo_rpm.h"
#include "base/util.h"

#define KMB_MAX_REPOMD	(16LL * 1024 * 1024)
#define KMB_MAX_PRIMARY (2048LL * 1024 * 1024)

/* --- XML --- */

void kmb_xml_init(struct kmb_xml *x, const char *text, size_t len)
{
	x->p = text;
	x->end = text + len;
	x->depth = 0;
	x->error = NULL;
}

static const char *find(const char *p, const char *end, const char *s)
{
	return memmem(p, (size_t)(end - p), s, strlen(s));
}

static bool starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

static enum kmb_xml_ev xml_error(struct kmb_xml *x, struct kmb_xml_tok *t, const char *why)
{
	x->error = why;
	x->p = x->end;
	t->ev = KMB_XML_ERROR;
	return KMB_XML_ERROR;
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

/* Strip a namespace prefix: "rpm:entry" -> "entry". */
static void set_name(struct kmb_xml_tok *t, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	if (colon) {
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	t->name = s;
	t->name_len = n;
}

enum kmb_xml_ev kmb_xml_next(struct kmb_xml *x, struct kmb_xml_tok *t)
{
	memset(t, 0, sizeof(*t));
	for (;;) {
		const char *p = x->p, *end = x->end, *q;

		if (p >= end) {
			if (x->depth != 0)
				return xml_error(x, t, "unexpected end of document");
			t->ev = KMB_XML_EOF;
			return KMB_XML_EOF;
		}
		if (*p != '<') {
			q = memchr(p, '<', (size_t)(end - p));
			q = q ? q : end;
			t->ev = KMB_XML_TEXT;
			t->text = p;
			t->text_end = q;
			x->p = q;
			return KMB_XML_TEXT;
		}
		if (starts(p, end, "<!--")) {
			q = find(p + 4, end, "-->");
			if (!q)
				return xml_error(x, t, "unterminated comment");
			x->p = q + 3;
			continue;
		}
		if (starts(p, end, "<?")) {
			q = find(p + 2, end, "?>");
			if (!q)
				return xml_error(x, t, "unterminated processing instruction");
			x->p = q + 2;
			continue;
		}
		if (starts(p, end, "<![CDATA[")) {
			q = find(p + 9, end, "]]>");
			if (!q)
				return xml_error(x, t, "unterminated CDATA");
			/* Raw text; kmb_xml_decode() leaves a CDATA without '&' unchanged. */
			t->ev = KMB_XML_TEXT;
			t->text = p + 9;
			t->text_end = q;
			x->p = q + 3;
			return KMB_XML_TEXT;
		}
		if (starts(p, end, "<!"))
			/* DOCTYPE: entity definitions are how XML parsers get exploded. */
			return xml_error(x, t, "DOCTYPE/entity declarations are not accepted");
		if (starts(p, end, "</")) {
			const char *n = p + 2;
			for (q = n; q < end && name_char(*q); q++)
				;
			const char *ne = q;
			while (q < end && isspace((unsigned char)*q))
				q++;
			if (q >= end || *q != '>' || ne == n)
				return xml_error(x, t, "malformed end tag");
			if (x->depth <= 0)
				return xml_error(x, t, "end tag without a start tag");
			t->ev = KMB_XML_END;
			set_name(t, n, (size_t)(ne - n));
			t->depth = x->depth--;
			x->p = q + 1;
			return KMB_XML_END;
		}
		const char *n = p + 1;
		for (q = n; q < end && name_char(*q); q++)
			;
		if (q == n)
			return xml_error(x, t, "malformed start tag");
		set_name(t, n, (size_t)(q - n));
		t->attrs = q;
		while (q < end && *q != '>') {
			if (*q == '"' || *q == '\'') {
				const char *c = memchr(q + 1, *q, (size_t)(end - q - 1));
				if (!c)
					return xml_error(x, t, "unterminated attribute value");
				q = c;
			} else if (*q == '<') {
				return xml_error(x, t, "'<' inside a tag");
			}
			q++;
		}
		if (q >= end)
			return xml_error(x, t, "unterminated start tag");
		t->selfclose = q[-1] == '/';
		t->attrs_end = t->selfclose ? q - 1 : q;
		t->ev = KMB_XML_START;
		t->depth = x->depth + 1;
		if (!t->selfclose)
			x->depth++;
		x->p = q + 1;
		return KMB_XML_START;
	}
}

static void put_utf8(struct kmb_buf *b, unsigned long c)
{
	char u[4];
	if (c < 0x80) {
		kmb_buf_addc(b, (char)c);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		kmb_buf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		kmb_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		kmb_buf_add(b, u, 4);
	}
}

char *kmb_xml_decode(const char *s, const char *e)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	struct kmb_buf b = {0};

	kmb_buf_add(&b, "", 0);
	while (s < e) {
		const char *amp = memchr(s, '&', (size_t)(e - s));
		if (!amp) {
			kmb_buf_add(&b, s, (size_t)(e - s));
			break;
		}
		kmb_buf_add(&b, s, (size_t)(amp - s));
		s = amp + 1;
		bool ok = false;
		for (size_t i = 0; i < KMB_ARRAY_SIZE(ents) && !ok; i++)
			if (starts(s, e, ents[i].name)) {
				kmb_buf_addc(&b, ents[i].c);
				s += strlen(ents[i].name);
				ok = true;
			}
		if (!ok && s < e && *s == '#') {
			const char *semi = memchr(s, ';', (size_t)(e - s));
			char *endp;
			bool hex = s + 1 < e && (s[1] == 'x' || s[1] == 'X');
			unsigned long c =
				semi ? strtoul(s + (hex ? 2 : 1), &endp, hex ? 16 : 10) : 0;
			if (semi && endp == semi && c > 0 && c <= 0x10ffff) {
				put_utf8(&b, c);
				s = semi + 1;
				ok = true;
			}
		}
		if (!ok) {
			kmb_buf_free(&b);
			return NULL;
		}
	}
	return kmb_buf_steal(&b);
}

char *kmb_xml_attr(const struct kmb_xml_tok *t, const char *name)
{
	size_t nl = strlen(name);
	const char *p = t->attrs, *end = t->attrs_end;

	while (p && p < end) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		const char *n = p;
		while (p < end && name_char(*p))
			p++;
		const char *ne = p;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end || *p != '=' || ne == n)
			return NULL;
		p++;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end || (*p != '"' && *p != '\''))
			return NULL;
		const char *v = p + 1, *ve = memchr(v, *p, (size_t)(end - v));
		if (!ve)
			return NULL;
		if ((size_t)(ne - n) == nl && memcmp(n, name, nl) == 0)
			return kmb_xml_decode(v, ve);
		p = ve + 1;
	}
	return NULL;
}

static bool tok_is(const struct kmb_xml_tok *t, const char *name)
{
	return t->name_len == strlen(name) && memcmp(t->name, name, t->name_len) == 0;
}

/* Text content of the element just started (no child elements expected). */
static char *element_text(struct kmb_xml *x, const struct kmb_xml_tok *start)
{
	struct kmb_xml_tok t;
	struct kmb_buf b = {0};

	kmb_buf_add(&b, "", 0);
	if (start->selfclose)
		return kmb_buf_steal(&b);
	for (;;) {
		enum kmb_xml_ev ev = kmb_xml_next(x, &t);
		if (ev == KMB_XML_TEXT) {
			char *d = kmb_xml_decode(t.text, t.text_end);
			if (!d) {
				kmb_buf_free(&b);
				x->error = "bad entity";
				return NULL;
			}
			kmb_buf_adds(&b, d);
			free(d);
		} else if (ev == KMB_XML_END && t.depth == start->depth) {
			char *s = kmb_buf_steal(&b);
			/* Trim: pretty-printed metadata wraps values in whitespace. */
			size_t n = strlen(s);
			while (n && isspace((unsigned char)s[n - 1]))
				s[--n] = '\0';
			size_t lead = strspn(s, " \t\r\n");
			memmove(s, s + lead, n - lead + 1);
			return s;
		} else if (ev == KMB_XML_START) {
			/* Skip nested elements; their text is not ours. */
			if (!t.selfclose) {
				int d = t.depth;
				while ((ev = kmb_xml_next(x, &t)) != KMB_XML_EOF &&
				       ev != KMB_XML_ERROR)
					if (ev == KMB_XML_END && t.depth == d)
						break;
				if (ev == KMB_XML_EOF || ev == KMB_XML_ERROR) {
					kmb_buf_free(&b);
					return NULL;
				}
			}
		} else {
			kmb_buf_free(&b);
			return NULL;
		}
	}
}

/* --- repomd.xml --- */

struct primary_ref {
	char *href, *sha256, *checksum_type;
	long long size;
};

static int parse_repomd(const char *text, size_t len, struct primary_ref *ref, const char **why)
{
	struct kmb_xml x;
	struct kmb_xml_tok t;
	int data_depth = 0;
	bool in_primary = false, done = false;

	memset(ref, 0, sizeof(*ref));
	ref->size = -1;
	kmb_xml_init(&x, text, len);
	while (!done) {
		enum kmb_xml_ev ev = kmb_xml_next(&x, &t);
		if (ev == KMB_XML_EOF)
			break;
		if (ev == KMB_XML_ERROR) {
			*why = x.error;
			return -EBADMSG;
		}
		if (ev == KMB_XML_START && tok_is(&t, "data") && !in_primary) {
			char *type = kmb_xml_attr(&t, "type");
			in_primary = type && !strcmp(type, "primary") && !t.selfclose;
			data_depth = t.depth;
			free(type);
			continue;
		}
		if (!in_primary)
			continue;
		if (ev == KMB_XML_END && t.depth == data_depth) {
			done = true;
		} else if (ev == KMB_XML_START && t.depth == data_depth + 1) {
			if (tok_is(&t, "location")) {
				free(ref->href);
				ref->href = kmb_xml_attr(&t, "href");
			} else if (tok_is(&t, "checksum")) {
				free(ref->checksum_type);
				ref->checksum_type = kmb_xml_attr(&t, "type");
				free(ref->sha256);
				ref->sha256 = element_text(&x, &t);
			} else if (tok_is(&t, "size")) {
				char *s = element_text(&x, &t), *e = NULL;
				ref->size = s ? strtoll(s, &e, 10) : -1;
				if (!s || !*s || *e)
					ref->size = -1;
				free(s);
			}
		}
	}
	if (!done || !ref->href || !ref->sha256) {
		*why = "no complete <data type=\"primary\"> entry";
		return -EBADMSG;
	}
	if (!ref->checksum_type || strcmp(ref->checksum_type, "sha256") != 0) {
		*why = "primary checksum is not sha256";
		return -EBADMSG;
	}
	return 0;
}

static void primary_ref_free(struct primary_ref *r)
{
	free(r->href);
	free(r->sha256);
	free(r->checksum_type);
}

/* --- primary.xml --- */

void kmb_rpm_pkg_free(struct kmb_rpm_pkg *p)
{
	free(p->name);
	free(p->epoch);
	free(p->ver);
	free(p->rel);
	free(p->arch);
	free(p->href);
	free(p->sha256);
	free(p->url);
	memset(p, 0, sizeof(*p));
	p->size = -1;
}

static bool safe_href(const char *h)
{
	if (!h || !*h || *h == '/' || strstr(h, "..") || strstr(h, "://"))
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/._+~-%", *p))
			return false;
	return true;
}

static int scan_primary(const char *text, size_t len, const char *name, const char *release,
			struct kmb_rpm_pkg *out, const char **why)
{
	struct kmb_xml x;
	struct kmb_xml_tok t;
	struct kmb_rpm_pkg cur = {.size = -1};
	char *cktype = NULL;
	int pkg_depth = 0;

	kmb_xml_init(&x, text, len);
	for (;;) {
		enum kmb_xml_ev ev = kmb_xml_next(&x, &t);
		if (ev == KMB_XML_EOF)
			break;
		if (ev == KMB_XML_ERROR) {
			*why = x.error;
			kmb_rpm_pkg_free(&cur);
			free(cktype);
			return -EBADMSG;
		}
		if (ev == KMB_XML_START && tok_is(&t, "package") && !pkg_depth && !t.selfclose) {
			pkg_depth = t.depth;
			continue;
		}
		if (!pkg_depth)
			continue;
		if (ev == KMB_XML_END && t.depth == pkg_depth) {
			pkg_depth = 0;
			if (cur.name && !strcmp(cur.name, name) && cur.ver && cur.rel && cur.arch) {
				char *r = kmb_xasprintf("%s-%s.%s", cur.ver, cur.rel, cur.arch);
				bool match = !strcmp(r, release);
				free(r);
				if (match) {
					if (!cktype || strcmp(cktype, "sha256") || !cur.sha256 ||
					    strlen(cur.sha256) != 64 || !safe_href(cur.href)) {
						*why = "package entry without a sha256 checksum or "
						       "with an unsafe location";
						kmb_rpm_pkg_free(&cur);
						free(cktype);
						return -EBADMSG;
					}
					*out = cur;
					free(cktype);
					return 0;
				}
			}
			kmb_rpm_pkg_free(&cur);
			free(cktype);
			cktype = NULL;
			continue;
		}
		if (ev != KMB_XML_START || t.depth != pkg_depth + 1)
			continue;
		if (tok_is(&t, "name")) {
			free(cur.name);
			cur.name = element_text(&x, &t);
		} else if (tok_is(&t, "arch")) {
			free(cur.arch);
			cur.arch = element_text(&x, &t);
		} else if (tok_is(&t, "version")) {
			free(cur.epoch);
			free(cur.ver);
			free(cur.rel);
			cur.epoch = kmb_xml_attr(&t, "epoch");
			cur.ver = kmb_xml_attr(&t, "ver");
			cur.rel = kmb_xml_attr(&t, "rel");
		} else if (tok_is(&t, "checksum")) {
			free(cktype);
			cktype = kmb_xml_attr(&t, "type");
			free(cur.sha256);
			cur.sha256 = element_text(&x, &t);
		} else if (tok_is(&t, "size")) {
			char *s = kmb_xml_attr(&t, "package"), *e = NULL;
			cur.size = s ? strtoll(s, &e, 10) : -1;
			if (!s || !*s || *e)
				cur.size = -1;
			free(s);
		} else if (tok_is(&t, "location")) {
			free(cur.href);
			cur.href = kmb_xml_attr(&t, "href");
		}
	}
	kmb_rpm_pkg_free(&cur);
	free(cktype);
	return -ENOENT;
}

static char *strip_slash(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	return kmb_xstrndup(s, n);
}

int kmb_rpm_find(const struct kmb_rpm_source *src, const char *workdir,
		 const struct kmb_fetch_opts *fo, const char *name, const char *release,
		 struct kmb_rpm_pkg *out, char *err, size_t errlen)
{
	char *base = strip_slash(src->baseurl);
	char *url = kmb_xasprintf("%s/repodata/repomd.xml", base);
	char *repomd = kmb_xasprintf("%s/repomd.xml", workdir);
	char *asc = kmb_xasprintf("%s/repomd.xml.asc", workdir);
	char *ppath = NULL, *text = NULL, *ptext = NULL;
	struct primary_ref ref = {0};
	struct kmb_fetch_opts o = *fo;
	const char *why = NULL;
	size_t len = 0, plen = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->size = -1;
	o.max_size = KMB_MAX_REPOMD;
	o.label = "repomd.xml";
	r = kmb_fetch_file(url, repomd, &o, err, errlen);
	if (r < 0)
		goto out;
	if (src->keyring) {
		char *aurl = kmb_xasprintf("%s.asc", url);
		o.label = "repomd.xml.asc";
		r = kmb_fetch_file(aurl, asc, &o, err, errlen);
		if (r == -ENOENT)
			kmb_errbuf(err, errlen, "%s: missing, but a keyring is configured", aurl);
		if (r == 0)
			r = kmb_gpgv_verify(src->keyring, asc, repomd, NULL, url, err, errlen);
		if (r == -ENOENT)
			r = -EKEYREJECTED;
		free(aurl);
		if (r < 0)
			goto out;
	}
	r = kmb_read_file(repomd, &text, &len);
	if (r < 0) {
		kmb_errbuf(err, errlen, "%s: %s", repomd, strerror(-r));
		goto out;
	}
	r = parse_repomd(text, len, &ref, &why);
	if (r < 0) {
		kmb_errbuf(err, errlen, "%s: %s", url, why);
		goto out;
	}
	if (!safe_href(ref.href)) {
		kmb_errbuf(err, errlen, "%s: unsafe primary location '%s'", url, ref.href);
		r = -EBADMSG;
		goto out;
	}
	char *purl = kmb_xasprintf("%s/%s", base, ref.href);
	const char *bn = strrchr(ref.href, '/') ? strrchr(ref.href, '/') + 1 : ref.href;
	ppath = kmb_xasprintf("%s/%s", workdir, bn);
	o.max_size = 0;
	o.label = bn;
	r = kmb_fetch_verified(purl, ppath, ref.sha256, ref.size, &o, err, errlen);
	if (r == 0)
		r = kmb_archive_read_raw(ppath, KMB_MAX_PRIMARY, &ptext, &plen, err, errlen);
	if (r == 0) {
		r = scan_primary(ptext, plen, name, release, out, &why);
		if (r == -ENOENT)
			kmb_errbuf(err, errlen, "%s: no %s for %s", purl, name, release);
		else if (r < 0)
			kmb_errbuf(err, errlen, "%s: %s", purl, why);
	}
	if (r == 0)
		out->url = kmb_xasprintf("%s/%s", base, out->href);
	free(purl);
out:
	if (ppath)
		unlink(ppath);
	unlink(repomd);
	unlink(asc);
	primary_ref_free(&ref);
	free(ptext);
	free(text);
	free(ppath);
	free(asc);
	free(repomd);
	free(url);
	free(base);
	return r;
}
