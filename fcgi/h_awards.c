/*
 * h_awards.c: issuers report civic acts. POST /v1/awards takes one,
 * POST /v1/awards/batch up to LIM_BATCH_MAX, each item handled exactly
 * as a single award would be, with its own result. The subject is turned
 * into its keyed hash at once; it is never stored or logged, and a
 * subject who is not a member (or has not allowed this issuer) leaves no
 * trace.
 *
 * A batch runs in one transaction through ly_award_batch(), which
 * answers every item as ly_award() would item after item, with a few
 * multi-row statements per LIM_DB_ROWS_MAX items. A deadlock, or a
 * reference awarded concurrently by another transaction, re-runs the
 * whole batch (ht_txn): nothing of the failed run was committed, so
 * nothing is credited twice and every item answers as if it ran once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

static const struct ht_field ht_award_fields[] = {
	{ "subject", HT_F_STRING, 1, 1, LIM_SUBJECT_MAX, 0 },
	{ "rule", HT_F_STRING, 1, 1, LIM_CODE_MAX, 0 },
	{ "external_ref", HT_F_STRING, 1, 1, LIM_EXTREF_MAX, 0 },
	{ "occurred_at", HT_F_TIME, 0, 0, 0, 1 },
};
#define HT_AWARD_NFIELDS (sizeof(ht_award_fields) / sizeof(ht_award_fields[0]))

static const struct ht_field ht_batch_fields[] = {
	{ "items", HT_F_ARRAY, 1, 1, LIM_BATCH_MAX, 0 },
};

/* One award request, checked and hashed before the transaction. */
struct ht_award_item {
	unsigned char		 hash[32];
	char			 occurred[32];
	struct ht_verr		 err;
};

struct ht_award_run {
	struct ht_award_item	*items;
	struct ly_award_item	*awards;	/* parallel to items */
	size_t			 n;
	int			 batch;
	/* for metrics, recounted on every (re)run of the transaction */
	unsigned long long	 credited, points;
};

static void
ht_award_item_read(struct ht_req *r, const cJSON *obj,
    struct ht_award_item *it, struct ly_award_item *aw)
{
	const char *occ;

	memset(it, 0, sizeof(*it));
	memset(aw, 0, sizeof(*aw));
	if (ht_json_check(obj, ht_award_fields, HT_AWARD_NFIELDS,
	    &it->err) != 0) {
		aw->skip = 1;
		return;
	}
	ly_subject_hash(r->ctx, ht_jstr(obj, "subject"), it->hash);
	aw->in.issuer_id = r->org.id;
	aw->in.subject_hash = it->hash;
	aw->in.rule = ht_jstr(obj, "rule");
	aw->in.external_ref = ht_jstr(obj, "external_ref");
	if ((occ = ht_jstr(obj, "occurred_at")) != NULL &&
	    ht_time_parse(occ, it->occurred, NULL) == 0)
		aw->in.occurred_at = it->occurred;
}

static cJSON *
ht_award_json(const struct ht_req *r, const struct ly_award *a)
{
	cJSON *j = cJSON_CreateObject();
	char id[LIM_PUBLIC_ID_MAX];

	ly_id_derived(r->ctx, id, sizeof(id), "awd_", a->id);
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "rule", a->rule);
	ht_jadd_int(j, "points", a->points);
	cJSON_AddBoolToObject(j, "capped", a->capped);
	ht_jadd_int(j, "balance", a->balance);
	ht_jadd_str(j, "campaign_id", a->campaign[0] ? a->campaign : NULL);
	return j;
}

/* A validation problem as a batch result (same shape as ht_reply_verr). */
static cJSON *
ht_verr_json(const struct ht_verr *e)
{
	int unknown = e->prob == HT_P_UNKNOWN_FIELD;
	cJSON *doc = cJSON_CreateObject(), *errs, *one;
	char detail[256];

	snprintf(detail, sizeof(detail), "%s%s%s", e->field,
	    e->field[0] ? ": " : "", e->message);
	cJSON_AddStringToObject(doc, "type", unknown ?
	    "urn:perkd:problem:unknown_field" :
	    "urn:perkd:problem:validation_failed");
	cJSON_AddStringToObject(doc, "title", unknown ? "Unknown field" :
	    "Invalid field");
	cJSON_AddNumberToObject(doc, "status", unknown ? 400 : 422);
	cJSON_AddStringToObject(doc, "detail", detail);
	cJSON_AddStringToObject(doc, "code", unknown ? "unknown_field" :
	    "validation_failed");
	errs = cJSON_AddArrayToObject(doc, "errors");
	one = cJSON_CreateObject();
	cJSON_AddStringToObject(one, "field", e->field);
	cJSON_AddStringToObject(one, "message", e->message);
	cJSON_AddItemToArray(errs, one);
	return doc;
}

static int
ht_is_infra(enum ly_res res)
{
	return res == LY_RETRY || res == LY_UNAVAIL || res == LY_INTERNAL ||
	    res == LY_NOMEM;
}

static enum ly_res
ht_award_work(struct ht_req *r, void *arg)
{
	struct ht_award_run *run = arg;
	struct ly_award_item *it;
	cJSON *doc, *results = NULL, *one;
	enum ly_res res;
	size_t i;

	run->credited = run->points = 0;
	if (!run->batch) {
		it = &run->awards[0];
		it->res = ly_award(r->db, &it->in, &it->out);
	} else if ((res = ly_award_batch(r->db, run->awards, run->n)) !=
	    LY_OK)
		return ht_is_infra(res) ? res : LY_INTERNAL;
	for (i = 0; i < run->n; i++) {
		it = &run->awards[i];
		if (it->skip)
			continue;
		if (ht_is_infra(it->res))
			return it->res;	/* the whole transaction re-runs */
		if (it->res == LY_OK && !it->out.duplicate) {
			run->credited++;
			run->points += (unsigned long long)it->out.points;
		}
	}
	if (!run->batch) {
		it = &run->awards[0];
		if (it->res != LY_OK)
			return it->res;
		ht_reply_json(r, it->out.duplicate ? 200 : 201,
		    ht_award_json(r, &it->out));
		return LY_OK;
	}
	doc = cJSON_CreateObject();
	results = cJSON_AddArrayToObject(doc, "results");
	for (i = 0; i < run->n; i++) {
		it = &run->awards[i];
		if (it->skip)
			one = ht_verr_json(&run->items[i].err);
		else if (it->res != LY_OK)
			one = ht_problem_json(it->res, NULL);
		else {
			one = ht_award_json(r, &it->out);
			cJSON_AddNumberToObject(one, "status",
			    it->out.duplicate ? 200 : 201);
		}
		cJSON_AddItemToArray(results, one);
	}
	ht_reply_json(r, 200, doc);
	return LY_OK;
}

static void
ht_award_metrics(const struct ht_req *r, const struct ht_award_run *run)
{
	if (r->replayed || r->status >= 300 || run->credited == 0)
		return;
	ht_metrics_add(HT_C_AWARDS, run->credited);
	ht_metrics_add(HT_C_AWARD_POINTS, run->points);
}

void
ht_h_awards_create(struct ht_req *r)
{
	struct ht_award_item item;
	struct ly_award_item award;
	struct ht_award_run run = { &item, &award, 1, 0, 0, 0 };

	if (ht_body(r, ht_award_fields, HT_AWARD_NFIELDS) != 0)
		return;
	ht_award_item_read(r, r->json, &item, &award);
	ht_txn_points(r, ht_award_work, &run);
	ht_award_metrics(r, &run);
}

void
ht_h_awards_batch(struct ht_req *r)
{
	struct ht_award_run run = { NULL, NULL, 0, 1, 0, 0 };
	const cJSON *it;

	if (ht_body(r, ht_batch_fields, 1) != 0)
		return;
	run.n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    r->json, "items"));
	run.items = calloc(run.n ? run.n : 1, sizeof(*run.items));
	run.awards = calloc(run.n ? run.n : 1, sizeof(*run.awards));
	if (run.items == NULL || run.awards == NULL) {
		ht_reply_result(r, LY_NOMEM, NULL);
		goto out;
	}
	run.n = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json,
	    "items")) {
		ht_award_item_read(r, it, &run.items[run.n], &run.awards[run.n]);
		run.n++;
	}
	ht_txn_points(r, ht_award_work, &run);
	ht_award_metrics(r, &run);
out:
	free(run.awards);
	free(run.items);
}
