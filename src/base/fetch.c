// SPDX-License-Identifier: GPL-2.0-or-later
/* Downloads with libcurl into a .part file, renamed into place only when complete. */
#include "base/curl_api.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fetch.h"
#include "base/util.h"

#define KMB_BACKOFF_CAP_MS 30000L

static long conf_long(const struct kmb_ctx *ctx, const char *key, long dflt, long min)
{
	const char *v = kmb_config_get(ctx, key);
	char *end;
	long n;

	if (!v || !*v)
		return dflt;
	n = strtol(v, &end, 10);
	if (*end || n < min) {
		kmb_warn("%s = '%s' is not a number >= %ld; using %ld", key, v, min, dflt);
		return dflt;
	}
	return n;
}

void kmb_fetch_opts_init(struct kmb_fetch_opts *o, const struct kmb_ctx *ctx)
{
	memset(o, 0, sizeof(*o));
	o->progress = ctx->tty && !ctx->json && ctx->verbosity >= KMB_NORMAL;
	o->retries = (int)conf_long(ctx, "fetch_retries", 4, 0);
	o->connect_timeout_s = conf_long(ctx, "fetch_connect_timeout", 20, 1);
	o->low_speed_time_s = conf_long(ctx, "fetch_low_speed_time", 30, 1);
	o->backoff_ms = conf_long(ctx, "fetch_backoff_ms", 500, 0);
}

struct xfer {
	int fd;
	long long written; /* bytes in the .part, including the resumed prefix */
	long long max_size;
	bool too_big, write_failed;
	int write_errno;
	/* progress */
	bool progress, drawn;
	const char *label;
	long long base; /* resumed prefix */
	long long last_draw_ms;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb, done = 0;

	if (x->max_size && x->written + (long long)n > x->max_size) {
		x->too_big = true;
		return 0;
	}
	while (done < n) {
		ssize_t w = write(x->fd, ptr + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			x->write_failed = true;
			x->write_errno = errno;
			return 0;
		}
		done += (size_t)w;
	}
	x->written += (long long)n;
	return n;
}

static void human(char *buf, size_t len, long long n)
{
	if (n >= 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else
		snprintf(buf, len, "%.0f KiB", (double)n / 1024.0);
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = userdata;
	char now[32], total[32];
	long long t = kmb_now_ms();

	(void)ultotal;
	(void)ulnow;
	if (!x->progress || (t - x->last_draw_ms < 100 && dlnow != dltotal))
		return 0;
	x->last_draw_ms = t;
	human(now, sizeof(now), x->base + dlnow);
	if (dltotal > 0) {
		human(total, sizeof(total), x->base + dltotal);
		int pct = (int)((x->base + dlnow) * 100 / (x->base + dltotal));
		int bars = pct / 5;
		fprintf(stderr, "\r  %-44.44s [%-20.*s] %3d%% %s/%s ", x->label, bars,
			"####################", pct, now, total);
	} else {
		fprintf(stderr, "\r  %-44.44s %s ", x->label, now);
	}
	x->drawn = true;
	return 0;
}

static bool transient_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *basename_of(const char *url)
{
	const char *s = strrchr(url, '/');
	return s && s[1] ? s + 1 : url;
}

enum attempt { ATT_DONE, ATT_RETRY, ATT_RESTART, ATT_FAIL };

/* One transfer attempt; appends to the .part. Fills err on failure. */
static enum attempt attempt(const struct kmb_curl *api, CURL *c, const char *url, const char *part,
			    const struct kmb_fetch_opts *o, int *rc, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct xfer x = {.max_size = o->max_size, .progress = o->progress};
	struct stat st;
	long code = 0;

	x.label = o->label ? o->label : basename_of(url);
	x.fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (x.fd < 0) {
		*rc = -errno;
		kmb_errbuf(err, errlen, "%s: %s", part, strerror(errno));
		return ATT_FAIL;
	}
	if (fstat(x.fd, &st) < 0) {
		*rc = -errno;
		close(x.fd);
		return ATT_FAIL;
	}
	x.written = x.base = st.st_size;
	api->easy_setopt(c, CURLOPT_URL, url);
	api->easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	api->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	api->easy_setopt(c, CURLOPT_WRITEDATA, &x);
	api->easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	api->easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	api->easy_setopt(c, CURLOPT_NOPROGRESS, o->progress ? 0L : 1L);
	api->easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)st.st_size);

	CURLcode cc = api->easy_perform(c);
	api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (x.drawn)
		fputc('\n', stderr);
	int fsync_failed = cc == CURLE_OK && fsync(x.fd) < 0;
	if (close(x.fd) < 0 || fsync_failed) {
		*rc = -errno;
		kmb_errbuf(err, errlen, "%s: %s", part, strerror(errno));
		return ATT_FAIL;
	}
	if (cc == CURLE_OK)
		return ATT_DONE;

	if (x.too_big) {
		*rc = -EFBIG;
		kmb_errbuf(err, errlen, "%s: larger than %lld bytes", url, o->max_size);
		unlink(part);
		return ATT_FAIL;
	}
	if (x.write_failed) {
		*rc = -x.write_errno;
		kmb_errbuf(err, errlen, "%s: %s", part, strerror(x.write_errno));
		return ATT_FAIL;
	}
	*rc = -EIO;
	if (cc == CURLE_HTTP_RETURNED_ERROR) {
		kmb_errbuf(err, errlen, "%s: HTTP %ld", url, code);
		if (code == 404 || code == 410) {
			*rc = -ENOENT;
			unlink(part);
			return ATT_FAIL;
		}
		if (code == 416) /* our .part is not a prefix of this file */
			return ATT_RESTART;
		return code >= 500 || code == 408 || code == 429 ? ATT_RETRY : ATT_FAIL;
	}
	kmb_errbuf(err, errlen, "%s: %s", url, cerr[0] ? cerr : api->easy_strerror(cc));
	if (cc == CURLE_RANGE_ERROR) /* the server ignored Range: start over */
		return ATT_RESTART;
	return transient_curl(cc) ? ATT_RETRY : ATT_FAIL;
}

int kmb_fetch_file(const char *url, const char *dest, const struct kmb_fetch_opts *o, char *err,
		   size_t errlen)
{
	char *part = kmb_xasprintf("%s.part", dest);
	long backoff = o->backoff_ms;
	int rc = -EIO, tries = 0, restarts = 0;
	struct kmb_curl api;
	CURL *c;

	if (err && errlen)
		err[0] = '\0';
	rc = kmb_curl_open(&api, err, errlen);
	if (rc < 0) {
		free(part);
		return rc;
	}
	rc = -EIO;
	if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		kmb_errbuf(err, errlen, "%s: cannot initialise libcurl", url);
		kmb_curl_close(&api);
		free(part);
		return -EIO;
	}
	c = api.easy_init();
	if (!c) {
		kmb_errbuf(err, errlen, "%s: cannot initialise libcurl", url);
		api.global_cleanup();
		kmb_curl_close(&api);
		free(part);
		return -ENOMEM;
	}
	api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	api.easy_setopt(c, CURLOPT_MAXREDIRS, 8L);
	api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	api.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	api.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	api.easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s);
	api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
	api.easy_setopt(c, CURLOPT_USERAGENT, "kmbuild/" KMB_VERSION);
	if (o->max_size)
		api.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);

	for (;;) {
		enum attempt a = attempt(&api, c, url, part, o, &rc, err, errlen);
		tries++;
		if (a == ATT_DONE) {
			rc = rename(part, dest) < 0 ? -errno : 0;
			if (rc < 0)
				kmb_errbuf(err, errlen, "%s: %s", dest, strerror(-rc));
			break;
		}
		if (a == ATT_FAIL)
			break;
		if (a == ATT_RESTART) {
			unlink(part);
			/* A restart is not a network failure: no wait, but not forever either. */
			if (++restarts <= 1)
				continue;
		}
		if (tries > o->retries) {
			size_t l = err ? strlen(err) : 0;
			if (err && l + 1 < errlen)
				snprintf(err + l, errlen - l, " (after %d attempts)", tries);
			break;
		}
		sleep_ms(backoff);
		backoff = backoff * 2 > KMB_BACKOFF_CAP_MS ? KMB_BACKOFF_CAP_MS : backoff * 2;
	}
	api.easy_cleanup(c);
	api.global_cleanup();
	kmb_curl_close(&api);
	free(part);
	return rc;
}

static int check_file(const char *path, const char *label, const char *sha256, long long size,
		      char *err, size_t errlen)
{
	char hex[65];
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return -errno;
	if (size >= 0 && st.st_size != size) {
		kmb_errbuf(err, errlen, "%s: size %lld, expected %lld", label,
			   (long long)st.st_size, size);
		return -EBADMSG;
	}
	r = kmb_sha256_file(path, hex);
	if (r < 0) {
		kmb_errbuf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (strcasecmp(hex, sha256) != 0) {
		kmb_errbuf(err, errlen, "%s: SHA256 mismatch: got %s, expected %s", label, hex,
			   sha256);
		return -EBADMSG;
	}
	return 0;
}

int kmb_fetch_verified(const char *url, const char *dest, const char *sha256, long long size,
		       const struct kmb_fetch_opts *o, char *err, size_t errlen)
{
	char *part = kmb_xasprintf("%s.part", dest);
	int r;

	if (kmb_exists(dest) && check_file(dest, url, sha256, size, NULL, 0) == 0) {
		free(part);
		return 0;
	}
	unlink(dest);
	for (int fresh = 0; fresh < 2; fresh++) {
		struct stat st;
		bool resumed = stat(part, &st) == 0 && st.st_size > 0;

		/* A .part already as long as the file can only be stale. */
		if (resumed && size >= 0 && st.st_size >= size) {
			unlink(part);
			resumed = false;
		}
		r = kmb_fetch_file(url, dest, o, err, errlen);
		if (r < 0)
			break;
		r = check_file(dest, url, sha256, size, err, errlen);
		if (r == 0)
			break;
		unlink(dest);
		if (r != -EBADMSG || !resumed)
			break;
	}
	free(part);
	return r;
}
