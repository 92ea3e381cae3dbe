// SPDX-License-Identifier: GPL-2.0-or-later
/* kmb_vercmp: DKMS's VER() ordering (zero-padded digit runs), minus its 4-digit bug. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "base/version.h"
#include "base/util.h"

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void test_table(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} t[] = {
		{"6.1.0-55-amd64", "6.1.0-56-amd64", -1},
		{"6.1.0-56-amd64", "6.10.0", -1},
		{"6.1.0-55-amd64", "6.10.0", -1},
		{"1.0", "1.0.1", -1},
		{"1.0.1", "1.1", -1},
		{"1.0", "1.1", -1},
		{"2.0", "10.0", -1},
		{"10.0", "2.0", 1},
		{"6.1", "6.1", 0},
		{"6.1.0", "6.1", 1},
		{"5.6", "5.10", -1},
		{"4.19.0-26-amd64", "5.10.0-30-amd64", -1},
		{"6.1.0-56-amd64", "6.1.0-56-arm64", -1},
		{"6.1.0-56-rt-amd64", "6.1.0-56-amd64", 1}, /* 'r' > 'a', as VER compares */
		{"2.6.9-1cvs200409091247", "2.6.9-1cvs200409091248", -1},
		{"007", "7", 0},
		{"1.01", "1.1", 0},
		{"999", "1000", -1}, /* DKMS's 3-digit padding gets this one wrong */
		{"6.1.0-rc1", "6.1.0", 1},
		{"", "0", -1},
		{"", "", 0},
		{"a", "b", -1},
		{"6.1.0-1-amd64", "6.1.0-10-amd64", -1},
	};

	(void)state;
	for (size_t i = 0; i < KMB_ARRAY_SIZE(t); i++) {
		int r = sign(kmb_vercmp(t[i].a, t[i].b));
		int rr = sign(kmb_vercmp(t[i].b, t[i].a));
		if (r != t[i].want || rr != -t[i].want)
			fail_msg("vercmp(%s, %s) = %d / reversed %d, want %d", t[i].a, t[i].b, r,
				 rr, t[i].want);
	}
	assert_int_equal(kmb_vercmp(NULL, ""), 0);
	assert_true(kmb_vercmp(NULL, "1") < 0);
}

/* Sorting a shuffled list with it gives the order DKMS's VER + sort would. */
static void test_sort_order(void **state)
{
	const char *v[] = {"6.10.0",
			   "6.1.0-56-amd64",
			   "5.10.0-30-amd64",
			   "6.1.0-55-amd64",
			   "6.1.0-9-amd64",
			   "4.19.0",
			   "6.2"};
	const char *want[] = {"4.19.0",		"5.10.0-30-amd64", "6.1.0-9-amd64",
			      "6.1.0-55-amd64", "6.1.0-56-amd64",  "6.2",
			      "6.10.0"};
	size_t n = KMB_ARRAY_SIZE(v);

	(void)state;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && kmb_vercmp(v[j - 1], v[j]) > 0; j--) {
			const char *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_sort_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
