// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Debian indexes: a Packages index searched for a header package, every Depends field of
 * it, and Debian version comparison of what the index holds.
 */
#include "kernel/repo_deb.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct kmb_deb_index idx = {.mirror = (char *)"http://127.0.0.1/debian",
				    .suite = (char *)"bookworm",
				    .text = text,
				    .len = size};
	struct kmb_deb_pkg p;
	struct kmb_deb_dep *deps = NULL;
	size_t n = 0;

	memset(&p, 0, sizeof(p));
	if (kmb_deb_index_find(&idx, "linux-headers-6.1.0-57-amd64", NULL, NULL, &p) == 0) {
		if (p.depends && kmb_deb_parse_depends(p.depends, &deps, &n) == 0)
			kmb_deb_deps_free(deps, n);
		if (p.version)
			kmb_deb_version_satisfies(p.version, ">=", "6.1.158-1");
		kmb_deb_pkg_free(&p);
	}
	memset(&p, 0, sizeof(p));
	if (kmb_deb_index_find(&idx, "linux-headers-6.1.0-57-common", "=", "6.1.158-1", &p) == 0)
		kmb_deb_pkg_free(&p);
	if (kmb_deb_parse_depends(text, &deps, &n) == 0)
		kmb_deb_deps_free(deps, n);
	free(text);
	return 0;
}
