// SPDX-License-Identifier: GPL-2.0-or-later
/* The dkms.conf shell-subset lexer in both modes, and DKMS's read-back of a value. */
#include "conf/shlex.h"
#include "fuzz.h"

static bool lookup(void *ud, const char *name, long index, const char **value)
{
	(void)ud;
	(void)index;
	if (strcmp(name, "kernelver") == 0 || strcmp(name, "PACKAGE_VERSION") == 0) {
		*value = "6.1.0-57-amd64";
		return true;
	}
	return false;
}

static int assign(void *ud, const struct kmb_sh_assign *a, struct kmb_sh_diag *d)
{
	size_t *count = ud;

	(void)d;
	*count += 1 + a->n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *out = NULL;
	struct kmb_sh_diag d;
	size_t count = 0;
	bool unindexed, indexed;

	kmb_sh_parse(text, KMB_SH_CONF, lookup, assign, &count, &d);
	kmb_sh_parse(text, KMB_SH_DECLARE, lookup, assign, &count, &d);
	if (kmb_sh_dkms_reread(text, lookup, NULL, &out, &d) == 0)
		free(out);
	kmb_sh_scan_assignments(text, "MAKE", &unindexed, &indexed);
	free(text);
	return 0;
}
