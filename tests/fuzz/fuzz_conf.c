// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dkms.conf and kmbuild.conf through the real loader, then every per-kernel decision on the
 * result. The first input byte picks the format. Bash is never run (no_shell): a definition
 * that needs it must fail to load cleanly.
 */
#include "conf/conf.h"
#include "fuzz.h"

static const char *kconfig(void *ud, const char *name)
{
	(void)ud;
	return strcmp(name, "CONFIG_PCI") == 0 ? "y" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kmb_conf_vars vars = {
		.kernelver = "6.1.0-57-amd64",
		.arch = "x86_64",
		.kernel_source_dir = "/lib/modules/6.1.0-57-amd64/build",
		.dkms_tree = "/var/lib/dkms",
		.source_tree = "/usr/src",
		.install_tree = "/lib/modules",
		.no_shell = true,
	};
	struct kmb_conf_error err;
	struct kmb_pkg *pkg = NULL;
	const char *path;

	if (size < 1)
		return 0;
	path = fuzz_file(data[0] & 1 ? "kmbuild.conf" : "dkms.conf", data + 1, size - 1);
	if (kmb_pkg_load(path, &vars, &pkg, &err) == 0) {
		for (size_t i = 0; i < pkg->n_modules; i++)
			kmb_pkg_module_excluded(pkg, i, vars.kernelver, vars.arch, kconfig, NULL,
						NULL);
		kmb_pkg_make_command(pkg, vars.kernelver);
		for (size_t i = 0; i < pkg->n_patches; i++)
			kmb_pkg_patch_applies(pkg, i, vars.kernelver);
		kmb_pkg_free(pkg);
	}
	unlink(path);
	return 0;
}
