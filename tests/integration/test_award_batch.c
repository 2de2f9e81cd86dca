/*
 * test_award_batch.c: ly_award_batch() against ly_award() item by item,
 * and ly_ledger_append_many() against ly_ledger_append() entry by entry,
 * on a real MariaDB: the set-wise paths must give the same answers,
 * balances, ledger rows and aggregates, across chunk boundaries
 * (LIM_DB_ROWS_MAX), with caps, bonuses, repeats and refusals, and leave
 * `ly_verify` clean.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/itest.h"

static struct ly_org org_a, org_b;

static const struct itest_rule programme[] = {
	{ "vol", "Volunteering hour", 10, 35, &org_a },
	{ "blood", "Blood donation", 7, 0, &org_a },
	{ "quiz", "Quiz", 3, 9, &org_b },
};

static int
group_setup(void **state)
{
	struct itest *t;

	itest_setup(state);
	t = *state;
	itest_programme(t, &org_a, &org_b, programme,
	    sizeof(programme) / sizeof(programme[0]));
	/* a bonus on vol in the south only */
	assert_int_equal(db_exec(t->db, "INSERT INTO campaigns (public_id, "
	    "name, code, starts_at, ends_at, bonus_rule_id, bonus_pct, "
	    "all_districts, created_at, updated_at) SELECT 'cmp_S', 'S', 's', "
	    "UTC_TIMESTAMP() - INTERVAL 1 DAY, UTC_TIMESTAMP() + INTERVAL 1 DAY, "
	    "id, 150, 0, UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM rules WHERE "
	    "code = 'vol'", NULL, 0), DB_OK);
	assert_int_equal(db_exec(t->db, "INSERT INTO campaign_districts "
	    "(campaign_id, district) SELECT id, 'south' FROM campaigns WHERE "
	    "public_id = 'cmp_S'", NULL, 0), DB_OK);
	return 0;
}

static void
enroll(struct itest *t, const char *sub, const char *district)
{
	unsigned char h[32];
	struct ly_enroll in = { h, "v1", district, NULL, 1, NULL, 0 };
	struct ly_member m;

	ly_subject_hash(&t->ctx, sub, h);
	assert_int_equal(ly_member_enroll(t->db, &in, &m), LY_OK);
}

static long long
num(struct itest *t, const char *sql, struct db_val p)
{
	struct db_row *row;

	assert_int_equal(db_one(t->db, sql, &p, 1, &row), DB_ROW);
	return row->col[0].i;
}

static void
verify_cb(uint64_t member_id, const char *what, void *arg)
{
	fprintf(stderr, "verify: member %llu: %s\n",
	    (unsigned long long)member_id, what);
	(*(size_t *)arg)++;
}

static void
verify_clean(struct itest *t)
{
	size_t bad = 0, seen = 0;

	assert_int_equal(ly_verify(t->db, verify_cb, &seen, &bad), LY_OK);
	assert_int_equal(bad, 0);
}

/*
 * The scenario for one side ("s" single, "b" batch): NSUB members (two
 * districts, one who allows only issuer B), a stranger, and NITEMS items
 * that cross chunk boundaries: each member gets capped and uncapped
 * awards, some references repeat (within the list, and one awarded
 * before), some differ only by trailing spaces, and some items are
 * refused (unknown rule, foreign rule, not a member, source withdrawn).
 */
#define NSUB	150
#define NITEMS	700

struct scen {
	char			 subs[NSUB + 1][48];
	unsigned char		 hash[NSUB + 1][32];
	char			 refs[NITEMS][64];
	struct ly_award_item	 items[NITEMS];
};

static void
scen_build(struct itest *t, struct scen *s, const char *side)
{
	/* "VOL" is "vol" to the rules table's collation: one rule, one cap */
	static const char *const rules[] = { "vol", "blood", "VOL", "nope",
	    "quiz", "vol", "blood" };
	size_t i, sub;

	memset(s, 0, sizeof(*s));
	for (i = 0; i <= NSUB; i++) {
		snprintf(s->subs[i], sizeof(s->subs[i]), "ab-%s-%zu", side, i);
		ly_subject_hash(&t->ctx, s->subs[i], s->hash[i]);
		if (i < NSUB)
			enroll(t, s->subs[i], i % 3 ? "north" : "south");
	}
	/* member 1 allows issuer B only: issuer A sees a non-member */
	{
		const char *only_b[1] = { org_b.public_id };
		struct ly_member m;
		assert_int_equal(ly_member_find(t->db, s->hash[1], 0, &m),
		    LY_OK);
		assert_int_equal(ly_member_sources_set(t->db, m.id, 0, only_b,
		    1), LY_OK);
	}
	for (i = 0; i < NITEMS; i++) {
		sub = (i * 7) % (NSUB + 1);	/* NSUB = the stranger */
		if (i % 11 == 5 && i > 20)	/* a repeat of an earlier ref */
			snprintf(s->refs[i], sizeof(s->refs[i]), "%s",
			    s->refs[i - 13]);
		else if (i % 17 == 3 && i > 20)	/* same key: trailing space */
			snprintf(s->refs[i], sizeof(s->refs[i]), "%s ",
			    s->refs[i - 2]);
		else
			snprintf(s->refs[i], sizeof(s->refs[i]), "%s-ref-%zu",
			    side, i);
		s->items[i].in.issuer_id = org_a.id;
		s->items[i].in.subject_hash = s->hash[sub];
		s->items[i].in.rule = rules[i % 7];
		s->items[i].in.external_ref = s->refs[i];
		s->items[i].in.occurred_at = i % 2 ? "2026-01-02 03:04:05" :
		    NULL;
	}
	/* awarded before the list runs */
	{
		struct ly_award a;
		assert_int_equal(ly_award(t->db, &s->items[0].in, &a), LY_OK);
	}
}

static void
batch__every_answer__as_single_awards_item_by_item(void **state)
{
	struct itest *t = *state;
	static const char *const q_funnel = "SELECT SUM(earned) + "
	    "SUM(earned_30d) FROM agg_funnel_daily WHERE ? = 1";
	struct scen *s = calloc(1, sizeof(*s)), *b = calloc(1, sizeof(*b));
	size_t i, j, refused = 0, dups = 0;
	long long f0, f1, f2;

	assert_non_null(s);
	assert_non_null(b);
	scen_build(t, s, "s");
	scen_build(t, b, "b");
	f0 = num(t, q_funnel, db_int(1));
	for (i = 0; i < NITEMS; i++)
		s->items[i].res = ly_award(t->db, &s->items[i].in,
		    &s->items[i].out);
	f1 = num(t, q_funnel, db_int(1));
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_award_batch(t->db, b->items, NITEMS), LY_OK);
	assert_int_equal(db_commit(t->db), DB_OK);
	f2 = num(t, q_funnel, db_int(1));
	/* the funnel counts each member's first earn once on both paths
	 * (scen_build's earlier award already counted member 0) */
	assert_true(f1 - f0 > 100);
	assert_int_equal(f2 - f1, f1 - f0);

	for (i = 0; i < NITEMS; i++) {
		const struct ly_award_item *x = &s->items[i], *y = &b->items[i];
		if (x->res != y->res || (x->res == LY_OK &&
		    (x->out.points != y->out.points ||
		    x->out.capped != y->out.capped ||
		    x->out.balance != y->out.balance ||
		    x->out.duplicate != y->out.duplicate ||
		    strcmp(x->out.rule, y->out.rule) != 0 ||
		    strcmp(x->out.campaign, y->out.campaign) != 0)))
			fail_msg("item %zu: single res %d points %lld capped %d "
			    "balance %lld dup %d rule %s cmp %s; batch res %d "
			    "points %lld capped %d balance %lld dup %d rule %s "
			    "cmp %s", i, x->res, x->out.points, x->out.capped,
			    x->out.balance, x->out.duplicate, x->out.rule,
			    x->out.campaign, y->res, y->out.points,
			    y->out.capped, y->out.balance, y->out.duplicate,
			    y->out.rule, y->out.campaign);
		refused += x->res != LY_OK;
		dups += x->res == LY_OK && x->out.duplicate;
		/* items answering with the same award agree on both sides */
		for (j = 0; x->res == LY_OK && j < i; j++)
			if (s->items[j].res == LY_OK)
				assert_int_equal(x->out.id == s->items[j].out.id,
				    y->out.id == b->items[j].out.id);
	}
	/* the scenario really has every kind of answer */
	assert_true(refused > 50);
	assert_true(dups > 30);
	for (i = 0; i < NITEMS && !(s->items[i].res == LY_OK &&
	    s->items[i].out.capped && s->items[i].out.points > 0); i++)
		;
	assert_true(i < NITEMS);
	for (i = 0; i < NITEMS && s->items[i].out.campaign[0] == '\0'; i++)
		;
	assert_true(i < NITEMS);
	/* nothing about the stranger: no member, no award, no log */
	assert_int_equal(num(t, "SELECT COUNT(*) FROM awards WHERE "
	    "external_ref LIKE ?", db_text("b-ref-%")) , num(t, "SELECT "
	    "COUNT(*) FROM awards WHERE external_ref LIKE ?",
	    db_text("s-ref-%")));
	assert_int_equal(num(t, "SELECT COUNT(*) FROM access_log a JOIN "
	    "awards w ON w.member_id = a.member_id WHERE w.external_ref LIKE ?",
	    db_text("b-ref-%")), num(t, "SELECT COUNT(*) FROM access_log a "
	    "JOIN awards w ON w.member_id = a.member_id WHERE "
	    "w.external_ref LIKE ?", db_text("s-ref-%")));
	verify_clean(t);
	free(s);
	free(b);
}

static void
batch__again__every_item_the_first_award_nothing_credited(void **state)
{
	struct itest *t = *state;
	struct ly_award_item it[300], again[300];
	unsigned char h[32];
	char refs[300][32];
	size_t i;

	enroll(t, "again", "north");
	ly_subject_hash(&t->ctx, "again", h);
	memset(it, 0, sizeof(it));
	for (i = 0; i < 300; i++) {
		snprintf(refs[i], sizeof(refs[i]), "again-%zu", i);
		it[i].in = (struct ly_award_in){ org_a.id, h, "blood", refs[i],
		    NULL };
	}
	memcpy(again, it, sizeof(it));
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_award_batch(t->db, it, 300), LY_OK);
	assert_int_equal(db_commit(t->db), DB_OK);
	assert_int_equal(it[299].out.balance, 300 * 7);
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_award_batch(t->db, again, 300), LY_OK);
	assert_int_equal(db_commit(t->db), DB_OK);
	for (i = 0; i < 300; i++) {
		assert_int_equal(again[i].res, LY_OK);
		assert_int_equal(again[i].out.duplicate, 1);
		assert_int_equal(again[i].out.id, it[i].out.id);
		assert_int_equal(again[i].out.balance, 300 * 7);
	}
	assert_int_equal(num(t, "SELECT COUNT(*) FROM ledger l JOIN awards a "
	    "ON a.id = l.award_id WHERE a.external_ref LIKE ?",
	    db_text("again-%")), 300);
	verify_clean(t);
}

static void
batch__skipped_and_mixed_issuers__skipped_untouched_mixed_refused(
    void **state)
{
	struct itest *t = *state;
	struct ly_award_item it[3];
	unsigned char h[32];

	enroll(t, "mixed", "north");
	ly_subject_hash(&t->ctx, "mixed", h);
	memset(it, 0, sizeof(it));
	it[0].in = (struct ly_award_in){ org_a.id, h, "blood", "mx-1", NULL };
	it[1].skip = 1;
	it[2].in = (struct ly_award_in){ org_a.id, h, "blood", "mx-2", NULL };
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_award_batch(t->db, it, 3), LY_OK);
	assert_int_equal(db_commit(t->db), DB_OK);
	assert_int_equal(it[2].out.balance, 14);
	assert_int_equal(it[1].out.id, 0);
	it[2].in.issuer_id = org_b.id;
	assert_int_equal(ly_award_batch(t->db, it, 3), LY_INVAL);
}

static void
ledger_many__entries__same_rows_and_aggregates_as_single_appends(
    void **state)
{
	struct itest *t = *state;
	struct ly_entry one[12], many[12];
	struct ly_member mem;
	unsigned char h[32];
	char sub[16];
	uint64_t m[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(sub, sizeof(sub), "lm-%zu", i);
		enroll(t, sub, i % 2 ? "north" : "south");
		ly_subject_hash(&t->ctx, sub, h);
		assert_int_equal(ly_member_find(t->db, h, 0, &mem), LY_OK);
		m[i] = mem.id;
	}
	/* refunds and redemptions (awards need award rows: the batch test
	 * covers them); perk 99 stands for any perk */
	memset(one, 0, sizeof(one));
	for (i = 0; i < 12; i++) {
		one[i].member_id = m[i % 2];
		one[i].kind = i % 5 == 4 ? LY_REDEMPTION : LY_REFUND;
		one[i].points = one[i].kind == LY_REFUND ? (long long)(i + 1) :
		    -2;
		one[i].perk_id = 99;
	}
	memcpy(many, one, sizeof(one));
	for (i = 0; i < 12; i++) {
		many[i].member_id = m[2 + i % 2];
		assert_int_equal(ly_ledger_append(t->db, &one[i]), LY_OK);
	}
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_ledger_append_many(t->db, many, 12), LY_OK);
	assert_int_equal(db_commit(t->db), DB_OK);
	for (i = 0; i < 12; i++) {
		assert_int_equal(many[i].balance_after, one[i].balance_after);
		assert_int_equal(many[i].lifetime_after, one[i].lifetime_after);
	}
	/* the same funnel: a first redemption each */
	assert_int_equal(num(t, "SELECT COUNT(*) FROM members WHERE "
	    "first_redeemed_at IS NOT NULL AND id >= ?",
	    db_int((long long)m[0])), 4);
	assert_int_equal(num(t, "SELECT COALESCE(SUM(redeemed), 0) FROM "
	    "agg_funnel_daily WHERE district IN ('north', 'south') AND ? = 1",
	    db_int(1)) >= 4, 1);
	verify_clean(t);
	/* a balance that would go negative refuses the whole call */
	struct ly_entry bad[2] = {
		{ .member_id = m[2], .kind = LY_REFUND, .points = 1,
		  .perk_id = 99 },
		{ .member_id = m[3], .kind = LY_REDEMPTION, .points = -100000,
		  .perk_id = 99 },
	};
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_ledger_append_many(t->db, bad, 2),
	    LY_INSUFFICIENT_POINTS);
	db_rollback(t->db);
	struct ly_entry neg = { .member_id = m[2], .kind = LY_AWARD,
	    .points = -1 };
	assert_int_equal(ly_ledger_append_many(t->db, &neg, 1), LY_INVAL);
	verify_clean(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch__every_answer__as_single_awards_item_by_item),
		cmocka_unit_test(batch__again__every_item_the_first_award_nothing_credited),
		cmocka_unit_test(batch__skipped_and_mixed_issuers__skipped_untouched_mixed_refused),
		cmocka_unit_test(ledger_many__entries__same_rows_and_aggregates_as_single_appends),
	};

	return cmocka_run_group_tests(tests, group_setup, itest_teardown);
}
