/*
 * ly_rules.c: earning rules. A rule says how many points one act earns
 * (always > 0: there are no negative rules and no penalties), how many a
 * member may earn from it per day, and which issuers may report it. The
 * public list shows every active rule with its issuers and the best
 * campaign bonus in force, so anyone can see exactly how points are
 * earned.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loyalty/ly.h"

enum ly_rule_stmt {
	RULE_ISSUER_ID,
	RULE_INSERT,
	RULE_ISSUER_ADD,
	RULE_ISSUERS_CLEAR,
	RULE_LOCK,
	RULE_SET_TITLE,
	RULE_SET_DESC,
	RULE_SET_POINTS,
	RULE_SET_CAP,
	RULE_SET_ACTIVE,
	RULE_GET,
	RULE_PAGE,
	RULE_ISSUERS,
	RULE_BONUS,
	RULE_BONUS_DISTRICTS,
	RULE_STMT__MAX
};

#define RULE_COLS "r.id, r.code, r.title, r.description, r.points, " \
	"r.daily_cap, r.active"

static const char *const ly_rule_stmts[RULE_STMT__MAX] = {
	[RULE_ISSUER_ID] = "SELECT id, public_id FROM orgs WHERE public_id = ? AND "
	    "is_issuer = 1",
	[RULE_INSERT] = "INSERT INTO rules (code, title, description, points, "
	    "daily_cap, active, created_at, updated_at) VALUES "
	    "(?, ?, ?, ?, ?, 1, ?, ?)",
	[RULE_ISSUER_ADD] = "INSERT INTO rule_issuers (rule_id, org_id) "
	    "VALUES (?, ?) ON DUPLICATE KEY UPDATE org_id = org_id",
	[RULE_ISSUERS_CLEAR] = "DELETE FROM rule_issuers WHERE rule_id = ?",
	[RULE_LOCK] = "SELECT id FROM rules WHERE code = ? FOR UPDATE",
	[RULE_SET_TITLE] = "UPDATE rules SET title = ?, updated_at = ? "
	    "WHERE id = ?",
	[RULE_SET_DESC] = "UPDATE rules SET description = ?, updated_at = ? "
	    "WHERE id = ?",
	[RULE_SET_POINTS] = "UPDATE rules SET points = ?, updated_at = ? "
	    "WHERE id = ?",
	[RULE_SET_CAP] = "UPDATE rules SET daily_cap = ?, updated_at = ? "
	    "WHERE id = ?",
	[RULE_SET_ACTIVE] = "UPDATE rules SET active = ?, updated_at = ? "
	    "WHERE id = ?",
	[RULE_GET] = "SELECT " RULE_COLS " FROM rules r WHERE r.code = ?",
	[RULE_PAGE] = "SELECT " RULE_COLS " FROM rules r WHERE "
	    "(? = 0 OR r.active = 1) ORDER BY r.code LIMIT ? OFFSET ?",
	[RULE_ISSUERS] = "SELECT o.id, o.public_id, o.name FROM rule_issuers ri "
	    "JOIN orgs o ON o.id = ri.org_id WHERE ri.rule_id = ? "
	    "ORDER BY o.name",
	/* the best bonus in force now: highest multiplier, then oldest */
	[RULE_BONUS] = "SELECT c.id, c.public_id, c.bonus_pct, c.all_districts, "
	    "DATE_FORMAT(c.ends_at, '%Y-%m-%dT%H:%i:%sZ') FROM campaigns c "
	    "WHERE c.bonus_rule_id = ? AND c.bonus_pct IS NOT NULL AND "
	    "c.starts_at <= UTC_TIMESTAMP(6) AND c.ends_at > UTC_TIMESTAMP(6) "
	    "ORDER BY c.bonus_pct DESC, c.id LIMIT 1",
	[RULE_BONUS_DISTRICTS] = "SELECT district FROM campaign_districts "
	    "WHERE campaign_id = ? ORDER BY district",
};

int
ly_code_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return n <= LIM_CODE_MAX;
}

enum ly_res
ly_issuers_resolve(struct db *db, const char *const *ids, size_t n,
    uint64_t *out, char (*canon)[LIM_PUBLIC_ID_MAX])
{
	struct db_row *row;
	enum db_res r;
	size_t i;

	for (i = 0; i < n; i++) {
		struct db_val p[] = { db_text(ids[i]) };
		r = db_one(db, ly_rule_stmts[RULE_ISSUER_ID], p, 1, &row);
		if (r == DB_NOTFOUND)
			return LY_UNKNOWN_ISSUER;
		if (r != DB_ROW)
			return ly_from_db(r);
		out[i] = (uint64_t)row->col[0].i;
		if (canon != NULL)
			snprintf(canon[i], LIM_PUBLIC_ID_MAX, "%s",
			    row->col[1].s);
	}
	return LY_OK;
}

/* Replaces the issuers of a rule with the resolved ids. */
static enum ly_res
ly_rule_issuers_set(struct db *db, uint64_t rule_id, const uint64_t *ids,
    size_t n)
{
	struct db_val k[] = { db_int((long long)rule_id) };
	enum db_res r;
	size_t i;

	if ((r = db_exec(db, ly_rule_stmts[RULE_ISSUERS_CLEAR], k, 1)) != DB_OK)
		return ly_from_db(r);
	for (i = 0; i < n; i++) {
		struct db_val p[] = { db_int((long long)rule_id),
		    db_int((long long)ids[i]) };
		if ((r = db_exec(db, ly_rule_stmts[RULE_ISSUER_ADD], p, 2)) !=
		    DB_OK)
			return ly_from_db(r);
	}
	return LY_OK;
}

static int
ly_rule_in_ok(const struct ly_rule_in *in, int create)
{
	if ((create || in->has_points) &&
	    (in->points < 1 || in->points > LIM_POINTS_MAX))
		return 0;
	if ((create || in->has_daily_cap) &&
	    (in->daily_cap < 0 || in->daily_cap > LIM_DAILY_CAP_MAX))
		return 0;
	if ((create || in->has_issuers) && in->nissuers > LIM_ISSUERS_MAX)
		return 0;
	return !create || (ly_code_valid(in->code) && in->title != NULL);
}

enum ly_res
ly_rule_create(struct db *db, const struct ly_rule_in *in)
{
	uint64_t *ids = NULL, rule_id;
	enum ly_res res;
	enum db_res r;
	char now[32];

	if (!ly_rule_in_ok(in, 1))
		return LY_INVAL;
	if (in->nissuers > 0 &&
	    (ids = calloc(in->nissuers, sizeof(*ids))) == NULL)
		return LY_NOMEM;
	if ((res = ly_issuers_resolve(db, in->issuers, in->nissuers, ids,
	    NULL)) !=
	    LY_OK)
		goto out;
	ly_now(now);
	struct db_val p[] = { db_text(in->code), db_text(in->title),
	    db_text(in->description ? in->description : ""),
	    db_int(in->points),
	    in->daily_cap > 0 ? db_int(in->daily_cap) : db_null(),
	    db_text(now), db_text(now) };
	r = db_exec(db, ly_rule_stmts[RULE_INSERT], p, 7);
	if (r != DB_OK) {
		res = r == DB_DUP ? LY_RULE_EXISTS : ly_from_db(r);
		goto out;
	}
	rule_id = db_insert_id(db);
	res = ly_rule_issuers_set(db, rule_id, ids, in->nissuers);
out:
	free(ids);
	return res;
}

enum ly_res
ly_rule_update(struct db *db, const char *code, const struct ly_rule_in *in)
{
	uint64_t *ids = NULL, rule_id;
	struct db_row *row;
	enum ly_res res = LY_OK;
	enum db_res r = DB_OK;
	char now[32];

	if (!ly_rule_in_ok(in, 0))
		return LY_INVAL;
	struct db_val k[] = { db_text(code) };
	if ((r = db_one(db, ly_rule_stmts[RULE_LOCK], k, 1, &row)) != DB_ROW)
		return r == DB_NOTFOUND ? LY_RULE_NOT_FOUND : ly_from_db(r);
	rule_id = (uint64_t)row->col[0].i;
	r = DB_OK;
	ly_now(now);
	struct db_val id = db_int((long long)rule_id), at = db_text(now);
	if (in->has_title) {
		struct db_val p[] = { db_text(in->title), at, id };
		r = db_exec(db, ly_rule_stmts[RULE_SET_TITLE], p, 3);
	}
	if (r == DB_OK && in->has_description) {
		struct db_val p[] = { db_text(in->description), at, id };
		r = db_exec(db, ly_rule_stmts[RULE_SET_DESC], p, 3);
	}
	if (r == DB_OK && in->has_points) {
		struct db_val p[] = { db_int(in->points), at, id };
		r = db_exec(db, ly_rule_stmts[RULE_SET_POINTS], p, 3);
	}
	if (r == DB_OK && in->has_daily_cap) {
		struct db_val p[] = { in->daily_cap > 0 ? db_int(in->daily_cap) :
		    db_null(), at, id };
		r = db_exec(db, ly_rule_stmts[RULE_SET_CAP], p, 3);
	}
	if (r == DB_OK && in->has_active) {
		struct db_val p[] = { db_int(!!in->active), at, id };
		r = db_exec(db, ly_rule_stmts[RULE_SET_ACTIVE], p, 3);
	}
	if (r != DB_OK)
		return ly_from_db(r);
	if (!in->has_issuers)
		return LY_OK;
	if (in->nissuers > 0 &&
	    (ids = calloc(in->nissuers, sizeof(*ids))) == NULL)
		return LY_NOMEM;
	res = ly_issuers_resolve(db, in->issuers, in->nissuers, ids,
	    NULL);
	if (res == LY_OK)
		res = ly_rule_issuers_set(db, rule_id, ids, in->nissuers);
	free(ids);
	return res;
}

static void
ly_rule_from_row(const struct db_row *row, struct ly_rule *rl)
{
	memset(rl, 0, sizeof(*rl));
	rl->id = (uint64_t)row->col[0].i;
	snprintf(rl->code, sizeof(rl->code), "%s", row->col[1].s);
	snprintf(rl->title, sizeof(rl->title), "%s", row->col[2].s);
	snprintf(rl->description, sizeof(rl->description), "%s", row->col[3].s);
	rl->points = row->col[4].i;
	rl->daily_cap = row->col[5].null ? 0 : row->col[5].i;
	rl->active = (int)row->col[6].i;
}

/* Fills the issuers and the best active bonus of a rule read before. */
static enum ly_res
ly_rule_details(struct db *db, struct ly_rule *rl)
{
	struct db_val k[] = { db_int((long long)rl->id) };
	struct ly_rule_issuer *grown;
	struct ly_bonus *b = &rl->bonus;
	struct db_row *row;
	size_t cap = 0;
	enum db_res r;

	if ((r = db_exec(db, ly_rule_stmts[RULE_ISSUERS], k, 1)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (rl->nissuers == cap) {
			cap = cap ? cap * 2 : 4;
			grown = realloc(rl->issuers, cap * sizeof(*grown));
			if (grown == NULL)
				return LY_NOMEM;
			rl->issuers = grown;
		}
		struct ly_rule_issuer *is = &rl->issuers[rl->nissuers++];
		is->id = (uint64_t)row->col[0].i;
		snprintf(is->public_id, sizeof(is->public_id), "%s",
		    row->col[1].s);
		snprintf(is->name, sizeof(is->name), "%s", row->col[2].s);
	}
	if (r != DB_DONE)
		return ly_from_db(r);

	r = db_one(db, ly_rule_stmts[RULE_BONUS], k, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_OK;
	if (r != DB_ROW)
		return ly_from_db(r);
	b->campaign_id = (uint64_t)row->col[0].i;
	snprintf(b->public_id, sizeof(b->public_id), "%s", row->col[1].s);
	b->pct = (int)row->col[2].i;
	b->all_districts = (int)row->col[3].i;
	snprintf(b->ends_at, sizeof(b->ends_at), "%s", row->col[4].s);
	if (b->all_districts)
		return LY_OK;
	struct db_val c[] = { db_int((long long)b->campaign_id) };
	if ((r = db_exec(db, ly_rule_stmts[RULE_BONUS_DISTRICTS], c, 1)) != DB_OK)
		return ly_from_db(r);
	cap = 0;
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (b->ndistricts == cap) {
			void *g;
			cap = cap ? cap * 2 : 4;
			if ((g = realloc(b->districts, cap *
			    sizeof(b->districts[0]))) == NULL)
				return LY_NOMEM;
			b->districts = g;
		}
		snprintf(b->districts[b->ndistricts++], sizeof(b->districts[0]),
		    "%s", row->col[0].s);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

void
ly_rule_clear(struct ly_rule *rl)
{
	if (rl == NULL)
		return;
	free(rl->issuers);
	free(rl->bonus.districts);
	rl->issuers = NULL;
	rl->bonus.districts = NULL;
	rl->nissuers = rl->bonus.ndistricts = 0;
}

void
ly_rules_free(struct ly_rule *rules, size_t n)
{
	size_t i;

	if (rules == NULL)
		return;
	for (i = 0; i < n; i++)
		ly_rule_clear(&rules[i]);
	free(rules);
}

enum ly_res
ly_rule_get(struct db *db, const char *code, struct ly_rule *out)
{
	struct db_val k[] = { db_text(code) };
	struct db_row *row;
	enum ly_res res;
	enum db_res r;

	memset(out, 0, sizeof(*out));
	if ((r = db_one(db, ly_rule_stmts[RULE_GET], k, 1, &row)) != DB_ROW)
		return r == DB_NOTFOUND ? LY_RULE_NOT_FOUND : ly_from_db(r);
	ly_rule_from_row(row, out);
	if ((res = ly_rule_details(db, out)) != LY_OK)
		ly_rule_clear(out);
	return res;
}

enum ly_res
ly_rule_list(struct db *db, int active_only, size_t offset, size_t limit,
    struct ly_rule **out, size_t *n)
{
	struct ly_rule *rules = NULL, *grown;
	struct db_row *row;
	enum ly_res res = LY_OK;
	enum db_res r;
	size_t i, got = 0, cap = 0;

	*out = NULL;
	*n = 0;
	struct db_val p[] = { db_int(!!active_only), db_int((long long)limit),
	    db_int((long long)offset) };
	if ((r = db_exec(db, ly_rule_stmts[RULE_PAGE], p, 3)) != DB_OK)
		return ly_from_db(r);
	/* grown as rows arrive: a rule is ~9 KiB, a page rarely full */
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (got == cap) {
			cap = cap ? cap * 2 : 8;
			if ((grown = realloc(rules, cap * sizeof(*rules))) ==
			    NULL) {
				res = LY_NOMEM;
				break;
			}
			rules = grown;
		}
		ly_rule_from_row(row, &rules[got++]);
	}
	if (res == LY_OK && r != DB_DONE)
		res = ly_from_db(r);
	/* details need their own statements: only after the page is read */
	for (i = 0; res == LY_OK && i < got; i++)
		res = ly_rule_details(db, &rules[i]);
	if (res != LY_OK) {
		ly_rules_free(rules, got);
		return res;
	}
	*out = rules;
	*n = got;
	return LY_OK;
}
