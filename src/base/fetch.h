/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Downloads with libcurl: redirects, timeouts, retries with exponential back-off, resume of a
 * partial download, proxies from the environment (http_proxy, https_proxy, no_proxy: libcurl
 * reads them), TLS verification always on, a progress bar only on a terminal.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/kmb.h"

struct kmb_fetch_opts {
	const char *label;	/* shown in the progress bar; NULL: the URL's last component */
	bool progress;		/* draw a progress bar on stderr */
	int retries;		/* attempts after the first, on transient errors */
	long connect_timeout_s; /* per attempt */
	long low_speed_time_s;	/* abort an attempt slower than 1 KiB/s for this long */
	long backoff_ms;	/* first retry delay; doubled per retry, capped at 30 s */
	long long max_size;	/* refuse bodies larger than this; 0: no limit */
};

/*
 * Defaults, then kmbuild.conf / environment: fetch_retries (4), fetch_connect_timeout (20),
 * fetch_low_speed_time (30), fetch_backoff_ms (500). progress = ctx->tty && not quiet/json.
 */
void kmb_fetch_opts_init(struct kmb_fetch_opts *o, const struct kmb_ctx *ctx);

/*
 * Download url to dest. Data goes to dest.part first (resumed with a Range request when a
 * .part exists, from an earlier attempt or an earlier run) and is renamed to dest when
 * complete; dest is never a partial file. A .part survives a failure so that the next call
 * resumes; it is removed on 404/410. Returns 0; -ENOENT for 404/410; -EIO for any other
 * failure (after the retries, for transient ones); -EFBIG over max_size; other -errno for
 * local errors. err gets one line naming the URL.
 */
int kmb_fetch_file(const char *url, const char *dest, const struct kmb_fetch_opts *o, char *err,
		   size_t errlen);

/*
 * kmb_fetch_file() plus verification: size (when >= 0) and SHA256 (hex) must match, else dest
 * is removed and -EBADMSG returned. When the bad file came from a resumed .part, one fresh
 * download is tried before giving up (a stale .part of an older file must not poison it).
 * An existing dest with the right checksum is reused without a download.
 */
int kmb_fetch_verified(const char *url, const char *dest, const char *sha256, long long size,
		       const struct kmb_fetch_opts *o, char *err, size_t errlen);
