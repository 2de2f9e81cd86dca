/*
 * test_catalog.c: perks, redemptions, vouchers, expiry and passes against
 * a real MariaDB, including races between connections on threads.
 * Members are inserted directly (itest_member) and given points through
 * the ledger, as loyalty's awards would.
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

#include <cmocka.h>

#include "catalog/cat.h"
#include "tests/integration/itest.h"

static struct ly_org partner_a, partner_b, issuer;

static int
group_setup(void **state)
{
	static const char *const tiers = "INSERT INTO tiers (position, name, "
	    "min_lifetime_points) VALUES (1, 'Bronze', 100), (2, 'Silver', 300), "
	    "(3, 'Gold', 600)";
	struct itest *t;

	itest_setup(state);
	t = *state;
	assert_int_equal(db_exec(t->db, tiers, NULL, 0), DB_OK);
	itest_org(t, "Health Centre", LY_ROLE_PARTNER, &partner_a);
	itest_org(t, "Bike Share", LY_ROLE_PARTNER, &partner_b);
	itest_org(t, "Blood Bank", LY_ROLE_ISSUER, &issuer);
	return 0;
}

/* A member with `points` awarded (also their lifetime points). */
static uint64_t
member_with(struct itest *t, long long points)
{
	uint64_t m = itest_member(t, "north");
	struct ly_entry e = { .member_id = m, .kind = LY_AWARD,
	    .points = points, .rule_id = 1 };

	if (points > 0)
		assert_int_equal(ly_ledger_append(t->db, &e), LY_OK);
	return m;
}

static long long
balance(struct itest *t, uint64_t m)
{
	static const char *const q = "SELECT balance FROM members WHERE id = ?";
	struct db_row *row;

	struct db_val p[] = { db_int((long long)m) };
	assert_int_equal(db_one(t->db, q, p, 1, &row), DB_ROW);
	return row->col[0].i;
}

static long long
count(struct itest *t, const char *sql, uint64_t id)
{
	struct db_row *row;

	struct db_val p[] = { db_int((long long)id) };
	assert_int_equal(db_one(t->db, sql, p, 1, &row), DB_ROW);
	return row->col[0].i;
}

static void
perk(struct itest *t, const struct ly_org *partner, enum cat_kind kind,
    long long cost, long long stock, long long limit, const char *tier,
    struct cat_perk *out)
{
	struct cat_perk_in in = { .title = "A perk", .description = "",
	    .partner = partner->public_id, .kind = kind, .cost_points = cost,
	    .min_tier = tier, .stock = stock, .per_member_limit = limit,
	    .voucher_days = 30, .active = 1 };
	const char *why = NULL;

	assert_int_equal(cat_perk_create(t->db, &in, out, &why), LY_OK);
}

/* Runs a redemption in its own transaction, as a request would. */
static enum ly_res
redeem(struct db *db, const struct ly_ctx *ctx, uint64_t m, const char *p,
    struct cat_redemption *out)
{
	enum ly_res res;
	int attempt;

	for (attempt = 0; attempt < 20; attempt++) {
		assert_int_equal(db_begin(db), DB_OK);
		res = cat_redeem(db, ctx, m, p, out);
		if (res == LY_OK && db_commit(db) == DB_OK)
			return LY_OK;
		db_rollback(db);
		if (res != LY_RETRY)
			return res;
	}
	return res;
}

/* A voucher perk of partner_a costing `cost` with `stock` (-1: no limit)
 * in *p, and one of its vouchers redeemed by m (who can afford it) in *d. */
static void
voucher_issued(struct itest *t, uint64_t m, long long cost, long long stock,
    struct cat_perk *p, struct cat_redemption *d)
{
	perk(t, &partner_a, CAT_VOUCHER, cost, stock, -1, NULL, p);
	assert_int_equal(redeem(t->db, &t->ctx, m, p->public_id, d), LY_OK);
}

/* ---- perks ---- */

struct seen {
	const char	*want;
	int		 found;
	long long	 stock;
};

static void
seen_cb(const struct cat_perk *p, void *arg)
{
	struct seen *s = arg;

	if (strcmp(p->public_id, s->want) == 0) {
		s->found = 1;
		s->stock = p->stock;
	}
}

/* Whether the public listing shows the perk. */
static int
listed(struct itest *t, const char *public_id)
{
	struct seen s = { public_id, 0, 0 };

	assert_int_equal(cat_perk_list(t->db, 0, 100000, seen_cb, &s), LY_OK);
	return s.found;
}

static void
perk__partner_not_a_partner__unknown_partner(void **state)
{
	struct itest *t = *state;
	struct cat_perk_in in = { .title = "x", .description = "",
	    .partner = issuer.public_id, .kind = CAT_VOUCHER, .cost_points = 1,
	    .stock = -1, .per_member_limit = -1, .voucher_days = 30 };
	struct cat_perk out;
	const char *why = NULL;

	assert_int_equal(cat_perk_create(t->db, &in, &out, &why),
	    LY_UNKNOWN_PARTNER);
	in.partner = "org_NOPE";
	assert_int_equal(cat_perk_create(t->db, &in, &out, &why),
	    LY_UNKNOWN_PARTNER);
	in.partner = partner_a.public_id;
	in.min_tier = "Platinum";
	assert_int_equal(cat_perk_create(t->db, &in, &out, &why),
	    LY_UNKNOWN_TIER);
	in.min_tier = NULL;
	in.kind = CAT_STATUS;
	assert_int_equal(cat_perk_create(t->db, &in, &out, &why), LY_INVAL);
	assert_non_null(why);
}

static void
perk__update__stock_below_issued_refused_and_listing_hides_inactive(void **state)
{
	struct itest *t = *state;
	struct cat_perk p, q;
	struct cat_redemption d;
	struct cat_perk_in in = { 0 };
	const char *why = NULL;
	uint64_t m = member_with(t, 100);

	voucher_issued(t, m, 10, 5, &p, &d);
	assert_int_equal(redeem(t->db, &t->ctx, m, p.public_id, &d), LY_OK);
	in.stock = 1;
	assert_int_equal(cat_perk_update(t->db, p.public_id, CAT_F_STOCK, &in,
	    &q, &why), LY_INVAL);
	in.stock = 2;
	assert_int_equal(cat_perk_update(t->db, p.public_id, CAT_F_STOCK, &in,
	    &q, &why), LY_OK);
	assert_int_equal(q.stock, 2);
	assert_int_equal(q.issued, 2);
	assert_true(listed(t, p.public_id));
	in.active = 0;
	in.title = "Renamed";
	assert_int_equal(cat_perk_update(t->db, p.public_id,
	    CAT_F_ACTIVE | CAT_F_TITLE, &in, &q, &why), LY_OK);
	assert_string_equal(q.title, "Renamed");
	assert_int_equal(q.active, 0);
	assert_false(listed(t, p.public_id));
	assert_int_equal(redeem(t->db, &t->ctx, m, p.public_id, &d),
	    LY_PERK_NOT_ACTIVE);
	assert_int_equal(cat_perk_update(t->db, "prk_NONE", CAT_F_TITLE, &in,
	    &q, &why), LY_PERK_NOT_FOUND);
}

/* ---- redeeming ---- */

static void
redeem__enough_points__debit_voucher_and_stock_together(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d, seen;
	struct cat_perk p, after;
	unsigned char raw[LIM_VOUCHER_BYTES];
	uint64_t m = member_with(t, 500);

	perk(t, &partner_a, CAT_VOUCHER, 300, 10, 1, NULL, &p);
	assert_int_equal(redeem(t->db, &t->ctx, m, p.public_id, &d), LY_OK);
	assert_string_equal(d.status, "issued");
	assert_int_equal(d.points, 300);
	assert_int_equal(cat_code_parse(d.code, raw), 0);
	assert_int_equal(balance(t, m), 200);
	assert_int_equal(cat_perk_get(t->db, p.public_id, &after), LY_OK);
	assert_int_equal(after.issued, 1);
	/* the owner sees the code again, sealed, not stored in clear */
	assert_int_equal(cat_redemption_get(t->db, &t->ctx, m, d.public_id,
	    &seen), LY_OK);
	assert_string_equal(seen.code, d.code);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "id = ? AND code_sealed IS NOT NULL AND LENGTH(code_hash) = 32",
	    d.id), 1);
	/* per-member limit 1 */
	assert_int_equal(redeem(t->db, &t->ctx, m, p.public_id, &d),
	    LY_LIMIT_REACHED);
}

static void
redeem__short_of_points__nothing_changes(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d;
	struct cat_perk p, after;
	uint64_t m = member_with(t, 50);

	perk(t, &partner_a, CAT_VOUCHER, 60, 10, -1, NULL, &p);
	assert_int_equal(redeem(t->db, &t->ctx, m, p.public_id, &d),
	    LY_INSUFFICIENT_POINTS);
	assert_int_equal(balance(t, m), 50);
	assert_int_equal(cat_perk_get(t->db, p.public_id, &after), LY_OK);
	assert_int_equal(after.issued, 0);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "member_id = ?", m), 0);
}

static void
redeem__every_refusal__its_own_code(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d;
	struct cat_perk none, status, gold, late;
	struct cat_perk_in in = { 0 };
	const char *why = NULL;
	uint64_t m = member_with(t, 200);

	perk(t, &partner_a, CAT_VOUCHER, 1, 0, -1, NULL, &none);
	perk(t, &partner_a, CAT_STATUS, 0, -1, -1, NULL, &status);
	perk(t, &partner_a, CAT_VOUCHER, 1, -1, -1, "Gold", &gold);
	perk(t, &partner_a, CAT_VOUCHER, 1, -1, -1, NULL, &late);
	in.valid_to = "2020-01-01 00:00:00.000000";
	assert_int_equal(cat_perk_update(t->db, late.public_id,
	    CAT_F_VALID_TO, &in, &late, &why), LY_OK);
	assert_int_equal(redeem(t->db, &t->ctx, m, none.public_id, &d),
	    LY_OUT_OF_STOCK);
	assert_int_equal(redeem(t->db, &t->ctx, m, status.public_id, &d),
	    LY_WRONG_PERK_KIND);
	assert_int_equal(redeem(t->db, &t->ctx, m, gold.public_id, &d),
	    LY_TIER_TOO_LOW);
	assert_int_equal(redeem(t->db, &t->ctx, m, late.public_id, &d),
	    LY_PERK_NOT_ACTIVE);
	assert_false(listed(t, late.public_id));	/* its window ended */
	assert_true(listed(t, gold.public_id));
	assert_int_equal(redeem(t->db, &t->ctx, m, "prk_NOPE", &d),
	    LY_PERK_NOT_FOUND);
	assert_int_equal(balance(t, m), 200);
}

static void
redeem__free_voucher__no_ledger_entry(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d;
	struct cat_perk p;
	uint64_t m = member_with(t, 0);

	voucher_issued(t, m, 0, 5, &p, &d);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM ledger WHERE "
	    "member_id = ?", m), 0);
	/* and cancelling it refunds nothing but returns the unit */
	assert_int_equal(cat_redemption_cancel(t->db, &t->ctx, m, d.public_id,
	    &d), LY_OK);
	assert_int_equal(count(t, "SELECT issued FROM perks WHERE id = ?",
	    p.id), 0);
}

/* ---- cancel ---- */

static void
cancel__issued__refund_and_stock_back_once(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d, c;
	struct cat_perk p;
	uint64_t m = member_with(t, 100), other = member_with(t, 100);

	voucher_issued(t, m, 40, 3, &p, &d);
	assert_int_equal(balance(t, m), 60);
	/* another member's id is absent to them */
	assert_int_equal(cat_redemption_cancel(t->db, &t->ctx, other,
	    d.public_id, &c), LY_REDEMPTION_NOT_FOUND);
	assert_int_equal(cat_redemption_cancel(t->db, &t->ctx, m, d.public_id,
	    &c), LY_OK);
	assert_string_equal(c.status, "cancelled");
	assert_string_equal(c.code, "");
	assert_int_equal(balance(t, m), 100);
	assert_int_equal(count(t, "SELECT issued FROM perks WHERE id = ?",
	    p.id), 0);
	assert_int_equal(cat_redemption_cancel(t->db, &t->ctx, m, d.public_id,
	    &c), LY_NOT_CANCELLABLE);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM ledger WHERE "
	    "member_id = ? AND kind = 'refund'", m), 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "id = ? AND code_sealed IS NULL", d.id), 1);
}

/* ---- partners ---- */

static void
voucher__other_partner__not_found_and_own_partner_uses_once(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d, c;
	struct cat_voucher_view v;
	struct cat_perk p;
	int logged;
	uint64_t m = member_with(t, 100);

	voucher_issued(t, m, 10, -1, &p, &d);
	assert_int_equal(cat_voucher_check(t->db, partner_b.id, d.code, &v),
	    LY_VOUCHER_NOT_FOUND);
	assert_int_equal(cat_voucher_use(t->db, partner_b.id, d.code, &v,
	    &logged), LY_VOUCHER_NOT_FOUND);
	assert_int_equal(cat_voucher_check(t->db, partner_a.id,
	    "0000-0000-0000-0000-0000-0000-00", &v), LY_VOUCHER_NOT_FOUND);
	assert_int_equal(cat_voucher_check(t->db, partner_a.id, d.code, &v),
	    LY_OK);
	assert_int_equal(v.valid, 1);
	assert_string_equal(v.status, "issued");
	assert_string_equal(v.perk_public_id, p.public_id);
	assert_int_equal(cat_voucher_use(t->db, partner_a.id, d.code, &v,
	    &logged), LY_OK);
	assert_string_equal(v.status, "used");
	assert_int_equal(cat_voucher_use(t->db, partner_a.id, d.code, &v,
	    &logged), LY_ALREADY_USED);
	assert_int_equal(logged, 1);
	assert_string_not_equal(v.used_at, "");
	assert_int_equal(cat_redemption_cancel(t->db, &t->ctx, m, d.public_id,
	    &c), LY_NOT_CANCELLABLE);
	/* check, use, refused use: three rows, none for partner b */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM access_log WHERE "
	    "member_id = ?", m), 3);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM access_log WHERE "
	    "org_id = ?", partner_b.id), 0);
}

static void
voucher__cancelled__use_refused_as_cancelled(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d, c;
	struct cat_voucher_view v;
	struct cat_perk p;
	int logged;
	uint64_t m = member_with(t, 100);

	voucher_issued(t, m, 10, -1, &p, &d);
	assert_int_equal(cat_redemption_cancel(t->db, &t->ctx, m, d.public_id,
	    &c), LY_OK);
	assert_int_equal(cat_voucher_use(t->db, partner_a.id, d.code, &v,
	    &logged), LY_VOUCHER_CANCELLED);
	assert_int_equal(cat_voucher_check(t->db, partner_a.id, d.code, &v),
	    LY_OK);
	assert_int_equal(v.valid, 0);
	assert_string_equal(v.status, "cancelled");
}

/* ---- expiry ---- */

static void
sweep__expired_voucher__refunded_exactly_once(void **state)
{
	struct itest *t = *state;
	static const char *const age = "UPDATE redemptions SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE id = ?";
	struct cat_redemption d, e;
	struct cat_voucher_view v;
	struct cat_perk p;
	size_t n = 0;
	int logged;
	uint64_t m = member_with(t, 100);

	voucher_issued(t, m, 30, 2, &p, &d);
	assert_int_equal(redeem(t->db, &t->ctx, m, p.public_id, &e), LY_OK);
	assert_int_equal(balance(t, m), 40);
	struct db_val q[] = { db_int((long long)d.id) };
	assert_int_equal(db_exec(t->db, age, q, 1), DB_OK);
	/* before the sweep, the partner already sees it as expired */
	assert_int_equal(cat_voucher_check(t->db, partner_a.id, d.code, &v),
	    LY_OK);
	assert_string_equal(v.status, "expired");
	assert_int_equal(v.valid, 0);
	assert_int_equal(cat_voucher_use(t->db, partner_a.id, d.code, &v,
	    &logged), LY_VOUCHER_EXPIRED);

	assert_int_equal(cat_sweep_vouchers(t->db, CAT_SWEEP_ALL, 0, NULL, &n),
	    LY_OK);
	assert_int_equal(n, 1);
	assert_int_equal(balance(t, m), 70);
	assert_int_equal(count(t, "SELECT issued FROM perks WHERE id = ?",
	    p.id), 1);
	/* again: nothing left to do */
	assert_int_equal(cat_sweep_vouchers(t->db, CAT_SWEEP_ALL, 0, NULL, &n),
	    LY_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cat_sweep_vouchers(t->db, CAT_SWEEP_MEMBER, m, NULL,
	    &n), LY_OK);
	assert_int_equal(n, 0);
	assert_int_equal(balance(t, m), 70);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM ledger WHERE "
	    "redemption_id = ? AND kind = 'refund'", d.id), 1);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "id = ? AND status = 'expired' AND code_sealed IS NULL", d.id), 1);
	/* the other voucher is untouched */
	assert_int_equal(count(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "id = ? AND status = 'issued'", e.id), 1);
}

static void
sweep__by_code_and_by_member__lazy_paths_expire_too(void **state)
{
	struct itest *t = *state;
	static const char *const age = "UPDATE redemptions SET expires_at = "
	    "UTC_TIMESTAMP(6) - INTERVAL 1 DAY WHERE member_id = ?";
	struct cat_redemption d, e;
	struct cat_perk p;
	size_t n = 0;
	uint64_t m = member_with(t, 100);

	voucher_issued(t, m, 10, -1, &p, &d);
	assert_int_equal(redeem(t->db, &t->ctx, m, p.public_id, &e), LY_OK);
	struct db_val q[] = { db_int((long long)m) };
	assert_int_equal(db_exec(t->db, age, q, 1), DB_OK);
	assert_int_equal(cat_sweep_vouchers(t->db, CAT_SWEEP_CODE, 0, d.code,
	    &n), LY_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cat_sweep_vouchers(t->db, CAT_SWEEP_MEMBER, m, NULL,
	    &n), LY_OK);
	assert_int_equal(n, 1);
	assert_int_equal(balance(t, m), 100);
	assert_int_equal(cat_sweep_vouchers(t->db, CAT_SWEEP_CODE, 0,
	    "not a code", &n), LY_OK);
	assert_int_equal(n, 0);
}

static void
purge__old_idempotency_and_expired_passes__deleted(void **state)
{
	struct itest *t = *state;
	static const char *const idem = "INSERT INTO idempotency (caller, "
	    "idem_key, request_hash, created_at) VALUES ('o:1', ?, "
	    "REPEAT('x', 32), UTC_TIMESTAMP(6) - INTERVAL ? SECOND)";
	static const char *const pass = "INSERT INTO passes (nonce, member_id, "
	    "perk_id, created_at, expires_at) VALUES (?, 1, 1, "
	    "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) + INTERVAL ? SECOND)";
	size_t ni = 0, np = 0;

	struct db_val a[] = { db_text("old"), db_int(LIM_IDEM_KEEP_S + 60) };
	struct db_val b[] = { db_text("new"), db_int(60) };
	assert_int_equal(db_exec(t->db, idem, a, 2), DB_OK);
	assert_int_equal(db_exec(t->db, idem, b, 2), DB_OK);
	struct db_val c[] = { db_blob("0123456789abcdef", 16), db_int(-10) };
	struct db_val d[] = { db_blob("fedcba9876543210", 16), db_int(600) };
	assert_int_equal(db_exec(t->db, pass, c, 2), DB_OK);
	assert_int_equal(db_exec(t->db, pass, d, 2), DB_OK);
	assert_int_equal(cat_sweep_purge(t->db, &ni, &np), LY_OK);
	assert_int_equal(ni, 1);
	assert_int_equal(np, 1);
	assert_int_equal(cat_sweep_purge(t->db, &ni, &np), LY_OK);
	assert_int_equal(ni + np, 0);
}

/* ---- passes ---- */

static void
pass__tier_unlocks__partner_checks_online_and_log_written(void **state)
{
	struct itest *t = *state;
	char pass[LIM_PASS_TEXT_MAX], exp_at[32];
	struct cat_perk silver, other;
	int entitled;
	time_t exp;
	uint64_t low = member_with(t, 100), high = member_with(t, 350);

	perk(t, &partner_b, CAT_STATUS, 0, -1, -1, "Silver", &silver);
	perk(t, &partner_b, CAT_STATUS, 0, -1, -1, NULL, &other);
	assert_int_equal(cat_pass_issue(t->db, &t->ctx, low, silver.public_id,
	    pass, sizeof(pass), exp_at), LY_TIER_TOO_LOW);
	assert_int_equal(cat_pass_issue(t->db, &t->ctx, high, silver.public_id,
	    pass, sizeof(pass), exp_at), LY_OK);
	/* the pass never names the member */
	assert_int_equal(cat_pass_check(t->db, &t->ctx, partner_b.id, pass,
	    silver.public_id, &entitled, &exp), LY_OK);
	assert_int_equal(entitled, 1);
	assert_true(exp > time(NULL) + LIM_PASS_TTL_S - 5);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM access_log WHERE "
	    "member_id = ? AND action = 'pass_check'", high), 1);
	/* shown for another perk of the same partner: not entitled */
	assert_int_equal(cat_pass_check(t->db, &t->ctx, partner_b.id, pass,
	    other.public_id, &entitled, &exp), LY_OK);
	assert_int_equal(entitled, 0);
	/* another partner cannot even name the perk */
	assert_int_equal(cat_pass_check(t->db, &t->ctx, partner_a.id, pass,
	    silver.public_id, &entitled, &exp), LY_PERK_NOT_FOUND);
	/* the holder has left the programme: no longer entitled */
	struct db_val h[] = { db_int((long long)high) };
	assert_int_equal(db_exec(t->db, "UPDATE members SET status = 'closed' "
	    "WHERE id = ?", h, 1), DB_OK);
	assert_int_equal(cat_pass_check(t->db, &t->ctx, partner_b.id, pass,
	    silver.public_id, &entitled, &exp), LY_OK);
	assert_int_equal(entitled, 0);
	/* a forged pass */
	assert_int_equal(cat_pass_check(t->db, &t->ctx, partner_b.id,
	    "v1.e30.AAAA", silver.public_id, &entitled, &exp), LY_OK);
	assert_int_equal(entitled, 0);
	assert_int_equal(exp, 0);
}

static void
pass__voucher_perk__wrong_kind(void **state)
{
	struct itest *t = *state;
	char pass[LIM_PASS_TEXT_MAX], exp_at[32];
	struct cat_perk v;
	uint64_t m = member_with(t, 10);

	perk(t, &partner_b, CAT_VOUCHER, 5, -1, -1, NULL, &v);
	assert_int_equal(cat_pass_issue(t->db, &t->ctx, m, v.public_id, pass,
	    sizeof(pass), exp_at), LY_WRONG_PERK_KIND);
}

/* ---- races: every thread on its own connection ---- */

struct racer {
	struct itest		*t;
	pthread_barrier_t	*bar;
	uint64_t		 member;
	const char		*perk;
	const char		*code;
	uint64_t		 org;
	enum ly_res		 res;
};

static struct db *
racer_db(struct itest *t)
{
	struct db_cfg cfg = { getenv("PERKD_TEST_DB_SOCKET"), NULL, 0, t->name,
	    "root", NULL };
	enum db_res r;
	struct db *db = db_open(&cfg, &r);

	return r == DB_OK ? db : NULL;
}

static void *
race_redeem(void *arg)
{
	struct racer *x = arg;
	struct cat_redemption d;
	struct db *db;

	db_thread_init();
	db = racer_db(x->t);
	pthread_barrier_wait(x->bar);
	x->res = db ? redeem(db, &x->t->ctx, x->member, x->perk, &d) :
	    LY_UNAVAIL;
	db_close(db);
	db_thread_end();
	return NULL;
}

static void *
race_use(void *arg)
{
	struct racer *x = arg;
	struct cat_voucher_view v;
	struct db *db;
	int logged;

	db_thread_init();
	db = racer_db(x->t);
	pthread_barrier_wait(x->bar);
	x->res = LY_UNAVAIL;
	if (db != NULL && db_begin(db) == DB_OK) {
		x->res = cat_voucher_use(db, x->org, x->code, &v, &logged);
		if (x->res == LY_OK || logged) {
			if (db_commit(db) != DB_OK)
				x->res = LY_UNAVAIL;
		} else
			db_rollback(db);
	}
	db_close(db);
	db_thread_end();
	return NULL;
}

static void
race(struct racer *x, size_t n, void *(*fn)(void *))
{
	pthread_t th[32];
	pthread_barrier_t bar;
	size_t i;

	pthread_barrier_init(&bar, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		x[i].bar = &bar;
		assert_int_equal(pthread_create(&th[i], NULL, fn, &x[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
}

static void
race__ten_claims_on_stock_three__exactly_three_win(void **state)
{
	struct itest *t = *state;
	struct racer x[10];
	struct cat_perk p;
	size_t i, won = 0, out = 0;

	perk(t, &partner_a, CAT_VOUCHER, 5, 3, -1, NULL, &p);
	for (i = 0; i < 10; i++)
		x[i] = (struct racer){ .t = t, .member = member_with(t, 10),
		    .perk = p.public_id };
	race(x, 10, race_redeem);
	for (i = 0; i < 10; i++) {
		won += x[i].res == LY_OK;
		out += x[i].res == LY_OUT_OF_STOCK;
	}
	assert_int_equal(won, 3);
	assert_int_equal(out, 7);
	assert_int_equal(count(t, "SELECT issued FROM perks WHERE id = ?",
	    p.id), 3);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "perk_id = ?", p.id), 3);
}

static void
race__sixteen_spends_of_five_from_58__eleven_win_balance_three(void **state)
{
	struct itest *t = *state;
	struct racer x[16];
	struct cat_perk p;
	size_t i, won = 0, poor = 0;
	uint64_t m = member_with(t, 58);

	perk(t, &partner_a, CAT_VOUCHER, 5, -1, -1, NULL, &p);
	for (i = 0; i < 16; i++)
		x[i] = (struct racer){ .t = t, .member = m, .perk = p.public_id };
	race(x, 16, race_redeem);
	for (i = 0; i < 16; i++) {
		won += x[i].res == LY_OK;
		poor += x[i].res == LY_INSUFFICIENT_POINTS;
	}
	assert_int_equal(won, 11);
	assert_int_equal(poor, 5);
	assert_int_equal(balance(t, m), 3);
	assert_int_equal(count(t, "SELECT COUNT(*) FROM redemptions WHERE "
	    "member_id = ?", m), 11);
}

static void
race__two_counters_one_voucher__exactly_one_use(void **state)
{
	struct itest *t = *state;
	struct cat_redemption d;
	struct racer x[8];
	struct cat_perk p;
	size_t i, won = 0, used = 0;
	uint64_t m = member_with(t, 100);

	voucher_issued(t, m, 10, -1, &p, &d);
	for (i = 0; i < 8; i++)
		x[i] = (struct racer){ .t = t, .code = d.code,
		    .org = partner_a.id };
	race(x, 8, race_use);
	for (i = 0; i < 8; i++) {
		won += x[i].res == LY_OK;
		used += x[i].res == LY_ALREADY_USED;
	}
	assert_int_equal(won, 1);
	assert_int_equal(used, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(perk__partner_not_a_partner__unknown_partner),
		cmocka_unit_test(perk__update__stock_below_issued_refused_and_listing_hides_inactive),
		cmocka_unit_test(redeem__enough_points__debit_voucher_and_stock_together),
		cmocka_unit_test(redeem__short_of_points__nothing_changes),
		cmocka_unit_test(redeem__every_refusal__its_own_code),
		cmocka_unit_test(redeem__free_voucher__no_ledger_entry),
		cmocka_unit_test(cancel__issued__refund_and_stock_back_once),
		cmocka_unit_test(voucher__other_partner__not_found_and_own_partner_uses_once),
		cmocka_unit_test(voucher__cancelled__use_refused_as_cancelled),
		cmocka_unit_test(sweep__expired_voucher__refunded_exactly_once),
		cmocka_unit_test(sweep__by_code_and_by_member__lazy_paths_expire_too),
		cmocka_unit_test(purge__old_idempotency_and_expired_passes__deleted),
		cmocka_unit_test(pass__tier_unlocks__partner_checks_online_and_log_written),
		cmocka_unit_test(pass__voucher_perk__wrong_kind),
		cmocka_unit_test(race__ten_claims_on_stock_three__exactly_three_win),
		cmocka_unit_test(race__sixteen_spends_of_five_from_58__eleven_win_balance_three),
		cmocka_unit_test(race__two_counters_one_voucher__exactly_one_use),
	};

	return cmocka_run_group_tests(tests, group_setup, itest_teardown);
}
