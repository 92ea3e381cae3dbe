// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A module file as verify, doctor and sign read it: compression by magic, the ELF sections
 * (modinfo, __versions, symbols) through libelf, and the signature trailer and its PKCS#7
 * details; plus the signature splitter sign uses before re-signing.
 */
#include "sign/sign.h"
#include "verify/modfile.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmb_modfile *m = NULL;
	char *err = NULL, name[64];
	const char *v[4];
	size_t ul, sl;

	kmb_sig_split(data, size, &ul, &sl);
	if (kmb_modfile_open(fuzz_file("m.ko", data, size), &m, &err) == 0) {
		kmb_modfile_modname(m, name, sizeof(name));
		kmb_modfile_modinfo_all(m, "depends", v, 4);
		kmb_modfile_version(m, "module_layout");
		kmb_modfile_sig_details(m);
		kmb_modfile_free(m);
	}
	free(err);
	return 0;
}
