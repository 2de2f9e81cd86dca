/*
 * route.c: THE route table, and dispatch. Every endpoint perkd serves is
 * one row below: method, path pattern ({id} matches one segment), the
 * roles that may call it (0 = public), the handler, and whether it is a
 * creating POST (which accepts Idempotency-Key). An unknown path is 404
 * route_not_found; a known path with another method is 405 with Allow.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fcgi/ht.h"

/* A path segment is an id (LIM_PUBLIC_ID_MAX) or a code (rules,
 * districts: LIM_CODE_MAX), whichever is longer. */
#define HT_SEG_MAX (LIM_CODE_MAX > LIM_PUBLIC_ID_MAX ? LIM_CODE_MAX : \
	LIM_PUBLIC_ID_MAX)

#define PUB	HT_PUBLIC
#define RES	HT_RESIDENT
#define ISS	HT_ISSUER
#define PAR	HT_PARTNER
#define MAN	HT_MANAGER

const struct ht_route ht_routes[] = {
	/* operations (h_ops.c) */
	{ "GET",    "/healthz",                      PUB, ht_h_healthz, 0 },
	{ "GET",    "/readyz",                       PUB, ht_h_readyz, 0 },
	{ "GET",    "/metrics",                      PUB, ht_h_metrics, 0 },
	/* organisations and keys (h_orgs.c) */
	{ "GET",    "/v1/issuers",                   PUB, ht_h_issuers, 0 },
	{ "POST",   "/v1/admin/orgs",                MAN, ht_h_orgs_create, 1 },
	{ "GET",    "/v1/admin/orgs",                MAN, ht_h_orgs_list, 0 },
	{ "POST",   "/v1/admin/orgs/{id}/keys",      MAN, ht_h_keys_create, 1 },
	{ "DELETE", "/v1/admin/keys/{id}",           MAN, ht_h_keys_revoke, 0 },
	/* loyalty: members, rules, awards, tiers, districts */
	{ "POST",   "/v1/me/enroll",                 RES, ht_h_me_enroll, 1 },
	{ "GET",    "/v1/me",                        RES, ht_h_me_get, 0 },
	{ "DELETE", "/v1/me",                        RES, ht_h_me_delete, 0 },
	{ "PUT",    "/v1/me/sources",                RES, ht_h_me_sources, 0 },
	{ "GET",    "/v1/me/ledger",                 RES, ht_h_me_ledger, 0 },
	{ "GET",    "/v1/me/access-log",             RES, ht_h_me_access, 0 },
	{ "GET",    "/v1/me/export",                 RES, ht_h_me_export, 0 },
	{ "GET",    "/v1/rules",                     PUB, ht_h_rules_list, 0 },
	{ "GET",    "/v1/tiers",                     PUB, ht_h_tiers_get, 0 },
	{ "GET",    "/v1/districts",                 PUB, ht_h_districts_list, 0 },
	{ "POST",   "/v1/awards",                    ISS, ht_h_awards_create, 1 },
	{ "POST",   "/v1/awards/batch",              ISS, ht_h_awards_batch, 1,
	    LIM_BATCH_BODY_MAX },
	{ "POST",   "/v1/admin/rules",               MAN, ht_h_rules_create, 1 },
	{ "PATCH",  "/v1/admin/rules/{id}",          MAN, ht_h_rules_update, 0 },
	{ "PUT",    "/v1/admin/tiers",               MAN, ht_h_tiers_put, 0 },
	{ "GET",    "/v1/admin/districts",           MAN, ht_h_admin_districts_list, 0 },
	{ "PUT",    "/v1/admin/districts/{id}",      MAN, ht_h_district_put, 0 },
	/* catalogue: perks, redemptions, vouchers, passes */
	{ "GET",    "/v1/perks",                     PUB, ht_h_perks_list, 0 },
	{ "GET",    "/v1/keys/passes",               PUB, ht_h_pass_key, 0 },
	{ "POST",   "/v1/admin/perks",               MAN, ht_h_perks_create, 1 },
	{ "PATCH",  "/v1/admin/perks/{id}",          MAN, ht_h_perks_update, 0 },
	{ "POST",   "/v1/me/redemptions",            RES, ht_h_redemptions_create, 1 },
	{ "GET",    "/v1/me/redemptions",            RES, ht_h_redemptions_list, 0 },
	{ "DELETE", "/v1/me/redemptions/{id}",       RES, ht_h_redemptions_cancel, 0 },
	{ "GET",    "/v1/me/redemptions/{id}/qr.svg", RES, ht_h_redemption_qr, 0 },
	{ "POST",   "/v1/me/passes",                 RES, ht_h_passes_create, 1 },
	{ "GET",    "/v1/me/passes/qr.svg",          RES, ht_h_pass_qr, 0 },
	{ "POST",   "/v1/vouchers/check",            PAR, ht_h_vouchers_check, 0 },
	{ "POST",   "/v1/vouchers/use",              PAR, ht_h_vouchers_use, 0 },
	{ "POST",   "/v1/passes/check",              PAR, ht_h_passes_check, 0 },
	/* campaigns and stats */
	{ "POST",   "/v1/admin/campaigns",           MAN, ht_h_campaigns_create, 1 },
	{ "GET",    "/v1/admin/campaigns",           MAN, ht_h_campaigns_list, 0 },
	{ "PATCH",  "/v1/admin/campaigns/{id}",      MAN, ht_h_campaigns_update, 0 },
	{ "GET",    "/v1/stats/campaigns/{id}",      MAN, ht_h_stats_campaign, 0 },
	{ "GET",    "/v1/stats/enrollment",          MAN, ht_h_stats_enrollment, 0 },
	{ "GET",    "/v1/stats/overview",            MAN, ht_h_stats_overview, 0 },
};

const size_t ht_routes_n = sizeof(ht_routes) / sizeof(ht_routes[0]);

/*
 * Matches path against pattern, copying each {id} segment into segbuf
 * (NUL-separated) and pointing params at the copies. Returns 1 on a match.
 */
static int
ht_route_match(const char *pattern, const char *path, char *segbuf,
    char **params, size_t *nparams)
{
	const char *p = pattern, *q = path;
	size_t n = 0, len;

	while (*p != '\0' && *q != '\0') {
		if (strncmp(p, "{id}", 4) == 0) {
			len = strcspn(q, "/");
			if (len == 0 || len > HT_SEG_MAX ||
			    n >= LIM_PATH_PARAMS)
				return 0;
			memcpy(segbuf, q, len);
			segbuf[len] = '\0';
			params[n++] = segbuf;
			segbuf += len + 1;
			p += 4;
			q += len;
			continue;
		}
		if (*p != *q)
			return 0;
		p++;
		q++;
	}
	if (*p != '\0' || *q != '\0')
		return 0;
	*nparams = n;
	return 1;
}

/* Segment storage for matched {id}s: per thread, valid for one request. */
static _Thread_local char ht_segs[LIM_PATH_PARAMS * (HT_SEG_MAX + 1)];

static int
ht_id_chars_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return 0;
	return 1;
}

void
ht_dispatch(struct ht_req *r)
{
	char allow[128] = "", *params[LIM_PATH_PARAMS];
	size_t i, np, k;
	const struct ht_route *rt;
	int path_known = 0;

	for (i = 0; i < ht_routes_n; i++) {
		rt = &ht_routes[i];
		if (!ht_route_match(rt->pattern, r->path, ht_segs, params, &np))
			continue;
		path_known = 1;
		if (strcmp(rt->method, r->method) != 0 &&
		    !(strcmp(rt->method, "GET") == 0 &&
		    strcmp(r->method, "HEAD") == 0)) {
			if (strstr(allow, rt->method) == NULL &&
			    strlen(allow) + strlen(rt->method) + 3 < sizeof(allow)) {
				if (allow[0] != '\0')
					strcat(allow, ", ");
				strcat(allow, rt->method);
			}
			continue;
		}
		r->route = (int)i;
		for (k = 0; k < np; k++) {
			if (!ht_id_chars_ok(params[k])) {
				ht_reply_result(r, LY_NOTFOUND, NULL);
				return;
			}
			r->params[k] = params[k];
		}
		r->nparams = np;
		if (ht_req_read_body(r, rt->body_max ? rt->body_max :
		    LIM_BODY_MAX) != 0)
			return;
		if (r->idem_key[0] != '\0' && !rt->creates)
			r->idem_key[0] = '\0';	/* meaningless here: ignored */
		if (rt->roles != HT_PUBLIC && ht_auth(r, rt->roles) != 0)
			return;
		rt->fn(r);
		return;
	}
	if (path_known) {
		ht_header(r, "Allow", allow);
		ht_reply_problem(r, HT_P_METHOD_NOT_ALLOWED, NULL);
		return;
	}
	ht_reply_problem(r, HT_P_ROUTE_NOT_FOUND, NULL);
}

void
ht_routes_print(FILE *f)
{
	static const struct { unsigned bit; const char *name; } roles[] = {
		{ HT_RESIDENT, "resident" }, { HT_ISSUER, "issuer" },
		{ HT_PARTNER, "partner" }, { HT_MANAGER, "manager" },
	};
	size_t i, k;
	int first;

	for (i = 0; i < ht_routes_n; i++) {
		fprintf(f, "%s %s ", ht_routes[i].method, ht_routes[i].pattern);
		if (ht_routes[i].roles == HT_PUBLIC)
			fputs("public", f);
		for (k = 0, first = 1; k < sizeof(roles) / sizeof(roles[0]); k++)
			if (ht_routes[i].roles & roles[k].bit) {
				fprintf(f, "%s%s", first ? "" : ",",
				    roles[k].name);
				first = 0;
			}
		fputc('\n', f);
	}
}
