/*
 * test_stats.c: campaigns and statistics against a real MariaDB: the
 * roll-up triggers of 0030 follow the daily aggregates the domain writes,
 * the stats read them back as the right numbers, and small groups stay
 * withheld however the filters are combined.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "catalog/cat.h"
#include "tests/integration/itest.h"

#define K 5

enum t_stmt {
	T_DISTRICT,
	T_RULE,
	T_ENROLL,
	T_FUNNEL,
	T_POINTS,
	T_COUNT,
	T_STMT__MAX
};

static const char *const t_stmts[T_STMT__MAX] = {
	[T_DISTRICT] = "INSERT INTO districts (code, name, population, "
	    "updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
	[T_RULE] = "INSERT INTO rules (code, title, points, created_at, "
	    "updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
	/* what enrolment does, per member */
	[T_ENROLL] = "INSERT INTO agg_enroll_daily (day, district, channel, "
	    "shard, enrolled, left_count) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE "
	    "KEY UPDATE enrolled = enrolled + VALUES(enrolled), left_count = "
	    "left_count + VALUES(left_count)",
	[T_FUNNEL] = "INSERT INTO agg_funnel_daily (enroll_day, district, "
	    "channel, shard, enrolled, earned_30d) VALUES (?, ?, ?, ?, ?, ?) ON "
	    "DUPLICATE KEY UPDATE enrolled = enrolled + VALUES(enrolled), "
	    "earned_30d = earned_30d + VALUES(earned_30d)",
	[T_POINTS] = "INSERT INTO agg_points_daily (day, district, kind, ref_id, "
	    "campaign_id, shard, entries, points) VALUES (?, ?, 'award', ?, ?, "
	    "?, ?, ?) ON DUPLICATE KEY UPDATE entries = entries + "
	    "VALUES(entries), points = points + VALUES(points)",
	[T_COUNT] = "SELECT COALESCE(SUM(enrolled), 0) FROM agg_members_daily",
};

static void
t_exec(struct itest *t, enum t_stmt s, const struct db_val *p, size_t n)
{
	assert_int_equal(db_exec(t->db, t_stmts[s], p, n), DB_OK);
}

static void
t_districts(struct itest *t)
{
	static const char *const ds[] = { "east", "north", "south" };
	size_t i;

	for (i = 0; i < 3; i++) {
		struct db_val p[] = { db_text(ds[i]), db_text(ds[i]),
		    db_int(10000) };
		t_exec(t, T_DISTRICT, p, 3);
	}
}

/* The local day `ago` days before today. */
static void
t_day(int ago, char out[11])
{
	ly_day(time(NULL) - (time_t)ago * 86400, out);
}

/* n enrolments on a day, spread over shards as the domain would. */
static void
t_enrol(struct itest *t, int ago, const char *district, const char *channel,
    long long n, long long left)
{
	char d[11];

	t_day(ago, d);
	struct db_val p[] = { db_text(d), db_text(district), db_text(channel),
	    db_int(ago % LIM_AGG_SHARDS), db_int(n), db_int(left) };
	t_exec(t, T_ENROLL, p, 6);
	struct db_val f[] = { db_text(d), db_text(district), db_text(channel),
	    db_int(ago % LIM_AGG_SHARDS), db_int(n), db_int(0) };
	t_exec(t, T_FUNNEL, f, 6);
}

static const struct cat_series_row *
t_row(const struct cat_series_row *rows, size_t n, int ago)
{
	char d[11];
	size_t i;

	t_day(ago, d);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].period, d) == 0)
			return &rows[i];
	fail_msg("no period %s", d);
	return NULL;
}

static void
empty__no_districts_no_data__zeros_not_crashes(void **state)
{
	struct itest *t = *state;
	struct cat_overview o;
	struct cat_series_q q;
	struct cat_series_row *rows = NULL;
	size_t n = 0;

	assert_int_equal(cat_stats_overview(t->db, K, &o), LY_OK);
	assert_false(o.members.null);
	assert_int_equal(o.members.v, 0);
	assert_int_equal(o.ndistricts, 0);
	assert_true(o.opt_in_rate.null);	/* no population */
	assert_int_equal(o.f_enrolled.v, 0);
	cat_overview_free(&o);
	memset(&q, 0, sizeof(q));
	q.interval = CAT_WEEK;
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	assert_true(n >= 26);
	assert_int_equal(rows[0].enrolled.v, 0);
	assert_false(rows[0].members.null);
	free(rows);
}

static void
campaign__create_conflicts_update_list(void **state)
{
	struct itest *t = *state;
	struct cat_campaign c, c2, *list = NULL;
	struct cat_campaign_in in;
	const char *ds[] = { "north", "nowhere" };
	size_t n = 0;

	t_districts(t);
	struct db_val r[] = { db_text("blood"), db_text("Blood"), db_int(50) };
	t_exec(t, T_RULE, r, 3);
	memset(&in, 0, sizeof(in));
	in.name = "Blood drive";
	in.code = "blood-drive";
	in.starts_at = "2026-01-01 00:00:00";
	in.ends_at = "2026-02-01 00:00:00";
	in.bonus_rule = "blood";
	in.bonus_pct = 150;
	in.districts = ds;
	in.ndistricts = 1;
	assert_int_equal(cat_campaign_create(t->db, &in, &c), LY_OK);
	assert_int_equal(strncmp(c.public_id, "cmp_", 4), 0);
	assert_string_equal(c.bonus_rule, "blood");
	assert_int_equal(c.bonus_pct, 150);
	assert_int_equal(c.ndistricts, 1);
	assert_string_equal(c.districts[0], "north");
	assert_string_equal(c.starts_at, "2026-01-01T00:00:00Z");

	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(cat_campaign_create(t->db, &in, &c2),
	    LY_CAMPAIGN_EXISTS);
	db_rollback(t->db);
	in.code = "other";
	in.bonus_rule = "nope";
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(cat_campaign_create(t->db, &in, &c2), LY_UNKNOWN_RULE);
	db_rollback(t->db);
	in.bonus_rule = NULL;
	in.ndistricts = 2;
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(cat_campaign_create(t->db, &in, &c2),
	    LY_UNKNOWN_DISTRICT);
	db_rollback(t->db);
	in.ndistricts = 0;
	in.target = 100;
	assert_int_equal(cat_campaign_create(t->db, &in, &c2), LY_OK);
	assert_int_equal(c2.ndistricts, 0);
	assert_int_equal(c2.target, 100);

	/* change: no bonus, every district, new name; an inverted window
	 * is refused */
	memset(&in, 0, sizeof(in));
	in.has_name = 1;
	in.name = "Blood drive (extended)";
	in.has_bonus = 1;
	in.has_districts = 1;
	assert_int_equal(cat_campaign_update(t->db, c.public_id, &in, &c),
	    LY_OK);
	assert_string_equal(c.name, "Blood drive (extended)");
	assert_int_equal(c.bonus_pct, 0);
	assert_int_equal(c.ndistricts, 0);
	memset(&in, 0, sizeof(in));
	in.has_ends_at = 1;
	in.ends_at = "2025-01-01 00:00:00";
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(cat_campaign_update(t->db, c.public_id, &in, &c2),
	    LY_INVAL);
	db_rollback(t->db);
	assert_int_equal(cat_campaign_update(t->db, "cmp_nope", &in, &c2),
	    LY_CAMPAIGN_NOT_FOUND);

	assert_int_equal(cat_campaign_list(t->db, 0, 10, &list, &n), LY_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].code, "blood-drive");
	assert_string_equal(list[1].code, "other");
	free(list);
	assert_int_equal(cat_campaign_list(t->db, c.id, 10, &list, &n), LY_OK);
	assert_int_equal(n, 1);
	free(list);
}

static void
rollups__daily_upserts__follow_through_triggers(void **state)
{
	struct itest *t = *state;
	struct db_row *row;

	t_enrol(t, 3, "north", "", 2, 0);
	t_enrol(t, 3, "north", "poster", 3, 1);
	t_enrol(t, 3, "north", "", 4, 0);	/* an UPDATE of the first row */
	assert_int_equal(db_one(t->db, t_stmts[T_COUNT], NULL, 0, &row),
	    DB_ROW);
	assert_int_equal(row->col[0].i, 9);
}

static void
overview__ledger_awards__counted_and_small_rules_withheld(void **state)
{
	struct itest *t = *state;
	struct cat_overview o;
	struct ly_entry e;
	uint64_t m;
	int i;

	t_districts(t);
	struct db_val r1[] = { db_text("library"), db_text("Library visit"),
	    db_int(5) };
	t_exec(t, T_RULE, r1, 3);
	struct db_val r2[] = { db_text("blood"), db_text("Blood donation"),
	    db_int(50) };
	t_exec(t, T_RULE, r2, 3);
	struct db_val r3[] = { db_text("bike"), db_text("Bike commute"),
	    db_int(2) };
	t_exec(t, T_RULE, r3, 3);
	t_enrol(t, 0, "north", "", 7, 0);
	/* through the ledger: six awards under rule 1, three under rule 2,
	 * eight under rule 3 */
	for (i = 0; i < 17; i++) {
		m = itest_member(t, "north");
		memset(&e, 0, sizeof(e));
		e.member_id = m;
		e.kind = LY_AWARD;
		e.rule_id = i < 6 ? 1 : i < 9 ? 2 : 3;
		e.points = i < 6 ? 5 : i < 9 ? 50 : 2;
		assert_int_equal(ly_ledger_append(t->db, &e), LY_OK);
	}
	assert_int_equal(cat_stats_overview(t->db, K, &o), LY_OK);
	assert_false(o.awarded.null);
	assert_int_equal(o.awarded.v, 6 * 5 + 3 * 50 + 8 * 2);
	assert_int_equal(o.nrules, 3);
	assert_string_equal(o.rules[2].id, "bike");
	assert_string_equal(o.rules[2].title, "Bike commute");
	assert_false(o.rules[2].count.null);
	assert_int_equal(o.rules[2].count.v, 8);
	assert_int_equal(o.rules[2].points.v, 16);
	/* 3 awards: withheld with their points; and since the total is
	 * published, the smallest other rule (6) goes too, or total - the
	 * others would give the 3 back */
	assert_true(o.rules[1].count.null);
	assert_true(o.rules[1].points.null);
	assert_true(o.rules[0].count.null);
	/* nothing redeemed, refunded or closed: outstanding = awarded */
	assert_false(o.outstanding.null);
	assert_int_equal(o.outstanding.v, o.awarded.v);
	/* the funnel: 17 first earns on top of 7 enrolments written by hand */
	assert_int_equal(o.f_enrolled.v, 7);
	assert_int_equal(o.f_earned.v, 17);
	cat_overview_free(&o);
}

/*
 * One member enrols in east three days ago; north and south have crowds.
 * Every way the series can be sliced must keep that one enrolment
 * withheld: the district on that day, the city minus the other districts
 * that day, the week, and two overlapping ranges.
 */
static void
enrollment__single_member__cannot_be_singled_out(void **state)
{
	struct itest *t = *state;
	struct cat_series_q q;
	struct cat_series_row *rows = NULL, *rows2 = NULL;
	const struct cat_series_row *x;
	char from[11], to[11], to2[11];
	size_t n = 0, n2 = 0, i;
	int ago;

	t_districts(t);
	for (ago = 1; ago <= 12; ago++) {
		t_enrol(t, ago, "north", "", 20, 0);
		t_enrol(t, ago, "south", "", 30, 0);
	}
	t_enrol(t, 3, "east", "poster", 1, 0);

	memset(&q, 0, sizeof(q));
	t_day(3, from);
	q.from = q.to = from;
	q.district = "east";
	q.interval = CAT_DAY;
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	assert_int_equal(n, 1);
	assert_true(rows[0].enrolled.null);
	assert_true(rows[0].net.null);
	free(rows);

	/* the city that day is published: then north (the smallest other
	 * district) is withheld too, so city - south = north + east */
	q.district = NULL;
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	assert_false(rows[0].enrolled.null);
	assert_int_equal(rows[0].enrolled.v, 51);
	free(rows);
	q.district = "south";
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	assert_int_equal(rows[0].enrolled.v, 30);
	free(rows);
	q.district = "north";
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	assert_true(rows[0].enrolled.null);
	free(rows);

	/* east's week holds the one enrolment: withheld */
	q.district = "east";
	q.interval = CAT_WEEK;
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	assert_true(rows[0].enrolled.null);
	free(rows);

	/* two overlapping ranges give identical whole-period cells */
	q.district = NULL;
	q.interval = CAT_MONTH;
	t_day(10, from);
	t_day(3, to);
	t_day(4, to2);
	q.from = from;
	q.to = to;
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	q.to = to2;
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows2, &n2),
	    LY_OK);
	assert_int_equal(n, n2);
	for (i = 0; i < n; i++) {
		assert_string_equal(rows[i].period, rows2[i].period);
		assert_int_equal(rows[i].enrolled.null, rows2[i].enrolled.null);
		assert_int_equal(rows[i].enrolled.v, rows2[i].enrolled.v);
	}
	free(rows);
	free(rows2);

	/* member counts: published up to the day before east's enrolment,
	 * then withheld while east's change since then is 1 */
	q.interval = CAT_DAY;
	q.district = NULL;
	t_day(12, from);
	t_day(0, to);
	q.from = from;
	q.to = to;
	assert_int_equal(cat_stats_enrollment(t->db, K, &q, &rows, &n), LY_OK);
	x = t_row(rows, n, 4);
	assert_false(x->members.null);
	assert_int_equal(x->members.v, 9 * 50);
	assert_true(x->opt_in_rate.v > 0.0149 && x->opt_in_rate.v < 0.0151);
	for (ago = 3; ago >= 0; ago--)
		assert_true(t_row(rows, n, ago)->members.null);
	free(rows);
}

/* A small pilot whose history starts with one enrolment has no anchor
 * day: the overview then withholds member counts (null, as of no day)
 * instead of claiming 0 members as of today. */
static void
overview__no_anchor_day_yet__members_withheld_as_of_none(void **state)
{
	struct itest *t = *state;
	struct cat_overview o;
	size_t i;

	t_districts(t);
	t_enrol(t, 3, "east", "", 1, 0);
	assert_int_equal(cat_stats_overview(t->db, K, &o), LY_OK);
	assert_true(o.members.null);
	assert_string_equal(o.members_as_of, "");
	for (i = 0; i < o.ndistricts; i++)
		assert_true(o.districts[i].members.null);
	cat_overview_free(&o);

	/* once every district's flow since the start reaches K, that day
	 * anchors the counts again */
	t_enrol(t, 2, "east", "", K, 0);
	assert_int_equal(cat_stats_overview(t->db, K, &o), LY_OK);
	assert_false(o.members.null);
	assert_int_equal(o.members.v, K + 1);
	assert_true(strlen(o.members_as_of) == 10);
	cat_overview_free(&o);
}

static void
campaign_stats__enrolled_activation_bonus_districts(void **state)
{
	struct itest *t = *state;
	struct cat_campaign c;
	struct cat_campaign_in in;
	struct cat_campaign_stats st;
	char starts[32], ends[32], d[11];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	t_districts(t);
	gmtime_r(&(time_t){ now - 10 * 86400 }, &tm);
	strftime(starts, sizeof(starts), "%Y-%m-%d %H:%M:%S", &tm);
	gmtime_r(&(time_t){ now + 10 * 86400 }, &tm);
	strftime(ends, sizeof(ends), "%Y-%m-%d %H:%M:%S", &tm);
	memset(&in, 0, sizeof(in));
	in.name = "Posters";
	in.code = "poster";
	in.starts_at = starts;
	in.ends_at = ends;
	in.target = 40;
	assert_int_equal(cat_campaign_create(t->db, &in, &c), LY_OK);
	/* 16 in north, 4 in south through the poster; 10 activated; 50
	 * direct enrolments do not count; one poster enrolment before the
	 * window does not either */
	t_enrol(t, 2, "north", "poster", 16, 0);
	t_enrol(t, 2, "south", "poster", 4, 0);
	t_enrol(t, 2, "north", "", 50, 0);
	t_enrol(t, 30, "north", "poster", 7, 0);
	t_day(2, d);
	struct db_val f[] = { db_text(d), db_text("north"), db_text("poster"),
	    db_int(2), db_int(0), db_int(10) };
	t_exec(t, T_FUNNEL, f, 6);
	struct db_val p[] = { db_text(d), db_text("north"), db_int(1),
	    db_int((long long)c.id), db_int(3), db_int(6), db_int(600) };
	t_exec(t, T_POINTS, p, 7);

	assert_int_equal(cat_stats_campaign(t->db, K, c.public_id, &st), LY_OK);
	assert_int_equal(st.enrolled.v, 20);
	assert_false(st.progress.null);
	assert_true(st.progress.v > 0.499 && st.progress.v < 0.501);
	assert_false(st.activation_rate.null);
	assert_true(st.activation_rate.v > 0.499 && st.activation_rate.v < 0.501);
	assert_false(st.bonus_points.null);
	assert_int_equal(st.bonus_points.v, 600);
	/* south's 4 is withheld, and then north too (20 - north = south) */
	assert_int_equal(st.ndistricts, 2);
	for (i = 0; i < st.ndistricts; i++)
		assert_true(st.districts[i].count.null);
	free(st.districts);
	assert_int_equal(cat_stats_campaign(t->db, K, "cmp_none", &st),
	    LY_CAMPAIGN_NOT_FOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    empty__no_districts_no_data__zeros_not_crashes, itest_setup,
		    itest_teardown),
		cmocka_unit_test_setup_teardown(
		    campaign__create_conflicts_update_list, itest_setup,
		    itest_teardown),
		cmocka_unit_test_setup_teardown(
		    rollups__daily_upserts__follow_through_triggers, itest_setup,
		    itest_teardown),
		cmocka_unit_test_setup_teardown(
		    overview__ledger_awards__counted_and_small_rules_withheld,
		    itest_setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
		    enrollment__single_member__cannot_be_singled_out,
		    itest_setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
		    overview__no_anchor_day_yet__members_withheld_as_of_none,
		    itest_setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
		    campaign_stats__enrolled_activation_bonus_districts,
		    itest_setup, itest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
