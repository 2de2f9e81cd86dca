/*
 * ly_ledger.c: the append-only ledger, the only code that moves a
 * member's balance. Each append, in the caller's transaction:
 *
 *   1. UPDATE members ... WHERE id = ? AND status = 'active' AND
 *      balance + ? >= 0: must touch exactly one row, or the member is
 *      gone (LY_NOT_ENROLLED) or the balance too small
 *      (LY_INSUFFICIENT_POINTS). The row lock it takes serialises all
 *      changes to one member.
 *   2. reads the new balance, lifetime points and cohort keys;
 *   3. INSERT the ledger row (CHECK constraints fix the sign by kind);
 *   4. upserts the daily aggregate rows that stats read.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loyalty/ly.h"

enum ly_ledger_stmt {
	LEDGER_MOVE,
	LEDGER_MEMBER,
	LEDGER_INSERT,
	LEDGER_AGG_POINTS,
	LEDGER_FIRST_EARN,
	LEDGER_FIRST_REDEEM,
	LEDGER_FUNNEL_EARN,
	LEDGER_FUNNEL_REDEEM,
	LEDGER_STMT__MAX
};

static const char *const ly_ledger_stmts[LEDGER_STMT__MAX] = {
	[LEDGER_MOVE] = "UPDATE members SET balance = balance + ?, "
	    "lifetime_points = lifetime_points + ? WHERE id = ? AND "
	    "status = 'active' AND balance + ? >= 0",
	[LEDGER_MEMBER] = "SELECT balance, lifetime_points, "
	    "COALESCE(district, ''), COALESCE(channel, ''), "
	    "FLOOR(UNIX_TIMESTAMP(enrolled_at)), first_earned_at IS NULL, "
	    "first_redeemed_at IS NULL, "
	    "enrolled_at >= UTC_TIMESTAMP(6) - INTERVAL 30 DAY "
	    "FROM members WHERE id = ?",
	[LEDGER_INSERT] = "INSERT INTO ledger (member_id, at, kind, points, "
	    "balance_after, rule_id, perk_id, award_id, redemption_id) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[LEDGER_AGG_POINTS] = "INSERT INTO agg_points_daily (day, district, "
	    "kind, ref_id, campaign_id, shard, entries, points) VALUES "
	    "(?, ?, ?, ?, ?, ?, 1, ?) ON DUPLICATE KEY UPDATE "
	    "entries = entries + 1, points = points + VALUES(points)",
	[LEDGER_FIRST_EARN] = "UPDATE members SET first_earned_at = ? "
	    "WHERE id = ?",
	[LEDGER_FIRST_REDEEM] = "UPDATE members SET first_redeemed_at = ? "
	    "WHERE id = ?",
	[LEDGER_FUNNEL_EARN] = "INSERT INTO agg_funnel_daily (enroll_day, "
	    "district, channel, shard, earned, earned_30d) VALUES "
	    "(?, ?, ?, ?, 1, ?) ON DUPLICATE KEY UPDATE earned = earned + 1, "
	    "earned_30d = earned_30d + VALUES(earned_30d)",
	[LEDGER_FUNNEL_REDEEM] = "INSERT INTO agg_funnel_daily (enroll_day, "
	    "district, channel, shard, redeemed) VALUES (?, ?, ?, ?, 1) "
	    "ON DUPLICATE KEY UPDATE redeemed = redeemed + 1",
};

static const char *const ly_kind_names[LY_KIND__MAX] = {
	"award", "redemption", "refund", "closure",
};

const char *
ly_kind_str(enum ly_kind k)
{
	return (k >= 0 && k < LY_KIND__MAX) ? ly_kind_names[k] : "?";
}

static struct db_val
ly_opt_id(uint64_t id)
{
	return id == 0 ? db_null() : db_int((long long)id);
}

enum ly_res
ly_ledger_append(struct db *db, struct ly_entry *e)
{
	char now[32], day[11], district[LIM_CODE_MAX + 1];
	char channel[LIM_CODE_MAX + 1], enroll_day[11];
	long long lifetime_delta;
	int first_earn, first_redeem, within_30d;
	struct db_row *row;
	enum db_res r;

	if (e->kind < 0 || e->kind >= LY_KIND__MAX || e->points == 0 ||
	    ((e->kind == LY_AWARD || e->kind == LY_REFUND) ? e->points < 0 :
	    e->points > 0))
		return LY_INVAL;
	/* Lifetime points count what was earned: awards only. A refund
	 * returns spent points; it is not new earning. */
	lifetime_delta = e->kind == LY_AWARD ? e->points : 0;

	struct db_val mv[] = { db_int(e->points), db_int(lifetime_delta),
	    db_int((long long)e->member_id), db_int(e->points) };
	if ((r = db_exec(db, ly_ledger_stmts[LEDGER_MOVE], mv, 4)) != DB_OK)
		return r == DB_CHECK ? LY_INSUFFICIENT_POINTS : ly_from_db(r);
	if (db_affected(db) != 1) {
		/* tell a missing/closed member from a short balance */
		struct db_val q[] = { db_int((long long)e->member_id) };
		r = db_one(db, ly_ledger_stmts[LEDGER_MEMBER], q, 1, &row);
		if (r == DB_NOTFOUND)
			return LY_NOT_ENROLLED;
		if (r != DB_ROW)
			return ly_from_db(r);
		return row->col[2].len == 0 && e->kind != LY_CLOSURE ?
		    LY_NOT_ENROLLED : LY_INSUFFICIENT_POINTS;
	}

	struct db_val q[] = { db_int((long long)e->member_id) };
	if ((r = db_one(db, ly_ledger_stmts[LEDGER_MEMBER], q, 1, &row)) !=
	    DB_ROW)
		return r == DB_NOTFOUND ? LY_NOT_ENROLLED : ly_from_db(r);
	e->balance_after = row->col[0].i;
	e->lifetime_after = row->col[1].i;
	snprintf(district, sizeof(district), "%s", row->col[2].s);
	snprintf(channel, sizeof(channel), "%s", row->col[3].s);
	/* the cohort day in the programme's time zone, as enrolment
	 * counted it (ly_member_enroll) */
	ly_day((time_t)row->col[4].i, enroll_day);
	first_earn = e->kind == LY_AWARD && row->col[5].i;
	first_redeem = e->kind == LY_REDEMPTION && row->col[6].i;
	within_30d = (int)row->col[7].i;

	ly_now(now);
	struct db_val ins[] = { db_int((long long)e->member_id), db_text(now),
	    db_text(ly_kind_str(e->kind)), db_int(e->points),
	    db_int(e->balance_after), ly_opt_id(e->rule_id),
	    ly_opt_id(e->perk_id), ly_opt_id(e->award_id),
	    ly_opt_id(e->redemption_id) };
	if ((r = db_exec(db, ly_ledger_stmts[LEDGER_INSERT], ins, 9)) != DB_OK)
		return ly_from_db(r);
	e->id = db_insert_id(db);

	ly_day(time(NULL), day);
	struct db_val agg[] = { db_text(day), db_text(district),
	    db_text(ly_kind_str(e->kind)),
	    db_int((long long)(e->kind == LY_AWARD ? e->rule_id : e->perk_id)),
	    db_int((long long)e->campaign_id),
	    db_int(ly_shard(e->member_id)), db_int(e->points) };
	if ((r = db_exec(db, ly_ledger_stmts[LEDGER_AGG_POINTS], agg, 7)) !=
	    DB_OK)
		return ly_from_db(r);

	if (first_earn || first_redeem) {
		struct db_val fm[] = { db_text(now),
		    db_int((long long)e->member_id) };
		r = db_exec(db, ly_ledger_stmts[first_earn ?
		    LEDGER_FIRST_EARN : LEDGER_FIRST_REDEEM], fm, 2);
		if (r != DB_OK)
			return ly_from_db(r);
		if (first_earn) {
			struct db_val fe[] = { db_text(enroll_day),
			    db_text(district), db_text(channel),
			    db_int(ly_shard(e->member_id)),
			    db_int(within_30d) };
			r = db_exec(db, ly_ledger_stmts[LEDGER_FUNNEL_EARN],
			    fe, 5);
		} else {
			struct db_val fr[] = { db_text(enroll_day),
			    db_text(district), db_text(channel),
			    db_int(ly_shard(e->member_id)) };
			r = db_exec(db, ly_ledger_stmts[LEDGER_FUNNEL_REDEEM],
			    fr, 4);
		}
		if (r != DB_OK)
			return ly_from_db(r);
	}
	return LY_OK;
}
