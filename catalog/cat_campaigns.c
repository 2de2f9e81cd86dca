/*
 * cat_campaigns.c: enrolment campaigns. A campaign's code is the
 * enrolment `channel` that attributes a sign-up to it (a poster, a library
 * counter, an app banner); its window bounds the attribution and its
 * optional bonus multiplies one rule's points while it runs (the award
 * path in loyalty/ reads the campaigns table itself to find the best
 * active bonus). Districts restrict the bonus; none means every district.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat.h"

enum cat_campaign_stmt {
	CMP_INSERT,
	CMP_RULE_ID,
	CMP_DISTRICT_EXISTS,
	CMP_DISTRICT_ADD,
	CMP_DISTRICTS_CLEAR,
	CMP_BY_PUBLIC,
	CMP_LIST,
	CMP_DISTRICTS_RANGE,
	CMP_SET_NAME,
	CMP_SET_CODE,
	CMP_SET_WINDOW,
	CMP_SET_TARGET,
	CMP_SET_BONUS,
	CMP_SET_ALL,
	CMP_TOUCH,
	CMP_STMT__MAX
};

#define CMP_COLS "c.id, c.public_id, c.name, c.code, " \
	"DATE_FORMAT(c.starts_at, '%Y-%m-%dT%H:%i:%sZ'), " \
	"DATE_FORMAT(c.ends_at, '%Y-%m-%dT%H:%i:%sZ'), " \
	"c.enrollment_target, COALESCE(r.code, ''), c.bonus_pct, " \
	"UTC_TIMESTAMP(6) >= c.starts_at AND UTC_TIMESTAMP(6) < c.ends_at, " \
	"DATE_FORMAT(c.created_at, '%Y-%m-%dT%H:%i:%sZ'), " \
	"DATE_FORMAT(c.updated_at, '%Y-%m-%dT%H:%i:%sZ') " \
	"FROM campaigns c LEFT JOIN rules r ON r.id = c.bonus_rule_id "

static const char *const cat_campaign_stmts[CMP_STMT__MAX] = {
	[CMP_INSERT] = "INSERT INTO campaigns (public_id, name, code, "
	    "starts_at, ends_at, enrollment_target, bonus_rule_id, bonus_pct, "
	    "all_districts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?)",
	[CMP_RULE_ID] = "SELECT id FROM rules WHERE code = ?",
	[CMP_DISTRICT_EXISTS] = "SELECT 1 FROM districts WHERE code = ?",
	[CMP_DISTRICT_ADD] = "INSERT IGNORE INTO campaign_districts "
	    "(campaign_id, district) VALUES (?, ?)",
	[CMP_DISTRICTS_CLEAR] = "DELETE FROM campaign_districts WHERE "
	    "campaign_id = ?",
	[CMP_BY_PUBLIC] = "SELECT " CMP_COLS "WHERE c.public_id = ?",
	[CMP_LIST] = "SELECT " CMP_COLS "WHERE c.id > ? ORDER BY c.id LIMIT ?",
	[CMP_DISTRICTS_RANGE] = "SELECT campaign_id, district FROM "
	    "campaign_districts WHERE campaign_id >= ? AND campaign_id <= ? "
	    "ORDER BY campaign_id, district",
	[CMP_SET_NAME] = "UPDATE campaigns SET name = ? WHERE id = ?",
	[CMP_SET_CODE] = "UPDATE campaigns SET code = ? WHERE id = ?",
	[CMP_SET_WINDOW] = "UPDATE campaigns SET starts_at = COALESCE(?, "
	    "starts_at), ends_at = COALESCE(?, ends_at) WHERE id = ?",
	[CMP_SET_TARGET] = "UPDATE campaigns SET enrollment_target = ? "
	    "WHERE id = ?",
	[CMP_SET_BONUS] = "UPDATE campaigns SET bonus_rule_id = ?, "
	    "bonus_pct = ? WHERE id = ?",
	[CMP_SET_ALL] = "UPDATE campaigns SET all_districts = ? WHERE id = ?",
	[CMP_TOUCH] = "UPDATE campaigns SET updated_at = ? WHERE id = ?",
};

static void
cat_campaign_from_row(const struct db_row *row, struct cat_campaign *c)
{
	memset(c, 0, sizeof(*c));
	c->id = (uint64_t)row->col[0].i;
	snprintf(c->public_id, sizeof(c->public_id), "%s", row->col[1].s);
	snprintf(c->name, sizeof(c->name), "%s", row->col[2].s);
	snprintf(c->code, sizeof(c->code), "%s", row->col[3].s);
	snprintf(c->starts_at, sizeof(c->starts_at), "%s", row->col[4].s);
	snprintf(c->ends_at, sizeof(c->ends_at), "%s", row->col[5].s);
	c->target = row->col[6].null ? 0 : row->col[6].i;
	snprintf(c->bonus_rule, sizeof(c->bonus_rule), "%s", row->col[7].s);
	c->bonus_pct = row->col[8].null ? 0 : (int)row->col[8].i;
	c->active = (int)row->col[9].i;
	snprintf(c->created_at, sizeof(c->created_at), "%s", row->col[10].s);
	snprintf(c->updated_at, sizeof(c->updated_at), "%s", row->col[11].s);
}

/* Adds one district row to the campaign among cs (sorted by id). */
static void
cat_campaign_add_district(struct cat_campaign *cs, size_t n, uint64_t id,
    const char *district)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cs[i].id == id) {
			if (cs[i].ndistricts < LIM_CAMPAIGN_DISTRICTS)
				snprintf(cs[i].districts[cs[i].ndistricts++],
				    LIM_CODE_MAX + 1, "%s", district);
			return;
		}
}

/* Reads the districts of the campaigns cs[0..n) (ascending ids). */
static enum ly_res
cat_campaign_districts(struct db *db, struct cat_campaign *cs, size_t n)
{
	struct db_row *row;
	enum db_res r;

	if (n == 0)
		return LY_OK;
	struct db_val p[] = { db_int((long long)cs[0].id),
	    db_int((long long)cs[n - 1].id) };
	if ((r = db_exec(db, cat_campaign_stmts[CMP_DISTRICTS_RANGE], p, 2)) !=
	    DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW)
		cat_campaign_add_district(cs, n, (uint64_t)row->col[0].i,
		    row->col[1].s);
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
cat_campaign_get(struct db *db, const char *public_id,
    struct cat_campaign *out)
{
	struct db_val p[] = { db_text(public_id) };
	struct db_row *row;
	enum db_res r;

	r = db_one(db, cat_campaign_stmts[CMP_BY_PUBLIC], p, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_CAMPAIGN_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	cat_campaign_from_row(row, out);
	return cat_campaign_districts(db, out, 1);
}

enum ly_res
cat_campaign_list(struct db *db, uint64_t after, size_t limit,
    struct cat_campaign **out, size_t *n)
{
	struct cat_campaign *cs = NULL;
	struct db_row *row;
	enum db_res r;
	enum ly_res res = LY_OK;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return LY_OK;
	if ((cs = calloc(limit, sizeof(*cs))) == NULL)
		return LY_NOMEM;
	struct db_val p[] = { db_int((long long)after), db_int((long long)limit) };
	if ((r = db_exec(db, cat_campaign_stmts[CMP_LIST], p, 2)) != DB_OK) {
		res = ly_from_db(r);
		goto out;
	}
	while (*n < limit && (r = db_next(db, &row)) == DB_ROW)
		cat_campaign_from_row(row, &cs[(*n)++]);
	if (r != DB_ROW && r != DB_DONE) {
		res = ly_from_db(r);
		goto out;
	}
	res = cat_campaign_districts(db, cs, *n);
out:
	if (res != LY_OK) {
		free(cs);
		cs = NULL;
		*n = 0;
	}
	*out = cs;
	return res;
}

/* Resolves a rule code to its id: LY_UNKNOWN_RULE if absent. */
static enum ly_res
cat_rule_id(struct db *db, const char *code, uint64_t *id)
{
	struct db_val p[] = { db_text(code) };
	struct db_row *row;
	enum db_res r;

	r = db_one(db, cat_campaign_stmts[CMP_RULE_ID], p, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_UNKNOWN_RULE;
	if (r != DB_ROW)
		return ly_from_db(r);
	*id = (uint64_t)row->col[0].i;
	return LY_OK;
}

/* Replaces the campaign's districts; each must exist. */
static enum ly_res
cat_campaign_set_districts(struct db *db, uint64_t id,
    const char *const *districts, size_t n)
{
	struct db_row *row;
	enum db_res r;
	size_t i;

	if (n > LIM_CAMPAIGN_DISTRICTS)
		return LY_INVAL;
	struct db_val c[] = { db_int((long long)id) };
	if ((r = db_exec(db, cat_campaign_stmts[CMP_DISTRICTS_CLEAR], c, 1)) !=
	    DB_OK)
		return ly_from_db(r);
	for (i = 0; i < n; i++) {
		struct db_val q[] = { db_text(districts[i]) };
		r = db_one(db, cat_campaign_stmts[CMP_DISTRICT_EXISTS], q, 1,
		    &row);
		if (r == DB_NOTFOUND)
			return LY_UNKNOWN_DISTRICT;
		if (r != DB_ROW)
			return ly_from_db(r);
		struct db_val a[] = { db_int((long long)id),
		    db_text(districts[i]) };
		if ((r = db_exec(db, cat_campaign_stmts[CMP_DISTRICT_ADD], a,
		    2)) != DB_OK)
			return ly_from_db(r);
	}
	struct db_val all[] = { db_int(n == 0), db_int((long long)id) };
	return ly_from_db(db_exec(db, cat_campaign_stmts[CMP_SET_ALL], all, 2));
}

/* The bonus as bound values: NULL rule and pct when there is none. */
static enum ly_res
cat_campaign_bonus(struct db *db, const struct cat_campaign_in *in,
    struct db_val *rule, struct db_val *pct)
{
	uint64_t rule_id = 0;
	enum ly_res res;

	*rule = db_null();
	*pct = db_null();
	if (in->bonus_rule == NULL)
		return LY_OK;
	if (in->bonus_pct <= 100 || in->bonus_pct > 100 * LIM_MULTIPLIER_MAX)
		return LY_INVAL;
	if ((res = cat_rule_id(db, in->bonus_rule, &rule_id)) != LY_OK)
		return res;
	*rule = db_int((long long)rule_id);
	*pct = db_int(in->bonus_pct);
	return LY_OK;
}

/* Maps a write's database result: a taken code, a window that does not
 * increase (CHECK), or the generic mapping. */
static enum ly_res
cat_campaign_write_res(enum db_res r)
{
	if (r == DB_DUP)
		return LY_CAMPAIGN_EXISTS;
	if (r == DB_CHECK)
		return LY_INVAL;
	return ly_from_db(r);
}

enum ly_res
cat_campaign_create(struct db *db, const struct cat_campaign_in *in,
    struct cat_campaign *out)
{
	char public_id[LIM_PUBLIC_ID_MAX], now[32];
	struct db_val rule, pct;
	enum ly_res res;
	enum db_res r;
	uint64_t id;

	if ((res = cat_campaign_bonus(db, in, &rule, &pct)) != LY_OK)
		return res;
	ly_id_random(public_id, sizeof(public_id), "cmp_");
	ly_now(now);
	struct db_val p[] = { db_text(public_id), db_text(in->name),
	    db_text(in->code), db_text(in->starts_at), db_text(in->ends_at),
	    in->target > 0 ? db_int(in->target) : db_null(), rule, pct,
	    db_int(in->ndistricts == 0), db_text(now), db_text(now) };
	if ((r = db_exec(db, cat_campaign_stmts[CMP_INSERT], p, 11)) != DB_OK)
		return cat_campaign_write_res(r);
	id = db_insert_id(db);
	if (in->ndistricts > 0 && (res = cat_campaign_set_districts(db, id,
	    in->districts, in->ndistricts)) != LY_OK)
		return res;
	return cat_campaign_get(db, public_id, out);
}

enum ly_res
cat_campaign_update(struct db *db, const char *public_id,
    const struct cat_campaign_in *in, struct cat_campaign *out)
{
	struct db_val rule, pct, idv;
	struct cat_campaign cur;
	enum ly_res res;
	enum db_res r = DB_OK;
	char now[32];

	if ((res = cat_campaign_get(db, public_id, &cur)) != LY_OK)
		return res;
	idv = db_int((long long)cur.id);
	if (in->has_name) {
		struct db_val p[] = { db_text(in->name), idv };
		r = db_exec(db, cat_campaign_stmts[CMP_SET_NAME], p, 2);
	}
	if (r == DB_OK && in->has_code) {
		struct db_val p[] = { db_text(in->code), idv };
		r = db_exec(db, cat_campaign_stmts[CMP_SET_CODE], p, 2);
	}
	if (r == DB_OK && (in->has_starts_at || in->has_ends_at)) {
		struct db_val p[] = {
		    db_text(in->has_starts_at ? in->starts_at : NULL),
		    db_text(in->has_ends_at ? in->ends_at : NULL), idv };
		r = db_exec(db, cat_campaign_stmts[CMP_SET_WINDOW], p, 3);
	}
	if (r == DB_OK && in->has_target) {
		struct db_val p[] = { in->target > 0 ? db_int(in->target) :
		    db_null(), idv };
		r = db_exec(db, cat_campaign_stmts[CMP_SET_TARGET], p, 2);
	}
	if (r != DB_OK)
		return cat_campaign_write_res(r);
	if (in->has_bonus) {
		if ((res = cat_campaign_bonus(db, in, &rule, &pct)) != LY_OK)
			return res;
		struct db_val p[] = { rule, pct, idv };
		if ((r = db_exec(db, cat_campaign_stmts[CMP_SET_BONUS], p, 3)) !=
		    DB_OK)
			return cat_campaign_write_res(r);
	}
	if (in->has_districts && (res = cat_campaign_set_districts(db, cur.id,
	    in->districts, in->ndistricts)) != LY_OK)
		return res;
	ly_now(now);
	struct db_val t[] = { db_text(now), idv };
	if ((r = db_exec(db, cat_campaign_stmts[CMP_TOUCH], t, 2)) != DB_OK)
		return ly_from_db(r);
	return cat_campaign_get(db, public_id, out);
}
