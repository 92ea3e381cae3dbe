// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helper of 15-conf-real.sh: load a module definition with kmbuild's parser and print the
 * result one "key=value" per line, in the same format the script derives from real bash.
 *
 *   conf-dump FILE KERNELVER ARCH KERNEL_SOURCE_DIR [KCONFIG]
 *
 * With KCONFIG (a kernel .config), also print each module's BUILD_EXCLUSIVE decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

static char *kconfig;

static const char *lookup(void *ud, const char *name)
{
	static char val[256];
	size_t n = strlen(name);

	(void)ud;
	for (char *p = kconfig; p && *p;) {
		char *nl = strchr(p, '\n');
		if (!strncmp(p, name, n) && p[n] == '=') {
			size_t l = nl ? (size_t)(nl - p - n - 1) : strlen(p + n + 1);
			snprintf(val, sizeof(val), "%.*s", (int)l, p + n + 1);
			return val;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void kv(const char *k, const char *v)
{
	if (v)
		printf("%s=%s\n", k, v);
}

int main(int argc, char **argv)
{
	struct kmb_conf_vars vars = {0};
	struct kmb_conf_error err;
	struct kmb_pkg *pkg;
	char key[64];

	if (argc < 5) {
		fprintf(stderr, "usage: conf-dump FILE KERNELVER ARCH KSRC [KCONFIG]\n");
		return 2;
	}
	vars.kernelver = argv[2];
	vars.arch = argv[3];
	vars.kernel_source_dir = argv[4];
	vars.dkms_tree = "/var/lib/dkms";
	vars.source_tree = "/usr/src";
	vars.install_tree = "/lib/modules";
	if (kmb_pkg_load(argv[1], &vars, &pkg, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (argc > 5) {
		size_t len;
		if (kmb_read_file(argv[5], &kconfig, &len) < 0) {
			perror(argv[5]);
			return 2;
		}
	}
	kv("name", pkg->name);
	kv("version", pkg->version);
	kv("autoinstall", pkg->autoinstall ? "yes" : "no");
	for (size_t i = 0; i < pkg->n_modules; i++) {
		const struct kmb_module_def *m = &pkg->modules[i];
		printf("module[%zu]=%s|%s|%s|%s|%s\n", i, m->built_name, m->built_location,
		       m->dest_name, m->dest_location, m->strip ? "yes" : "no");
	}
	for (size_t i = 0; i < pkg->n_make; i++) {
		snprintf(key, sizeof(key), "make[%zu]", i);
		kv(key, pkg->make[i].cmd);
		snprintf(key, sizeof(key), "make_match[%zu]", i);
		kv(key, pkg->make[i].match);
	}
	for (size_t i = 0; i < pkg->n_patches; i++)
		printf("patch=%s|%s\n", pkg->patches[i].file,
		       pkg->patches[i].match ? pkg->patches[i].match : "");
	kv("excl.kernel", pkg->excl.kernel);
	kv("excl.kernel_min", pkg->excl.kernel_min);
	kv("excl.kernel_max", pkg->excl.kernel_max);
	kv("excl.arch", pkg->excl.arch);
	kv("excl.config", pkg->excl.config);
	for (size_t i = 0; i < pkg->build_depends.n; i++)
		kv("build_depends", pkg->build_depends.v[i]);
	kv("pre_build", pkg->pre_build);
	kv("post_build", pkg->post_build);
	kv("post_add", pkg->post_add);
	kv("pre_install", pkg->pre_install);
	kv("post_install", pkg->post_install);
	kv("post_remove", pkg->post_remove);
	if (kconfig) {
		for (size_t i = 0; i < pkg->n_modules; i++) {
			char *why = NULL;
			bool ex = kmb_pkg_module_excluded(pkg, i, vars.kernelver, vars.arch, lookup,
							  NULL, &why);
			printf("excluded[%zu]=%s\n", i, ex ? why : "no");
			free(why);
		}
	}
	for (size_t i = 0; i < pkg->warnings.n; i++)
		fprintf(stderr, "warning: %s\n", pkg->warnings.v[i]);
	if (pkg->used_shell)
		fprintf(stderr, "used_shell: %s\n", pkg->shell_reason);
	kmb_pkg_free(pkg);
	free(kconfig);
	return 0;
}
