/*
 * pc_stats.c: perkctl's statistics tools.
 *
 *   stats rebuild                   recompute every aggregate from
 *                                   members and ledger, in one transaction
 *   stats verify                    check that the aggregates agree with
 *                                   members and ledger, and the roll-ups
 *                                   (0030) with the daily tables
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/perkctl.h"

enum pc_stats_stmt {
	RB_MAX_MEMBER,
	RB_CLEAR_ENROLL,
	RB_CLEAR_FUNNEL,
	RB_CLEAR_POINTS,
	RB_CLEAR_MEMBERS_DAILY,
	RB_CLEAR_CHANNEL,
	RB_CLEAR_FUNNEL_TOTAL,
	RB_CLEAR_POINTS_TOTAL,
	RB_ENROLLED,
	RB_LEFT,
	RB_FUNNEL,
	RB_POINTS,
	PC_STATS_STMT__MAX
};

/* Local day of a DATETIME: the offset is bound (perkctl computes it from
 * the configured time zone). */
#define PC_DAY(x) "DATE(CONVERT_TZ(" x ", '+00:00', ?))"
/* The shard of a member id, as ly_shard() computes it. */
#define PC_SHARD(id) id " % " LIM_STR(LIM_AGG_SHARDS)

static const char *const pc_stats_stmts[PC_STATS_STMT__MAX] = {
	[RB_MAX_MEMBER] = "SELECT COALESCE(MAX(id), 0) FROM members",
	[RB_CLEAR_ENROLL] = "DELETE FROM agg_enroll_daily",
	[RB_CLEAR_FUNNEL] = "DELETE FROM agg_funnel_daily",
	[RB_CLEAR_POINTS] = "DELETE FROM agg_points_daily",
	[RB_CLEAR_MEMBERS_DAILY] = "DELETE FROM agg_members_daily",
	[RB_CLEAR_CHANNEL] = "DELETE FROM agg_channel_daily",
	[RB_CLEAR_FUNNEL_TOTAL] = "DELETE FROM agg_funnel_total",
	[RB_CLEAR_POINTS_TOTAL] = "DELETE FROM agg_points_total",
	[RB_ENROLLED] = "INSERT INTO agg_enroll_daily (day, district, channel, "
	    "shard, enrolled) SELECT " PC_DAY("enrolled_at") " d, "
	    "COALESCE(district, '') di, COALESCE(channel, '') ch, "
	    PC_SHARD("id") " s, "
	    "COUNT(*) FROM members WHERE id >= ? AND id < ? "
	    "GROUP BY d, di, ch, s ON DUPLICATE KEY UPDATE "
	    "enrolled = enrolled + VALUES(enrolled)",
	[RB_LEFT] = "INSERT INTO agg_enroll_daily (day, district, channel, "
	    "shard, left_count) SELECT " PC_DAY("left_at") " d, "
	    "COALESCE(district, '') di, COALESCE(channel, '') ch, "
	    PC_SHARD("id") " s, "
	    "COUNT(*) FROM members WHERE id >= ? AND id < ? AND left_at IS NOT "
	    "NULL GROUP BY d, di, ch, s ON DUPLICATE KEY UPDATE "
	    "left_count = left_count + VALUES(left_count)",
	[RB_FUNNEL] = "INSERT INTO agg_funnel_daily (enroll_day, district, "
	    "channel, shard, enrolled, earned, earned_30d, redeemed) SELECT "
	    PC_DAY("enrolled_at") " d, COALESCE(district, '') di, "
	    "COALESCE(channel, '') ch, " PC_SHARD("id") " s, COUNT(*), "
	    "SUM(first_earned_at IS NOT NULL), SUM(first_earned_at IS NOT NULL "
	    "AND first_earned_at <= enrolled_at + INTERVAL 30 DAY), "
	    "SUM(first_redeemed_at IS NOT NULL) FROM members WHERE id >= ? AND "
	    "id < ? GROUP BY d, di, ch, s ON DUPLICATE KEY UPDATE "
	    "enrolled = enrolled + VALUES(enrolled), "
	    "earned = earned + VALUES(earned), "
	    "earned_30d = earned_30d + VALUES(earned_30d), "
	    "redeemed = redeemed + VALUES(redeemed)",
	[RB_POINTS] = "INSERT INTO agg_points_daily (day, district, kind, "
	    "ref_id, campaign_id, shard, entries, points) SELECT "
	    PC_DAY("l.at") " d, COALESCE(m.district, '') di, l.kind k, "
	    "IF(l.kind = 'award', COALESCE(l.rule_id, 0), "
	    "COALESCE(l.perk_id, 0)) r, COALESCE(a.campaign_id, 0) c, "
	    PC_SHARD("l.member_id") " s, COUNT(*), SUM(l.points) FROM ledger l "
	    "JOIN members m ON m.id = l.member_id LEFT JOIN awards a ON "
	    "a.id = l.award_id WHERE l.member_id >= ? AND l.member_id < ? "
	    "GROUP BY d, di, k, r, c, s ON DUPLICATE KEY UPDATE "
	    "entries = entries + VALUES(entries), "
	    "points = points + VALUES(points)",
};

/*
 * The verification queries: each returns the number of keys on which two
 * sources disagree (0 = agree) and a name for the report. City-wide, per
 * day: opt-out erases a member's district, so per-district history can
 * only be checked between aggregates, not against members.
 */
static const struct {
	const char	*name;
	const char	*sql;
	int		 tz;	/* binds the time-zone offset (twice) */
} pc_verify[] = {
	{ "enrolments per day (members vs agg_enroll_daily)",
	  "SELECT COUNT(*) FROM (SELECT d FROM (SELECT " PC_DAY("enrolled_at")
	  " d, COUNT(*) a, 0 b FROM members GROUP BY d UNION ALL SELECT day, "
	  "0, SUM(enrolled) FROM agg_enroll_daily GROUP BY day) u GROUP BY d "
	  "HAVING SUM(a) <> SUM(b)) x", 1 },
	{ "departures per day (members vs agg_enroll_daily)",
	  "SELECT COUNT(*) FROM (SELECT d FROM (SELECT " PC_DAY("left_at")
	  " d, COUNT(*) a, 0 b FROM members WHERE left_at IS NOT NULL GROUP BY "
	  "d UNION ALL SELECT day, 0, SUM(left_count) FROM agg_enroll_daily "
	  "GROUP BY day) u GROUP BY d HAVING SUM(a) <> SUM(b)) x", 1 },
	{ "funnel per enrolment day (members vs agg_funnel_daily)",
	  "SELECT COUNT(*) FROM (SELECT d FROM (SELECT " PC_DAY("enrolled_at")
	  " d, COUNT(*) e, SUM(first_earned_at IS NOT NULL) n, "
	  "SUM(first_earned_at IS NOT NULL AND first_earned_at <= enrolled_at "
	  "+ INTERVAL 30 DAY) t, SUM(first_redeemed_at IS NOT NULL) r FROM "
	  "members GROUP BY d UNION ALL SELECT enroll_day, -SUM(enrolled), "
	  "-SUM(earned), -SUM(earned_30d), -SUM(redeemed) FROM agg_funnel_daily "
	  "GROUP BY enroll_day) u GROUP BY d HAVING SUM(e) <> 0 OR SUM(n) <> 0 "
	  "OR SUM(t) <> 0 OR SUM(r) <> 0) x", 1 },
	{ "points per day, kind, rule or perk (ledger vs agg_points_daily)",
	  "SELECT COUNT(*) FROM (SELECT d FROM (SELECT " PC_DAY("at") " d, "
	  "kind k, IF(kind = 'award', COALESCE(rule_id, 0), "
	  "COALESCE(perk_id, 0)) r, COUNT(*) e, SUM(points) p FROM ledger "
	  "GROUP BY d, k, r UNION ALL SELECT day, kind, ref_id, -SUM(entries), "
	  "-SUM(points) FROM agg_points_daily GROUP BY day, kind, ref_id) u "
	  "GROUP BY d, k, r HAVING SUM(e) <> 0 OR SUM(p) <> 0) x", 1 },
	{ "agg_members_daily vs agg_enroll_daily",
	  "SELECT COUNT(*) FROM (SELECT 1 FROM (SELECT day, district, enrolled "
	  "e, left_count l FROM agg_members_daily UNION ALL SELECT day, "
	  "district, -SUM(enrolled), -SUM(left_count) FROM agg_enroll_daily "
	  "GROUP BY day, district) u GROUP BY day, district HAVING SUM(e) <> 0 "
	  "OR SUM(l) <> 0) x", 0 },
	{ "agg_channel_daily vs agg_funnel_daily",
	  "SELECT COUNT(*) FROM (SELECT 1 FROM (SELECT channel, enroll_day, "
	  "district, enrolled e, earned n, earned_30d t, redeemed r FROM "
	  "agg_channel_daily UNION ALL SELECT channel, enroll_day, district, "
	  "-SUM(enrolled), -SUM(earned), -SUM(earned_30d), -SUM(redeemed) FROM "
	  "agg_funnel_daily GROUP BY channel, enroll_day, district) u GROUP BY "
	  "channel, enroll_day, district HAVING SUM(e) <> 0 OR SUM(n) <> 0 OR "
	  "SUM(t) <> 0 OR SUM(r) <> 0) x", 0 },
	{ "agg_funnel_total vs agg_funnel_daily",
	  "SELECT COUNT(*) FROM (SELECT 1 FROM (SELECT district, channel, "
	  "shard, enrolled e, earned n, earned_30d t, redeemed r FROM "
	  "agg_funnel_total UNION ALL SELECT district, channel, shard, "
	  "-SUM(enrolled), -SUM(earned), -SUM(earned_30d), -SUM(redeemed) FROM "
	  "agg_funnel_daily GROUP BY district, channel, shard) u GROUP BY "
	  "district, channel, shard HAVING SUM(e) <> 0 OR SUM(n) <> 0 OR "
	  "SUM(t) <> 0 OR SUM(r) <> 0) x", 0 },
	{ "agg_points_total vs agg_points_daily",
	  "SELECT COUNT(*) FROM (SELECT 1 FROM (SELECT district, kind, ref_id, "
	  "campaign_id, shard, entries e, points p FROM agg_points_total UNION "
	  "ALL SELECT district, kind, ref_id, campaign_id, shard, -SUM(entries), "
	  "-SUM(points) FROM agg_points_daily GROUP BY district, kind, ref_id, "
	  "campaign_id, shard) u GROUP BY district, kind, ref_id, campaign_id, "
	  "shard HAVING SUM(e) <> 0 OR SUM(p) <> 0) x", 0 },
};

/* The configured time zone's current offset from UTC as "+HH:MM", for
 * CONVERT_TZ (numeric offsets need no time-zone tables). A zone with
 * daylight saving time is approximated by today's offset; UTC, the
 * default, is exact. */
static void
pc_tz_offset(char out[8])
{
	time_t now = time(NULL);
	struct tm lt, gt;
	long off;

	localtime_r(&now, &lt);
	gmtime_r(&now, &gt);
	lt.tm_isdst = 0;
	gt.tm_isdst = 0;
	off = (long)difftime(mktime(&lt), mktime(&gt)) / 60;
	snprintf(out, 8, "%c%02ld:%02ld", off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60 % 100, (off < 0 ? -off : off) % 60);
}

/* ---- stats rebuild, stats verify ---- */

/*
 * One statement per aggregate, each grouping its whole source: every
 * aggregate row is then written once (and its roll-up once, by the
 * trigger). Chunking by member ids would rewrite each row once per chunk,
 * since a chunk's members share days and districts.
 */
static int
pc_stats_rebuild(struct pc *pc)
{
	static const enum pc_stats_stmt clear[] = { RB_CLEAR_ENROLL,
	    RB_CLEAR_FUNNEL, RB_CLEAR_POINTS, RB_CLEAR_MEMBERS_DAILY,
	    RB_CLEAR_CHANNEL, RB_CLEAR_FUNNEL_TOTAL, RB_CLEAR_POINTS_TOTAL };
	static const struct { enum pc_stats_stmt st; const char *what; }
	    fill[] = {
		{ RB_ENROLLED, "enrolments (members)" },
		{ RB_LEFT, "departures (members)" },
		{ RB_FUNNEL, "funnel (members)" },
		{ RB_POINTS, "points (ledger, awards)" },
	};
	struct db_row *row;
	char tz[8];
	long long maxid;
	size_t i;
	enum db_res r;
	double t0 = pc_clock(), t;

	pc_tz_offset(tz);
	if (pc_begin(pc) != 0)
		return -1;
	if ((r = db_one(pc->db, pc_stats_stmts[RB_MAX_MEMBER], NULL, 0,
	    &row)) != DB_ROW)
		goto fail;
	maxid = row->col[0].i;
	for (i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		if ((r = db_exec(pc->db, pc_stats_stmts[clear[i]], NULL, 0)) !=
		    DB_OK)
			goto fail;
	fprintf(stderr, "rebuild [0/%zu] aggregates cleared (%.1f s); time "
	    "zone offset %s\n", sizeof(fill) / sizeof(fill[0]),
	    pc_clock() - t0, tz);
	for (i = 0; i < sizeof(fill) / sizeof(fill[0]); i++) {
		struct db_val p[] = { db_text(tz), db_int(1),
		    db_int(maxid + 1) };
		t = pc_clock();
		if ((r = db_exec(pc->db, pc_stats_stmts[fill[i].st], p, 3)) !=
		    DB_OK)
			goto fail;
		fprintf(stderr, "rebuild [%zu/%zu] %s: %llu rows (%.1f s)\n",
		    i + 1, sizeof(fill) / sizeof(fill[0]), fill[i].what,
		    db_affected(pc->db), pc_clock() - t);
	}
	t = pc_clock();
	if (pc_txn_end(pc, LY_OK, "stats rebuild") != 0)
		return -1;
	fprintf(stderr, "rebuild: committed (%.1f s), %.1f s in all. "
	    "Departed members count under district \"\": opt-out erased "
	    "their district.\n", pc_clock() - t, pc_clock() - t0);
	return 0;
fail:
	fprintf(stderr, "perkctl: stats rebuild: %s: %s\n", db_res_str(r),
	    db_error(pc->db));
	db_rollback(pc->db);
	return -1;
}

int
pc_stats_verify(struct pc *pc, FILE *out)
{
	struct db_row *row;
	char tz[8];
	size_t i;
	enum db_res r;
	int bad = 0;
	double t0;

	pc_tz_offset(tz);
	for (i = 0; i < sizeof(pc_verify) / sizeof(pc_verify[0]); i++) {
		struct db_val p[] = { db_text(tz) };
		t0 = pc_clock();
		r = db_one(pc->db, pc_verify[i].sql, p, pc_verify[i].tz ? 1 : 0,
		    &row);
		if (r != DB_ROW) {
			fprintf(out, "stats verify: %s: %s: %s\n",
			    pc_verify[i].name, db_res_str(r), db_error(pc->db));
			return -1;
		}
		fprintf(out, "%-4s %s: %lld disagreeing keys (%.1f s)\n",
		    row->col[0].i == 0 ? "ok" : "FAIL", pc_verify[i].name,
		    row->col[0].i, pc_clock() - t0);
		if (row->col[0].i != 0)
			bad = 1;
	}
	return bad;
}

int
pc_cmd_stats(struct pc *pc, int argc, char *argv[])
{
	int rc;

	if (argc != 2 || (strcmp(argv[1], "rebuild") != 0 &&
	    strcmp(argv[1], "verify") != 0)) {
		fprintf(stderr, "usage: perkctl stats rebuild|verify\n");
		return 2;
	}
	if (pc_open(pc) != 0)
		return 1;
	if (strcmp(argv[1], "rebuild") == 0)
		return pc_stats_rebuild(pc) == 0 ? 0 : 1;
	rc = pc_stats_verify(pc, stdout);
	return rc == 0 ? 0 : 1;
}
