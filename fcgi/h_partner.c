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

/* Parses the body, applies the limiter, and ends the voucher first if it
 * is past due (its own small transaction), so the answer and the refund
 * never wait for the sweep. 0, or -1 with a reply set. */
static int
ht_voucher_prepare(struct ht_req *r)
{
	enum ly_res res;
	size_t n;

	if (ht_body(r, ht_code_fields, 1) != 0 || ht_limited(r) != 0)
		return -1;
	if ((res = cat_sweep_vouchers(r->db, CAT_SWEEP_CODE, 0,
	    ht_jstr(r->json, "code"), &n)) != LY_OK) {
		ht_reply_result(r, res, NULL);
		return -1;
	}
	return 0;
}

static enum ly_res
ht_check_work(struct ht_req *r, void *arg)
{
	struct cat_voucher_view v;
	enum ly_res res;
	cJSON *j;

	(void)arg;
	if ((res = cat_voucher_check(r->db, r->org.id,
	    ht_jstr(r->json, "code"), &v)) != LY_OK)
		return res;
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "valid", v.valid);
	cJSON_AddStringToObject(j, "status", v.status);
	cJSON_AddStringToObject(j, "perk_id", v.perk_public_id);
	ht_jadd_sqltime(j, "expires_at", v.expires_at);
	ht_reply_json(r, 200, j);
	return LY_OK;
}

void
ht_h_vouchers_check(struct ht_req *r)
{
	if (ht_voucher_prepare(r) != 0)
		return;
	ht_txn(r, ht_check_work, NULL);
	ht_count_failure(r);
}

static enum ly_res
ht_use_work(struct ht_req *r, void *arg)
{
	struct cat_voucher_view v;
	enum ly_res res;
	int logged = 0;
	cJSON *j;

	(void)arg;
	res = cat_voucher_use(r->db, r->org.id, ht_jstr(r->json, "code"), &v,
	    &logged);
	if (res == LY_OK) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "status", "used");
		ht_jadd_sqltime(j, "used_at", v.used_at);
		ht_reply_json(r, 200, j);
		return LY_OK;
	}
	if (!logged)
		return res;
	/* a refused use still touched the member's voucher: answer the
	 * refusal but commit its access-log row */
	if (res == LY_ALREADY_USED) {
		j = ht_problem_json(res, "this voucher was already used");
		ht_jadd_sqltime(j, "used_at", v.used_at);
		ht_reply_json(r, ht_result_status(res), j);
		r->ctype = "application/problem+json";
	} else
		ht_reply_result(r, res, NULL);
	return LY_OK;
}

void
ht_h_vouchers_use(struct ht_req *r)
{
	if (ht_voucher_prepare(r) != 0)
		return;
	ht_txn(r, ht_use_work, NULL);
	ht_count_failure(r);
	if (r->status == 200)
		ht_metrics_add(HT_C_VOUCHER_USES, 1);
}

struct ht_pass_check {
	int	 entitled;
	time_t	 exp;
};

static enum ly_res
ht_pass_check_work(struct ht_req *r, void *arg)
{
	struct ht_pass_check *c = arg;
	char exp[32];
	enum ly_res res;
	cJSON *j;

	if ((res = cat_pass_check(r->db, r->ctx, r->org.id,
	    ht_jstr(r->json, "pass_code"), ht_jstr(r->json, "perk_id"),
	    &c->entitled, &c->exp)) != LY_OK)
		return res;
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "entitled", c->entitled);
	if (c->exp > 0) {
		cat_time_sql(c->exp, exp);
		ht_jadd_sqltime(j, "expires_at", exp);
	} else
		cJSON_AddNullToObject(j, "expires_at");
	ht_reply_json(r, 200, j);
	return LY_OK;
}

void
ht_h_passes_check(struct ht_req *r)
{
	struct ht_pass_check c = { 0, 0 };

	if (ht_body(r, ht_pass_check_fields, 2) != 0 || ht_limited(r) != 0)
		return;
	ht_txn(r, ht_pass_check_work, &c);
	if (r->status == 404 || (r->status == 200 && !c.entitled))
		cat_limiter_fail(r->org.id, time(NULL));
}
