/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An RPM (yum/dnf) repository: repodata/repomd.xml -> primary metadata -> one package's
 * location and SHA256. The XML is read by a small, strict parser (no DTDs, no external
 * entities): only the handful of elements needed are looked at.
 */
#pragma once

#include <stddef.h>

#include "base/fetch.h"

struct kmb_rpm_source {
	const char *baseurl; /* the directory holding repodata/ */
	const char *keyring; /* NULL: repomd.xml is not signature-checked (TLS + checksums) */
};

struct kmb_rpm_pkg {
	char *name, *epoch, *ver, *rel, *arch;
	char *href, *sha256, *url;
	long long size; /* -1 when primary does not say */
};

/*
 * Find package name whose "ver-rel.arch" equals release (kernel-devel's naming of
 * /usr/src/kernels/<release>). With a keyring, repodata/repomd.xml.asc must exist and verify
 * (gpgv). The primary metadata is checked against repomd.xml's sha256 and decompressed with
 * libarchive. Returns 0, -ENOENT (not in the repository, or repomd.xml missing),
 * -EKEYREJECTED, -EBADMSG (checksum, malformed XML), -EIO.
 */
int kmb_rpm_find(const struct kmb_rpm_source *src, const char *workdir,
		 const struct kmb_fetch_opts *fo, const char *name, const char *release,
		 struct kmb_rpm_pkg *out, char *err, size_t errlen);
void kmb_rpm_pkg_free(struct kmb_rpm_pkg *p);

/* The XML reader, exposed for the unit tests. */
enum kmb_xml_ev { KMB_XML_START, KMB_XML_END, KMB_XML_TEXT, KMB_XML_EOF, KMB_XML_ERROR };
struct kmb_xml {
	const char *p, *end;
	int depth;
	const char *error; /* static text for KMB_XML_ERROR */
};
struct kmb_xml_tok {
	enum kmb_xml_ev ev;
	const char *name; /* START/END: the name without a namespace prefix */
	size_t name_len;
	const char *attrs, *attrs_end; /* START: the raw attribute text */
	const char *text, *text_end;   /* TEXT: raw (undecoded) */
	int depth;		       /* START: depth of this element (root = 1) */
	int selfclose;		       /* START: <x/> (no END follows) */
};
void kmb_xml_init(struct kmb_xml *x, const char *text, size_t len);
enum kmb_xml_ev kmb_xml_next(struct kmb_xml *x, struct kmb_xml_tok *t);
/* The decoded value of an attribute of a START token, or NULL. */
char *kmb_xml_attr(const struct kmb_xml_tok *t, const char *name);
/* Decode entities in [s, e): &amp; &lt; &gt; &quot; &apos; &#N; &#xN;. NULL if malformed. */
char *kmb_xml_decode(const char *s, const char *e);
