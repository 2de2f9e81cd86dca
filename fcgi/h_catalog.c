/*
 * h_catalog.c: the catalogue over HTTP: the public list of perks and the
 * pass-signing key, managers' perk administration, and residents'
 * redemptions (vouchers), passes and their QR codes. Thin: validate,
 * call catalog/ in one transaction (ht_txn), shape the JSON.
 *
 * Vouchers past their expiry are ended lazily (cat_sweep_vouchers) before
 * a resident's voucher is shown, so what a resident sees never depends on
 * when `perkctl sweep` last ran.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fcgi/ht.h"

/* ---- JSON shapes ---- */

void
ht_jadd_sqltime(cJSON *o, const char *name, const char *sql)
{
	char t[32];

	if (sql == NULL || *sql == '\0') {
		cJSON_AddNullToObject(o, name);
		return;
	}
	ht_time_fmt(sql, t);
	cJSON_AddStringToObject(o, name, t);
}

static void
ht_jadd_opt(cJSON *o, const char *name, long long v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, name);
	else
		ht_jadd_int(o, name, v);
}

/* A perk as the catalogue shows it; full adds what managers see. */
static cJSON *
ht_perk_json(const struct cat_perk *p, int full)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "id", p->public_id);
	cJSON_AddStringToObject(j, "title", p->title);
	cJSON_AddStringToObject(j, "description", p->description);
	cJSON_AddStringToObject(j, "partner", p->partner_name);
	cJSON_AddStringToObject(j, "kind", cat_kind_str(p->kind));
	ht_jadd_int(j, "cost_points", p->cost_points);
	ht_jadd_str(j, "min_tier", p->min_tier[0] ? p->min_tier : NULL);
	ht_jadd_opt(j, "stock_left", p->stock < 0 ? -1 :
	    (p->stock > p->issued ? p->stock - p->issued : 0));
	ht_jadd_opt(j, "per_member_limit", p->per_member_limit);
	ht_jadd_sqltime(j, "valid_from", p->valid_from);
	ht_jadd_sqltime(j, "valid_to", p->valid_to);
	if (full) {
		cJSON_AddStringToObject(j, "partner_id", p->partner_public_id);
		ht_jadd_opt(j, "stock", p->stock);
		ht_jadd_int(j, "issued", p->issued);
		ht_jadd_int(j, "voucher_days", p->voucher_days);
		cJSON_AddBoolToObject(j, "active", p->active);
		ht_jadd_sqltime(j, "created_at", p->created_at);
		ht_jadd_sqltime(j, "updated_at", p->updated_at);
	}
	return j;
}

static cJSON *
ht_redemption_json(const struct cat_redemption *d)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "id", d->public_id);
	cJSON_AddStringToObject(j, "perk_id", d->perk_public_id);
	if (d->perk_title[0] != '\0')
		cJSON_AddStringToObject(j, "perk_title", d->perk_title);
	ht_jadd_int(j, "points", d->points);
	cJSON_AddStringToObject(j, "status", d->status);
	if (d->code[0] != '\0')
		cJSON_AddStringToObject(j, "voucher_code", d->code);
	ht_jadd_sqltime(j, "issued_at", d->issued_at);
	ht_jadd_sqltime(j, "expires_at", d->expires_at);
	ht_jadd_sqltime(j, "used_at", d->used_at);
	return j;
}

/* ---- public: the catalogue, the pass key ---- */

static void
ht_perk_list_cb(const struct cat_perk *p, void *arg)
{
	struct ht_page *pg = arg;

	if (ht_page_take(pg, p->id))
		cJSON_AddItemToArray(pg->items, ht_perk_json(p, 0));
}

void
ht_h_perks_list(struct ht_req *r)
{
	struct ht_page pg;
	uint64_t after;

	if (ht_page_start(r, &pg, &after) != 0)
		return;
	ht_page_reply(&pg, cat_perk_list(r->db, after, pg.limit + 1,
	    ht_perk_list_cb, &pg));
}

void
ht_h_pass_key(struct ht_req *r)
{
	char kid[CAT_KID_SZ], pk[48];
	cJSON *j = cJSON_CreateObject();

	cat_pass_kid(r->ctx, kid);
	cat_pass_pubkey(r->ctx, pk);
	cJSON_AddStringToObject(j, "alg", "Ed25519");
	cJSON_AddStringToObject(j, "kid", kid);
	cJSON_AddStringToObject(j, "public_key", pk);
	cJSON_AddStringToObject(j, "format", "v1");
	ht_reply_json(r, 200, j);
}

/* ---- managers: perks ---- */

static const struct ht_field ht_perk_create_fields[] = {
	{ "title", HT_F_STRING, 1, 1, LIM_NAME_MAX, 0 },
	{ "description", HT_F_STRING, 1, 0, LIM_DESC_MAX, 0 },
	{ "partner", HT_F_STRING, 1, 1, LIM_PUBLIC_ID_MAX, 0 },
	{ "kind", HT_F_STRING, 1, 1, 16, 0 },
	{ "cost_points", HT_F_INT, 1, 0, LIM_POINTS_MAX, 0 },
	{ "min_tier", HT_F_STRING, 0, 1, LIM_CODE_MAX, 1 },
	{ "stock", HT_F_INT, 0, 0, LIM_STOCK_MAX, 1 },
	{ "per_member_limit", HT_F_INT, 0, 1, LIM_STOCK_MAX, 1 },
	{ "valid_from", HT_F_TIME, 0, 0, 0, 1 },
	{ "valid_to", HT_F_TIME, 0, 0, 0, 1 },
	{ "voucher_days", HT_F_INT, 0, 1, LIM_VOUCHER_DAYS_MAX, 0 },
};

static const struct ht_field ht_perk_update_fields[] = {
	{ "title", HT_F_STRING, 0, 1, LIM_NAME_MAX, 0 },
	{ "description", HT_F_STRING, 0, 0, LIM_DESC_MAX, 0 },
	{ "cost_points", HT_F_INT, 0, 0, LIM_POINTS_MAX, 0 },
	{ "min_tier", HT_F_STRING, 0, 1, LIM_CODE_MAX, 1 },
	{ "stock", HT_F_INT, 0, 0, LIM_STOCK_MAX, 1 },
	{ "per_member_limit", HT_F_INT, 0, 1, LIM_STOCK_MAX, 1 },
	{ "valid_from", HT_F_TIME, 0, 0, 0, 1 },
	{ "valid_to", HT_F_TIME, 0, 0, 0, 1 },
	{ "voucher_days", HT_F_INT, 0, 1, LIM_VOUCHER_DAYS_MAX, 0 },
	{ "active", HT_F_BOOL, 0, 0, 0, 0 },
};

struct ht_perk_args {
	struct cat_perk_in	 in;
	int			 update;	/* 0: create */
	unsigned		 set;
	char			 from[32], to[32];
	struct cat_perk		 out;	/* ~10 KiB: in the args, not a frame */
};

/* Reads the fields present in the checked body into a (ht_body already
 * refused nulls where they are not allowed); 0 or -1 with the reply set. */
static int
ht_perk_read(struct ht_req *r, struct ht_perk_args *a)
{
	static const struct { const char *name; unsigned bit; } bits[] = {
		{ "title", CAT_F_TITLE }, { "description", CAT_F_DESCRIPTION },
		{ "cost_points", CAT_F_COST }, { "min_tier", CAT_F_MIN_TIER },
		{ "stock", CAT_F_STOCK }, { "per_member_limit", CAT_F_LIMIT },
		{ "valid_from", CAT_F_VALID_FROM }, { "valid_to", CAT_F_VALID_TO },
		{ "voucher_days", CAT_F_DAYS }, { "active", CAT_F_ACTIVE },
	};
	const cJSON *j = r->json, *it;
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(j, bits[i].name) != NULL)
			a->set |= bits[i].bit;
	a->in.title = ht_jstr(j, "title");
	a->in.description = ht_jstr(j, "description");
	a->in.cost_points = ht_jint(j, "cost_points", 0);
	a->in.min_tier = ht_jstr(j, "min_tier");
	a->in.stock = ht_jint(j, "stock", -1);
	a->in.per_member_limit = ht_jint(j, "per_member_limit", -1);
	a->in.voucher_days = (int)ht_jint(j, "voucher_days", 30);
	it = cJSON_GetObjectItemCaseSensitive(j, "active");
	a->in.active = it == NULL || cJSON_IsTrue(it);
	if (ht_jhas(j, "valid_from")) {
		if (ht_time_parse(ht_jstr(j, "valid_from"), a->from, &t) != 0)
			goto bad_time;
		a->in.valid_from = a->from;
	}
	if (ht_jhas(j, "valid_to")) {
		if (ht_time_parse(ht_jstr(j, "valid_to"), a->to, &t) != 0)
			goto bad_time;
		a->in.valid_to = a->to;
	}
	return 0;
bad_time:
	ht_reply_field(r, "", "valid_from and valid_to must be RFC 3339 times");
	return -1;
}

/* Creates the perk (a->update 0) or changes perk r->params[0]; the reply
 * is the perk, or for LY_INVAL the domain's reason. */
static enum ly_res
ht_perk_work(struct ht_req *r, void *arg)
{
	struct ht_perk_args *a = arg;
	const char *why = NULL;
	enum ly_res res;

	if (a->update)
		res = cat_perk_update(r->db, r->params[0], a->set, &a->in,
		    &a->out, &why);
	else
		res = cat_perk_create(r->db, &a->in, &a->out, &why);
	if (res == LY_INVAL)
		ht_reply_field(r, "", why ? why :
		    "the perk would break a constraint");
	else if (res == LY_OK)
		ht_reply_json(r, a->update ? 200 : 201,
		    ht_perk_json(&a->out, 1));
	return res;
}

/* Checks the body against the n fields f and allocates the arguments
 * (the caller frees them); NULL with the reply set. */
static struct ht_perk_args *
ht_perk_args_new(struct ht_req *r, const struct ht_field *f, size_t n,
    int update)
{
	struct ht_perk_args *a;

	if (ht_body(r, f, n) != 0)
		return NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		ht_reply_result(r, LY_NOMEM, NULL);
		return NULL;
	}
	a->update = update;
	return a;
}

void
ht_h_perks_create(struct ht_req *r)
{
	struct ht_perk_args *a;
	const char *kind;

	if ((a = ht_perk_args_new(r, ht_perk_create_fields,
	    sizeof(ht_perk_create_fields) / sizeof(ht_perk_create_fields[0]),
	    0)) == NULL)
		return;
	kind = ht_jstr(r->json, "kind");
	if (strcmp(kind, "voucher") != 0 && strcmp(kind, "status") != 0) {
		ht_reply_field(r, "kind", "kind is voucher or status");
		goto out;
	}
	a->in.kind = strcmp(kind, "status") == 0 ? CAT_STATUS : CAT_VOUCHER;
	a->in.partner = ht_jstr(r->json, "partner");
	if (ht_perk_read(r, a) != 0)
		goto out;
	ht_txn(r, ht_perk_work, a);
out:
	free(a);
}

void
ht_h_perks_update(struct ht_req *r)
{
	struct ht_perk_args *a;

	if ((a = ht_perk_args_new(r, ht_perk_update_fields,
	    sizeof(ht_perk_update_fields) / sizeof(ht_perk_update_fields[0]),
	    1)) == NULL)
		return;
	if (ht_perk_read(r, a) != 0)
		goto out;
	if (a->set == 0) {
		ht_reply_field(r, "", "name at least one field to change");
		goto out;
	}
	ht_txn(r, ht_perk_work, a);
out:
	free(a);
}

/* ---- residents: redemptions ---- */

/* The calling resident's member id: LY_OK or LY_NOT_ENROLLED. */
static enum ly_res
ht_member_id(struct ht_req *r, uint64_t *id)
{
	struct ly_member m;
	enum ly_res res;

	if ((res = ly_member_find(r->db, r->subject_hash, 0, &m)) == LY_OK)
		*id = m.id;
	return res;
}

static const struct ht_field ht_perk_id_fields[] = {
	{ "perk_id", HT_F_STRING, 1, 1, LIM_PUBLIC_ID_MAX, 0 },
};

/*
 * The voucher code is not in the answer that ht_txn stores with an
 * Idempotency-Key: that record is plain text for 48 hours, and a code is
 * kept only as a hash and a seal. It is added to the reply afterwards,
 * from the fresh redemption or, on a replay, unsealed again while the
 * voucher is still issued.
 */
struct ht_redeem_args {
	char	 code[CAT_CODE_SZ];
};

static enum ly_res
ht_redeem_work(struct ht_req *r, void *arg)
{
	struct ht_redeem_args *a = arg;
	struct cat_redemption d;
	uint64_t member;
	enum ly_res res;

	if ((res = ht_member_id(r, &member)) != LY_OK)
		return res;
	if ((res = cat_redeem(r->db, r->ctx, member,
	    ht_jstr(r->json, "perk_id"), &d)) != LY_OK)
		return res;
	memcpy(a->code, d.code, sizeof(a->code));
	d.code[0] = '\0';
	ht_reply_json(r, 201, ht_redemption_json(&d));
	sodium_memzero(d.code, sizeof(d.code));
	return LY_OK;
}

/* Adds voucher_code to a 201 answer (fresh or replayed). */
static void
ht_redeem_add_code(struct ht_req *r, struct ht_redeem_args *a)
{
	struct cat_redemption d;
	const cJSON *id;
	uint64_t member;
	cJSON *j;

	if ((j = cJSON_ParseWithLength(r->out, r->outlen)) == NULL)
		return;
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	if (r->replayed && cJSON_IsString(id) &&
	    ht_member_id(r, &member) == LY_OK &&
	    cat_redemption_get(r->db, r->ctx, member, id->valuestring,
	    &d) == LY_OK)
		memcpy(a->code, d.code, sizeof(a->code));
	if (a->code[0] != '\0')
		cJSON_AddStringToObject(j, "voucher_code", a->code);
	ht_reply_json(r, 201, j);
	sodium_memzero(a->code, sizeof(a->code));
	sodium_memzero(d.code, sizeof(d.code));
}

void
ht_h_redemptions_create(struct ht_req *r)
{
	struct ht_redeem_args a;

	memset(&a, 0, sizeof(a));
	if (ht_body(r, ht_perk_id_fields, 1) != 0)
		return;
	ht_txn_points(r, ht_redeem_work, &a);
	if (r->status != 201)
		return;
	if (!r->replayed)
		ht_metrics_add(HT_C_REDEMPTIONS, 1);
	ht_redeem_add_code(r, &a);
}

/* Finds the calling member and ends their vouchers that are past due;
 * 0, or -1 with a problem reply set. */
static int
ht_member_swept(struct ht_req *r, uint64_t *member)
{
	enum ly_res res;
	size_t n;

	if ((res = ht_member_id(r, member)) != LY_OK ||
	    (res = cat_sweep_vouchers(r->db, CAT_SWEEP_MEMBER, *member, NULL,
	    &n)) != LY_OK) {
		ht_reply_result(r, res, NULL);
		return -1;
	}
	return 0;
}

static void
ht_redemption_list_cb(const struct cat_redemption *d, void *arg)
{
	struct ht_page *pg = arg;

	if (ht_page_take(pg, d->id))
		cJSON_AddItemToArray(pg->items, ht_redemption_json(d));
}

void
ht_h_redemptions_list(struct ht_req *r)
{
	struct ht_page pg;
	uint64_t before, member;

	if (ht_page_start(r, &pg, &before) != 0 ||
	    ht_member_swept(r, &member) != 0)
		return;
	ht_page_reply(&pg, cat_redemption_list(r->db, r->ctx, member,
	    before, pg.limit + 1, ht_redemption_list_cb, &pg));
}

static enum ly_res
ht_cancel_work(struct ht_req *r, void *arg)
{
	struct cat_redemption d;
	uint64_t member;
	enum ly_res res;

	(void)arg;
	if ((res = ht_member_id(r, &member)) != LY_OK ||
	    (res = cat_redemption_cancel(r->db, r->ctx, member, r->params[0],
	    &d)) != LY_OK)
		return res;
	ht_reply_json(r, 200, ht_redemption_json(&d));
	return LY_OK;
}

void
ht_h_redemptions_cancel(struct ht_req *r)
{
	uint64_t member;

	/* end it first if it is past due, so a late cancel is refused and
	 * the expiry refund is not lost with the refusal's rollback */
	if (ht_member_swept(r, &member) != 0)
		return;
	ht_txn_points(r, ht_cancel_work, NULL);
}

/* Replies with text as a QR code (image/svg+xml). */
static void
ht_reply_qr(struct ht_req *r, const char *text)
{
	size_t len = 0;
	char *svg = cat_qr_svg(text, &len);

	if (svg == NULL) {
		ht_reply_result(r, LY_INTERNAL, NULL);
		return;
	}
	ht_reply_raw(r, 200, "image/svg+xml", svg, len);
	free(svg);
}

void
ht_h_redemption_qr(struct ht_req *r)
{
	struct cat_redemption d;
	uint64_t member;
	enum ly_res res;

	if (ht_member_swept(r, &member) != 0)
		return;
	res = cat_redemption_get(r->db, r->ctx, member, r->params[0], &d);
	if (res == LY_OK && d.code[0] == '\0')
		res = strcmp(d.status, "used") == 0 ? LY_ALREADY_USED :
		    strcmp(d.status, "cancelled") == 0 ? LY_VOUCHER_CANCELLED :
		    strcmp(d.status, "expired") == 0 ? LY_VOUCHER_EXPIRED :
		    LY_INTERNAL;
	if (res != LY_OK) {
		ht_reply_result(r, res, NULL);
		return;
	}
	ht_reply_qr(r, d.code);
	sodium_memzero(d.code, sizeof(d.code));
}

/* ---- residents: passes ---- */

static enum ly_res
ht_pass_work(struct ht_req *r, void *arg)
{
	char pass[LIM_PASS_TEXT_MAX], exp[32];
	uint64_t member;
	enum ly_res res;
	cJSON *j;

	(void)arg;
	if ((res = ht_member_id(r, &member)) != LY_OK ||
	    (res = cat_pass_issue(r->db, r->ctx, member,
	    ht_jstr(r->json, "perk_id"), pass, sizeof(pass), exp)) != LY_OK)
		return res;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "pass_code", pass);
	ht_jadd_sqltime(j, "expires_at", exp);
	ht_reply_json(r, 201, j);
	return LY_OK;
}

void
ht_h_passes_create(struct ht_req *r)
{
	if (ht_body(r, ht_perk_id_fields, 1) != 0)
		return;
	ht_txn(r, ht_pass_work, NULL);
}

void
ht_h_pass_qr(struct ht_req *r)
{
	char text[LIM_PASS_TEXT_MAX + 1], perk[LIM_PUBLIC_ID_MAX];
	unsigned char nonce[16];
	time_t exp;
	int q;

	if ((q = ht_query(r, "code", text, sizeof(text))) <= 0) {
		ht_reply_problem(r, HT_P_INVALID_QUERY, q == 0 ?
		    "code is required" : "code is malformed or too long");
		return;
	}
	/* only a pass this server signed is drawn */
	if (cat_pass_verify(r->ctx, text, perk, &exp, nonce) != 0) {
		ht_reply_result(r, LY_PASS_NOT_FOUND, NULL);
		return;
	}
	ht_reply_qr(r, text);
}
