/*
 * ly_awards.c: an issuer reports a civic act; the member earns the
 * rule's points (never an amount the issuer chooses), times the best
 * campaign bonus in force for the member's district, cut by the rule's
 * daily cap. In the caller's transaction:
 *
 *   1. the member by subject hash, row-locked (FOR UPDATE), and whether
 *      this issuer is among their sources: if not, LY_NOT_ENROLLED and
 *      nothing is written (no row, no log line: the subject stays
 *      unknown);
 *   2. the rule, and whether this issuer may award it, and
 *   3. the points earned from the rule today (the member's row lock,
 *      taken before this sum, serialises awards to one member, so a cap
 *      holds under concurrency) and the best active bonus, in one
 *      statement;
 *   4. INSERT the award: UNIQUE (issuer_id, external_ref) makes a repeat
 *      fail with DB_DUP (a concurrent repeat waits on the key, then
 *      fails), and the first award is returned instead, crediting nothing;
 *   5. the ledger entry (points > 0; ly_ledger_append_locked, with the
 *      member row as step 1 read and locked it) and the access-log line.
 *
 * Every refusal comes before the first write, so a refused item of a
 * batch leaves nothing behind and the batch can go on in one transaction.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loyalty/ly.h"

enum ly_award_stmt {
	AWARD_MEMBER,
	AWARD_TERMS,
	AWARD_INSERT,
	AWARD_FIRST,
	AWARD_STMT__MAX
};

static const char *const ly_award_stmts[AWARD_STMT__MAX] = {
	/* what the ledger needs of the member (ly_ledger_append_locked),
	 * then whether this issuer is among its sources */
	[AWARD_MEMBER] = "SELECT " LY_LEDGER_LOCK_COLS ", "
	    "(m.sources_all = 1 OR EXISTS (SELECT 1 FROM member_sources s "
	    "WHERE s.member_id = m.id AND s.org_id = ?)) FROM members m "
	    "WHERE m.subject_hash = ? AND m.status = 'active' FOR UPDATE",
	/* one round trip for steps 2 and 3: the rule, whether the issuer
	 * may award it, what the member earned from it today (read after
	 * the member's lock; only for a capped rule), and the best bonus in
	 * force for the member's district */
	[AWARD_TERMS] = "SELECT r.id, r.points, COALESCE(r.daily_cap, 0), "
	    "EXISTS (SELECT 1 FROM rule_issuers ri WHERE ri.rule_id = r.id "
	    "AND ri.org_id = ?), IF(r.daily_cap IS NULL, 0, (SELECT "
	    "COALESCE(SUM(a.points), 0) FROM awards a WHERE a.member_id = ? "
	    "AND a.rule_id = r.id AND a.day = ?)), b.id, b.bonus_pct, "
	    "b.public_id FROM rules r "
	    "LEFT JOIN campaigns b ON b.id = (SELECT c.id FROM campaigns c "
	    "WHERE c.bonus_rule_id = r.id AND c.bonus_pct IS NOT NULL AND "
	    "c.starts_at <= ? AND c.ends_at > ? AND (c.all_districts = 1 OR "
	    "EXISTS (SELECT 1 FROM campaign_districts cd WHERE "
	    "cd.campaign_id = c.id AND cd.district = ?)) "
	    "ORDER BY c.bonus_pct DESC, c.id LIMIT 1) "
	    "WHERE r.code = ? AND r.active = 1",
	[AWARD_INSERT] = "INSERT INTO awards (issuer_id, external_ref, "
	    "member_id, rule_id, base_points, points, capped, campaign_id, day, "
	    "occurred_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[AWARD_FIRST] = "SELECT a.id, r.code, a.points, a.capped, "
	    "COALESCE(a.campaign_id, 0), COALESCE(c.public_id, '') FROM awards a "
	    "JOIN rules r ON r.id = a.rule_id LEFT JOIN campaigns c ON "
	    "c.id = a.campaign_id WHERE a.issuer_id = ? AND a.external_ref = ?",
};

long long
ly_cap_cut(long long base, long long cap, long long earned_today, int *capped)
{
	long long room;

	*capped = 0;
	if (cap <= 0)
		return base;
	room = cap - earned_today;
	if (room < 0)
		room = 0;
	if (base > room) {
		*capped = 1;
		return room;
	}
	return base;
}

long long
ly_bonus_points(long long points, int pct)
{
	/* points <= LIM_POINTS_MAX and pct <= 100 * LIM_MULTIPLIER_MAX:
	 * the product stays far below 2^63 */
	return pct > 100 ? points * pct / 100 : points;
}

/* The first award of (issuer, external_ref), as the repeat's answer. */
static enum ly_res
ly_award_first(struct db *db, const struct ly_award_in *in,
    long long balance, struct ly_award *out)
{
	struct db_val p[] = { db_int((long long)in->issuer_id),
	    db_text(in->external_ref) };
	struct db_row *row;
	enum db_res r;

	if ((r = db_one(db, ly_award_stmts[AWARD_FIRST], p, 2, &row)) != DB_ROW)
		return r == DB_NOTFOUND ? LY_RETRY : ly_from_db(r);
	out->id = (uint64_t)row->col[0].i;
	snprintf(out->rule, sizeof(out->rule), "%s", row->col[1].s);
	out->points = row->col[2].i;
	out->capped = (int)row->col[3].i;
	out->campaign_id = (uint64_t)row->col[4].i;
	snprintf(out->campaign, sizeof(out->campaign), "%s", row->col[5].s);
	/* the requesting member's balance, never another member's */
	out->balance = balance;
	out->duplicate = 1;
	return LY_OK;
}

enum ly_res
ly_award(struct db *db, const struct ly_award_in *in, struct ly_award *out)
{
	struct ly_ledger_lock mem;
	uint64_t member_id, rule_id, campaign_id = 0;
	long long balance, base, points, cap, today;
	char now[32], day[11];
	int pct = 0, capped;
	struct db_row *row;
	enum ly_res res;
	enum db_res r;

	memset(out, 0, sizeof(*out));
	/* 1. the member, locked; an issuer not allowed sees a non-member */
	struct db_val mq[] = { db_int((long long)in->issuer_id),
	    db_blob(in->subject_hash, 32) };
	r = db_one(db, ly_award_stmts[AWARD_MEMBER], mq, 2, &row);
	if (r == DB_NOTFOUND)
		return LY_NOT_ENROLLED;
	if (r != DB_ROW)
		return ly_from_db(r);
	if (!row->col[LY_LEDGER_LOCK_NCOLS].i)
		return LY_NOT_ENROLLED;
	ly_ledger_lock_read(row, 0, &mem);
	member_id = mem.id;
	balance = mem.balance;

	/* 2. and 3. the rule, the day's earnings and the bonus */
	ly_now(now);
	ly_day(time(NULL), day);
	struct db_val tq[] = { db_int((long long)in->issuer_id),
	    db_int((long long)member_id), db_text(day), db_text(now),
	    db_text(now), db_text(mem.district), db_text(in->rule) };
	r = db_one(db, ly_award_stmts[AWARD_TERMS], tq, 7, &row);
	if (r == DB_NOTFOUND)
		return LY_UNKNOWN_RULE;
	if (r != DB_ROW)
		return ly_from_db(r);
	if (!row->col[3].i)
		return LY_RULE_NOT_ALLOWED;
	rule_id = (uint64_t)row->col[0].i;
	cap = row->col[2].i;
	today = row->col[4].i;
	if (!row->col[5].null) {
		campaign_id = (uint64_t)row->col[5].i;
		pct = (int)row->col[6].i;
		snprintf(out->campaign, sizeof(out->campaign), "%s",
		    row->col[7].s);
	}
	base = ly_bonus_points(row->col[1].i, pct);
	points = ly_cap_cut(base, cap, today, &capped);

	/* 4. the award; a repeated reference answers with the first */
	struct db_val ins[] = { db_int((long long)in->issuer_id),
	    db_text(in->external_ref), db_int((long long)member_id),
	    db_int((long long)rule_id), db_int(base), db_int(points),
	    db_int(capped), campaign_id ? db_int((long long)campaign_id) :
	    db_null(), db_text(day), db_text(in->occurred_at), db_text(now) };
	r = db_exec(db, ly_award_stmts[AWARD_INSERT], ins, 11);
	if (r == DB_DUP)
		return ly_award_first(db, in, balance, out);
	if (r != DB_OK)
		return ly_from_db(r);
	out->id = db_insert_id(db);
	snprintf(out->rule, sizeof(out->rule), "%s", in->rule);
	out->points = points;
	out->capped = capped;
	out->campaign_id = campaign_id;
	out->balance = balance;

	/* 5. the ledger and the member's access log */
	if (points > 0) {
		struct ly_entry e = { .member_id = member_id, .kind = LY_AWARD,
		    .points = points, .rule_id = rule_id, .award_id = out->id,
		    .campaign_id = campaign_id };
		if ((res = ly_ledger_append_locked(db, &mem, &e)) != LY_OK)
			return res;
		out->balance = e.balance_after;
	}
	return ly_access_note(db, member_id, in->issuer_id, "award");
}
