/*
 * cat_redeem.c: redemptions (vouchers) from issue to end, and what a
 * partner may do with a code.
 *
 * A redemption is one transaction in the caller's hands: lock the perk
 * row (every redemption of one perk queues here, so stock and per-member
 * counts are read after the previous redemption committed; the
 * connection runs READ COMMITTED), check it, take a unit of stock with a
 * conditional UPDATE, insert the voucher, and debit through the ledger,
 * which refuses a negative balance. Any refusal rolls everything back.
 *
 * A voucher ends once: used (by its partner), cancelled (by its owner) or
 * expired (by the sweep, or lazily when someone looks at it). Each end is
 * a conditional UPDATE ... WHERE status = 'issued' that must touch the
 * row before anything else happens, so two counters, or a cancel racing
 * a sweep, cannot both win; cancel and expiry then return the stock and
 * the points (a `refund` ledger entry). The sealed code is wiped at the
 * end.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "catalog/cat.h"

enum cat_red_stmt {
	RED_MEMBER_LIFETIME,
	RED_TIER_MIN,
	RED_COUNT,
	RED_TAKE_STOCK,
	RED_RETURN_STOCK,
	RED_INSERT,
	RED_GET,
	RED_LIST,
	RED_LOCK,
	RED_CANCEL,
	RED_EXPIRE,
	RED_ENDED,
	RED_DUE_ALL,
	RED_DUE_MEMBER,
	RED_DUE_CODE,
	RED_FIND_CODE,
	RED_USE,
	RED_PURGE_IDEM,
	RED_PURGE_PASSES,
	RED_STMT__MAX
};

#define RED_COLS "r.id, r.public_id, p.public_id, p.title, r.points, " \
	"r.status, r.code_sealed, r.issued_at, r.expires_at, r.used_at " \
	"FROM redemptions r JOIN perks p ON p.id = r.perk_id "

static const char *const cat_red_stmts[RED_STMT__MAX] = {
	[RED_MEMBER_LIFETIME] = "SELECT lifetime_points FROM members WHERE "
	    "id = ? AND status = 'active'",
	[RED_TIER_MIN] = "SELECT min_lifetime_points FROM tiers WHERE name = ?",
	[RED_COUNT] = "SELECT COUNT(*) FROM redemptions WHERE member_id = ? "
	    "AND perk_id = ? AND status <> 'cancelled'",
	[RED_TAKE_STOCK] = "UPDATE perks SET issued = issued + 1 WHERE id = ? "
	    "AND (stock IS NULL OR issued < stock)",
	[RED_RETURN_STOCK] = "UPDATE perks SET issued = issued - 1 WHERE "
	    "id = ? AND issued > 0",
	[RED_INSERT] = "INSERT INTO redemptions (public_id, member_id, "
	    "perk_id, points, code_hash, code_sealed, status, issued_at, "
	    "expires_at) VALUES (?, ?, ?, ?, ?, ?, 'issued', ?, ?)",
	[RED_GET] = "SELECT " RED_COLS "WHERE r.public_id = ? AND "
	    "r.member_id = ?",
	[RED_LIST] = "SELECT " RED_COLS "WHERE r.member_id = ? AND r.id < ? "
	    "ORDER BY r.id DESC LIMIT ?",
	[RED_LOCK] = "SELECT id, status, points, perk_id FROM redemptions "
	    "WHERE public_id = ? AND member_id = ? FOR UPDATE",
	[RED_CANCEL] = "UPDATE redemptions SET status = 'cancelled', "
	    "code_sealed = NULL, ended_at = ? WHERE id = ? AND "
	    "status = 'issued'",
	[RED_EXPIRE] = "UPDATE redemptions SET status = 'expired', "
	    "code_sealed = NULL, ended_at = ? WHERE id = ? AND "
	    "status = 'issued' AND expires_at <= ?",
	[RED_ENDED] = "SELECT member_id, perk_id, points FROM redemptions "
	    "WHERE id = ?",
	[RED_DUE_ALL] = "SELECT id FROM redemptions WHERE status = 'issued' "
	    "AND expires_at <= ? ORDER BY status, expires_at LIMIT ?",
	[RED_DUE_MEMBER] = "SELECT id FROM redemptions WHERE member_id = ? "
	    "AND status = 'issued' AND expires_at <= ? LIMIT ?",
	[RED_DUE_CODE] = "SELECT id FROM redemptions WHERE code_hash = ? "
	    "AND status = 'issued' AND expires_at <= ? LIMIT ?",
	[RED_FIND_CODE] = "SELECT r.id, r.member_id, r.status, r.expires_at, "
	    "r.expires_at <= ?, p.public_id, p.partner_id, r.used_at "
	    "FROM redemptions r JOIN perks p ON p.id = r.perk_id "
	    "WHERE r.code_hash = ?",
	[RED_USE] = "UPDATE redemptions SET status = 'used', used_at = ?, "
	    "used_by = ?, code_sealed = NULL WHERE id = ? AND "
	    "status = 'issued' AND expires_at > ?",
	[RED_PURGE_IDEM] = "DELETE FROM idempotency WHERE created_at < "
	    "UTC_TIMESTAMP(6) - INTERVAL ? SECOND LIMIT ?",
	[RED_PURGE_PASSES] = "DELETE FROM passes WHERE expires_at < "
	    "UTC_TIMESTAMP(6) LIMIT ?",
};

/* ---- members ---- */

enum ly_res
cat_member_tier_check(struct db *db, uint64_t member_id, const char *min_tier)
{
	struct db_row *row;
	long long lifetime;
	enum db_res r;

	if (min_tier == NULL || *min_tier == '\0')
		return LY_OK;
	struct db_val m[] = { db_int((long long)member_id) };
	r = db_one(db, cat_red_stmts[RED_MEMBER_LIFETIME], m, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_NOT_ENROLLED;
	if (r != DB_ROW)
		return ly_from_db(r);
	lifetime = row->col[0].i;
	struct db_val t[] = { db_text(min_tier) };
	r = db_one(db, cat_red_stmts[RED_TIER_MIN], t, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_TIER_TOO_LOW;	/* the tier left the ladder: closed */
	if (r != DB_ROW)
		return ly_from_db(r);
	return lifetime >= row->col[0].i ? LY_OK : LY_TIER_TOO_LOW;
}

/* ---- reading vouchers ---- */

static void
cat_red_read(const struct ly_ctx *ctx, const struct db_row *row,
    struct cat_redemption *out)
{
	unsigned char raw[LIM_VOUCHER_BYTES];

	memset(out, 0, sizeof(*out));
	out->id = (uint64_t)row->col[0].i;
	cat_copy(out->public_id, sizeof(out->public_id), &row->col[1]);
	cat_copy(out->perk_public_id, sizeof(out->perk_public_id),
	    &row->col[2]);
	cat_copy(out->perk_title, sizeof(out->perk_title), &row->col[3]);
	out->points = row->col[4].i;
	cat_copy(out->status, sizeof(out->status), &row->col[5]);
	if (strcmp(out->status, "issued") == 0 && !row->col[6].null &&
	    cat_code_open(ctx, (const unsigned char *)row->col[6].s,
	    row->col[6].len, raw) == 0) {
		cat_code_format(raw, out->code);
		sodium_memzero(raw, sizeof(raw));
	}
	cat_copy(out->issued_at, sizeof(out->issued_at), &row->col[7]);
	cat_copy(out->expires_at, sizeof(out->expires_at), &row->col[8]);
	cat_copy(out->used_at, sizeof(out->used_at), &row->col[9]);
}

enum ly_res
cat_redemption_get(struct db *db, const struct ly_ctx *ctx,
    uint64_t member_id, const char *public_id, struct cat_redemption *out)
{
	struct db_row *row;
	enum db_res r;

	struct db_val q[] = { db_text(public_id), db_int((long long)member_id) };
	r = db_one(db, cat_red_stmts[RED_GET], q, 2, &row);
	if (r == DB_NOTFOUND)
		return LY_REDEMPTION_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	cat_red_read(ctx, row, out);
	return LY_OK;
}

enum ly_res
cat_redemption_list(struct db *db, const struct ly_ctx *ctx,
    uint64_t member_id, uint64_t before, size_t limit,
    void (*cb)(const struct cat_redemption *, void *), void *arg)
{
	struct cat_redemption red;
	struct db_row *row;
	enum db_res r;

	struct db_val q[] = { db_int((long long)member_id),
	    db_int(before == 0 ? (long long)INT64_MAX : (long long)before),
	    db_int((long long)limit) };
	if ((r = db_exec(db, cat_red_stmts[RED_LIST], q, 3)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		cat_red_read(ctx, row, &red);
		cb(&red, arg);
	}
	sodium_memzero(red.code, sizeof(red.code));
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

/* ---- redeeming ---- */

enum ly_res
cat_redeem(struct db *db, const struct ly_ctx *ctx, uint64_t member_id,
    const char *perk_public_id, struct cat_redemption *out)
{
	unsigned char raw[LIM_VOUCHER_BYTES], hash[32], sealed[CAT_SEALED_SZ];
	char now[32], expires[32], id[LIM_PUBLIC_ID_MAX];
	struct cat_perk_state perk;
	uint64_t red_id;
	struct db_row *row;
	struct ly_entry e;
	enum ly_res res;
	enum db_res r;
	time_t t;

	/* the perk first: its row lock orders every redemption of it */
	if ((res = cat_perk_state_get(db, perk_public_id, 1, &perk)) != LY_OK)
		return res;
	if (perk.kind != CAT_VOUCHER)
		return LY_WRONG_PERK_KIND;
	if (!perk.usable)
		return LY_PERK_NOT_ACTIVE;
	if ((res = cat_member_tier_check(db, member_id, perk.min_tier)) !=
	    LY_OK)
		return res;
	if (perk.per_member_limit > 0) {
		struct db_val c[] = { db_int((long long)member_id),
		    db_int((long long)perk.id) };
		if ((r = db_one(db, cat_red_stmts[RED_COUNT], c, 2, &row)) !=
		    DB_ROW)
			return ly_from_db(r);
		if (row->col[0].i >= perk.per_member_limit)
			return LY_LIMIT_REACHED;
	}
	struct db_val s[] = { db_int((long long)perk.id) };
	if ((r = db_exec(db, cat_red_stmts[RED_TAKE_STOCK], s, 1)) != DB_OK)
		return r == DB_CHECK ? LY_OUT_OF_STOCK : ly_from_db(r);
	if (db_affected(db) != 1)
		return LY_OUT_OF_STOCK;

	cat_code_random(raw);
	cat_code_hash(raw, hash);
	cat_code_seal(ctx, raw, sealed);
	ly_id_random(id, sizeof(id), "red_");
	t = time(NULL);
	ly_now(now);
	cat_time_sql(t + (time_t)perk.voucher_days * 86400, expires);
	struct db_val ins[] = { db_text(id), db_int((long long)member_id),
	    db_int((long long)perk.id), db_int(perk.cost_points),
	    db_blob(hash, sizeof(hash)), db_blob(sealed, sizeof(sealed)),
	    db_text(now), db_text(expires) };
	if ((r = db_exec(db, cat_red_stmts[RED_INSERT], ins, 8)) != DB_OK) {
		res = ly_from_db(r);
		goto out;
	}
	red_id = db_insert_id(db);

	/* a free voucher moves no points: the ledger has no zero entries */
	if (perk.cost_points > 0) {
		memset(&e, 0, sizeof(e));
		e.member_id = member_id;
		e.kind = LY_REDEMPTION;
		e.points = -perk.cost_points;
		e.perk_id = perk.id;
		e.redemption_id = red_id;
		if ((res = ly_ledger_append(db, &e)) != LY_OK)
			goto out;
	}

	memset(out, 0, sizeof(*out));
	out->id = red_id;
	snprintf(out->public_id, sizeof(out->public_id), "%s", id);
	snprintf(out->perk_public_id, sizeof(out->perk_public_id), "%s",
	    perk_public_id);
	out->points = perk.cost_points;
	snprintf(out->status, sizeof(out->status), "issued");
	cat_code_format(raw, out->code);
	snprintf(out->issued_at, sizeof(out->issued_at), "%s", now);
	snprintf(out->expires_at, sizeof(out->expires_at), "%s", expires);
	res = LY_OK;
out:
	sodium_memzero(raw, sizeof(raw));
	return res;
}

/* ---- ending a voucher: cancel, expire ---- */

/* Gives back what an ended voucher took: the unit of stock, then the
 * points (a refund; not for a free voucher, and not to a member who has
 * left since: their balance was closed). */
static enum ly_res
cat_give_back(struct db *db, uint64_t redemption_id)
{
	struct db_row *row;
	struct ly_entry e;
	enum ly_res res;
	enum db_res r;

	struct db_val q[] = { db_int((long long)redemption_id) };
	if ((r = db_one(db, cat_red_stmts[RED_ENDED], q, 1, &row)) != DB_ROW)
		return r == DB_NOTFOUND ? LY_REDEMPTION_NOT_FOUND :
		    ly_from_db(r);
	memset(&e, 0, sizeof(e));
	e.member_id = (uint64_t)row->col[0].i;
	e.perk_id = (uint64_t)row->col[1].i;
	e.points = row->col[2].i;
	e.kind = LY_REFUND;
	e.redemption_id = redemption_id;
	struct db_val s[] = { db_int((long long)e.perk_id) };
	if ((r = db_exec(db, cat_red_stmts[RED_RETURN_STOCK], s, 1)) != DB_OK)
		return ly_from_db(r);
	if (e.points <= 0)
		return LY_OK;
	res = ly_ledger_append(db, &e);
	return res == LY_NOT_ENROLLED ? LY_OK : res;
}

enum ly_res
cat_redemption_cancel(struct db *db, const struct ly_ctx *ctx,
    uint64_t member_id, const char *public_id, struct cat_redemption *out)
{
	struct db_row *row;
	uint64_t id;
	enum ly_res res;
	enum db_res r;
	char now[32];

	struct db_val q[] = { db_text(public_id), db_int((long long)member_id) };
	r = db_one(db, cat_red_stmts[RED_LOCK], q, 2, &row);
	if (r == DB_NOTFOUND)
		return LY_REDEMPTION_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	id = (uint64_t)row->col[0].i;
	ly_now(now);
	struct db_val c[] = { db_text(now), db_int((long long)id) };
	if ((r = db_exec(db, cat_red_stmts[RED_CANCEL], c, 2)) != DB_OK)
		return ly_from_db(r);
	if (db_affected(db) != 1)
		return LY_NOT_CANCELLABLE;
	if ((res = cat_give_back(db, id)) != LY_OK)
		return res;
	return cat_redemption_get(db, ctx, member_id, public_id, out);
}

enum ly_res
cat_voucher_expire(struct db *db, uint64_t redemption_id, int *done)
{
	enum db_res r;
	char now[32];

	*done = 0;
	ly_now(now);
	struct db_val x[] = { db_text(now), db_int((long long)redemption_id),
	    db_text(now) };
	if ((r = db_exec(db, cat_red_stmts[RED_EXPIRE], x, 3)) != DB_OK)
		return ly_from_db(r);
	if (db_affected(db) != 1)
		return LY_OK;	/* not due, or already ended: nothing to do */
	*done = 1;
	return cat_give_back(db, redemption_id);
}

/* Expires one voucher in its own transaction, retried on deadlock. */
static enum ly_res
cat_expire_txn(struct db *db, uint64_t id, int *done)
{
	enum ly_res res = LY_RETRY;
	enum db_res r;
	int attempt;

	for (attempt = 0; attempt <= LIM_DB_RETRIES && res == LY_RETRY;
	    attempt++) {
		if ((r = db_begin(db)) != DB_OK) {
			res = ly_from_db(r);
			continue;
		}
		if ((res = cat_voucher_expire(db, id, done)) != LY_OK) {
			db_rollback(db);
			continue;
		}
		if ((r = db_commit(db)) != DB_OK) {
			db_rollback(db);
			res = ly_from_db(r);
			*done = 0;
		}
	}
	return res;
}

enum ly_res
cat_sweep_vouchers(struct db *db, enum cat_sweep_scope scope,
    uint64_t member_id, const char *code, size_t *count)
{
	unsigned char raw[LIM_VOUCHER_BYTES], hash[32] = { 0 };
	uint64_t ids[LIM_SWEEP_BATCH];
	size_t n, i, done_batch;
	struct db_row *row;
	enum ly_res res;
	enum db_res r;
	char now[32];
	int done;

	*count = 0;
	if (scope == CAT_SWEEP_CODE) {
		if (cat_code_parse(code, raw) != 0)
			return LY_OK;	/* not a code: nothing can be due */
		cat_code_hash(raw, hash);
		sodium_memzero(raw, sizeof(raw));
	}
	for (;;) {
		ly_now(now);
		struct db_val all[] = { db_text(now),
		    db_int(LIM_SWEEP_BATCH) };
		struct db_val mem[] = { db_int((long long)member_id),
		    db_text(now), db_int(LIM_SWEEP_BATCH) };
		struct db_val cod[] = { db_blob(hash, sizeof(hash)),
		    db_text(now), db_int(LIM_SWEEP_BATCH) };
		if (scope == CAT_SWEEP_ALL)
			r = db_exec(db, cat_red_stmts[RED_DUE_ALL], all, 2);
		else if (scope == CAT_SWEEP_MEMBER)
			r = db_exec(db, cat_red_stmts[RED_DUE_MEMBER], mem, 3);
		else
			r = db_exec(db, cat_red_stmts[RED_DUE_CODE], cod, 3);
		if (r != DB_OK)
			return ly_from_db(r);
		n = 0;
		while ((r = db_next(db, &row)) == DB_ROW)
			if (n < LIM_SWEEP_BATCH)
				ids[n++] = (uint64_t)row->col[0].i;
		if (r != DB_DONE)
			return ly_from_db(r);
		if (n == 0)
			return LY_OK;
		done_batch = 0;
		for (i = 0; i < n; i++) {
			if ((res = cat_expire_txn(db, ids[i], &done)) != LY_OK)
				return res;
			done_batch += (size_t)done;
		}
		*count += done_batch;
		/* rows another sweep ended meanwhile no longer match; a batch
		 * in which nothing could be done means stop, not spin */
		if (done_batch == 0 || n < LIM_SWEEP_BATCH)
			return LY_OK;
	}
}

enum ly_res
cat_sweep_purge(struct db *db, size_t *idem, size_t *passes)
{
	unsigned long long n;
	enum db_res r;

	*idem = *passes = 0;
	do {
		struct db_val q[] = { db_int(LIM_IDEM_KEEP_S),
		    db_int(LIM_PURGE_BATCH) };
		if ((r = db_exec(db, cat_red_stmts[RED_PURGE_IDEM], q, 2)) !=
		    DB_OK)
			return ly_from_db(r);
		*idem += (size_t)(n = db_affected(db));
	} while (n == LIM_PURGE_BATCH);
	do {
		struct db_val q[] = { db_int(LIM_PURGE_BATCH) };
		if ((r = db_exec(db, cat_red_stmts[RED_PURGE_PASSES], q, 1)) !=
		    DB_OK)
			return ly_from_db(r);
		*passes += (size_t)(n = db_affected(db));
	} while (n == LIM_PURGE_BATCH);
	return LY_OK;
}

/* ---- partners: check and use ---- */

struct cat_found {
	uint64_t	 id;
	uint64_t	 member_id;
	int		 past;		/* expires_at has passed */
};

/* Finds a code of one of org's perks, filling the partner's view. */
static enum ly_res
cat_voucher_find(struct db *db, uint64_t org_id, const char *code,
    const char *now, struct cat_found *f, struct cat_voucher_view *out)
{
	unsigned char raw[LIM_VOUCHER_BYTES], hash[32];
	struct db_row *row;
	enum db_res r;

	memset(out, 0, sizeof(*out));
	if (cat_code_parse(code, raw) != 0)
		return LY_VOUCHER_NOT_FOUND;
	cat_code_hash(raw, hash);
	sodium_memzero(raw, sizeof(raw));
	struct db_val q[] = { db_text(now), db_blob(hash, sizeof(hash)) };
	r = db_one(db, cat_red_stmts[RED_FIND_CODE], q, 2, &row);
	if (r == DB_NOTFOUND)
		return LY_VOUCHER_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	/* another partner's voucher is, to this partner, no voucher */
	if ((uint64_t)row->col[6].i != org_id)
		return LY_VOUCHER_NOT_FOUND;
	f->id = (uint64_t)row->col[0].i;
	f->member_id = (uint64_t)row->col[1].i;
	f->past = row->col[4].i != 0;
	cat_copy(out->status, sizeof(out->status), &row->col[2]);
	cat_copy(out->expires_at, sizeof(out->expires_at), &row->col[3]);
	cat_copy(out->perk_public_id, sizeof(out->perk_public_id),
	    &row->col[5]);
	cat_copy(out->used_at, sizeof(out->used_at), &row->col[7]);
	/* an unswept voucher past its time is expired, whatever the row
	 * says; the caller ends it (refund) once the answer is settled */
	if (strcmp(out->status, "issued") == 0 && f->past) {
		snprintf(out->status, sizeof(out->status), "expired");
		out->due = 1;
	}
	out->valid = strcmp(out->status, "issued") == 0;
	return LY_OK;
}

enum ly_res
cat_voucher_check(struct db *db, uint64_t org_id, const char *code,
    struct cat_voucher_view *out)
{
	struct cat_found f;
	enum ly_res res;
	char now[32];

	ly_now(now);
	if ((res = cat_voucher_find(db, org_id, code, now, &f, out)) != LY_OK)
		return res;
	return ly_access_note(db, f.member_id, org_id, "voucher_check");
}

enum ly_res
cat_voucher_use(struct db *db, uint64_t org_id, const char *code,
    struct cat_voucher_view *out, int *logged)
{
	struct cat_found f;
	enum ly_res res;
	enum db_res r;
	char now[32];

	*logged = 0;
	ly_now(now);
	if ((res = cat_voucher_find(db, org_id, code, now, &f, out)) != LY_OK)
		return res;
	if ((res = ly_access_note(db, f.member_id, org_id, "voucher_use")) !=
	    LY_OK)
		return res;
	struct db_val u[] = { db_text(now), db_int((long long)org_id),
	    db_int((long long)f.id), db_text(now) };
	if ((r = db_exec(db, cat_red_stmts[RED_USE], u, 4)) != DB_OK)
		return ly_from_db(r);
	if (db_affected(db) == 1) {
		snprintf(out->status, sizeof(out->status), "used");
		snprintf(out->used_at, sizeof(out->used_at), "%s", now);
		out->valid = 0;
		return LY_OK;
	}
	/* someone else ended it first: read what it became */
	if ((res = cat_voucher_find(db, org_id, code, now, &f, out)) != LY_OK)
		return res;
	*logged = 1;
	if (strcmp(out->status, "used") == 0)
		return LY_ALREADY_USED;
	if (strcmp(out->status, "cancelled") == 0)
		return LY_VOUCHER_CANCELLED;
	return LY_VOUCHER_EXPIRED;
}
