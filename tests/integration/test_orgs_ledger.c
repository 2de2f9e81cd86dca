/*
 * test_orgs_ledger.c: organisations, API keys and the ledger against a
 * real MariaDB.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/itest.h"

static void
key__created_key__authenticates_its_org(void **state)
{
	struct itest *t = *state;
	char key[128], key_id[LIM_PUBLIC_ID_MAX];
	struct ly_org org, seen;

	assert_int_equal(ly_org_create(t->db, "Blood Bank", LY_ROLE_ISSUER,
	    &org), LY_OK);
	assert_int_equal(strncmp(org.public_id, "org_", 4), 0);
	assert_int_equal(ly_key_create(t->db, org.id, key, sizeof(key), key_id,
	    sizeof(key_id)), LY_OK);
	assert_int_equal(strncmp(key, "pk_", 3), 0);
	assert_int_equal(ly_key_check(t->db, key, &seen), LY_OK);
	assert_string_equal(seen.public_id, org.public_id);
	assert_int_equal(seen.roles, LY_ROLE_ISSUER);
}

/* A partner org with one API key: key holds 128 bytes, key_id
 * LIM_PUBLIC_ID_MAX. */
static void
partner_with_key(struct itest *t, const char *name, struct ly_org *org,
    char *key, char *key_id)
{
	itest_org(t, name, LY_ROLE_PARTNER, org);
	assert_int_equal(ly_key_create(t->db, org->id, key, 128, key_id,
	    LIM_PUBLIC_ID_MAX), LY_OK);
}

static void
key__one_character_changed__refused(void **state)
{
	struct itest *t = *state;
	char key[128], key_id[LIM_PUBLIC_ID_MAX];
	struct ly_org org, seen;

	partner_with_key(t, "Library", &org, key, key_id);
	key[strlen(key) - 1] = key[strlen(key) - 1] == 'A' ? 'B' : 'A';
	assert_int_equal(ly_key_check(t->db, key, &seen), LY_NOTFOUND);
	assert_int_equal(ly_key_check(t->db, "pk_short", &seen), LY_NOTFOUND);
}

static void
key__revoked__refused_and_revoke_twice_not_found(void **state)
{
	struct itest *t = *state;
	char key[128], key_id[LIM_PUBLIC_ID_MAX];
	struct ly_org org, seen;

	partner_with_key(t, "Bikes", &org, key, key_id);
	assert_int_equal(ly_key_revoke(t->db, key_id), LY_OK);
	assert_int_equal(ly_key_check(t->db, key, &seen), LY_NOTFOUND);
	assert_int_equal(ly_key_revoke(t->db, key_id), LY_KEY_NOT_FOUND);
}

static void
org__duplicate_name__org_exists(void **state)
{
	struct itest *t = *state;
	struct ly_org org;

	assert_int_equal(ly_org_create(t->db, "Twice", LY_ROLE_MANAGER, &org),
	    LY_OK);
	assert_int_equal(ly_org_create(t->db, "Twice", LY_ROLE_MANAGER, &org),
	    LY_ORG_EXISTS);
}

static void
ledger__award_then_spend__balance_and_lifetime_follow(void **state)
{
	struct itest *t = *state;
	uint64_t m = itest_member(t, "north");
	struct ly_entry e = { .member_id = m, .kind = LY_AWARD, .points = 10,
	    .rule_id = 1 };

	assert_int_equal(ly_ledger_append(t->db, &e), LY_OK);
	assert_int_equal(e.balance_after, 10);
	assert_int_equal(e.lifetime_after, 10);
	struct ly_entry s = { .member_id = m, .kind = LY_REDEMPTION,
	    .points = -4, .perk_id = 1 };
	assert_int_equal(ly_ledger_append(t->db, &s), LY_OK);
	assert_int_equal(s.balance_after, 6);
	assert_int_equal(s.lifetime_after, 10);
}

static void
ledger__overspend__insufficient_points_and_nothing_written(void **state)
{
	struct itest *t = *state;
	static const char *const q = "SELECT COUNT(*), COALESCE(SUM(points),0) "
	    "FROM ledger WHERE member_id = ?";
	uint64_t m = itest_member(t, "north");
	struct ly_entry e = { .member_id = m, .kind = LY_AWARD, .points = 5 };
	struct db_row *row;

	assert_int_equal(ly_ledger_append(t->db, &e), LY_OK);
	struct ly_entry s = { .member_id = m, .kind = LY_REDEMPTION,
	    .points = -6, .perk_id = 1 };
	assert_int_equal(ly_ledger_append(t->db, &s), LY_INSUFFICIENT_POINTS);
	struct db_val p[] = { db_int((long long)m) };
	assert_int_equal(db_one(t->db, q, p, 1, &row), DB_ROW);
	assert_int_equal(row->col[0].i, 1);
	assert_int_equal(row->col[1].i, 5);
}

static void
ledger__wrong_sign_for_kind__refused(void **state)
{
	struct itest *t = *state;
	uint64_t m = itest_member(t, "north");
	struct ly_entry neg_award = { .member_id = m, .kind = LY_AWARD,
	    .points = -5 };
	struct ly_entry pos_closure = { .member_id = m, .kind = LY_CLOSURE,
	    .points = 5 };

	assert_int_equal(ly_ledger_append(t->db, &neg_award), LY_INVAL);
	assert_int_equal(ly_ledger_append(t->db, &pos_closure), LY_INVAL);
}

static void
ledger__unknown_member__not_enrolled(void **state)
{
	struct itest *t = *state;
	struct ly_entry e = { .member_id = 999999, .kind = LY_AWARD,
	    .points = 5 };

	assert_int_equal(ly_ledger_append(t->db, &e), LY_NOT_ENROLLED);
}

static void
ledger__award__daily_aggregate_and_funnel_move(void **state)
{
	struct itest *t = *state;
	static const char *const qa = "SELECT COALESCE(SUM(points),0), "
	    "COALESCE(SUM(entries),0) FROM agg_points_daily WHERE district = "
	    "'east' AND kind = 'award' AND ref_id = 7";
	static const char *const qf = "SELECT COALESCE(SUM(earned),0) FROM "
	    "agg_funnel_daily WHERE district = 'east'";
	uint64_t m = itest_member(t, "east");
	struct ly_entry a = { .member_id = m, .kind = LY_AWARD, .points = 3,
	    .rule_id = 7 };
	struct ly_entry b = { .member_id = m, .kind = LY_AWARD, .points = 4,
	    .rule_id = 7 };
	struct db_row *row;

	assert_int_equal(ly_ledger_append(t->db, &a), LY_OK);
	assert_int_equal(ly_ledger_append(t->db, &b), LY_OK);
	assert_int_equal(db_one(t->db, qa, NULL, 0, &row), DB_ROW);
	assert_int_equal(row->col[0].i, 7);
	assert_int_equal(row->col[1].i, 2);
	/* the funnel counts the member once, at the first earn */
	assert_int_equal(db_one(t->db, qf, NULL, 0, &row), DB_ROW);
	assert_int_equal(row->col[0].i, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key__created_key__authenticates_its_org),
		cmocka_unit_test(key__one_character_changed__refused),
		cmocka_unit_test(key__revoked__refused_and_revoke_twice_not_found),
		cmocka_unit_test(org__duplicate_name__org_exists),
		cmocka_unit_test(ledger__award_then_spend__balance_and_lifetime_follow),
		cmocka_unit_test(ledger__overspend__insufficient_points_and_nothing_written),
		cmocka_unit_test(ledger__wrong_sign_for_kind__refused),
		cmocka_unit_test(ledger__unknown_member__not_enrolled),
		cmocka_unit_test(ledger__award__daily_aggregate_and_funnel_move),
	};

	return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
