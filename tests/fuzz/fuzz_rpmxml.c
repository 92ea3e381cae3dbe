// SPDX-License-Identifier: GPL-2.0-or-later
/* The XML reader behind rpm repomd.xml and primary.xml: every token, attribute and text. */
#include "kernel/repo_rpm.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmb_xml x;
	struct kmb_xml_tok t;
	enum kmb_xml_ev ev;
	unsigned steps = 0;

	kmb_xml_init(&x, (const char *)data, size);
	while ((ev = kmb_xml_next(&x, &t)) != KMB_XML_EOF && ev != KMB_XML_ERROR &&
	       steps++ < 100000) {
		char *s = NULL;
		if (ev == KMB_XML_START) {
			s = kmb_xml_attr(&t, "href");
			free(s);
			s = kmb_xml_attr(&t, "type");
		} else if (ev == KMB_XML_TEXT) {
			s = kmb_xml_decode(t.text, t.text_end);
		}
		free(s);
	}
	return 0;
}
