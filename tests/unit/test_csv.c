/*
 * test_csv.c: the CSV writer (fcgi/csv.c): RFC 4180 quoting, formula
 * injection neutralised, a bounded buffer.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi/ht.h"

static void
csv__plain_and_quoted_fields__rfc4180(void **state)
{
	struct ht_csv c;

	(void)state;
	ht_csv_init(&c, 4096);
	ht_csv_field(&c, "district");
	ht_csv_field(&c, "a,b");
	ht_csv_field(&c, "say \"hi\"");
	ht_csv_int(&c, 42, 0);
	ht_csv_int(&c, 0, 1);
	ht_csv_endrow(&c);
	assert_string_equal(c.buf, "district,\"a,b\",\"say \"\"hi\"\"\",42,\r\n");
	ht_csv_free(&c);
}

static void
csv__formula_prefixes__neutralised(void **state)
{
	static const char *const evil[] = { "=1+1", "+cmd", "-2", "@SUM(A1)",
	    "\tx", "\rx" };
	struct ht_csv c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		ht_csv_init(&c, 4096);
		ht_csv_field(&c, evil[i]);
		assert_int_equal(c.buf[0], '"');
		assert_int_equal(c.buf[1], '\'');
		ht_csv_free(&c);
	}
}

static void
csv__over_maximum__marked_failed(void **state)
{
	struct ht_csv c;
	int i;

	(void)state;
	ht_csv_init(&c, 64);
	for (i = 0; i < 100; i++)
		ht_csv_field(&c, "0123456789");
	assert_true(c.failed);
	ht_csv_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csv__plain_and_quoted_fields__rfc4180),
		cmocka_unit_test(csv__formula_prefixes__neutralised),
		cmocka_unit_test(csv__over_maximum__marked_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
