// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild new NAME [DIR]: a minimal buildable out-of-tree module project from
 * templates/skeleton/ (@NAME@ and @VERSION@ replaced in file names and contents). The project
 * appears whole or not at all: it is written beside DIR and renamed into place.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "template/template.h"
#include "base/util.h"

#define SKELETON_VERSION "1.0"

/* Module names become C identifiers (module_init, KBUILD_MODNAME): [A-Za-z_][A-Za-z0-9_]*,
 * shorter than the kernel's MODULE_NAME_LEN (56). */
static bool valid_module_name(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 55 || isdigit((unsigned char)s[0]))
		return false;
	for (const char *c = s; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return false;
	return true;
}

static char *substitute(const char *text, const char *name)
{
	static const char *const keys[] = {"@NAME@", "@VERSION@"};
	const char *vals[] = {name, SKELETON_VERSION};
	struct kmb_buf b = {0};

	for (const char *s = text; *s;) {
		size_t k;
		for (k = 0; k < KMB_ARRAY_SIZE(keys); k++)
			if (kmb_startswith(s, keys[k]))
				break;
		if (k < KMB_ARRAY_SIZE(keys)) {
			kmb_buf_adds(&b, vals[k]);
			s += strlen(keys[k]);
		} else {
			kmb_buf_addc(&b, *s++);
		}
	}
	return kmb_buf_steal(&b);
}

static int copy_skeleton(const char *from, const char *to, const char *name, char *err,
			 size_t errlen)
{
	DIR *d = opendir(from);
	struct dirent *de;
	int r = 0;

	if (!d) {
		snprintf(err, errlen, "%s: %s", from, strerror(errno));
		return -errno;
	}
	if ((r = kmb_mkdir_p(to, 0755)) < 0) {
		snprintf(err, errlen, "%s: %s", to, strerror(-r));
		closedir(d);
		return r;
	}
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *src = kmb_xasprintf("%s/%s", from, de->d_name);
		char *fname = substitute(de->d_name, name);
		char *dst = kmb_xasprintf("%s/%s", to, fname);
		struct stat st;
		if (lstat(src, &st) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", src, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			r = copy_skeleton(src, dst, name, err, errlen);
		} else if (S_ISREG(st.st_mode)) {
			char *text = NULL;
			size_t len;
			r = kmb_read_file(src, &text, &len);
			if (r == 0 && strlen(text) != len)
				r = -EINVAL; /* binary: the skeleton is text only */
			if (r == 0) {
				char *out = substitute(text, name);
				r = kmb_write_file_atomic(dst, out, strlen(out), st.st_mode & 0777);
				free(out);
			}
			if (r < 0)
				snprintf(err, errlen, "%s: %s", src, strerror(-r));
			free(text);
		}
		free(src);
		free(fname);
		free(dst);
	}
	closedir(d);
	return r;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct kmb_cli_parser p;

	kmb_cli_parser_init(&p, &kmb_cmd_new, 0, NULL, NULL);
	if (kmb_cli_next_opt(&p, argc, argv) < 0)
		return p.exit;
	if (argc - optind < 1 || argc - optind > 2) {
		kmb_err("new takes a module NAME and optionally a DIR");
		return KMB_EXIT_USAGE;
	}
	const char *name = argv[optind];
	const char *dir = argc - optind == 2 ? argv[optind + 1] : name;
	if (!valid_module_name(name)) {
		kmb_err("'%s' is not a module name (letters, digits and '_', not starting with a "
			"digit, at most 55)",
			name);
		return KMB_EXIT_USAGE;
	}
	if (kmb_exists(dir)) {
		kmb_err("%s already exists", dir);
		return KMB_EXIT_EXISTS;
	}
	char *catalogue = kmb_template_catalogue(ctx);
	char *skel = kmb_xasprintf("%s/skeleton", catalogue);
	char *tmp = kmb_xasprintf("%s.kmb-new.%ld", dir, (long)getpid());
	char err[1024] = "";
	int rc = 0;

	if (!kmb_is_dir(skel)) {
		kmb_err("%s: no skeleton in the template catalogue", skel);
		rc = KMB_EXIT_NOTFOUND;
		goto out;
	}
	kmb_rm_rf(tmp);
	if (copy_skeleton(skel, tmp, name, err, sizeof(err)) < 0 || rename(tmp, dir) < 0) {
		kmb_err("cannot write %s: %s", dir, err[0] ? err : strerror(errno));
		kmb_rm_rf(tmp);
		rc = KMB_EXIT_FAIL;
		goto out;
	}
	kmb_info(ctx, "%s: new module project in %s (see %s/README.md)", name, dir, dir);
out:
	free(tmp);
	free(skel);
	free(catalogue);
	return rc;
}

const struct kmb_cmd kmb_cmd_new = {
	.name = "new",
	.run = run,
	.usage = "new NAME [DIR]",
	.help = "write a minimal buildable module project (from the skeleton)",
};
