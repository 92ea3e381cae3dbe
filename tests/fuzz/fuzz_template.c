// SPDX-License-Identifier: GPL-2.0-or-later
/* template.conf through the real loader (sources, pins, in-tree rules). */
#include "template/template.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmb_template *t = NULL;
	char err[512];

	fuzz_file("template.conf", data, size);
	if (kmb_template_load(fuzz_dir(), &t, err, sizeof(err)) == 0)
		kmb_template_free(t);
	return 0;
}
