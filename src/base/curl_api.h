/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libcurl, loaded when the first download starts. Linking it directly costs every kmbuild
 * process ~6 ms before main(): its dependency chain (gnutls, p11-kit, krb5, ldap, ...) runs
 * constructors that `kmbuild status` has no use for. Only src/fetch.c talks to libcurl.
 */
#pragma once

#include <stddef.h>

#define CURL_DISABLE_TYPECHECK /* the API is called through the pointers below */
#include <curl/curl.h>

struct kmb_curl {
	void *dl;
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *c);
};

/* Load libcurl.so.4 and resolve the API. Returns 0 or -ENOENT with err naming what is missing. */
int kmb_curl_open(struct kmb_curl *api, char *err, size_t errlen);
void kmb_curl_close(struct kmb_curl *api);
