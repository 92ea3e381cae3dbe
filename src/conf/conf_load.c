// SPDX-License-Identifier: GPL-2.0-or-later
/* Which reader a definition path needs: kmbuild.conf wins over dkms.conf in a directory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/conf.h"
#include "conf/conf_priv.h"

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int kmb_pkg_load(const char *path, const struct kmb_conf_vars *vars, struct kmb_pkg **out,
		 struct kmb_conf_error *err)
{
	const char *base;
	int r;

	*out = NULL;
	err->msg[0] = '\0';
	if (!path || !*path) {
		kmb_conf_seterr(err, "no module definition path given");
		return -ENOENT;
	}
	if (is_dir(path)) {
		/* kmbuild.conf wins: a package may ship both for DKMS compatibility. */
		char *native = kmb_xasprintf("%s/kmbuild.conf", path);
		char *dkms = kmb_xasprintf("%s/dkms.conf", path);

		if (kmb_exists(native))
			r = kmb_conf_load_native(native, vars, out, err);
		else if (kmb_exists(dkms))
			r = kmb_conf_load_dkms(dkms, vars, out, err);
		else {
			kmb_conf_seterr(err, "%s: no kmbuild.conf or dkms.conf in this directory",
					path);
			r = -ENOENT;
		}
		free(native);
		free(dkms);
		return r;
	}
	if (!kmb_exists(path)) {
		kmb_conf_seterr(err, "%s: no such file", path);
		return -ENOENT;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strcmp(base, "kmbuild.conf") == 0)
		return kmb_conf_load_native(path, vars, out, err);
	return kmb_conf_load_dkms(path, vars, out, err);
}
