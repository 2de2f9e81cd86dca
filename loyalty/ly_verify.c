/*
 * ly_verify.c: the ledger's invariants, checked from scratch (perkctl
 * verify). For every member: the sum of the ledger equals the balance,
 * the balance is never negative, the newest entry's balance_after equals
 * the balance, and the sum of award entries equals lifetime points. Then
 * the aggregates: points and entries per ledger kind in agg_points_daily
 * equal the ledger's; awards credited equal award entries; enrolments and
 * departures counted in agg_enroll_daily equal the member rows.
 *
 * This scans members and ledger: an operator's tool, not a request path.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "loyalty/ly.h"

enum ly_verify_stmt {
	VERIFY_MEMBERS,
	VERIFY_KINDS,
	VERIFY_AWARDS,
	VERIFY_ENROLL,
	VERIFY_STMT__MAX
};

static const char *const ly_verify_stmts[VERIFY_STMT__MAX] = {
	/* only members that break an invariant come back */
	[VERIFY_MEMBERS] = "SELECT m.id, m.balance, m.lifetime_points, "
	    "COALESCE(SUM(l.points), 0), "
	    "COALESCE(SUM(CASE WHEN l.kind = 'award' THEN l.points END), 0), "
	    "COALESCE((SELECT l2.balance_after FROM ledger l2 WHERE "
	    "l2.member_id = m.id ORDER BY l2.id DESC LIMIT 1), 0) "
	    "FROM members m LEFT JOIN ledger l ON l.member_id = m.id "
	    "GROUP BY m.id, m.balance, m.lifetime_points "
	    "HAVING m.balance < 0 OR m.balance <> COALESCE(SUM(l.points), 0) "
	    "OR m.lifetime_points <> COALESCE(SUM(CASE WHEN l.kind = 'award' "
	    "THEN l.points END), 0) OR m.balance <> COALESCE((SELECT "
	    "l3.balance_after FROM ledger l3 WHERE l3.member_id = m.id "
	    "ORDER BY l3.id DESC LIMIT 1), 0) ORDER BY m.id LIMIT 1000",
	[VERIFY_KINDS] = "SELECT k.kind, COALESCE(l.n, 0), COALESCE(l.p, 0), "
	    "COALESCE(a.n, 0), COALESCE(a.p, 0) FROM (SELECT 'award' AS kind "
	    "UNION ALL SELECT 'redemption' UNION ALL SELECT 'refund' UNION ALL "
	    "SELECT 'closure') k LEFT JOIN (SELECT kind, COUNT(*) AS n, "
	    "SUM(points) AS p FROM ledger GROUP BY kind) l ON l.kind = k.kind "
	    "LEFT JOIN (SELECT kind, SUM(entries) AS n, SUM(points) AS p FROM "
	    "agg_points_daily GROUP BY kind) a ON a.kind = k.kind",
	[VERIFY_AWARDS] = "SELECT (SELECT COALESCE(SUM(points), 0) FROM "
	    "awards), (SELECT COUNT(*) FROM awards WHERE points > 0), "
	    "(SELECT COUNT(*) FROM ledger WHERE kind = 'award' AND "
	    "award_id IS NOT NULL)",
	[VERIFY_ENROLL] = "SELECT (SELECT COALESCE(SUM(enrolled), 0) FROM "
	    "agg_enroll_daily), (SELECT COALESCE(SUM(left_count), 0) FROM "
	    "agg_enroll_daily), (SELECT COUNT(*) FROM members), (SELECT "
	    "COUNT(*) FROM members WHERE status = 'closed')",
};

enum ly_res
ly_verify(struct db *db, void (*cb)(uint64_t, const char *, void *),
    void *arg, size_t *bad)
{
	long long award_ledger = -1;
	struct db_row *row;
	char msg[256];
	enum db_res r;

	*bad = 0;
	if ((r = db_exec(db, ly_verify_stmts[VERIFY_MEMBERS], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		snprintf(msg, sizeof(msg), "balance %lld, ledger sum %lld, "
		    "newest balance_after %lld, lifetime %lld, award sum %lld",
		    row->col[1].i, row->col[3].i, row->col[5].i, row->col[2].i,
		    row->col[4].i);
		cb((uint64_t)row->col[0].i, msg, arg);
		(*bad)++;
	}
	if (r != DB_DONE)
		return ly_from_db(r);

	if ((r = db_exec(db, ly_verify_stmts[VERIFY_KINDS], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (strcmp(row->col[0].s, "award") == 0)
			award_ledger = row->col[2].i;
		if (row->col[1].i == row->col[3].i &&
		    row->col[2].i == row->col[4].i)
			continue;
		snprintf(msg, sizeof(msg), "agg_points_daily %s: %lld entries "
		    "%lld points, ledger: %lld entries %lld points",
		    row->col[0].s, row->col[3].i, row->col[4].i, row->col[1].i,
		    row->col[2].i);
		cb(0, msg, arg);
		(*bad)++;
	}
	if (r != DB_DONE)
		return ly_from_db(r);

	if ((r = db_one(db, ly_verify_stmts[VERIFY_AWARDS], NULL, 0, &row)) !=
	    DB_ROW)
		return ly_from_db(r);
	if (row->col[0].i != award_ledger || row->col[1].i != row->col[2].i) {
		snprintf(msg, sizeof(msg), "awards credit %lld points in %lld "
		    "awards, the ledger %lld points in %lld award entries",
		    row->col[0].i, row->col[1].i, award_ledger, row->col[2].i);
		cb(0, msg, arg);
		(*bad)++;
	}

	if ((r = db_one(db, ly_verify_stmts[VERIFY_ENROLL], NULL, 0, &row)) !=
	    DB_ROW)
		return ly_from_db(r);
	if (row->col[0].i != row->col[2].i || row->col[1].i != row->col[3].i) {
		snprintf(msg, sizeof(msg), "agg_enroll_daily counts %lld "
		    "enrolled and %lld left, members: %lld rows, %lld closed",
		    row->col[0].i, row->col[1].i, row->col[2].i, row->col[3].i);
		cb(0, msg, arg);
		(*bad)++;
	}
	return LY_OK;
}
