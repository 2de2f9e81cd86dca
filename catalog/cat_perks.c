/*
 * cat_perks.c: the catalogue of perks. A perk is honoured by one partner
 * organisation; `voucher` perks are bought with points and used once,
 * `status` perks are standing benefits unlocked by tier (cost 0) and
 * shown with a pass. stock counts units (NULL = unlimited); `issued`
 * counts units taken, net of refunds, so stock_left = stock - issued and
 * the CHECK constraint issued <= stock is the last line of defence.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog/cat.h"

enum cat_perk_stmt {
	PERK_PARTNER,
	PERK_TIER,
	PERK_INSERT,
	PERK_GET,
	PERK_LOCK,
	PERK_UPDATE,
	PERK_LIST,
	PERK_STMT__MAX
};

#define PERK_COLS "p.id, p.public_id, p.partner_id, o.public_id, o.name, " \
	"p.title, p.description, p.kind, p.cost_points, " \
	"COALESCE(p.min_tier, ''), p.stock, p.issued, p.per_member_limit, " \
	"p.valid_from, p.valid_to, p.voucher_days, p.active, p.created_at, " \
	"p.updated_at FROM perks p JOIN orgs o ON o.id = p.partner_id "

static const char *const cat_perk_stmts[PERK_STMT__MAX] = {
	[PERK_PARTNER] = "SELECT id FROM orgs WHERE public_id = ? AND "
	    "is_partner = 1",
	[PERK_TIER] = "SELECT name FROM tiers WHERE name = ?",
	[PERK_INSERT] = "INSERT INTO perks (public_id, partner_id, title, "
	    "description, kind, cost_points, min_tier, stock, "
	    "per_member_limit, valid_from, valid_to, voucher_days, active, "
	    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, 1, ?, ?)",
	[PERK_GET] = "SELECT " PERK_COLS "WHERE p.public_id = ?",
	[PERK_LOCK] = "SELECT " PERK_COLS "WHERE p.public_id = ? "
	    "FOR UPDATE",
	[PERK_UPDATE] = "UPDATE perks SET title = ?, description = ?, "
	    "cost_points = ?, min_tier = ?, stock = ?, per_member_limit = ?, "
	    "valid_from = ?, valid_to = ?, voucher_days = ?, active = ?, "
	    "updated_at = ? WHERE id = ?",
	[PERK_LIST] = "SELECT " PERK_COLS "WHERE p.id > ? AND p.active = 1 "
	    "AND (p.valid_to IS NULL OR p.valid_to > UTC_TIMESTAMP(6)) "
	    "ORDER BY p.id LIMIT ?",
};

static const char *const cat_kind_names[] = { "voucher", "status" };

const char *
cat_kind_str(enum cat_kind k)
{
	return k == CAT_STATUS ? cat_kind_names[1] : cat_kind_names[0];
}

void
cat_time_sql(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(out, 32, "%Y-%m-%d %H:%M:%S.000000", &tm) == 0)
		out[0] = '\0';
}

void
cat_copy(char *dst, size_t dstsz, const struct db_col *c)
{
	snprintf(dst, dstsz, "%s", c->null || c->s == NULL ? "" : c->s);
}

static void
cat_perk_read(const struct db_row *row, struct cat_perk *p)
{
	memset(p, 0, sizeof(*p));
	p->id = (uint64_t)row->col[0].i;
	cat_copy(p->public_id, sizeof(p->public_id), &row->col[1]);
	p->partner_id = (uint64_t)row->col[2].i;
	cat_copy(p->partner_public_id, sizeof(p->partner_public_id),
	    &row->col[3]);
	cat_copy(p->partner_name, sizeof(p->partner_name), &row->col[4]);
	cat_copy(p->title, sizeof(p->title), &row->col[5]);
	cat_copy(p->description, sizeof(p->description), &row->col[6]);
	p->kind = row->col[7].s != NULL && strcmp(row->col[7].s, "status") == 0 ?
	    CAT_STATUS : CAT_VOUCHER;
	p->cost_points = row->col[8].i;
	cat_copy(p->min_tier, sizeof(p->min_tier), &row->col[9]);
	p->stock = row->col[10].null ? -1 : row->col[10].i;
	p->issued = row->col[11].i;
	p->per_member_limit = row->col[12].null ? -1 : row->col[12].i;
	cat_copy(p->valid_from, sizeof(p->valid_from), &row->col[13]);
	cat_copy(p->valid_to, sizeof(p->valid_to), &row->col[14]);
	p->voucher_days = (int)row->col[15].i;
	p->active = (int)row->col[16].i;
	cat_copy(p->created_at, sizeof(p->created_at), &row->col[17]);
	cat_copy(p->updated_at, sizeof(p->updated_at), &row->col[18]);
}

static struct db_val
cat_opt_int(long long v)
{
	return v < 0 ? db_null() : db_int(v);
}

static struct db_val
cat_opt_text(const char *s)
{
	return s == NULL || *s == '\0' ? db_null() : db_text(s);
}

/* The checks shared by create and update, on the perk as it would be. */
static enum ly_res
cat_perk_validate(struct db *db, const struct cat_perk *p, const char **why)
{
	struct db_row *row;
	enum db_res r;

	if (p->kind == CAT_STATUS && p->cost_points != 0) {
		*why = "a status perk costs no points: cost_points must be 0";
		return LY_INVAL;
	}
	if (p->valid_from[0] != '\0' && p->valid_to[0] != '\0' &&
	    strcmp(p->valid_from, p->valid_to) >= 0) {
		*why = "valid_to must be after valid_from";
		return LY_INVAL;
	}
	if (p->stock >= 0 && p->stock < p->issued) {
		*why = "stock cannot be lower than the units already issued";
		return LY_INVAL;
	}
	if (p->min_tier[0] != '\0') {
		struct db_val q[] = { db_text(p->min_tier) };
		r = db_one(db, cat_perk_stmts[PERK_TIER], q, 1, &row);
		if (r == DB_NOTFOUND)
			return LY_UNKNOWN_TIER;
		if (r != DB_ROW)
			return ly_from_db(r);
	}
	return LY_OK;
}

static void
cat_perk_apply(struct cat_perk *p, unsigned set, const struct cat_perk_in *in)
{
	if (set & CAT_F_TITLE)
		snprintf(p->title, sizeof(p->title), "%s", in->title);
	if (set & CAT_F_DESCRIPTION)
		snprintf(p->description, sizeof(p->description), "%s",
		    in->description ? in->description : "");
	if (set & CAT_F_COST)
		p->cost_points = in->cost_points;
	if (set & CAT_F_MIN_TIER)
		snprintf(p->min_tier, sizeof(p->min_tier), "%s",
		    in->min_tier ? in->min_tier : "");
	if (set & CAT_F_STOCK)
		p->stock = in->stock;
	if (set & CAT_F_LIMIT)
		p->per_member_limit = in->per_member_limit;
	if (set & CAT_F_VALID_FROM)
		snprintf(p->valid_from, sizeof(p->valid_from), "%s",
		    in->valid_from ? in->valid_from : "");
	if (set & CAT_F_VALID_TO)
		snprintf(p->valid_to, sizeof(p->valid_to), "%s",
		    in->valid_to ? in->valid_to : "");
	if (set & CAT_F_DAYS)
		p->voucher_days = in->voucher_days;
	if (set & CAT_F_ACTIVE)
		p->active = in->active != 0;
}

enum ly_res
cat_perk_get(struct db *db, const char *public_id, struct cat_perk *out)
{
	struct db_row *row;
	enum db_res r;

	struct db_val q[] = { db_text(public_id) };
	r = db_one(db, cat_perk_stmts[PERK_GET], q, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_PERK_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	cat_perk_read(row, out);
	return LY_OK;
}

enum ly_res
cat_perk_create(struct db *db, const struct cat_perk_in *in,
    struct cat_perk *out, const char **why)
{
	char now[32], id[LIM_PUBLIC_ID_MAX];
	struct db_row *row;
	uint64_t partner;
	enum ly_res res;
	enum db_res r;

	struct db_val q[] = { db_text(in->partner) };
	r = db_one(db, cat_perk_stmts[PERK_PARTNER], q, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_UNKNOWN_PARTNER;
	if (r != DB_ROW)
		return ly_from_db(r);
	partner = (uint64_t)row->col[0].i;

	memset(out, 0, sizeof(*out));
	out->kind = in->kind;
	out->stock = -1;
	out->per_member_limit = -1;
	out->voucher_days = 30;
	cat_perk_apply(out, CAT_F_TITLE | CAT_F_DESCRIPTION | CAT_F_COST |
	    CAT_F_MIN_TIER | CAT_F_STOCK | CAT_F_LIMIT | CAT_F_VALID_FROM |
	    CAT_F_VALID_TO | CAT_F_DAYS, in);
	if ((res = cat_perk_validate(db, out, why)) != LY_OK)
		return res;

	ly_id_random(id, sizeof(id), "prk_");
	ly_now(now);
	struct db_val ins[] = { db_text(id), db_int((long long)partner),
	    db_text(out->title), db_text(out->description),
	    db_text(cat_kind_str(out->kind)), db_int(out->cost_points),
	    cat_opt_text(out->min_tier), cat_opt_int(out->stock),
	    cat_opt_int(out->per_member_limit), cat_opt_text(out->valid_from),
	    cat_opt_text(out->valid_to), db_int(out->voucher_days),
	    db_text(now), db_text(now) };
	if ((r = db_exec(db, cat_perk_stmts[PERK_INSERT], ins, 14)) != DB_OK)
		return ly_from_db(r);
	return cat_perk_get(db, id, out);
}

enum ly_res
cat_perk_update(struct db *db, const char *public_id, unsigned set,
    const struct cat_perk_in *in, struct cat_perk *out, const char **why)
{
	struct db_row *row;
	enum ly_res res;
	enum db_res r;
	char now[32];

	struct db_val q[] = { db_text(public_id) };
	r = db_one(db, cat_perk_stmts[PERK_LOCK], q, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_PERK_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	cat_perk_read(row, out);
	cat_perk_apply(out, set, in);
	if ((res = cat_perk_validate(db, out, why)) != LY_OK)
		return res;
	ly_now(now);
	struct db_val up[] = { db_text(out->title), db_text(out->description),
	    db_int(out->cost_points), cat_opt_text(out->min_tier),
	    cat_opt_int(out->stock), cat_opt_int(out->per_member_limit),
	    cat_opt_text(out->valid_from), cat_opt_text(out->valid_to),
	    db_int(out->voucher_days), db_int(out->active), db_text(now),
	    db_int((long long)out->id) };
	if ((r = db_exec(db, cat_perk_stmts[PERK_UPDATE], up, 12)) != DB_OK)
		return r == DB_CHECK ? LY_INVAL : ly_from_db(r);
	return cat_perk_get(db, public_id, out);
}

enum ly_res
cat_perk_list(struct db *db, uint64_t after, size_t limit,
    void (*cb)(const struct cat_perk *, void *), void *arg)
{
	static _Thread_local struct cat_perk p;	/* ~10 KiB: off the stack */
	struct db_row *row;
	enum db_res r;

	struct db_val q[] = { db_int((long long)after),
	    db_int((long long)limit) };
	if ((r = db_exec(db, cat_perk_stmts[PERK_LIST], q, 2)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		cat_perk_read(row, &p);
		cb(&p, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

static const char *const cat_state_stmts[2] = {
	"SELECT id, partner_id, kind, cost_points, COALESCE(min_tier, ''), "
	"per_member_limit, voucher_days, " CAT_USABLE_SQL("") " FROM perks "
	"WHERE public_id = ?",
	"SELECT id, partner_id, kind, cost_points, COALESCE(min_tier, ''), "
	"per_member_limit, voucher_days, " CAT_USABLE_SQL("") " FROM perks "
	"WHERE public_id = ? FOR UPDATE",
};

enum ly_res
cat_perk_state_get(struct db *db, const char *public_id, int lock,
    struct cat_perk_state *out)
{
	struct db_row *row;
	enum db_res r;

	struct db_val q[] = { db_text(public_id) };
	r = db_one(db, cat_state_stmts[lock ? 1 : 0], q, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_PERK_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	memset(out, 0, sizeof(*out));
	out->id = (uint64_t)row->col[0].i;
	out->partner_id = (uint64_t)row->col[1].i;
	out->kind = row->col[2].s != NULL && strcmp(row->col[2].s, "status") ==
	    0 ? CAT_STATUS : CAT_VOUCHER;
	out->cost_points = row->col[3].i;
	cat_copy(out->min_tier, sizeof(out->min_tier), &row->col[4]);
	out->per_member_limit = row->col[5].null ? -1 : row->col[5].i;
	out->voucher_days = (int)row->col[6].i;
	out->usable = row->col[7].i != 0;
	return LY_OK;
}
