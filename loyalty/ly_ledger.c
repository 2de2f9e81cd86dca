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
 *
 * ly_ledger_append_many() keeps the same rules for many entries at once
 * (a batch of awards) with a handful of multi-row statements per
 * LIM_DB_ROWS_MAX entries instead of five statements an entry: it locks
 * the members (FOR UPDATE, by id), computes every balance_after in C
 * from the locked rows in entry order, refuses the whole call if one
 * would go negative (the CHECK constraints would too), then moves each
 * member's balance with one UPDATE row, inserts the ledger rows in entry
 * order (so ids follow it and the last row of a member carries its
 * balance), and upserts the aggregates and the funnel summed in C.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
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
	LEDGER_MOVE_LOCKED,
	LEDGER_STMT__MAX
};

/* The multi-row statements of ly_ledger_append_many(). */
enum ly_ledger_multi {
	LEDGER_M_LOCK,
	LEDGER_M_MOVE,
	LEDGER_M_INSERT,
	LEDGER_M_AGG,
	LEDGER_M_FUNNEL,
	LEDGER_M__MAX
};

static const struct db_multi ly_ledger_multi[LEDGER_M__MAX] = {
	/* padded with a repeated id; locks in id order (primary key range) */
	[LEDGER_M_LOCK] = { "SELECT " LY_LEDGER_LOCK_COLS " FROM members m "
	    "WHERE m.status = 'active' AND m.id IN (", "?", ", ",
	    ") ORDER BY m.id FOR UPDATE" },
	/* one row per member: (id, balance delta, lifetime delta, first
	 * earn, first redemption); padding rows have id 0 and touch nothing */
	[LEDGER_M_MOVE] = { "UPDATE members m JOIN (", "SELECT ? AS id, "
	    "? AS d, ? AS l, ? AS fe, ? AS fr", " UNION ALL ", ") x ON "
	    "m.id = x.id SET m.balance = m.balance + x.d, "
	    "m.lifetime_points = m.lifetime_points + x.l, "
	    "m.first_earned_at = IF(x.fe = 1 AND m.first_earned_at IS NULL, "
	    "?, m.first_earned_at), m.first_redeemed_at = IF(x.fr = 1 AND "
	    "m.first_redeemed_at IS NULL, ?, m.first_redeemed_at) "
	    "WHERE m.status = 'active'" },
	[LEDGER_M_INSERT] = { "INSERT INTO ledger (member_id, at, kind, "
	    "points, balance_after, rule_id, perk_id, award_id, redemption_id) "
	    "VALUES ", "(?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", "" },
	[LEDGER_M_AGG] = { "INSERT INTO agg_points_daily (day, district, "
	    "kind, ref_id, campaign_id, shard, entries, points) VALUES ",
	    "(?, ?, ?, ?, ?, ?, ?, ?)", ", ", " ON DUPLICATE KEY UPDATE "
	    "entries = entries + VALUES(entries), "
	    "points = points + VALUES(points)" },
	[LEDGER_M_FUNNEL] = { "INSERT INTO agg_funnel_daily (enroll_day, "
	    "district, channel, shard, earned, earned_30d, redeemed) VALUES ",
	    "(?, ?, ?, ?, ?, ?, ?)", ", ", " ON DUPLICATE KEY UPDATE "
	    "earned = earned + VALUES(earned), "
	    "earned_30d = earned_30d + VALUES(earned_30d), "
	    "redeemed = redeemed + VALUES(redeemed)" },
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
	/* LEDGER_MOVE and the first earn/redemption time in one statement,
	 * for a member row the caller holds locked */
	[LEDGER_MOVE_LOCKED] = "UPDATE members SET balance = balance + ?, "
	    "lifetime_points = lifetime_points + ?, "
	    "first_earned_at = IF(? = 1 AND first_earned_at IS NULL, ?, "
	    "first_earned_at), first_redeemed_at = IF(? = 1 AND "
	    "first_redeemed_at IS NULL, ?, first_redeemed_at) "
	    "WHERE id = ? AND status = 'active' AND balance + ? >= 0",
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

void
ly_ledger_lock_read(const struct db_row *row, size_t first,
    struct ly_ledger_lock *out)
{
	const struct db_col *c = &row->col[first];

	memset(out, 0, sizeof(*out));
	out->id = (uint64_t)c[0].i;
	out->balance = c[1].i;
	out->lifetime = c[2].i;
	snprintf(out->district, sizeof(out->district), "%s", c[3].s ? c[3].s :
	    "");
	snprintf(out->channel, sizeof(out->channel), "%s", c[4].s ? c[4].s :
	    "");
	/* the cohort day in the programme's time zone, as enrolment
	 * counted it (ly_member_enroll) */
	ly_day((time_t)c[5].i, out->enroll_day);
	out->earn_open = (int)c[6].i;
	out->redeem_open = (int)c[7].i;
	out->within_30d = (int)c[8].i;
}

static int
ly_entry_valid(const struct ly_entry *e)
{
	return e->kind >= 0 && e->kind < LY_KIND__MAX && e->points != 0 &&
	    ((e->kind == LY_AWARD || e->kind == LY_REFUND) ? e->points > 0 :
	    e->points < 0);
}

enum ly_res
ly_ledger_append_locked(struct db *db, struct ly_ledger_lock *m,
    struct ly_entry *e)
{
	char now[32], day[11];
	long long lifetime_delta;
	int first_earn, first_redeem;
	enum db_res r;

	if (!ly_entry_valid(e) || e->member_id != m->id)
		return LY_INVAL;
	if (m->balance + e->points < 0)
		return LY_INSUFFICIENT_POINTS;
	lifetime_delta = e->kind == LY_AWARD ? e->points : 0;
	first_earn = e->kind == LY_AWARD && m->earn_open;
	first_redeem = e->kind == LY_REDEMPTION && m->redeem_open;
	ly_now(now);
	struct db_val mv[] = { db_int(e->points), db_int(lifetime_delta),
	    db_int(first_earn), db_text(now), db_int(first_redeem),
	    db_text(now), db_int((long long)e->member_id), db_int(e->points) };
	if ((r = db_exec(db, ly_ledger_stmts[LEDGER_MOVE_LOCKED], mv, 8)) !=
	    DB_OK)
		return r == DB_CHECK ? LY_INSUFFICIENT_POINTS : ly_from_db(r);
	if (db_affected(db) != 1)
		return LY_INTERNAL;	/* the caller's lock was not held */
	m->balance += e->points;
	m->lifetime += lifetime_delta;
	e->balance_after = m->balance;
	e->lifetime_after = m->lifetime;

	struct db_val ins[] = { db_int((long long)e->member_id), db_text(now),
	    db_text(ly_kind_str(e->kind)), db_int(e->points),
	    db_int(e->balance_after), ly_opt_id(e->rule_id),
	    ly_opt_id(e->perk_id), ly_opt_id(e->award_id),
	    ly_opt_id(e->redemption_id) };
	if ((r = db_exec(db, ly_ledger_stmts[LEDGER_INSERT], ins, 9)) != DB_OK)
		return ly_from_db(r);
	e->id = db_insert_id(db);

	ly_day(time(NULL), day);
	struct db_val agg[] = { db_text(day), db_text(m->district),
	    db_text(ly_kind_str(e->kind)),
	    db_int((long long)(e->kind == LY_AWARD ? e->rule_id : e->perk_id)),
	    db_int((long long)e->campaign_id),
	    db_int(ly_shard(e->member_id)), db_int(e->points) };
	if ((r = db_exec(db, ly_ledger_stmts[LEDGER_AGG_POINTS], agg, 7)) !=
	    DB_OK)
		return ly_from_db(r);
	if (first_earn) {
		m->earn_open = 0;
		struct db_val fe[] = { db_text(m->enroll_day),
		    db_text(m->district), db_text(m->channel),
		    db_int(ly_shard(e->member_id)), db_int(m->within_30d) };
		r = db_exec(db, ly_ledger_stmts[LEDGER_FUNNEL_EARN], fe, 5);
	} else if (first_redeem) {
		m->redeem_open = 0;
		struct db_val fr[] = { db_text(m->enroll_day),
		    db_text(m->district), db_text(m->channel),
		    db_int(ly_shard(e->member_id)) };
		r = db_exec(db, ly_ledger_stmts[LEDGER_FUNNEL_REDEEM], fr, 4);
	}
	return ly_from_db(r);
}

/* ---- many entries at once ---- */

/* A member as locked by ly_ledger_append_many, and what the call does to
 * it. */
struct ly_lm {
	uint64_t		 id;
	int			 found;
	struct ly_ledger_lock	 st;	/* running, from the locked row */
	long long		 delta, lifetime_delta;
	int			 first_earn, first_redeem;	/* by this call */
};

/* One aggregate row summed in C: agg_points_daily (funnel = 0) or
 * agg_funnel_daily (funnel = 1). */
struct ly_agg {
	int		 funnel;
	const char	*district, *channel, *enroll_day;
	enum ly_kind	 kind;
	uint64_t	 ref_id, campaign_id;
	unsigned	 shard;
	long long	 entries, points, earned, earned_30d, redeemed;
};

static int
ly_lm_cmp(const void *a, const void *b)
{
	const struct ly_lm *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct ly_lm *
ly_lm_find(struct ly_lm *m, size_t n, uint64_t id)
{
	struct ly_lm key = { .id = id };

	return bsearch(&key, m, n, sizeof(*m), ly_lm_cmp);
}

/* Orders aggregate rows by their key: equal keys become one row, and
 * every writer takes the row locks in the same order. */
static int
ly_agg_cmp(const void *a, const void *b)
{
	const struct ly_agg *x = a, *y = b;
	int c;

	if (x->funnel != y->funnel)
		return x->funnel - y->funnel;
	if (x->funnel) {
		if ((c = strcmp(x->enroll_day, y->enroll_day)) != 0 ||
		    (c = strcmp(x->district, y->district)) != 0 ||
		    (c = strcmp(x->channel, y->channel)) != 0)
			return c;
		return (int)x->shard - (int)y->shard;
	}
	if ((c = strcmp(x->district, y->district)) != 0)
		return c;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->ref_id != y->ref_id)
		return x->ref_id < y->ref_id ? -1 : 1;
	if (x->campaign_id != y->campaign_id)
		return x->campaign_id < y->campaign_id ? -1 : 1;
	return (int)x->shard - (int)y->shard;
}

/* Sums rows with equal keys into the first of them; returns the count of
 * distinct rows left at the front of a (sorted). */
static size_t
ly_agg_fold(struct ly_agg *a, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k > 0 && ly_agg_cmp(&a[k - 1], &a[i]) == 0) {
			a[k - 1].entries += a[i].entries;
			a[k - 1].points += a[i].points;
			a[k - 1].earned += a[i].earned;
			a[k - 1].earned_30d += a[i].earned_30d;
			a[k - 1].redeemed += a[i].redeemed;
		} else
			a[k++] = a[i];
	}
	return k;
}

/* Locks the members (chunks of padded IN lists, ascending ids) and reads
 * what the ledger needs of each. LY_NOT_ENROLLED if one is not active. */
static enum ly_res
ly_lm_lock(struct db *db, struct ly_lm *m, size_t nm, struct db_val *v)
{
	struct db_row *row;
	struct ly_lm *x;
	size_t at, k, pad, i;
	const char *sql;
	enum db_res r;

	for (at = 0; at < nm; at += k) {
		k = nm - at < LIM_DB_ROWS_MAX ? nm - at : LIM_DB_ROWS_MAX;
		pad = db_multi_pad(k);
		for (i = 0; i < pad; i++)
			v[i] = db_int((long long)m[at + (i < k ? i : k - 1)].id);
		if ((sql = db_multi_sql(&ly_ledger_multi[LEDGER_M_LOCK], pad)) ==
		    NULL)
			return LY_NOMEM;
		if ((r = db_exec(db, sql, v, pad)) != DB_OK)
			return ly_from_db(r);
		while ((r = db_next(db, &row)) == DB_ROW) {
			if ((x = ly_lm_find(m, nm, (uint64_t)row->col[0].i)) ==
			    NULL)
				continue;
			x->found = 1;
			ly_ledger_lock_read(row, 0, &x->st);
		}
		if (r != DB_DONE)
			return ly_from_db(r);
	}
	for (i = 0; i < nm; i++)
		if (!m[i].found)
			return LY_NOT_ENROLLED;
	return LY_OK;
}

/* One UPDATE row per member that changes (padded with id 0): balance,
 * lifetime, first earn and redemption times. Each must match an active
 * member. */
static enum ly_res
ly_lm_move(struct db *db, const struct ly_lm *m, size_t nm,
    const char *now, struct db_val *v)
{
	size_t at = 0, k, pad, i;
	const struct ly_lm *x;
	const char *sql;
	enum db_res r;

	for (;;) {
		for (k = 0; at < nm && k < LIM_DB_ROWS_MAX; at++) {
			x = &m[at];
			if (x->delta == 0 && x->lifetime_delta == 0 &&
			    !x->first_earn && !x->first_redeem)
				continue;
			v[k * 5] = db_int((long long)x->id);
			v[k * 5 + 1] = db_int(x->delta);
			v[k * 5 + 2] = db_int(x->lifetime_delta);
			v[k * 5 + 3] = db_int(x->first_earn);
			v[k * 5 + 4] = db_int(x->first_redeem);
			k++;
		}
		if (k == 0)
			return LY_OK;
		pad = db_multi_pad(k);
		for (i = k; i < pad; i++) {
			v[i * 5] = db_int(0);
			v[i * 5 + 1] = v[i * 5 + 2] = v[i * 5 + 3] =
			    v[i * 5 + 4] = db_int(0);
		}
		v[pad * 5] = db_text(now);
		v[pad * 5 + 1] = db_text(now);
		if ((sql = db_multi_sql(&ly_ledger_multi[LEDGER_M_MOVE], pad)) ==
		    NULL)
			return LY_NOMEM;
		if ((r = db_exec(db, sql, v, pad * 5 + 2)) != DB_OK)
			return r == DB_CHECK ? LY_INSUFFICIENT_POINTS :
			    ly_from_db(r);
		if (db_affected(db) != k)
			return LY_NOT_ENROLLED;
	}
}

/* Multi-row INSERT of the entries, in their order. */
static enum ly_res
ly_entries_insert(struct db *db, const struct ly_entry *e, size_t n,
    const char *now, struct db_val *v)
{
	size_t at, k, i;
	const struct ly_entry *x;
	const char *sql;
	enum db_res r;

	for (at = 0; at < n; at += k) {
		k = db_multi_take(n - at);
		for (i = 0; i < k; i++) {
			x = &e[at + i];
			v[i * 9] = db_int((long long)x->member_id);
			v[i * 9 + 1] = db_text(now);
			v[i * 9 + 2] = db_text(ly_kind_str(x->kind));
			v[i * 9 + 3] = db_int(x->points);
			v[i * 9 + 4] = db_int(x->balance_after);
			v[i * 9 + 5] = ly_opt_id(x->rule_id);
			v[i * 9 + 6] = ly_opt_id(x->perk_id);
			v[i * 9 + 7] = ly_opt_id(x->award_id);
			v[i * 9 + 8] = ly_opt_id(x->redemption_id);
		}
		if ((sql = db_multi_sql(&ly_ledger_multi[LEDGER_M_INSERT], k)) ==
		    NULL)
			return LY_NOMEM;
		if ((r = db_exec(db, sql, v, k * 9)) != DB_OK)
			return r == DB_CHECK ? LY_INVAL : ly_from_db(r);
	}
	return LY_OK;
}

/* Upserts the summed aggregate rows (sorted: points first, then funnel). */
static enum ly_res
ly_aggs_upsert(struct db *db, const struct ly_agg *a, size_t n,
    const char *day, struct db_val *v)
{
	size_t at, k, i, np;
	const struct ly_agg *x;
	const char *sql;
	enum db_res r;

	for (at = 0; at < n; at += k) {
		/* one statement never mixes the two tables */
		for (k = 0; at + k < n && a[at + k].funnel == a[at].funnel; k++)
			;
		k = db_multi_take(k);
		for (i = 0, np = 0; i < k; i++) {
			x = &a[at + i];
			if (x->funnel) {
				v[np++] = db_text(x->enroll_day);
				v[np++] = db_text(x->district);
				v[np++] = db_text(x->channel);
				v[np++] = db_int(x->shard);
				v[np++] = db_int(x->earned);
				v[np++] = db_int(x->earned_30d);
				v[np++] = db_int(x->redeemed);
			} else {
				v[np++] = db_text(day);
				v[np++] = db_text(x->district);
				v[np++] = db_text(ly_kind_str(x->kind));
				v[np++] = db_int((long long)x->ref_id);
				v[np++] = db_int((long long)x->campaign_id);
				v[np++] = db_int(x->shard);
				v[np++] = db_int(x->entries);
				v[np++] = db_int(x->points);
			}
		}
		sql = db_multi_sql(&ly_ledger_multi[a[at].funnel ?
		    LEDGER_M_FUNNEL : LEDGER_M_AGG], k);
		if (sql == NULL)
			return LY_NOMEM;
		if ((r = db_exec(db, sql, v, np)) != DB_OK)
			return ly_from_db(r);
	}
	return LY_OK;
}

/* The work shared by both entry points, on the members m (sorted by id,
 * locked and read). */
static enum ly_res
ly_ledger_many(struct db *db, struct ly_entry *e, size_t n, struct ly_lm *m,
    size_t nm, struct db_val *v)
{
	struct ly_agg *agg = NULL;
	struct ly_lm *x;
	char now[32], day[11];
	size_t i, nagg = 0;
	enum ly_res res = LY_OK;

	if ((agg = calloc(2 * n, sizeof(*agg))) == NULL)
		return LY_NOMEM;
	/* every balance after, in entry order, as single appends would */
	ly_now(now);
	ly_day(time(NULL), day);
	for (i = 0; i < n; i++) {
		if ((x = ly_lm_find(m, nm, e[i].member_id)) == NULL) {
			res = LY_INVAL;
			goto out;
		}
		if (x->st.balance + e[i].points < 0) {
			res = LY_INSUFFICIENT_POINTS;
			goto out;
		}
		x->st.balance += e[i].points;
		x->delta += e[i].points;
		if (e[i].kind == LY_AWARD) {
			x->st.lifetime += e[i].points;
			x->lifetime_delta += e[i].points;
		}
		e[i].id = 0;	/* not read back */
		e[i].balance_after = x->st.balance;
		e[i].lifetime_after = x->st.lifetime;
		agg[nagg++] = (struct ly_agg){ .district = x->st.district,
		    .kind = e[i].kind, .ref_id = e[i].kind == LY_AWARD ?
		    e[i].rule_id : e[i].perk_id, .campaign_id = e[i].campaign_id,
		    .shard = ly_shard(x->id), .entries = 1,
		    .points = e[i].points };
		if ((e[i].kind == LY_AWARD && x->st.earn_open) ||
		    (e[i].kind == LY_REDEMPTION && x->st.redeem_open)) {
			int earn = e[i].kind == LY_AWARD;
			agg[nagg++] = (struct ly_agg){ .funnel = 1,
			    .district = x->st.district,
			    .channel = x->st.channel,
			    .enroll_day = x->st.enroll_day,
			    .shard = ly_shard(x->id), .earned = earn,
			    .earned_30d = earn && x->st.within_30d,
			    .redeemed = !earn };
			if (earn) {
				x->st.earn_open = 0;
				x->first_earn = 1;
			} else {
				x->st.redeem_open = 0;
				x->first_redeem = 1;
			}
		}
	}

	if ((res = ly_lm_move(db, m, nm, now, v)) != LY_OK ||
	    (res = ly_entries_insert(db, e, n, now, v)) != LY_OK)
		goto out;
	qsort(agg, nagg, sizeof(*agg), ly_agg_cmp);
	nagg = ly_agg_fold(agg, nagg);
	res = ly_aggs_upsert(db, agg, nagg, day, v);
out:
	free(agg);
	return res;
}

/* The widest statement: LIM_DB_ROWS_MAX ledger rows of 9 values, or
 * member moves of 5 values and two more. */
#define LY_MANY_PARAMS (LIM_DB_ROWS_MAX * 9 + 2)

enum ly_res
ly_ledger_append_many(struct db *db, struct ly_entry *e, size_t n)
{
	struct ly_lm *m = NULL;
	struct db_val *v = NULL;
	size_t i, nm = 0;
	enum ly_res res = LY_OK;

	if (n == 0)
		return LY_OK;
	for (i = 0; i < n; i++)
		if (!ly_entry_valid(&e[i]))
			return LY_INVAL;
	m = calloc(n, sizeof(*m));
	v = calloc(LY_MANY_PARAMS, sizeof(*v));
	if (m == NULL || v == NULL) {
		res = LY_NOMEM;
		goto out;
	}
	/* the distinct members, ascending: the lock order */
	for (i = 0; i < n; i++)
		m[i].id = e[i].member_id;
	qsort(m, n, sizeof(*m), ly_lm_cmp);
	for (i = 0; i < n; i++)
		if (nm == 0 || m[nm - 1].id != m[i].id)
			m[nm++] = m[i];
	if ((res = ly_lm_lock(db, m, nm, v)) != LY_OK)
		goto out;
	res = ly_ledger_many(db, e, n, m, nm, v);
out:
	free(v);
	free(m);
	return res;
}

enum ly_res
ly_ledger_append_many_locked(struct db *db, struct ly_entry *e, size_t n,
    struct ly_ledger_lock *locks, size_t nlocks)
{
	struct ly_lm *m = NULL, *x;
	struct db_val *v = NULL;
	size_t i, nm = 0;
	enum ly_res res = LY_OK;

	if (n == 0)
		return LY_OK;
	for (i = 0; i < n; i++)
		if (!ly_entry_valid(&e[i]))
			return LY_INVAL;
	m = calloc(nlocks, sizeof(*m));
	v = calloc(LY_MANY_PARAMS, sizeof(*v));
	if (m == NULL || v == NULL) {
		res = LY_NOMEM;
		goto out;
	}
	for (i = 0; i < nlocks; i++)
		m[i] = (struct ly_lm){ .id = locks[i].id, .found = 1,
		    .st = locks[i] };
	qsort(m, nlocks, sizeof(*m), ly_lm_cmp);
	for (i = 0; i < nlocks; i++)
		if (nm == 0 || m[nm - 1].id != m[i].id)
			m[nm++] = m[i];
	if ((res = ly_ledger_many(db, e, n, m, nm, v)) != LY_OK)
		goto out;
	/* only members with entries are moved: the others keep their row */
	for (i = 0; i < nlocks; i++)
		if ((x = ly_lm_find(m, nm, locks[i].id)) != NULL)
			locks[i] = x->st;
out:
	free(v);
	free(m);
	return res;
}
