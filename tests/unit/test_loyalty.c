/*
 * test_loyalty.c: the pure parts of the loyalty domain: tier maths
 * (stars, flags, next tier), ladder checks, cap and bonus arithmetic,
 * the local day in the programme's time zone, code validation.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "loyalty/ly.h"

static const struct ly_ladder demo = { 4, {
	{ "Member", 0 }, { "Bronze", 100 }, { "Silver", 300 }, { "Gold", 600 } },
	100, 6 };

static void
standing__zero_points__lowest_tier_and_distance_to_next(void **state)
{
	struct ly_standing s;

	(void)state;
	ly_standing(&demo, 0, &s);
	assert_string_equal(s.name, "Member");
	assert_int_equal(s.stars, 0);
	assert_int_equal(s.flags, 0);
	assert_string_equal(s.next, "Bronze");
	assert_int_equal(s.to_next, 100);
}

static void
standing__exactly_on_threshold__reaches_that_tier(void **state)
{
	struct ly_standing s;

	(void)state;
	ly_standing(&demo, 99, &s);
	assert_string_equal(s.name, "Member");
	assert_int_equal(s.to_next, 1);
	assert_int_equal(s.stars, 0);
	ly_standing(&demo, 100, &s);
	assert_string_equal(s.name, "Bronze");
	assert_string_equal(s.next, "Silver");
	assert_int_equal(s.to_next, 200);
	assert_int_equal(s.stars, 1);
}

static void
standing__top_tier__no_next_and_flags_from_six_stars(void **state)
{
	struct ly_standing s;

	(void)state;
	ly_standing(&demo, 1299, &s);
	assert_string_equal(s.name, "Gold");
	assert_null(s.next);
	assert_int_equal(s.to_next, 0);
	assert_int_equal(s.stars, 12);		/* 1299 / 100 */
	assert_int_equal(s.flags, 2);		/* 12 / 6 */
	ly_standing(&demo, 599, &s);
	assert_int_equal(s.stars, 5);
	assert_int_equal(s.flags, 0);
	ly_standing(&demo, 600, &s);
	assert_int_equal(s.flags, 1);
}

static void
standing__custom_star_rule__follows_settings(void **state)
{
	struct ly_ladder l = demo;
	struct ly_standing s;

	(void)state;
	l.star_points = 7;
	l.stars_per_flag = 2;
	ly_standing(&l, 50, &s);
	assert_int_equal(s.stars, 7);
	assert_int_equal(s.flags, 3);
}

static void
ladder_check__good_and_bad_ladders(void **state)
{
	struct ly_ladder l = demo;

	(void)state;
	assert_int_equal(ly_ladder_check(&demo), LY_OK);
	l.tiers[0].min_lifetime = 5;		/* must start at 0 */
	assert_int_equal(ly_ladder_check(&l), LY_BAD_LADDER);
	l = demo;
	l.tiers[2].min_lifetime = 100;		/* must rise strictly */
	assert_int_equal(ly_ladder_check(&l), LY_BAD_LADDER);
	l = demo;
	strcpy(l.tiers[3].name, "Bronze");	/* names unique */
	assert_int_equal(ly_ladder_check(&l), LY_BAD_LADDER);
	l = demo;
	l.star_points = 0;
	assert_int_equal(ly_ladder_check(&l), LY_BAD_LADDER);
	l = demo;
	l.n = 0;
	assert_int_equal(ly_ladder_check(&l), LY_BAD_LADDER);
	l = demo;
	l.n = 1;
	assert_int_equal(ly_ladder_check(&l), LY_OK);
}

static void
cap__no_cap__whole_base(void **state)
{
	int capped = 1;

	(void)state;
	assert_int_equal(ly_cap_cut(50, 0, 1000, &capped), 50);
	assert_int_equal(capped, 0);
}

static void
cap__room_left__cut_to_room_and_flagged(void **state)
{
	int capped;

	(void)state;
	/* volunteering: 10 a time, 40 a day */
	assert_int_equal(ly_cap_cut(10, 40, 30, &capped), 10);
	assert_int_equal(capped, 0);
	assert_int_equal(ly_cap_cut(10, 40, 35, &capped), 5);
	assert_int_equal(capped, 1);
	assert_int_equal(ly_cap_cut(10, 40, 40, &capped), 0);
	assert_int_equal(capped, 1);
	/* a cap lowered after earning never yields negative points */
	assert_int_equal(ly_cap_cut(10, 20, 40, &capped), 0);
	assert_int_equal(capped, 1);
}

static void
bonus__multiplier_rounds_down(void **state)
{
	(void)state;
	assert_int_equal(ly_bonus_points(3, 150), 4);	/* 4.5 -> 4 */
	assert_int_equal(ly_bonus_points(10, 200), 20);
	assert_int_equal(ly_bonus_points(7, 0), 7);	/* no campaign */
	assert_int_equal(ly_bonus_points(LIM_POINTS_MAX, 1000),
	    10LL * LIM_POINTS_MAX);
}

static void
day__utc__calendar_day(void **state)
{
	char d[11];

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	ly_day(1795305599, d);		/* 2026-11-21T23:59:59Z */
	assert_string_equal(d, "2026-11-21");
	ly_day(1795305600, d);		/* 2026-11-22T00:00:00Z */
	assert_string_equal(d, "2026-11-22");
}

static void
day__configured_zone__boundary_is_local_midnight(void **state)
{
	char d[11];

	(void)state;
	/* Central European time without tzdata: UTC+1, summer UTC+2 */
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	ly_day(1795301999, d);		/* 2026-11-21T22:59:59Z = 23:59:59 */
	assert_string_equal(d, "2026-11-21");
	ly_day(1795302000, d);		/* 2026-11-21T23:00:00Z = 00:00 */
	assert_string_equal(d, "2026-11-22");
	ly_day(1782856800, d);		/* 2026-06-30T22:00:00Z = 07-01 00:00 */
	assert_string_equal(d, "2026-07-01");
	/* and west of Greenwich: New York, UTC-5 in November */
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
	tzset();
	ly_day(1795323600, d);		/* 2026-11-22T05:00:00Z = 00:00 */
	assert_string_equal(d, "2026-11-22");
	ly_day(1795323599, d);
	assert_string_equal(d, "2026-11-21");
	setenv("TZ", "UTC", 1);
	tzset();
}

static void
code__valid_and_invalid_codes(void **state)
{
	char longc[LIM_CODE_MAX + 2];

	(void)state;
	assert_true(ly_code_valid("blood_donation"));
	assert_true(ly_code_valid("north-hill"));
	assert_true(ly_code_valid("v2.spring"));
	assert_true(ly_code_valid("9lives"));
	assert_false(ly_code_valid(""));
	assert_false(ly_code_valid("_lead"));
	assert_false(ly_code_valid("Upper"));
	assert_false(ly_code_valid("a b"));
	assert_false(ly_code_valid("semi;colon"));
	assert_false(ly_code_valid(NULL));
	memset(longc, 'a', sizeof(longc) - 1);
	longc[sizeof(longc) - 1] = '\0';
	assert_false(ly_code_valid(longc));
	longc[LIM_CODE_MAX] = '\0';
	assert_true(ly_code_valid(longc));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(standing__zero_points__lowest_tier_and_distance_to_next),
		cmocka_unit_test(standing__exactly_on_threshold__reaches_that_tier),
		cmocka_unit_test(standing__top_tier__no_next_and_flags_from_six_stars),
		cmocka_unit_test(standing__custom_star_rule__follows_settings),
		cmocka_unit_test(ladder_check__good_and_bad_ladders),
		cmocka_unit_test(cap__no_cap__whole_base),
		cmocka_unit_test(cap__room_left__cut_to_room_and_flagged),
		cmocka_unit_test(bonus__multiplier_rounds_down),
		cmocka_unit_test(day__utc__calendar_day),
		cmocka_unit_test(day__configured_zone__boundary_is_local_midnight),
		cmocka_unit_test(code__valid_and_invalid_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
