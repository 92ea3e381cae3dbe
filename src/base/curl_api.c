// SPDX-License-Identifier: GPL-2.0-or-later
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "base/curl_api.h"
#include "base/util.h"

int kmb_curl_open(struct kmb_curl *api, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
		{"curl_global_init", offsetof(struct kmb_curl, global_init)},
		{"curl_global_cleanup", offsetof(struct kmb_curl, global_cleanup)},
		{"curl_easy_init", offsetof(struct kmb_curl, easy_init)},
		{"curl_easy_setopt", offsetof(struct kmb_curl, easy_setopt)},
		{"curl_easy_perform", offsetof(struct kmb_curl, easy_perform)},
		{"curl_easy_getinfo", offsetof(struct kmb_curl, easy_getinfo)},
		{"curl_easy_strerror", offsetof(struct kmb_curl, easy_strerror)},
		{"curl_easy_cleanup", offsetof(struct kmb_curl, easy_cleanup)},
	};

	memset(api, 0, sizeof(*api));
	/* NODELETE: TLS libraries do not survive being unloaded and loaded again. */
	api->dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!api->dl) {
		kmb_errbuf(err, errlen, "cannot load libcurl (libcurl.so.4): %s", dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < KMB_ARRAY_SIZE(syms); i++) {
		void *f = dlsym(api->dl, syms[i].name);
		if (!f) {
			kmb_errbuf(err, errlen, "libcurl.so.4 lacks %s", syms[i].name);
			kmb_curl_close(api);
			return -ENOENT;
		}
		memcpy((char *)api + syms[i].off, &f, sizeof(f));
	}
	return 0;
}

void kmb_curl_close(struct kmb_curl *api)
{
	if (api->dl)
		dlclose(api->dl);
	memset(api, 0, sizeof(*api));
}
