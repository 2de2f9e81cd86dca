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
 *   2. the rule's terms (ly_terms.c: the rule, whether this issuer may
 *      award it, its bonus campaigns; kept in memory by perkd), and the
 *      best bonus in force for the member's district;
 *   3. for a capped rule, the points earned from it today (the member's
 *      row lock, taken before this sum, serialises awards to one member,
 *      so a cap holds under concurrency);
 *   4. INSERT the award: UNIQUE (issuer_id, external_ref) makes a repeat
 *      fail with DB_DUP (a concurrent repeat waits on the key, then
 *      fails), and the first award is returned instead, crediting nothing;
 *   5. the access-log line, then the ledger entry (points > 0;
 *      ly_ledger_append_locked, with the member row as step 1 read and
 *      locked it), whose shared aggregate row is written last.
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
	AWARD_EARNED,
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
	/* read after the member's lock */
	[AWARD_EARNED] = "SELECT COALESCE(SUM(points), 0) FROM awards "
	    "WHERE member_id = ? AND rule_id = ? AND day = ?",
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
	struct ly_rule_terms rule;
	struct ly_terms *terms;
	struct ly_award_bonus bonus;
	uint64_t member_id;
	long long balance, base, points, today = 0;
	char now[32], day[11];
	int ok, capped;
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

	/* 2. the terms and the bonus */
	if ((res = ly_terms_get(db, in->rule, &terms)) != LY_OK)
		return res;
	rule = *ly_terms_rule(terms);
	ok = ly_terms_issuer_ok(terms, in->issuer_id);
	ly_now(now);
	if (ly_terms_bonus(terms, mem.district, now, &bonus))
		snprintf(out->campaign, sizeof(out->campaign), "%s",
		    bonus.public_id);
	ly_terms_put(terms);
	if (!ok)
		return LY_RULE_NOT_ALLOWED;

	/* 3. the day's earnings of a capped rule */
	ly_day(time(NULL), day);
	if (rule.cap > 0) {
		struct db_val eq[] = { db_int((long long)member_id),
		    db_int((long long)rule.id), db_text(day) };
		if ((r = db_one(db, ly_award_stmts[AWARD_EARNED], eq, 3,
		    &row)) != DB_ROW)
			return ly_from_db(r);
		today = row->col[0].i;
	}
	base = ly_bonus_points(rule.points, bonus.pct);
	points = ly_cap_cut(base, rule.cap, today, &capped);

	/* 4. the award; a repeated reference answers with the first */
	struct db_val ins[] = { db_int((long long)in->issuer_id),
	    db_text(in->external_ref), db_int((long long)member_id),
	    db_int((long long)rule.id), db_int(base), db_int(points),
	    db_int(capped), bonus.campaign_id ?
	    db_int((long long)bonus.campaign_id) : db_null(), db_text(day),
	    db_text(in->occurred_at), db_text(now) };
	r = db_exec(db, ly_award_stmts[AWARD_INSERT], ins, 11);
	if (r == DB_DUP)
		return ly_award_first(db, in, balance, out);
	if (r != DB_OK)
		return ly_from_db(r);
	out->id = db_insert_id(db);
	snprintf(out->rule, sizeof(out->rule), "%s", in->rule);
	out->points = points;
	out->capped = capped;
	out->campaign_id = bonus.campaign_id;
	out->balance = balance;

	/* 5. the member's access log, then the ledger: the ledger's last
	 * write is the shared daily aggregate row, whose lock other awards
	 * wait for until this commit, so it comes as late as it can */
	if ((res = ly_access_note(db, member_id, in->issuer_id, "award")) !=
	    LY_OK || points == 0)
		return res;
	struct ly_entry e = { .member_id = member_id, .kind = LY_AWARD,
	    .points = points, .rule_id = rule.id, .award_id = out->id,
	    .campaign_id = bonus.campaign_id };
	if ((res = ly_ledger_append_locked(db, &mem, &e)) != LY_OK)
		return res;
	out->balance = e.balance_after;
	return LY_OK;
}
