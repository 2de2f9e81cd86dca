/*
 * problem.c: THE table mapping results to HTTP. Every domain result
 * (enum ly_res) and every transport problem (enum ht_prob) has exactly one
 * row here: its HTTP status, its stable problem code (part of the public
 * contract) and a title. Replies are RFC 9457 problem documents:
 * {type, title, status, detail, code}. Nothing from the database or the
 * file system ever reaches `detail`.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fcgi/ht.h"

struct ht_problem {
	int		 status;
	const char	*code;
	const char	*title;
};

static const struct ht_problem ly_problems[LY_RES__MAX] = {
	[LY_OK] = { 200, "ok", "OK" },
	[LY_NOMEM] = { 503, "out_of_memory", "Server busy" },
	[LY_INVAL] = { 422, "validation_failed", "Invalid request" },
	[LY_NOTFOUND] = { 404, "not_found", "Not found" },
	[LY_CONFLICT] = { 409, "conflict", "Conflict" },
	[LY_RETRY] = { 503, "database_busy", "Database busy, retry" },
	[LY_UNAVAIL] = { 503, "database_unavailable", "Database unavailable" },
	[LY_INTERNAL] = { 500, "internal_error", "Internal error" },
	[LY_CONSENT_REQUIRED] = { 422, "consent_required",
	    "Consent is required to enrol" },
	[LY_UNKNOWN_DISTRICT] = { 422, "unknown_district", "Unknown district" },
	[LY_ALREADY_ENROLLED] = { 409, "already_enrolled", "Already enrolled" },
	[LY_NOT_ENROLLED] = { 404, "not_enrolled", "Not enrolled" },
	[LY_UNKNOWN_ISSUER] = { 422, "unknown_issuer", "Unknown issuer" },
	[LY_UNKNOWN_RULE] = { 422, "unknown_rule", "Unknown rule" },
	[LY_RULE_NOT_ALLOWED] = { 403, "rule_not_allowed",
	    "This issuer may not award this rule" },
	[LY_RULE_EXISTS] = { 409, "rule_exists", "A rule with this code exists" },
	[LY_RULE_NOT_FOUND] = { 404, "rule_not_found", "Rule not found" },
	[LY_UNKNOWN_TIER] = { 422, "unknown_tier", "Unknown tier" },
	[LY_BAD_LADDER] = { 422, "invalid_tier_ladder", "Invalid tier ladder" },
	[LY_ORG_NOT_FOUND] = { 404, "org_not_found", "Organisation not found" },
	[LY_ORG_EXISTS] = { 409, "org_exists",
	    "An organisation with this name exists" },
	[LY_KEY_NOT_FOUND] = { 404, "key_not_found", "Key not found" },
	[LY_INSUFFICIENT_POINTS] = { 409, "insufficient_points",
	    "Not enough points" },
	[LY_OUT_OF_STOCK] = { 409, "out_of_stock", "Out of stock" },
	[LY_LIMIT_REACHED] = { 409, "limit_reached",
	    "Per-member limit reached" },
	[LY_TIER_TOO_LOW] = { 403, "tier_too_low", "Tier too low" },
	[LY_PERK_NOT_FOUND] = { 404, "perk_not_found", "Perk not found" },
	[LY_PERK_NOT_ACTIVE] = { 409, "perk_not_active", "Perk not active" },
	[LY_WRONG_PERK_KIND] = { 422, "wrong_perk_kind",
	    "This perk is of the other kind" },
	[LY_UNKNOWN_PARTNER] = { 422, "unknown_partner", "Unknown partner" },
	[LY_REDEMPTION_NOT_FOUND] = { 404, "redemption_not_found",
	    "Redemption not found" },
	[LY_NOT_CANCELLABLE] = { 409, "not_cancellable",
	    "Only an unused voucher can be cancelled" },
	[LY_VOUCHER_NOT_FOUND] = { 404, "voucher_not_found",
	    "Voucher not found" },
	[LY_ALREADY_USED] = { 409, "already_used", "Voucher already used" },
	[LY_VOUCHER_EXPIRED] = { 410, "voucher_expired", "Voucher expired" },
	[LY_VOUCHER_CANCELLED] = { 409, "voucher_cancelled",
	    "Voucher cancelled" },
	[LY_PASS_NOT_FOUND] = { 404, "pass_not_found", "Pass not found" },
	[LY_CAMPAIGN_NOT_FOUND] = { 404, "campaign_not_found",
	    "Campaign not found" },
	[LY_CAMPAIGN_EXISTS] = { 409, "campaign_exists",
	    "A campaign with this code exists" },
};

static const struct ht_problem ht_problems[HT_P__MAX] = {
	[HT_P_ROUTE_NOT_FOUND] = { 404, "route_not_found", "No such endpoint" },
	[HT_P_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed",
	    "Method not allowed" },
	[HT_P_PAYLOAD_TOO_LARGE] = { 413, "payload_too_large",
	    "Request body too large" },
	[HT_P_INVALID_CONTENT_LENGTH] = { 400, "invalid_content_length",
	    "Invalid Content-Length" },
	[HT_P_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported_media_type",
	    "Unsupported media type" },
	[HT_P_INVALID_JSON] = { 400, "invalid_json", "Malformed JSON" },
	[HT_P_VALIDATION_FAILED] = { 422, "validation_failed", "Invalid field" },
	[HT_P_UNKNOWN_FIELD] = { 400, "unknown_field", "Unknown field" },
	[HT_P_INVALID_QUERY] = { 400, "invalid_query",
	    "Invalid query parameter" },
	[HT_P_INVALID_CURSOR] = { 400, "invalid_cursor", "Invalid cursor" },
	[HT_P_UNAUTHORIZED] = { 401, "unauthorized",
	    "Authentication required" },
	[HT_P_FORBIDDEN] = { 403, "forbidden", "Not allowed for this caller" },
	[HT_P_IDEMPOTENCY_KEY_REUSED] = { 422, "idempotency_key_reused",
	    "Idempotency-Key reused with a different request" },
	[HT_P_INVALID_IDEMPOTENCY_KEY] = { 400, "invalid_idempotency_key",
	    "Invalid Idempotency-Key" },
	[HT_P_RATE_LIMITED] = { 429, "rate_limited", "Too many requests" },
};

void
ht_reply_problem_x(struct ht_req *r, int status, const char *code,
    const char *title, const char *detail, cJSON *extra)
{
	cJSON *doc = cJSON_CreateObject(), *it;
	char type[96];

	snprintf(type, sizeof(type), "urn:perkd:problem:%s", code);
	cJSON_AddStringToObject(doc, "type", type);
	cJSON_AddStringToObject(doc, "title", title);
	cJSON_AddNumberToObject(doc, "status", status);
	cJSON_AddStringToObject(doc, "detail", detail != NULL ? detail : title);
	cJSON_AddStringToObject(doc, "code", code);
	if (extra != NULL) {
		while ((it = extra->child) != NULL) {
			cJSON_DetachItemViaPointer(extra, it);
			cJSON_AddItemToObject(doc, it->string, it);
		}
		cJSON_Delete(extra);
	}
	ht_reply_json(r, status, doc);
	r->ctype = "application/problem+json";
	if (status == 503) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", LIM_RETRY_AFTER_S);
		ht_header(r, "Retry-After", ra);
	}
}

void
ht_reply_result(struct ht_req *r, enum ly_res res, const char *detail)
{
	const struct ht_problem *p;

	if (res <= LY_OK || res >= LY_RES__MAX)
		res = LY_INTERNAL;
	p = &ly_problems[res];
	ht_reply_problem_x(r, p->status, p->code, p->title, detail, NULL);
}

void
ht_reply_problem(struct ht_req *r, enum ht_prob prob, const char *detail)
{
	const struct ht_problem *p = &ht_problems[prob];

	ht_reply_problem_x(r, p->status, p->code, p->title, detail, NULL);
}

int
ht_result_status(enum ly_res res)
{
	if (res < 0 || res >= LY_RES__MAX)
		return 500;
	return ly_problems[res].status;
}

cJSON *
ht_problem_json(enum ly_res res, const char *detail)
{
	const struct ht_problem *p;
	cJSON *doc = cJSON_CreateObject();
	char type[96];

	if (res <= LY_OK || res >= LY_RES__MAX)
		res = LY_INTERNAL;
	p = &ly_problems[res];
	snprintf(type, sizeof(type), "urn:perkd:problem:%s", p->code);
	cJSON_AddStringToObject(doc, "type", type);
	cJSON_AddStringToObject(doc, "title", p->title);
	cJSON_AddNumberToObject(doc, "status", p->status);
	cJSON_AddStringToObject(doc, "detail", detail != NULL ? detail : p->title);
	cJSON_AddStringToObject(doc, "code", p->code);
	return doc;
}
