// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * initramfs images are several archives back to back (init/initramfs.c unpacks them in a
 * loop, skipping NUL padding between them); libarchive reads one archive per open, so each
 * segment is opened on its own slice of the mapped file. An uncompressed cpio ends right
 * after its "TRAILER!!!" record, whose position libarchive reports; a compressed segment
 * runs to the end of the file, which is how initramfs-tools and dracut lay them out.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "initramfs/initramfs_read.h"
#include "base/util.h"

/* newc header (110 bytes) + "TRAILER!!!\0", padded to 4 bytes. */
#define NEWC_TRAILER_LEN 124

static const char *norm_name(const char *n)
{
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	while (n[0] == '/')
		n++;
	return n;
}

static bool is_newc(const unsigned char *p, size_t len)
{
	return len >= 6 && (memcmp(p, "070701", 6) == 0 || memcmp(p, "070702", 6) == 0);
}

static size_t newc_field(const unsigned char *h, int i)
{
	char hex[9];

	memcpy(hex, h + 6 + 8 * i, 8);
	hex[8] = '\0';
	return strtoul(hex, NULL, 16);
}

/*
 * Sizes in a plain newc segment must fit in the bytes that are there. libarchive sizes its
 * read-ahead buffer from a header's name size before reading, so a forged header costs a
 * multi-GiB allocation; checking the claims against the mapped bytes first refuses it
 * cheaply. Only sizes are read here; libarchive still parses the archive.
 */
static bool newc_sizes_fit(const unsigned char *p, size_t len)
{
	size_t off = 0;

	while (off + 110 <= len && is_newc(p + off, len - off)) {
		size_t namesize = newc_field(p + off, 11), filesize = newc_field(p + off, 6);
		size_t name_end = off + ((110 + namesize + 3) & ~(size_t)3);
		if (namesize > len - off - 110 || name_end > len || filesize > len - name_end)
			return false;
		if (namesize == 11 && memcmp(p + off + 110, "TRAILER!!!", 10) == 0)
			return true;
		off = name_end + ((filesize + 3) & ~(size_t)3);
	}
	return true;
}

static size_t seg_end(const struct kmb_initramfs *ir, unsigned seg)
{
	return seg + 1 < ir->n_segments ? ir->seg_offset[seg + 1] : ir->map_len;
}

static struct archive *open_slice(const unsigned char *p, size_t len, bool compressed)
{
	struct archive *a = archive_read_new();

	if (compressed)
		archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	if (archive_read_open_memory(a, p, len) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int read_data(struct archive *a, size_t hint, unsigned char **data, size_t *len);

/* The new entry, or NULL for the archive's "." and nameless records. */
static struct kmb_initramfs_entry *add_entry(struct kmb_initramfs *ir, struct archive_entry *e,
					     unsigned seg, size_t *cap)
{
	const char *name = archive_entry_pathname(e);

	if (!name)
		return NULL;
	name = norm_name(name);
	if (!*name || strcmp(name, ".") == 0)
		return NULL;
	if (ir->n_entries == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		ir->entries = kmb_xrealloc(ir->entries, *cap * sizeof(*ir->entries));
	}
	struct kmb_initramfs_entry *x = &ir->entries[ir->n_entries++];
	x->name = kmb_xstrdup(name);
	x->regular = archive_entry_filetype(e) == AE_IFREG;
	x->size = x->regular ? (size_t)archive_entry_size(e) : 0;
	x->segment = seg;
	x->data = NULL;
	return x;
}

struct capture {
	bool (*want)(const char *name, void *ud);
	void *ud;
};

static int scan(struct kmb_initramfs *ir, const struct capture *cap_fn, char **err)
{
	const unsigned char *base = ir->map;
	size_t off = 0, cap = 0;

	for (;;) {
		while (off < ir->map_len && base[off] == 0)
			off++;
		if (off >= ir->map_len)
			return 0;
		bool plain = is_newc(base + off, ir->map_len - off);
		struct archive *a = plain && !newc_sizes_fit(base + off, ir->map_len - off)
					    ? NULL
					    : open_slice(base + off, ir->map_len - off, !plain);
		struct archive_entry *e;
		unsigned seg = ir->n_segments;
		int r;

		if (!a) {
			*err = kmb_xasprintf(
				"%s: segment %u at offset %zu is not a (compressed) cpio "
				"archive",
				ir->path, ir->n_segments, off);
			return -EBADMSG;
		}
		ir->seg_offset = kmb_xrealloc(ir->seg_offset, (seg + 1) * sizeof(size_t));
		ir->seg_offset[seg] = off;
		ir->n_segments++;
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
			struct kmb_initramfs_entry *x = add_entry(ir, e, seg, &cap);
			if (!x || !cap_fn || !x->regular || !cap_fn->want(x->name, cap_fn->ud))
				continue;
			size_t len;
			int rd = read_data(a, x->size, &x->data, &len);
			if (rd < 0) {
				*err = kmb_xasprintf(
					rd == -EFBIG ? "%s: %s is larger than 256 MiB: refused"
						     : "%s: corrupt data of %s",
					ir->path, x->name);
				archive_read_free(a);
				return -EBADMSG;
			}
			x->size = len;
		}
		if (r != ARCHIVE_EOF) {
			*err = kmb_xasprintf(
				"%s: segment %u at offset %zu is not a (compressed) cpio "
				"archive: %s",
				ir->path, seg, off, archive_error_string(a));
			archive_read_free(a);
			return -EBADMSG;
		}
		if (!plain) {
			archive_read_free(a);
			return 0;
		}
		/* The position of the header that ended the archive: the trailer record. */
		la_int64_t trailer = archive_read_header_position(a);
		archive_read_free(a);
		if (trailer < 0 || (size_t)trailer + NEWC_TRAILER_LEN > ir->map_len - off) {
			*err = kmb_xasprintf("%s: cpio segment at offset %zu has no trailer",
					     ir->path, off);
			return -EBADMSG;
		}
		off += (size_t)trailer + NEWC_TRAILER_LEN;
	}
}

int kmb_initramfs_open(const char *path, struct kmb_initramfs **out, char **err)
{
	return kmb_initramfs_open_capture(path, NULL, NULL, out, err);
}

int kmb_initramfs_open_capture(const char *path, bool (*want)(const char *name, void *ud), void *ud,
			       struct kmb_initramfs **out, char **err)
{
	struct capture c = {want, ud};
	struct kmb_initramfs *ir = kmb_xcalloc(1, sizeof(*ir));
	struct stat st;
	int fd, rc;

	*out = NULL;
	*err = NULL;
	ir->path = kmb_xstrdup(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		*err = kmb_xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		rc = -EBADMSG;
		*err = kmb_xasprintf("%s: empty or not a regular file", path);
		goto fail;
	}
	ir->map_len = (size_t)st.st_size;
	ir->map = mmap(NULL, ir->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (ir->map == MAP_FAILED) {
		ir->map = NULL;
		rc = -errno;
		*err = kmb_xasprintf("%s: mmap: %s", path, strerror(errno));
		goto fail;
	}
	rc = scan(ir, want ? &c : NULL, err);
	if (rc < 0)
		goto fail;
	*out = ir;
	return 0;
fail:
	kmb_initramfs_free(ir);
	return rc;
}

int kmb_initramfs_probe(const char *path, char **err)
{
	unsigned char buf[65536];
	struct archive_entry *e;
	ssize_t n;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	*err = NULL;
	if (fd < 0) {
		int saved = errno;
		*err = kmb_xasprintf("%s: %s", path, strerror(saved));
		return saved == ENOENT ? -ENOENT : -EBADMSG;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	while (n > 0 && off < (size_t)n && buf[off] == 0)
		off++;
	if (n <= 0 || off >= (size_t)n) {
		*err = kmb_xasprintf("%s: empty initramfs", path);
		return -EBADMSG;
	}
	/* The first header of the first segment, from the first 64 KiB. */
	struct archive *a =
		open_slice(buf + off, (size_t)n - off, !is_newc(buf + off, (size_t)n - off));
	if (!a || archive_read_next_header(a, &e) != ARCHIVE_OK) {
		*err = kmb_xasprintf(
			"%s: segment 0 at offset %zu is not a (compressed) cpio archive", path,
			off);
		rc = -EBADMSG;
	}
	if (a)
		archive_read_free(a);
	return rc;
}

void kmb_initramfs_free(struct kmb_initramfs *ir)
{
	if (!ir)
		return;
	for (size_t i = 0; i < ir->n_entries; i++) {
		free(ir->entries[i].name);
		free(ir->entries[i].data);
	}
	free(ir->entries);
	free(ir->seg_offset);
	if (ir->map)
		munmap(ir->map, ir->map_len);
	free(ir->path);
	free(ir);
}

const struct kmb_initramfs_entry *kmb_initramfs_find(const struct kmb_initramfs *ir,
						     const char *name)
{
	name = norm_name(name);
	for (size_t i = ir->n_entries; i-- > 0;)
		if (strcmp(ir->entries[i].name, name) == 0)
			return &ir->entries[i];
	return NULL;
}

/*
 * The size in a cpio header is the archive's claim, not a fact: start from it only up to a
 * modest buffer, grow as bytes really arrive, and refuse files larger than any that an
 * initramfs check reads (a decompression bomb must not take the machine's memory).
 */
#define KMB_INITRAMFS_MAX_FILE (256u << 20)
static int read_data(struct archive *a, size_t hint, unsigned char **data, size_t *len)
{
	size_t cap = (hint < (1u << 20) ? hint : (1u << 20)) + 1, n = 0;
	unsigned char *buf = kmb_xmalloc(cap);

	for (;;) {
		if (n == cap) {
			if (cap > KMB_INITRAMFS_MAX_FILE) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			buf = kmb_xrealloc(buf, cap);
		}
		la_ssize_t r = archive_read_data(a, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			return -EIO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*data = buf;
	*len = n;
	return 0;
}

int kmb_initramfs_read_files(const struct kmb_initramfs *ir, const char *const *names, size_t n,
			     unsigned char **data, size_t *len, char **err)
{
	int found = 0;

	*err = NULL;
	for (size_t i = 0; i < n; i++) {
		data[i] = NULL;
		len[i] = 0;
	}
	/* Captured while listing: no second pass. */
	bool all_captured = true;
	bool *captured = kmb_xcalloc(n ? n : 1, sizeof(bool));
	unsigned *seg_of = kmb_xcalloc(n ? n : 1, sizeof(unsigned));
	for (size_t i = 0; i < n; i++) {
		const struct kmb_initramfs_entry *e = kmb_initramfs_find(ir, names[i]);
		seg_of[i] = e && e->regular && !e->data ? e->segment : UINT_MAX;
		if (e && e->data) {
			captured[i] = true;
			data[i] = kmb_xmalloc(e->size ? e->size : 1);
			memcpy(data[i], e->data, e->size);
			len[i] = e->size;
		} else if (e && e->regular) {
			all_captured = false;
		}
	}
	for (unsigned seg = 0; seg < ir->n_segments && !all_captured; seg++) {
		bool wanted = false;
		for (size_t i = 0; i < n && !wanted; i++)
			wanted = seg_of[i] == seg;
		if (!wanted)
			continue;
		const unsigned char *p = (const unsigned char *)ir->map + ir->seg_offset[seg];
		size_t plen = seg_end(ir, seg) - ir->seg_offset[seg];
		struct archive *a = open_slice(p, plen, !is_newc(p, plen));
		struct archive_entry *e;

		if (!a) {
			*err = kmb_xasprintf("%s: cannot reopen segment %u", ir->path, seg);
			free(captured);
			free(seg_of);
			return -EIO;
		}
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			const char *en = archive_entry_pathname(e);
			if (!en || archive_entry_filetype(e) != AE_IFREG)
				continue;
			en = norm_name(en);
			for (size_t i = 0; i < n; i++) {
				if (captured[i] || strcmp(norm_name(names[i]), en) != 0)
					continue;
				free(data[i]);
				data[i] = NULL;
				if (read_data(a, (size_t)archive_entry_size(e), &data[i],
					      &len[i])) {
					*err = kmb_xasprintf("%s: corrupt data of %s", ir->path,
							     en);
					archive_read_free(a);
					free(captured);
					free(seg_of);
					return -EIO;
				}
				break;
			}
		}
		archive_read_free(a);
	}
	for (size_t i = 0; i < n; i++)
		found += data[i] != NULL;
	free(captured);
	free(seg_of);
	return found;
}

int kmb_initramfs_read(const struct kmb_initramfs *ir, const char *name, unsigned char **data,
		       size_t *len, char **err)
{
	int r = kmb_initramfs_read_files(ir, &name, 1, data, len, err);

	if (r < 0)
		return r;
	if (r == 0) {
		*err = kmb_xasprintf("%s: no %s in the image", ir->path, norm_name(name));
		return -ENOENT;
	}
	return 0;
}
