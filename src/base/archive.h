/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Secure extraction of archives with libarchive: source tarballs (`kmbuild add TARBALL`),
 * .deb data members and rpm payloads (kernel headers). Nothing outside dest_dir is ever
 * written, and nothing inside it may point outside it afterwards.
 */
#pragma once

#include <stddef.h>

/*
 * Extract any archive libarchive reads (tar, tar.gz/xz/zst/bz2, zip, cpio, 7z, ar, ...) into
 * dest_dir (created, with parents, when missing). Regular files, directories, symlinks and
 * hard links only; devices and FIFOs are refused. Absolute paths, '..' components and
 * symlink/hardlink targets that leave dest_dir are refused. Only the permission bits of an
 * entry are kept (no owner, no setuid/setgid/sticky, no xattrs/ACLs); mtimes are kept so
 * make sees the archive's order.
 * On any error nothing extracted by this call remains: dest_dir is removed if this call
 * created it, else every path the call created in it is removed again. err receives one
 * line naming the archive and the offending entry. Returns 0 or a negative errno
 * (-EINVAL for a refused entry, -EIO for a corrupt/unreadable archive).
 */
int kmb_archive_extract(const char *archive_path, const char *dest_dir, char *err, size_t errlen);

/*
 * .deb (an ar archive): find data.tar{,.xz,.zst,.gz,.bz2} and extract it like
 * kmb_archive_extract(). Since a package's data is rooted at '/', an absolute symlink target
 * ("/usr/src/linux-headers-K") is rewritten relative to dest_dir instead of being refused.
 */
int kmb_archive_extract_deb_data(const char *deb_path, const char *dest_dir, char *err,
				 size_t errlen);

/*
 * rpm: extract the cpio payload like kmb_archive_extract_deb_data() (rooted at '/', absolute
 * symlink targets rewritten relative to dest_dir).
 */
int kmb_archive_extract_rpm(const char *rpm_path, const char *dest_dir, char *err, size_t errlen);

/*
 * Check that every symlink under dir resolves inside dir (dangling is fine, leaving is not),
 * following links as the kernel would with dir as '/'. For trees assembled from several
 * archives, where links from different archives combine. err names the first bad link.
 */
int kmb_archive_check_tree(const char *dir, char *err, size_t errlen);

/*
 * Decompress a single compressed file (gzip, xz, zstd, bzip2, lz4, or plain) with libarchive's
 * raw format into memory (NUL-terminated). max_len bounds the output (decompression bombs).
 */
int kmb_archive_read_raw(const char *path, size_t max_len, char **out, size_t *len, char *err,
			 size_t errlen);
