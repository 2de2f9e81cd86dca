/*
 * ly_result.c: names of domain results (for logs) and the mapping from
 * database results.
 */
#include "config.h"

#include "loyalty/ly.h"

static const char *const ly_res_names[LY_RES__MAX] = {
	[LY_OK] = "ok",
	[LY_NOMEM] = "out of memory",
	[LY_INVAL] = "invalid input",
	[LY_NOTFOUND] = "not found",
	[LY_CONFLICT] = "conflict",
	[LY_RETRY] = "retry",
	[LY_UNAVAIL] = "database unavailable",
	[LY_INTERNAL] = "internal error",
	[LY_CONSENT_REQUIRED] = "consent required",
	[LY_UNKNOWN_DISTRICT] = "unknown district",
	[LY_ALREADY_ENROLLED] = "already enrolled",
	[LY_NOT_ENROLLED] = "not enrolled",
	[LY_UNKNOWN_ISSUER] = "unknown issuer",
	[LY_UNKNOWN_RULE] = "unknown rule",
	[LY_RULE_NOT_ALLOWED] = "rule not allowed",
	[LY_RULE_EXISTS] = "rule exists",
	[LY_RULE_NOT_FOUND] = "rule not found",
	[LY_UNKNOWN_TIER] = "unknown tier",
	[LY_BAD_LADDER] = "bad tier ladder",
	[LY_ORG_NOT_FOUND] = "organisation not found",
	[LY_ORG_EXISTS] = "organisation exists",
	[LY_KEY_NOT_FOUND] = "key not found",
	[LY_INSUFFICIENT_POINTS] = "insufficient points",
	[LY_OUT_OF_STOCK] = "out of stock",
	[LY_LIMIT_REACHED] = "limit reached",
	[LY_TIER_TOO_LOW] = "tier too low",
	[LY_PERK_NOT_FOUND] = "perk not found",
	[LY_PERK_NOT_ACTIVE] = "perk not active",
	[LY_WRONG_PERK_KIND] = "wrong perk kind",
	[LY_UNKNOWN_PARTNER] = "unknown partner",
	[LY_REDEMPTION_NOT_FOUND] = "redemption not found",
	[LY_NOT_CANCELLABLE] = "not cancellable",
	[LY_VOUCHER_NOT_FOUND] = "voucher not found",
	[LY_ALREADY_USED] = "already used",
	[LY_VOUCHER_EXPIRED] = "voucher expired",
	[LY_VOUCHER_CANCELLED] = "voucher cancelled",
	[LY_PASS_NOT_FOUND] = "pass not found",
	[LY_CAMPAIGN_NOT_FOUND] = "campaign not found",
	[LY_CAMPAIGN_EXISTS] = "campaign exists",
};

const char *
ly_res_str(enum ly_res r)
{
	if (r < 0 || r >= LY_RES__MAX || ly_res_names[r] == NULL)
		return "?";
	return ly_res_names[r];
}

enum ly_res
ly_from_db(enum db_res r)
{
	switch (r) {
	case DB_OK:
	case DB_ROW:
	case DB_DONE:
		return LY_OK;
	case DB_NOTFOUND:
		return LY_NOTFOUND;
	case DB_DUP:
		return LY_CONFLICT;
	case DB_RETRY:
		return LY_RETRY;
	case DB_DOWN:
		return LY_UNAVAIL;
	default:
		return LY_INTERNAL;
	}
}
