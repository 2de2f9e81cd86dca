/*
 * test_loyalty.c: members, consent, sources, awards (caps, repeats,
 * bonuses, non-members), opt-out erasure, rules, tiers, districts and the
 * invariant check, against a real MariaDB. The group shares one
 * database; each test uses its own subjects.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "tests/integration/itest.h"

static struct ly_org org_a, org_b, org_p;	/* issuers A, B; partner P */

static const struct itest_rule programme[] = {
	{ "vol", "Volunteering hour", 10, 40, &org_a },
	{ "blood", "Blood donation", 50, 0, &org_a },
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
	itest_org(t, "Partner P", LY_ROLE_PARTNER, &org_p);
	return 0;
}

/* ---- helpers ---- */

static void
hash_of(struct itest *t, const char *sub, unsigned char h[32])
{
	ly_subject_hash(&t->ctx, sub, h);
}

static uint64_t
enroll(struct itest *t, const char *sub, const char *district,
    const char *channel)
{
	unsigned char h[32];
	struct ly_enroll in = { h, "v1", district, channel, 1, NULL, 0 };
	struct ly_member m;

	hash_of(t, sub, h);
	assert_int_equal(ly_member_enroll(t->db, &in, &m), LY_OK);
	return m.id;
}

static enum ly_res
award(struct itest *t, const struct ly_org *issuer, const char *sub,
    const char *rule, const char *ref, struct ly_award *out)
{
	unsigned char h[32];
	struct ly_award_in in = { issuer->id, h, rule, ref, NULL };

	hash_of(t, sub, h);
	return ly_award(t->db, &in, out);
}

/* One number from a query with one integer or text parameter. */
static long long
num(struct itest *t, const char *sql, struct db_val p)
{
	struct db_row *row;

	assert_int_equal(db_one(t->db, sql, &p, 1, &row), DB_ROW);
	return row->col[0].i;
}

static long long
num0(struct itest *t, const char *sql)
{
	struct db_row *row;

	assert_int_equal(db_one(t->db, sql, NULL, 0, &row), DB_ROW);
	return row->col[0].i;
}

static void
verify_cb(uint64_t member_id, const char *what, void *arg)
{
	fprintf(stderr, "verify: member %llu: %s\n",
	    (unsigned long long)member_id, what);
	*(uint64_t *)arg = member_id;
}

static size_t
verify(struct itest *t, uint64_t *last)
{
	size_t bad = 0;

	*last = 0;
	assert_int_equal(ly_verify(t->db, verify_cb, last, &bad), LY_OK);
	return bad;
}

/* ---- enrolment ---- */

static void
enroll__new_subject__member_consent_and_aggregates(void **state)
{
	struct itest *t = *state;
	unsigned char h[32];
	struct ly_member m;
	uint64_t id = enroll(t, "enr-1", "north", "poster");

	hash_of(t, "enr-1", h);
	assert_int_equal(ly_member_find(t->db, h, 0, &m), LY_OK);
	assert_int_equal(m.id, id);
	assert_string_equal(m.district, "north");
	assert_int_equal(m.balance, 0);
	assert_int_equal(m.sources_all, 1);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM consents WHERE "
	    "member_id = ? AND action = 'enroll' AND consent_version = 'v1' "
	    "AND channel = 'poster' AND sources IS NULL",
	    db_int((long long)id)), 1);
	assert_int_equal(num0(t, "SELECT SUM(enrolled) FROM agg_enroll_daily "
	    "WHERE district = 'north' AND channel = 'poster'"), 1);
	assert_int_equal(num0(t, "SELECT SUM(enrolled) FROM agg_funnel_daily "
	    "WHERE district = 'north' AND channel = 'poster'"), 1);
	/* the raw subject is stored nowhere, only its keyed hash */
	assert_int_equal(num(t, "SELECT COUNT(*) FROM members WHERE "
	    "subject_hash = ?", db_blob(h, 32)), 1);
}

static void
enroll__twice__already_enrolled(void **state)
{
	struct itest *t = *state;
	unsigned char h[32];
	struct ly_enroll in = { h, "v1", "north", NULL, 1, NULL, 0 };
	struct ly_member m;

	enroll(t, "enr-2", "north", NULL);
	hash_of(t, "enr-2", h);
	assert_int_equal(ly_member_enroll(t->db, &in, &m),
	    LY_ALREADY_ENROLLED);
}

static void
enroll__unknown_district__refused_nothing_written(void **state)
{
	struct itest *t = *state;
	unsigned char h[32];
	struct ly_enroll in = { h, "v1", "atlantis", NULL, 1, NULL, 0 };
	struct ly_member m;
	long long before = num0(t, "SELECT COUNT(*) FROM members");

	hash_of(t, "enr-3", h);
	assert_int_equal(ly_member_enroll(t->db, &in, &m), LY_UNKNOWN_DISTRICT);
	assert_int_equal(num0(t, "SELECT COUNT(*) FROM members"), before);
}

static void
enroll__partner_or_unknown_source__unknown_issuer(void **state)
{
	struct itest *t = *state;
	unsigned char h[32];
	const char *src[] = { org_a.public_id, org_p.public_id };
	const char *bad[] = { "org_DOESNOTEXIST" };
	struct ly_enroll in = { h, "v1", "north", NULL, 0, src, 2 };
	struct ly_member m;

	hash_of(t, "enr-4", h);
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_member_enroll(t->db, &in, &m), LY_UNKNOWN_ISSUER);
	db_rollback(t->db);
	in.sources = bad;
	in.nsources = 1;
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_member_enroll(t->db, &in, &m), LY_UNKNOWN_ISSUER);
	db_rollback(t->db);
	assert_int_equal(ly_member_find(t->db, h, 0, &m), LY_NOT_ENROLLED);
}

static void
sources__subset_then_all__awards_follow_and_history_records(void **state)
{
	struct itest *t = *state;
	unsigned char h[32];
	const char *only_b[] = { org_b.public_id };
	struct ly_enroll in = { h, "v1", "south", NULL, 0, only_b, 1 };
	struct ly_member m;
	struct ly_award a;

	hash_of(t, "src-1", h);
	assert_int_equal(ly_member_enroll(t->db, &in, &m), LY_OK);
	assert_int_equal(m.sources_all, 0);
	/* A is not allowed: as if the subject were not a member */
	assert_int_equal(award(t, &org_a, "src-1", "blood", "src-1-a", &a),
	    LY_NOT_ENROLLED);
	assert_int_equal(award(t, &org_b, "src-1", "quiz", "src-1-b", &a),
	    LY_OK);
	assert_int_equal(a.points, 3);
	/* withdrawing B keeps the points already earned */
	assert_int_equal(ly_member_sources_set(t->db, m.id, 0, NULL, 0), LY_OK);
	assert_int_equal(award(t, &org_b, "src-1", "quiz", "src-1-c", &a),
	    LY_NOT_ENROLLED);
	assert_int_equal(ly_member_find(t->db, h, 0, &m), LY_OK);
	assert_int_equal(m.balance, 3);
	/* back to every issuer */
	assert_int_equal(ly_member_sources_set(t->db, m.id, 1, NULL, 0), LY_OK);
	assert_int_equal(award(t, &org_a, "src-1", "blood", "src-1-d", &a),
	    LY_OK);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM consents WHERE "
	    "member_id = ?", db_int((long long)m.id)), 3);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM consents WHERE "
	    "member_id = ? AND action = 'sources' AND sources = '[]'",
	    db_int((long long)m.id)), 1);
}

/* ---- awards ---- */

static void
award__member__credited_with_ledger_and_access_log(void **state)
{
	struct itest *t = *state;
	uint64_t id = enroll(t, "awd-1", "north", NULL);
	struct ly_award a;

	assert_int_equal(award(t, &org_a, "awd-1", "blood", "awd-1-r1", &a),
	    LY_OK);
	assert_int_equal(a.points, 50);
	assert_false(a.capped);
	assert_false(a.duplicate);
	assert_int_equal(a.balance, 50);
	assert_string_equal(a.rule, "blood");
	assert_int_equal(num(t, "SELECT COUNT(*) FROM ledger WHERE member_id = "
	    "? AND kind = 'award' AND points = 50 AND balance_after = 50 AND "
	    "award_id IS NOT NULL", db_int((long long)id)), 1);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM access_log WHERE "
	    "member_id = ? AND action = 'award'", db_int((long long)id)), 1);
}

static void
award__daily_cap__cuts_then_zero_and_says_capped(void **state)
{
	struct itest *t = *state;
	static const long long want[] = { 10, 10, 10, 10, 0, 0 };
	char ref[32];
	struct ly_award a;
	size_t i;

	enroll(t, "cap-1", "north", NULL);
	for (i = 0; i < 6; i++) {
		snprintf(ref, sizeof(ref), "cap-1-%zu", i);
		assert_int_equal(award(t, &org_a, "cap-1", "vol", ref, &a),
		    LY_OK);
		assert_int_equal(a.points, want[i]);
		assert_int_equal(a.capped, i >= 4);
	}
	assert_int_equal(a.balance, 40);
}

static void
award__cap_not_multiple__last_award_cut_to_room(void **state)
{
	struct itest *t = *state;
	struct ly_award a;
	char ref[32];
	int i;

	/* quiz: 3 points, cap 9 -> after three awards nothing is left;
	 * lower the cap to 7: the third award is cut to 1 */
	enroll(t, "cap-2", "north", NULL);
	struct ly_rule_in ch = { .daily_cap = 7, .has_daily_cap = 1 };
	assert_int_equal(ly_rule_update(t->db, "quiz", &ch), LY_OK);
	for (i = 0; i < 3; i++) {
		snprintf(ref, sizeof(ref), "cap-2-%d", i);
		assert_int_equal(award(t, &org_b, "cap-2", "quiz", ref, &a),
		    LY_OK);
	}
	assert_int_equal(a.points, 1);
	assert_true(a.capped);
	assert_int_equal(a.balance, 7);
	ch.daily_cap = 9;
	assert_int_equal(ly_rule_update(t->db, "quiz", &ch), LY_OK);
}

static void
award__same_reference__first_award_nothing_credited(void **state)
{
	struct itest *t = *state;
	uint64_t id = enroll(t, "dup-1", "north", NULL);
	struct ly_award a, b;

	assert_int_equal(award(t, &org_a, "dup-1", "blood", "dup-ref", &a),
	    LY_OK);
	assert_int_equal(award(t, &org_a, "dup-1", "blood", "dup-ref", &b),
	    LY_OK);
	assert_true(b.duplicate);
	assert_int_equal(b.id, a.id);
	assert_int_equal(b.points, 50);
	assert_int_equal(b.balance, 50);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM ledger WHERE "
	    "member_id = ?", db_int((long long)id)), 1);
	/* the same reference from another issuer is another act */
	assert_int_equal(award(t, &org_b, "dup-1", "quiz", "dup-ref", &b),
	    LY_OK);
	assert_false(b.duplicate);
}

static void
award__non_member__not_enrolled_and_nothing_stored(void **state)
{
	struct itest *t = *state;
	static const char *const counts = "SELECT (SELECT COUNT(*) FROM "
	    "awards) + (SELECT COUNT(*) FROM ledger) + (SELECT COUNT(*) FROM "
	    "access_log) + (SELECT COUNT(*) FROM members) + (SELECT COUNT(*) "
	    "FROM consents) + (SELECT COUNT(*) FROM agg_points_daily)";
	long long before = num0(t, counts);
	struct ly_award a;

	assert_int_equal(award(t, &org_a, "stranger", "blood", "s-1", &a),
	    LY_NOT_ENROLLED);
	assert_int_equal(award(t, &org_a, "stranger", "nope", "s-2", &a),
	    LY_NOT_ENROLLED);
	assert_int_equal(num0(t, counts), before);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM awards WHERE "
	    "external_ref = ?", db_text("s-1")), 0);
}

static void
award__unknown_inactive_or_foreign_rule__refused(void **state)
{
	struct itest *t = *state;
	struct ly_award a;
	struct ly_rule_in in = { .code = "retired", .title = "Retired",
	    .points = 5 };
	const char *ia[] = { org_a.public_id };

	enroll(t, "rule-1", "north", NULL);
	assert_int_equal(award(t, &org_a, "rule-1", "nope", "r-1", &a),
	    LY_UNKNOWN_RULE);
	assert_int_equal(award(t, &org_a, "rule-1", "quiz", "r-2", &a),
	    LY_RULE_NOT_ALLOWED);
	in.issuers = ia;
	in.nissuers = 1;
	assert_int_equal(ly_rule_create(t->db, &in), LY_OK);
	assert_int_equal(award(t, &org_a, "rule-1", "retired", "r-3", &a),
	    LY_OK);
	struct ly_rule_in off = { .has_active = 1, .active = 0 };
	assert_int_equal(ly_rule_update(t->db, "retired", &off), LY_OK);
	assert_int_equal(award(t, &org_a, "rule-1", "retired", "r-4", &a),
	    LY_UNKNOWN_RULE);
}

static void
award__campaign_bonus__best_active_for_the_district(void **state)
{
	struct itest *t = *state;
	static const char *const ins = "INSERT INTO campaigns (public_id, "
	    "name, code, starts_at, ends_at, bonus_rule_id, bonus_pct, "
	    "all_districts, created_at, updated_at) SELECT ?, ?, ?, "
	    "UTC_TIMESTAMP() - INTERVAL 1 DAY, UTC_TIMESTAMP() + INTERVAL ? DAY, "
	    "id, ?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM rules WHERE "
	    "code = 'blood'";
	struct ly_award a;
	struct ly_rule rl;
	uint64_t all, south;

	enroll(t, "cmp-n", "north", NULL);
	enroll(t, "cmp-s", "south", NULL);
	struct db_val c1[] = { db_text("cmp_ALL"), db_text("Everyone"),
	    db_text("everyone"), db_int(10), db_int(150), db_int(1) };
	assert_int_equal(db_exec(t->db, ins, c1, 6), DB_OK);
	all = db_insert_id(t->db);
	struct db_val c2[] = { db_text("cmp_SOUTH"), db_text("South"),
	    db_text("south-push"), db_int(10), db_int(200), db_int(0) };
	assert_int_equal(db_exec(t->db, ins, c2, 6), DB_OK);
	south = db_insert_id(t->db);
	struct db_val cd[] = { db_int((long long)south) };
	assert_int_equal(db_exec(t->db, "INSERT INTO campaign_districts "
	    "(campaign_id, district) VALUES (?, 'south')", cd, 1), DB_OK);
	/* an ended campaign with a bigger bonus does not count */
	struct db_val c3[] = { db_text("cmp_OLD"), db_text("Old"),
	    db_text("old"), db_int(0), db_int(300), db_int(1) };
	assert_int_equal(db_exec(t->db, ins, c3, 6), DB_OK);

	assert_int_equal(award(t, &org_a, "cmp-n", "blood", "cmp-n-1", &a),
	    LY_OK);
	assert_int_equal(a.points, 75);
	assert_int_equal(a.campaign_id, all);
	assert_string_equal(a.campaign, "cmp_ALL");
	assert_int_equal(award(t, &org_a, "cmp-s", "blood", "cmp-s-1", &a),
	    LY_OK);
	assert_int_equal(a.points, 100);
	assert_int_equal(a.campaign_id, south);
	assert_int_equal(num(t, "SELECT COALESCE(SUM(points), 0) FROM "
	    "agg_points_daily WHERE kind = 'award' AND campaign_id = ?",
	    db_int((long long)south)), 100);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM awards WHERE "
	    "campaign_id = ? AND base_points = 100", db_int((long long)south)),
	    1);
	/* the public rule shows the best bonus in force and its districts */
	assert_int_equal(ly_rule_get(t->db, "blood", &rl), LY_OK);
	assert_int_equal(rl.bonus.pct, 200);
	assert_int_equal(rl.bonus.ndistricts, 1);
	assert_string_equal(rl.bonus.districts[0], "south");
	ly_rule_clear(&rl);
	/* campaigns end here, for the tests that follow */
	assert_int_equal(db_exec(t->db, "UPDATE campaigns SET ends_at = "
	    "UTC_TIMESTAMP() - INTERVAL 1 SECOND, starts_at = UTC_TIMESTAMP() "
	    "- INTERVAL 2 DAY", NULL, 0), DB_OK);
}

/* ---- lists ---- */

struct collect {
	uint64_t	 ids[16];
	long long	 points[16];
	size_t		 n;
};

static void
ledger_cb(const struct ly_ledger_row *e, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16) {
		c->ids[c->n] = e->id;
		c->points[c->n++] = e->points;
	}
}

static void
ledger__pages__newest_first_without_overlap(void **state)
{
	struct itest *t = *state;
	uint64_t id = enroll(t, "led-1", "north", NULL);
	struct collect p1 = { { 0 }, { 0 }, 0 }, p2 = p1;
	struct ly_award a;

	assert_int_equal(award(t, &org_a, "led-1", "vol", "led-1-a", &a), LY_OK);
	assert_int_equal(award(t, &org_a, "led-1", "blood", "led-1-b", &a),
	    LY_OK);
	assert_int_equal(award(t, &org_b, "led-1", "quiz", "led-1-c", &a),
	    LY_OK);
	assert_int_equal(ly_member_ledger(t->db, id, 0, 2, ledger_cb, &p1),
	    LY_OK);
	assert_int_equal(p1.n, 2);
	assert_int_equal(p1.points[0], 3);	/* newest first */
	assert_int_equal(p1.points[1], 50);
	assert_true(p1.ids[0] > p1.ids[1]);
	assert_int_equal(ly_member_ledger(t->db, id, p1.ids[1], 2, ledger_cb,
	    &p2), LY_OK);
	assert_int_equal(p2.n, 1);
	assert_int_equal(p2.points[0], 10);
}

static void
count_cb_access(const struct ly_access_row *a, void *arg)
{
	(void)a;
	++*(size_t *)arg;
}

static void
count_cb_consent(const struct ly_consent_row *c, void *arg)
{
	(void)c;
	++*(size_t *)arg;
}

static void
count_cb_redemption(const struct ly_redemption_row *v, void *arg)
{
	(void)v;
	++*(size_t *)arg;
}

static void
count_cb_pass(const struct ly_pass_row *v, void *arg)
{
	(void)v;
	++*(size_t *)arg;
}

/* Gives a member a voucher and a pass the way the catalogue would. */
static uint64_t
give_voucher_and_pass(struct itest *t, uint64_t member)
{
	unsigned char code[32], nonce[16];
	uint64_t perk;

	struct db_val pk[] = { db_int((long long)org_p.id) };
	assert_int_equal(db_exec(t->db, "INSERT INTO perks (public_id, "
	    "partner_id, title, kind, cost_points, stock, issued, created_at, "
	    "updated_at) VALUES (CONCAT('prk_', REPLACE(UUID(), '-', '')), ?, "
	    "'Swim', 'voucher', 10, 5, 1, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
	    pk, 1), DB_OK);
	perk = db_insert_id(t->db);
	randombytes_buf(code, sizeof(code));
	randombytes_buf(nonce, sizeof(nonce));
	struct db_val rd[] = { db_int((long long)member),
	    db_int((long long)perk), db_blob(code, 32) };
	assert_int_equal(db_exec(t->db, "INSERT INTO redemptions (public_id, "
	    "member_id, perk_id, points, code_hash, issued_at, expires_at) "
	    "VALUES (CONCAT('red_', REPLACE(UUID(), '-', '')), ?, ?, 10, ?, "
	    "UTC_TIMESTAMP(), UTC_TIMESTAMP() + INTERVAL 30 DAY)", rd, 3),
	    DB_OK);
	struct db_val ps[] = { db_blob(nonce, 16), db_int((long long)member),
	    db_int((long long)perk) };
	assert_int_equal(db_exec(t->db, "INSERT INTO passes (nonce, member_id, "
	    "perk_id, created_at, expires_at) VALUES (?, ?, ?, UTC_TIMESTAMP(), "
	    "UTC_TIMESTAMP() + INTERVAL 10 MINUTE)", ps, 3), DB_OK);
	return perk;
}

static void
export__sections__hold_every_row_about_the_member(void **state)
{
	struct itest *t = *state;
	uint64_t id = enroll(t, "exp-1", "north", "flyer");
	size_t consents = 0, access = 0, vouchers = 0, passes = 0;
	struct collect led = { { 0 }, { 0 }, 0 };
	struct ly_award a;

	assert_int_equal(award(t, &org_a, "exp-1", "blood", "exp-1-a", &a),
	    LY_OK);
	assert_int_equal(ly_member_sources_set(t->db, id, 1, NULL, 0), LY_OK);
	give_voucher_and_pass(t, id);
	assert_int_equal(ly_member_consents(t->db, id, count_cb_consent,
	    &consents), LY_OK);
	assert_int_equal(ly_member_access(t->db, id, 0, 1000, count_cb_access,
	    &access), LY_OK);
	assert_int_equal(ly_member_ledger(t->db, id, 0, 1000, ledger_cb, &led),
	    LY_OK);
	assert_int_equal(ly_member_redemptions(t->db, id, count_cb_redemption,
	    &vouchers), LY_OK);
	assert_int_equal(ly_member_passes(t->db, id, count_cb_pass, &passes),
	    LY_OK);
	/* every row of every table that names the member is in the export */
	assert_int_equal(consents, num(t, "SELECT COUNT(*) FROM consents WHERE "
	    "member_id = ?", db_int((long long)id)));
	assert_int_equal(consents, 2);
	assert_int_equal(access, num(t, "SELECT COUNT(*) FROM access_log WHERE "
	    "member_id = ?", db_int((long long)id)));
	assert_int_equal(led.n, num(t, "SELECT COUNT(*) FROM ledger WHERE "
	    "member_id = ?", db_int((long long)id)));
	assert_int_equal(vouchers, 1);
	assert_int_equal(passes, 1);
}

/* ---- opt-out ---- */

static void
close__member__erased_closed_counted_and_fresh_on_return(void **state)
{
	struct itest *t = *state;
	unsigned char h[32];
	char hex[65], caller[80];
	const char *only_a[] = { org_a.public_id };
	struct ly_enroll in = { h, "v1", "south", "radio", 0, only_a, 1 };
	struct ly_member m, again;
	struct ly_award a;
	uint64_t perk, id, last;

	hash_of(t, "bye-1", h);
	assert_int_equal(ly_member_enroll(t->db, &in, &m), LY_OK);
	id = m.id;
	assert_int_equal(award(t, &org_a, "bye-1", "blood", "bye-ref-1", &a),
	    LY_OK);
	perk = give_voucher_and_pass(t, id);
	sodium_bin2hex(hex, sizeof(hex), h, 32);
	snprintf(caller, sizeof(caller), "r:%s", hex);
	struct db_val ik[] = { db_text(caller) };
	assert_int_equal(db_exec(t->db, "INSERT INTO idempotency (caller, "
	    "idem_key, request_hash, status, body, created_at) VALUES (?, 'k1', "
	    "REPEAT('x', 32), 201, '{}', UTC_TIMESTAMP())", ik, 1), DB_OK);

	assert_int_equal(ly_member_close(t->db, h), LY_OK);

	struct db_val mid = db_int((long long)id);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM members WHERE "
	    "subject_hash = ?", db_blob(h, 32)), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM members WHERE id = ? AND "
	    "status = 'closed' AND subject_hash IS NULL AND district IS NULL "
	    "AND channel IS NULL AND balance = 0 AND left_at IS NOT NULL AND "
	    "TIME(enrolled_at) = '00:00:00'", mid), 1);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM member_sources WHERE "
	    "member_id = ?", mid), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM consents WHERE "
	    "member_id = ?", mid), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM access_log WHERE "
	    "member_id = ?", mid), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "member_id = ?", mid), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM passes WHERE "
	    "member_id = ?", mid), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM idempotency WHERE "
	    "caller = ?", db_text(caller)), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM awards WHERE "
	    "external_ref = ?", db_text("bye-ref-1")), 0);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM awards WHERE member_id = "
	    "? AND external_ref LIKE 'erased:%' AND occurred_at IS NULL", mid),
	    1);
	/* the unused voucher's unit went back to stock */
	assert_int_equal(num(t, "SELECT issued FROM perks WHERE id = ?",
	    db_int((long long)perk)), 0);
	/* the balance is closed by a closure entry */
	assert_int_equal(num(t, "SELECT points FROM ledger WHERE member_id = ? "
	    "ORDER BY id DESC LIMIT 1", mid), -50);
	/* statistics still count the enrolment and the departure */
	assert_int_equal(num0(t, "SELECT SUM(enrolled) FROM agg_enroll_daily "
	    "WHERE district = 'south' AND channel = 'radio'"), 1);
	assert_int_equal(num0(t, "SELECT SUM(left_count) FROM agg_enroll_daily "
	    "WHERE district = 'south' AND channel = 'radio'"), 1);
	assert_int_equal(ly_member_find(t->db, h, 0, &m), LY_NOT_ENROLLED);
	assert_int_equal(ly_member_close(t->db, h), LY_NOT_ENROLLED);
	assert_int_equal(award(t, &org_a, "bye-1", "blood", "bye-ref-2", &a),
	    LY_NOT_ENROLLED);

	/* enrolling again starts from zero, as a new member */
	in.sources_all = 1;
	assert_int_equal(ly_member_enroll(t->db, &in, &again), LY_OK);
	assert_true(again.id != id);
	assert_int_equal(again.balance, 0);
	assert_int_equal(again.lifetime, 0);
	assert_int_equal(verify(t, &last), 0);
}

/* ---- rules, tiers, districts ---- */

static void
rules__create_update_and_public_list(void **state)
{
	struct itest *t = *state;
	const char *ia[] = { org_a.public_id }, *ib[] = { org_b.public_id };
	const char *ip[] = { org_p.public_id };
	struct ly_rule_in in = { .code = "tree", .title = "Tree planting",
	    .description = "One tree", .points = 20, .daily_cap = 40,
	    .issuers = ia, .nissuers = 1 };
	struct ly_rule rl, *list;
	size_t n, i;
	int seen = 0;

	assert_int_equal(ly_rule_create(t->db, &in), LY_OK);
	assert_int_equal(ly_rule_create(t->db, &in), LY_RULE_EXISTS);
	in.code = "tree2";
	in.issuers = ip;
	assert_int_equal(ly_rule_create(t->db, &in), LY_UNKNOWN_ISSUER);
	in.points = 0;
	assert_int_equal(ly_rule_create(t->db, &in), LY_INVAL);

	struct ly_rule_in ch = { .has_daily_cap = 1, .daily_cap = 0,
	    .has_points = 1, .points = 25, .has_issuers = 1, .issuers = ib,
	    .nissuers = 1, .has_title = 1, .title = "Trees" };
	assert_int_equal(ly_rule_update(t->db, "tree", &ch), LY_OK);
	assert_int_equal(ly_rule_update(t->db, "nope", &ch), LY_RULE_NOT_FOUND);
	assert_int_equal(ly_rule_get(t->db, "tree", &rl), LY_OK);
	assert_int_equal(rl.points, 25);
	assert_int_equal(rl.daily_cap, 0);
	assert_string_equal(rl.title, "Trees");
	assert_string_equal(rl.description, "One tree");
	assert_int_equal(rl.nissuers, 1);
	assert_string_equal(rl.issuers[0].name, "Issuer B");
	ly_rule_clear(&rl);

	struct ly_rule_in off = { .has_active = 1, .active = 0 };
	assert_int_equal(ly_rule_update(t->db, "tree", &off), LY_OK);
	assert_int_equal(ly_rule_list(t->db, 1, 0, 100, &list, &n), LY_OK);
	for (i = 0; i < n; i++) {
		assert_true(list[i].active);
		assert_string_not_equal(list[i].code, "tree");
		if (strcmp(list[i].code, "blood") == 0)
			seen = 1;
		if (i > 0)
			assert_true(strcmp(list[i - 1].code, list[i].code) < 0);
	}
	assert_true(seen);
	ly_rules_free(list, n);
	/* paging by offset */
	assert_int_equal(ly_rule_list(t->db, 0, 1, 1, &list, &n), LY_OK);
	assert_int_equal(n, 1);
	ly_rules_free(list, n);
}

static void
ladder__put_then_get__same_ladder_and_bad_refused(void **state)
{
	struct itest *t = *state;
	struct ly_ladder l = { 3, { { "Member", 0 }, { "Silver", 500 },
	    { "Gold", 2000 } }, 50, 4 }, got, bad = l;

	assert_int_equal(ly_ladder_put(t->db, &l), LY_OK);
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.tiers[1].name, "Silver");
	assert_int_equal(got.tiers[2].min_lifetime, 2000);
	assert_int_equal(got.star_points, 50);
	assert_int_equal(got.stars_per_flag, 4);
	bad.tiers[1].min_lifetime = 0;
	assert_int_equal(ly_ladder_put(t->db, &bad), LY_BAD_LADDER);
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_int_equal(got.n, 3);
}

static void
ladder_cache__kept_for_ttl_until_forgotten(void **state)
{
	struct itest *t = *state;
	static const char *const rename = "UPDATE tiers SET name = 'Bronze' "
	    "WHERE min_lifetime_points = 500";
	struct ly_ladder l = { 3, { { "Member", 0 }, { "Silver", 500 },
	    { "Gold", 2000 } }, 50, 4 }, got;

	/* without a TTL every read sees the database */
	ly_ladder_cache_ttl(0);
	assert_int_equal(ly_ladder_put(t->db, &l), LY_OK);
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_string_equal(got.tiers[1].name, "Silver");
	assert_int_equal(db_exec(t->db, rename, NULL, 0), DB_OK);
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_string_equal(got.tiers[1].name, "Bronze");

	/* with one, a change behind the cache's back shows only once the
	 * ladder is forgotten (or the TTL runs out) */
	ly_ladder_cache_ttl(3600);
	assert_int_equal(ly_ladder_put(t->db, &l), LY_OK);
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_string_equal(got.tiers[1].name, "Silver");
	assert_int_equal(db_exec(t->db, rename, NULL, 0), DB_OK);
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_string_equal(got.tiers[1].name, "Silver");
	ly_ladder_forget();
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_string_equal(got.tiers[1].name, "Bronze");

	/* a put through this process is seen at once */
	assert_int_equal(ly_ladder_put(t->db, &l), LY_OK);
	assert_int_equal(ly_ladder_get(t->db, &got), LY_OK);
	assert_string_equal(got.tiers[1].name, "Silver");
	ly_ladder_cache_ttl(0);
}

/* The points of rule code as ly_terms_get() gives them, or -1. */
static long long
terms_points(struct itest *t, const char *code)
{
	struct ly_terms *terms;
	long long points;

	if (ly_terms_get(t->db, code, &terms) != LY_OK)
		return -1;
	points = ly_terms_rule(terms)->points;
	ly_terms_put(terms);
	return points;
}

static void
terms_cache__kept_for_ttl_until_forgotten(void **state)
{
	struct itest *t = *state;
	static const char *const set = "UPDATE rules SET points = ? "
	    "WHERE code = 'blood'";
	static const char *const active = "UPDATE rules SET active = ? "
	    "WHERE code = 'blood'";
	long long p0;

	/* without a TTL every award reads the rule */
	ly_terms_cache_ttl(0);
	p0 = terms_points(t, "blood");
	assert_true(p0 > 0);
	struct db_val up[] = { db_int(p0 + 7) };
	assert_int_equal(db_exec(t->db, set, up, 1), DB_OK);
	assert_int_equal(terms_points(t, "blood"), p0 + 7);

	/* with one, a change behind the cache's back shows only once the
	 * terms are forgotten (or the TTL runs out) */
	ly_terms_cache_ttl(3600);
	assert_int_equal(terms_points(t, "blood"), p0 + 7);
	struct db_val back[] = { db_int(p0) };
	assert_int_equal(db_exec(t->db, set, back, 1), DB_OK);
	assert_int_equal(terms_points(t, "blood"), p0 + 7);
	ly_terms_forget();
	assert_int_equal(terms_points(t, "blood"), p0);

	/* an unknown code is not kept: the rule shows once it is active */
	struct db_val off[] = { db_int(0) }, on[] = { db_int(1) };
	assert_int_equal(db_exec(t->db, active, off, 1), DB_OK);
	ly_terms_forget();
	assert_int_equal(terms_points(t, "blood"), -1);
	assert_int_equal(db_exec(t->db, active, on, 1), DB_OK);
	assert_int_equal(terms_points(t, "blood"), p0);
	ly_terms_cache_ttl(0);
}

static void
terms_bonus__window_decided_at_award_time(void **state)
{
	struct itest *t = *state;
	struct ly_award_bonus b;
	struct ly_terms *terms;
	char now[32];

	/* a bonus that starts in an hour and lasts a day, for one district */
	assert_int_equal(db_exec(t->db, "INSERT INTO campaigns (public_id, "
	    "name, code, starts_at, ends_at, bonus_rule_id, bonus_pct, "
	    "all_districts, created_at, updated_at) SELECT 'cmp_SOON', "
	    "'Soon', 'soon', '2030-01-01 10:00:00', '2030-01-02 10:00:00', "
	    "id, 300, 0, UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM rules WHERE "
	    "code = 'blood'", NULL, 0), DB_OK);
	struct db_val cd[] = { db_int((long long)db_insert_id(t->db)) };
	assert_int_equal(db_exec(t->db, "INSERT INTO campaign_districts "
	    "(campaign_id, district) VALUES (?, 'east')", cd, 1), DB_OK);

	ly_terms_cache_ttl(3600);
	ly_terms_forget();
	assert_int_equal(ly_terms_get(t->db, "blood", &terms), LY_OK);
	ly_now(now);
	assert_int_equal(ly_terms_bonus(terms, "east", now, &b), 0);
	assert_int_equal(b.pct, 0);
	/* the same kept terms, at times inside and at the window's edges */
	assert_int_equal(ly_terms_bonus(terms, "east",
	    "2030-01-01 10:00:00.000000", &b), 1);
	assert_int_equal(b.pct, 300);
	assert_string_equal(b.public_id, "cmp_SOON");
	assert_int_equal(ly_terms_bonus(terms, "west",
	    "2030-01-01 12:00:00.000000", &b), 0);
	assert_int_equal(ly_terms_bonus(terms, "",
	    "2030-01-01 12:00:00.000000", &b), 0);
	assert_int_equal(ly_terms_bonus(terms, "east",
	    "2030-01-02 10:00:00.000000", &b), 0);
	ly_terms_put(terms);
	ly_terms_cache_ttl(0);
	assert_int_equal(db_exec(t->db, "DELETE FROM campaign_districts WHERE "
	    "campaign_id = ?", cd, 1), DB_OK);
	assert_int_equal(db_exec(t->db, "DELETE FROM campaigns WHERE id = ?",
	    cd, 1), DB_OK);
}

static void
district_cb(const struct ly_district *d, void *arg)
{
	struct ly_district *out = arg;

	if (strcmp(d->code, "west") == 0)
		*out = *d;
}

static void
district__put_creates_then_replaces(void **state)
{
	struct itest *t = *state;
	struct ly_district d, seen;
	int created;

	assert_int_equal(ly_district_put(t->db, "west", "West", 10, &created,
	    &d), LY_OK);
	assert_true(created);
	assert_int_equal(ly_district_put(t->db, "west", "West End", 12,
	    &created, &d), LY_OK);
	assert_false(created);
	assert_int_equal(d.population, 12);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(ly_district_list(t->db, 0, 100, district_cb, &seen),
	    LY_OK);
	assert_string_equal(seen.name, "West End");
	assert_int_equal(ly_district_put(t->db, "Bad Code", "x", 1, &created,
	    &d), LY_INVAL);
}

/* ---- days in the programme's time zone ---- */

static void
zone__local_day_differs_from_utc__enrolment_and_earning_share_a_cohort(
    void **state)
{
	struct itest *t = *state;
	char tz[32], local[11], utc[11];
	struct ly_district d;
	struct ly_award a;
	time_t now = time(NULL);
	struct tm tm;
	int created;

	/* a zone far enough west that its date is yesterday's UTC date */
	gmtime_r(&now, &tm);
	snprintf(tz, sizeof(tz), "WEST+%d", tm.tm_hour + 1);
	setenv("TZ", tz, 1);
	tzset();
	ly_day(now, local);
	strftime(utc, sizeof(utc), "%Y-%m-%d", &tm);
	assert_string_not_equal(local, utc);
	assert_int_equal(ly_district_put(t->db, "tzland", "TZ Land", 10,
	    &created, &d), LY_OK);
	enroll(t, "tz-1", "tzland", NULL);
	assert_int_equal(award(t, &org_a, "tz-1", "blood", "tz-1-a", &a),
	    LY_OK);
	setenv("TZ", "UTC", 1);
	tzset();
	/* the enrolment, its cohort and the cohort's first earning all
	 * land on the local day */
	assert_int_equal(num(t, "SELECT COALESCE(SUM(enrolled), 0) FROM "
	    "agg_enroll_daily WHERE district = 'tzland' AND day = ?",
	    db_text(local)), 1);
	assert_int_equal(num(t, "SELECT COALESCE(SUM(enrolled), 0) + "
	    "COALESCE(SUM(earned), 0) FROM agg_funnel_daily WHERE district = "
	    "'tzland' AND enroll_day = ?", db_text(local)), 2);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM awards WHERE "
	    "external_ref = 'tz-1-a' AND day = ?", db_text(local)), 1);
	assert_int_equal(num(t, "SELECT COALESCE(SUM(points), 0) FROM "
	    "agg_points_daily WHERE district = 'tzland' AND day = ?",
	    db_text(local)), 50);
}

/* ---- invariants ---- */

static void
verify__corrupted_balance__names_the_member(void **state)
{
	struct itest *t = *state;
	uint64_t id = enroll(t, "ver-1", "north", NULL), last;
	struct ly_award a;

	assert_int_equal(award(t, &org_a, "ver-1", "blood", "ver-1-a", &a),
	    LY_OK);
	assert_int_equal(verify(t, &last), 0);
	struct db_val p[] = { db_int((long long)id) };
	assert_int_equal(db_exec(t->db, "UPDATE members SET balance = "
	    "balance + 1 WHERE id = ?", p, 1), DB_OK);
	assert_int_equal(verify(t, &last), 1);
	assert_int_equal(last, id);
	assert_int_equal(db_exec(t->db, "UPDATE members SET balance = "
	    "balance - 1 WHERE id = ?", p, 1), DB_OK);
	/* an aggregate that disagrees with the ledger is caught too */
	assert_int_equal(db_exec(t->db, "UPDATE agg_points_daily SET points = "
	    "points + 1 WHERE kind = 'award' LIMIT 1", NULL, 0), DB_OK);
	assert_int_equal(verify(t, &last), 1);
	assert_int_equal(last, 0);
	assert_int_equal(db_exec(t->db, "UPDATE agg_points_daily SET points = "
	    "points - 1 WHERE kind = 'award' LIMIT 1", NULL, 0), DB_OK);
	assert_int_equal(verify(t, &last), 0);
}

/* ---- concurrency ---- */

struct racer {
	struct itest	*t;
	const char	*sub;
	char		 ref[32];
	enum ly_res	 res;
	int		 duplicate;
};

static void *
race(void *arg)
{
	struct racer *rc = arg;
	struct db_cfg cfg = { getenv("PERKD_TEST_DB_SOCKET"), NULL, 0,
	    rc->t->name, "root", NULL };
	unsigned char h[32];
	struct ly_award_in in = { org_a.id, h, "blood", rc->ref, NULL };
	struct ly_award out;
	enum db_res d;
	struct db *db;
	int attempt;

	db_thread_init();
	ly_subject_hash(&rc->t->ctx, rc->sub, h);
	db = db_open(&cfg, &d);
	rc->res = LY_UNAVAIL;
	for (attempt = 0; db != NULL && d == DB_OK && attempt < 20; attempt++) {
		if (db_begin(db) != DB_OK)
			break;
		rc->res = ly_award(db, &in, &out);
		if (rc->res == LY_OK && db_commit(db) == DB_OK) {
			rc->duplicate = out.duplicate;
			break;
		}
		db_rollback(db);
		if (rc->res != LY_RETRY)
			break;
		usleep(1000 * (unsigned)(attempt + 1));
	}
	db_close(db);
	db_thread_end();
	return NULL;
}

static void
run_race(struct itest *t, const char *sub, int same_ref, struct racer *rc,
    size_t n)
{
	pthread_t th[20];
	size_t i;

	for (i = 0; i < n; i++) {
		rc[i].t = t;
		rc[i].sub = sub;
		snprintf(rc[i].ref, sizeof(rc[i].ref), "%s-%zu", sub,
		    same_ref ? 0 : i);
		assert_int_equal(pthread_create(&th[i], NULL, race, &rc[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

static void
race__twenty_distinct_references__each_credited_once(void **state)
{
	struct itest *t = *state;
	struct racer rc[20];
	unsigned char h[32];
	struct ly_member m;
	uint64_t last;
	size_t i;

	memset(rc, 0, sizeof(rc));
	enroll(t, "race-1", "north", NULL);
	run_race(t, "race-1", 0, rc, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(rc[i].res, LY_OK);
		assert_false(rc[i].duplicate);
	}
	hash_of(t, "race-1", h);
	assert_int_equal(ly_member_find(t->db, h, 0, &m), LY_OK);
	assert_int_equal(m.balance, 20 * 50);
	assert_int_equal(m.lifetime, 20 * 50);
	assert_int_equal(verify(t, &last), 0);
}

static void
race__twenty_copies_of_one_reference__credited_exactly_once(void **state)
{
	struct itest *t = *state;
	struct racer rc[20];
	unsigned char h[32];
	struct ly_member m;
	size_t i, firsts = 0;
	uint64_t last;

	memset(rc, 0, sizeof(rc));
	enroll(t, "race-2", "north", NULL);
	run_race(t, "race-2", 1, rc, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(rc[i].res, LY_OK);
		firsts += !rc[i].duplicate;
	}
	assert_int_equal(firsts, 1);
	hash_of(t, "race-2", h);
	assert_int_equal(ly_member_find(t->db, h, 0, &m), LY_OK);
	assert_int_equal(m.balance, 50);
	assert_int_equal(num(t, "SELECT COUNT(*) FROM awards WHERE "
	    "external_ref = ?", db_text("race-2-0")), 1);
	assert_int_equal(verify(t, &last), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(enroll__new_subject__member_consent_and_aggregates),
		cmocka_unit_test(enroll__twice__already_enrolled),
		cmocka_unit_test(enroll__unknown_district__refused_nothing_written),
		cmocka_unit_test(enroll__partner_or_unknown_source__unknown_issuer),
		cmocka_unit_test(sources__subset_then_all__awards_follow_and_history_records),
		cmocka_unit_test(award__member__credited_with_ledger_and_access_log),
		cmocka_unit_test(award__daily_cap__cuts_then_zero_and_says_capped),
		cmocka_unit_test(award__cap_not_multiple__last_award_cut_to_room),
		cmocka_unit_test(award__same_reference__first_award_nothing_credited),
		cmocka_unit_test(award__non_member__not_enrolled_and_nothing_stored),
		cmocka_unit_test(award__unknown_inactive_or_foreign_rule__refused),
		cmocka_unit_test(award__campaign_bonus__best_active_for_the_district),
		cmocka_unit_test(ledger__pages__newest_first_without_overlap),
		cmocka_unit_test(export__sections__hold_every_row_about_the_member),
		cmocka_unit_test(close__member__erased_closed_counted_and_fresh_on_return),
		cmocka_unit_test(rules__create_update_and_public_list),
		cmocka_unit_test(ladder__put_then_get__same_ladder_and_bad_refused),
		cmocka_unit_test(ladder_cache__kept_for_ttl_until_forgotten),
		cmocka_unit_test(terms_cache__kept_for_ttl_until_forgotten),
		cmocka_unit_test(terms_bonus__window_decided_at_award_time),
		cmocka_unit_test(district__put_creates_then_replaces),
		cmocka_unit_test(zone__local_day_differs_from_utc__enrolment_and_earning_share_a_cohort),
		cmocka_unit_test(verify__corrupted_balance__names_the_member),
		cmocka_unit_test(race__twenty_distinct_references__each_credited_once),
		cmocka_unit_test(race__twenty_copies_of_one_reference__credited_exactly_once),
	};

	return cmocka_run_group_tests(tests, group_setup, itest_teardown);
}
