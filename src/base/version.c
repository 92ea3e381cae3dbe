// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Version ordering for BUILD_EXCLUSIVE_KERNEL_MIN/MAX and module versions.
 *
 * DKMS's VER() (dkms.in:287-301) zero-pads every digit run to three places and compares the
 * results as strings. That is the same as comparing digit runs as numbers and everything else
 * byte by byte, except that DKMS gets runs of four or more digits wrong (1000 < 999 after
 * padding); here digit runs of any length compare numerically.
 */
#include <string.h>

#include "base/version.h"

static int isdig(char c)
{
	return c >= '0' && c <= '9';
}

int kmb_vercmp(const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	while (*a && *b) {
		if (isdig(*a) && isdig(*b)) {
			const char *ea, *eb;
			size_t la, lb;
			int c;

			/* Leading zeros do not count: VER pads 7 and 007 alike. */
			while (*a == '0' && isdig(a[1]))
				a++;
			while (*b == '0' && isdig(b[1]))
				b++;
			for (ea = a; isdig(*ea); ea++)
				;
			for (eb = b; isdig(*eb); eb++)
				;
			la = (size_t)(ea - a);
			lb = (size_t)(eb - b);
			if (la != lb)
				return la < lb ? -1 : 1;
			c = memcmp(a, b, la);
			if (c)
				return c < 0 ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	if (*a == *b)
		return 0;
	return *a ? 1 : -1;
}
