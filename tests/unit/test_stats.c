/*
 * test_stats.c: the pure parts of the statistics (catalog/cat_stats.c):
 * suppression of small counts and of their complements, rates, day
 * parsing and period bucketing, and that a withheld value is an empty
 * CSV field.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi/ht.h"

static long
day(const char *s)
{
	long d = -1;

	assert_int_equal(cat_day_parse(s, &d), 0);
	return d;
}

/* Suppresses the n cells v at threshold k and checks the answer (1: the
 * total may be published) and which cells were withheld. */
static void
suppress_is(long long k, size_t n, const long long *v, const int *withheld,
    int total_shown)
{
	int wh[8];
	size_t i;

	assert_true(n <= sizeof(wh) / sizeof(wh[0]));
	assert_int_equal(cat_stats_suppress(v, n, k, wh), total_shown);
	for (i = 0; i < n; i++)
		assert_int_equal(wh[i], withheld[i]);
}

static void
suppress__one_small_cell__it_and_the_smallest_other_withheld(void **state)
{
	(void)state;
	/* 3 alone would be "total minus the others": 50 goes too; a zero
	 * describes nobody and stays */
	suppress_is(5, 4, (const long long[]){ 100, 3, 50, 0 },
	    (const int[]){ 0, 1, 1, 0 }, 1);
}

static void
suppress__small_cells_adding_up_to_k__nothing_more_withheld(void **state)
{
	(void)state;
	suppress_is(5, 4, (const long long[]){ 100, 3, 4, 60 },
	    (const int[]){ 0, 1, 1, 0 }, 1);
}

static void
suppress__total_below_k__total_and_cells_withheld(void **state)
{
	(void)state;
	suppress_is(5, 3, (const long long[]){ 2, 1, 0 },
	    (const int[]){ 1, 1, 0 }, 0);
}

static void
suppress__k_of_one__nothing_withheld(void **state)
{
	(void)state;
	suppress_is(1, 2, (const long long[]){ 1, 2 }, (const int[]){ 0, 0 },
	    1);
}

static void
count__below_k_or_flagged__null_zero_and_k_shown(void **state)
{
	(void)state;
	assert_true(cat_count_of(4, 5, 0).null);
	assert_true(cat_count_of(1, 5, 0).null);
	assert_false(cat_count_of(0, 5, 0).null);
	assert_false(cat_count_of(5, 5, 0).null);
	assert_int_equal(cat_count_of(5, 5, 0).v, 5);
	assert_true(cat_count_of(500, 5, 1).null);
	assert_int_equal(cat_count_of(500, 5, 1).v, 0);	/* never leaks */
	assert_false(cat_count_of(-3, 5, 0).null);	/* a net change */
}

static void
rate__withheld_part_or_small_complement__null(void **state)
{
	struct cat_rate r;

	(void)state;
	r = cat_rate_of(cat_count_of(10, 5, 0), cat_count_of(40, 5, 0), 5);
	assert_false(r.null);
	assert_true(r.v > 0.2499 && r.v < 0.2501);
	/* 3 of 8 earned: the 3 is withheld, so is the rate */
	assert_true(cat_rate_of(cat_count_of(3, 5, 0), cat_count_of(8, 5, 0),
	    5).null);
	/* 9 of 10: the one who did not is a group of one */
	assert_true(cat_rate_of(cat_count_of(9, 5, 0), cat_count_of(10, 5, 0),
	    5).null);
	/* all 10: no small group */
	assert_false(cat_rate_of(cat_count_of(10, 5, 0), cat_count_of(10, 5, 0),
	    5).null);
	assert_true(cat_rate_of(cat_count_of(0, 5, 0), cat_count_of(0, 5, 0),
	    5).null);
}

static void
day__parse__strict_real_dates_only(void **state)
{
	long d;
	char out[11];

	(void)state;
	assert_int_equal(day("1970-01-01"), 0);
	assert_int_equal(day("2024-02-29") + 1, day("2024-03-01"));
	assert_int_equal(cat_day_parse("2025-02-29", &d), -1);
	assert_int_equal(cat_day_parse("2026-02-30", &d), -1);
	assert_int_equal(cat_day_parse("2026-13-01", &d), -1);
	assert_int_equal(cat_day_parse("2026-1-01", &d), -1);
	assert_int_equal(cat_day_parse("2026-01-01x", &d), -1);
	assert_int_equal(cat_day_parse("", &d), -1);
	cat_day_fmt(day("2026-11-22"), out);
	assert_string_equal(out, "2026-11-22");
}

static void
period__day_week_month__start_and_next(void **state)
{
	char out[11];

	(void)state;
	/* 2026-11-22 is a Sunday: its ISO week began on Monday the 16th */
	cat_day_fmt(cat_period_start(day("2026-11-22"), CAT_WEEK), out);
	assert_string_equal(out, "2026-11-16");
	cat_day_fmt(cat_period_start(day("2026-11-16"), CAT_WEEK), out);
	assert_string_equal(out, "2026-11-16");
	/* 1970-01-01 was a Thursday */
	cat_day_fmt(cat_period_start(0, CAT_WEEK), out);
	assert_string_equal(out, "1969-12-29");
	assert_int_equal(cat_period_next(day("2026-11-16"), CAT_WEEK),
	    day("2026-11-23"));
	cat_day_fmt(cat_period_start(day("2026-11-22"), CAT_MONTH), out);
	assert_string_equal(out, "2026-11-01");
	cat_day_fmt(cat_period_next(day("2026-12-01"), CAT_MONTH), out);
	assert_string_equal(out, "2027-01-01");
	cat_day_fmt(cat_period_next(day("2024-02-01"), CAT_MONTH), out);
	assert_string_equal(out, "2024-03-01");
	assert_int_equal(cat_period_start(day("2026-11-22"), CAT_DAY),
	    day("2026-11-22"));
	assert_int_equal(cat_period_next(day("2026-12-31"), CAT_DAY),
	    day("2027-01-01"));
}

static void
csv__withheld_count__empty_field(void **state)
{
	struct ht_csv c;
	struct cat_count withheld = cat_count_of(3, 5, 0);
	struct cat_count shown = cat_count_of(7, 5, 0);

	(void)state;
	ht_csv_init(&c, 1024);
	ht_csv_field(&c, "north");
	ht_csv_int(&c, withheld.v, withheld.null);
	ht_csv_int(&c, shown.v, shown.null);
	ht_csv_num(&c, 0.5, 1);
	ht_csv_endrow(&c);
	assert_string_equal(c.buf, "north,,7,\r\n");
	ht_csv_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(suppress__one_small_cell__it_and_the_smallest_other_withheld),
		cmocka_unit_test(suppress__small_cells_adding_up_to_k__nothing_more_withheld),
		cmocka_unit_test(suppress__total_below_k__total_and_cells_withheld),
		cmocka_unit_test(suppress__k_of_one__nothing_withheld),
		cmocka_unit_test(count__below_k_or_flagged__null_zero_and_k_shown),
		cmocka_unit_test(rate__withheld_part_or_small_complement__null),
		cmocka_unit_test(day__parse__strict_real_dates_only),
		cmocka_unit_test(period__day_week_month__start_and_next),
		cmocka_unit_test(csv__withheld_count__empty_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
