/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Read an initramfs image with libarchive the way the kernel unpacks it: a sequence of cpio
 * segments, each plain or compressed, e.g. the uncompressed early-microcode cpio that
 * initramfs-tools and dracut prepend, followed by the compressed main cpio.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kmb_initramfs_entry {
	char *name;  /* as stored, without a leading "./" or "/" */
	size_t size; /* regular files; 0 otherwise */
	bool regular;
	unsigned segment;    /* 0-based */
	unsigned char *data; /* captured while listing (kmb_initramfs_open_capture), or NULL */
};

struct kmb_initramfs {
	char *path;
	struct kmb_initramfs_entry *entries;
	size_t n_entries;
	unsigned n_segments;
	/* private */
	void *map;
	size_t map_len;
	size_t *seg_offset; /* start of each segment in the file */
};

/*
 * List every entry of every segment. -ENOENT if the image is missing, -EBADMSG if a segment
 * is neither cpio nor a compressed cpio (err names the file and the offset). Later entries
 * win when a name repeats, as when the kernel unpacks them.
 */
int kmb_initramfs_open(const char *path, struct kmb_initramfs **out, char **err);
/* The same, keeping the bytes of every regular file for which want(name) is true, so that
 * listing and reading cost one decompression of the image, not two. */
int kmb_initramfs_open_capture(const char *path, bool (*want)(const char *name, void *ud), void *ud,
			       struct kmb_initramfs **out, char **err);
void kmb_initramfs_free(struct kmb_initramfs *ir);

/* Cheap sanity check without listing: the image starts with a (compressed) cpio header.
 * 0, or -ENOENT / -EBADMSG with err set. */
int kmb_initramfs_probe(const char *path, char **err);

/* The last entry with this name (leading "/" or "./" ignored), or NULL. */
const struct kmb_initramfs_entry *kmb_initramfs_find(const struct kmb_initramfs *ir,
						     const char *name);

/*
 * Read several files in one pass per segment: for each names[i] found, data[i]/len[i] get a
 * malloc'd copy (NULL/0 when absent). Returns how many were found or a negative errno.
 */
int kmb_initramfs_read_files(const struct kmb_initramfs *ir, const char *const *names, size_t n,
			     unsigned char **data, size_t *len, char **err);

/* One file: 0, -ENOENT, or another negative errno. */
int kmb_initramfs_read(const struct kmb_initramfs *ir, const char *name, unsigned char **data,
		       size_t *len, char **err);
