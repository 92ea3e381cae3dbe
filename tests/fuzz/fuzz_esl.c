// SPDX-License-Identifier: GPL-2.0-or-later
/* EFI signature lists (MokListRT, db): the parser and the certificate lookup over its result. */
#include "sign/efivars.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmb_esl_entry *v = NULL;
	size_t n = 0;

	if (kmb_esl_parse(data, size, &v, &n) == 0) {
		kmb_esl_has_cert(v, n, data, size < 64 ? size : 64);
		free(v);
	}
	return 0;
}
