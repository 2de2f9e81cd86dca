/*
 * h_partner.c: what a partner's counter calls: check and use a voucher,
 * check a pass. The answers say whether the voucher or pass is good and
 * nothing about who holds it: no member id, balance, tier or history.
 * Another partner's code is answered exactly like an unknown one (404).
 *
 * Failed checks (unknown or malformed codes, passes that do not entitle)
 * are limited per organisation by cat_limiter: past LIM_CHECK_FAILS in
 * LIM_CHECK_WINDOW_S, 429 rate_limited with Retry-After until the window
 * slides. Successful checks are never counted.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fcgi/ht.h"

static const struct ht_field ht_code_fields[] = {
	{ "code", HT_F_STRING, 1, 1, LIM_VOUCHER_TEXT_MAX, 0 },
};

static const struct ht_field ht_pass_check_fields[] = {
	{ "pass_code", HT_F_STRING, 1, 1, LIM_PASS_TEXT_MAX, 0 },
	{ "perk_id", HT_F_STRING, 1, 1, LIM_PUBLIC_ID_MAX, 0 },
};

/* 0 if the caller may check now, else -1 with the 429 set. */
static int
ht_limited(struct ht_req *r)
{
	unsigned wait = cat_limiter_allow(r->org.id, time(NULL));
	char ra[16];

	if (wait == 0)
		return 0;
	ht_reply_problem(r, HT_P_RATE_LIMITED, "too many failed checks from "
	    "this key: try again after Retry-After seconds");
	snprintf(ra, sizeof(ra), "%u", wait);
	ht_header(r, "Retry-After", ra);
	return -1;
}

/* Counts the answer against the limiter if it is a failed lookup. */
static void
ht_count_failure(struct ht_req *r)
{
	if (r->status == 404)
		cat_limiter_fail(r->org.id, time(NULL));
}

/* Parses the body and applies the limiter: 0, or -1 with a reply set. */
static int
ht_partner_prepare(struct ht_req *r, const struct ht_field *f, size_t n)
{
	return ht_body(r, f, n) != 0 || ht_limited(r) != 0 ? -1 : 0;
}

/* A voucher the answer found past its time but not yet ended is ended
 * now (its own small transaction: stock and points go back), so the
 * refund never waits for the sweep. If this fails the sweep does it. */
static void
ht_voucher_end_due(struct ht_req *r, const struct cat_voucher_view *v)
{
	size_t n;

	if (v->due && cat_sweep_vouchers(r->db, CAT_SWEEP_CODE, 0,
	    ht_jstr(r->json, "code"), &n) != LY_OK)
		fprintf(stderr, "level=warn component=partner error=\"ending a "
		    "due voucher failed: the sweep will\"\n");
}

/* No transaction: the look-up and the access-log row (cat_voucher_check). */
void
ht_h_vouchers_check(struct ht_req *r)
{
	struct cat_voucher_view v;
	enum ly_res res;
	cJSON *j;

	if (ht_partner_prepare(r, ht_code_fields, 1) != 0)
		return;
	if ((res = cat_voucher_check(r->db, r->org.id,
	    ht_jstr(r->json, "code"), &v)) != LY_OK) {
		ht_reply_result(r, res, NULL);
		ht_count_failure(r);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "valid", v.valid);
	cJSON_AddStringToObject(j, "status", v.status);
	cJSON_AddStringToObject(j, "perk_id", v.perk_public_id);
	ht_jadd_sqltime(j, "expires_at", v.expires_at);
	ht_reply_json(r, 200, j);
	ht_voucher_end_due(r, &v);
}

static enum ly_res
ht_use_work(struct ht_req *r, void *arg)
{
	struct cat_voucher_view *v = arg;
	enum ly_res res;
	int logged = 0;
	cJSON *j;

	res = cat_voucher_use(r->db, r->org.id, ht_jstr(r->json, "code"), v,
	    &logged);
	if (res == LY_OK) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", "used");
		ht_jadd_sqltime(j, "used_at", v->used_at);
		ht_reply_json(r, 200, j);
		return LY_OK;
	}
	if (!logged)
		return res;
	/* a refused use still touched the member's voucher: answer the
	 * refusal but commit its access-log row */
	if (res == LY_ALREADY_USED) {
		j = ht_problem_json(res, "this voucher was already used");
		ht_jadd_sqltime(j, "used_at", v->used_at);
		ht_reply_json(r, ht_result_status(res), j);
		r->ctype = "application/problem+json";
	} else
		ht_reply_result(r, res, NULL);
	return LY_OK;
}

void
ht_h_vouchers_use(struct ht_req *r)
{
	struct cat_voucher_view v = { .due = 0 };

	if (ht_partner_prepare(r, ht_code_fields, 1) != 0)
		return;
	ht_txn(r, ht_use_work, &v);
	ht_count_failure(r);
	if (r->status == 200)
		ht_metrics_add(HT_C_VOUCHER_USES, 1);
	ht_voucher_end_due(r, &v);
}

/* No transaction either: the perk, the pass's holder and the access-log
 * row (cat_pass_check). */
void
ht_h_passes_check(struct ht_req *r)
{
	int entitled = 0;
	time_t exp = 0;
	char at[32];
	enum ly_res res;
	cJSON *j;

	if (ht_partner_prepare(r, ht_pass_check_fields, 2) != 0)
		return;
	if ((res = cat_pass_check(r->db, r->ctx, r->org.id,
	    ht_jstr(r->json, "pass_code"), ht_jstr(r->json, "perk_id"),
	    &entitled, &exp)) != LY_OK) {
		ht_reply_result(r, res, NULL);
		ht_count_failure(r);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "entitled", entitled);
	if (exp > 0) {
		cat_time_sql(exp, at);
		ht_jadd_sqltime(j, "expires_at", at);
	} else
		cJSON_AddNullToObject(j, "expires_at");
	ht_reply_json(r, 200, j);
	if (!entitled)
		cat_limiter_fail(r->org.id, time(NULL));
}
