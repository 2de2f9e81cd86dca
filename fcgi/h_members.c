/*
 * h_members.c: the residents' own calls: enrol, see themselves (member,
 * ledger, access log, export), choose their sources, and leave. The
 * caller is always the resident of the token (r->subject_hash); no route
 * here takes a member id, so no one can reach another member's data.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

/* ---- shared JSON shapes ---- */

/* The member as GET /v1/me shows it, written by w (the writer, not a
 * cJSON tree: this is the hottest reply). */
static void
ht_member_write(const struct ht_req *r, const struct ly_member *m,
    const struct ly_ladder *l, struct ht_jw *w)
{
	struct ly_standing s;
	char id[LIM_PUBLIC_ID_MAX];

	ly_id_derived(r->ctx, id, sizeof(id), "mem_", m->id);
	ly_standing(l, m->lifetime, &s);
	ht_jw_open(w, NULL);
	ht_jw_str(w, "id", id);
	ht_jw_str(w, "enrolled_at", m->enrolled_at);
	ht_jw_str(w, "district", m->district);
	ht_jw_int(w, "balance", m->balance);
	ht_jw_int(w, "lifetime_points", m->lifetime);
	ht_jw_open(w, "tier");
	ht_jw_str(w, "name", s.name);
	ht_jw_int(w, "stars", s.stars);
	ht_jw_int(w, "flags", s.flags);
	ht_jw_str(w, "next_tier", s.next);
	if (s.next != NULL)
		ht_jw_int(w, "points_to_next", s.to_next);
	else
		ht_jw_null(w, "points_to_next");
	ht_jw_close(w);
	ht_jw_close(w);
}

/* The member with the ladder, for replies that show the member. */
static enum ly_res
ht_member_reply(struct ht_req *r, const struct ly_member *m, int status)
{
	struct ht_jw w = { NULL, 0, 0, 0, 0 };
	struct ly_ladder l;
	enum ly_res res;

	if ((res = ly_ladder_get(r->db, &l)) != LY_OK)
		return res;
	ht_member_write(r, m, &l, &w);
	ht_reply_jw(r, status, &w);
	return LY_OK;
}

static void
ht_issuer_cb(const struct ly_rule_issuer *is, void *arg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", is->public_id);
	cJSON_AddStringToObject(o, "name", is->name);
	cJSON_AddItemToArray(arg, o);
}

/* {"sources": null | [{id, name}]} members as the member sees them */
static enum ly_res
ht_sources_json(struct ht_req *r, const struct ly_member *m, cJSON *parent)
{
	cJSON *arr;

	if (m->sources_all) {
		cJSON_AddNullToObject(parent, "sources");
		return LY_OK;
	}
	arr = cJSON_AddArrayToObject(parent, "sources");
	return ly_member_sources(r->db, m->id, ht_issuer_cb, arr);
}

/* Copies the strings of a checked HT_F_STRINGS array into a malloc'd
 * vector of borrowed pointers (they live in r->json). */
static const char **
ht_strv(const cJSON *arr, size_t *n)
{
	const cJSON *it;
	const char **v;
	size_t i = 0;

	*n = (size_t)cJSON_GetArraySize(arr);
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL)
		return NULL;
	cJSON_ArrayForEach(it, arr)
		v[i++] = it->valuestring;
	return v;
}

/* ---- POST /v1/me/enroll ---- */

static const struct ht_field ht_enroll_fields[] = {
	/* consent is checked by hand: anything but true is consent_required */
	{ "consent", HT_F_BOOL, 0, 0, 0, 1 },
	{ "consent_version", HT_F_STRING, 1, 1, LIM_CONSENT_VERSION_MAX, 0 },
	{ "district", HT_F_STRING, 1, 1, LIM_CODE_MAX, 0 },
	{ "channel", HT_F_STRING, 0, 1, LIM_CODE_MAX, 1 },
	{ "sources", HT_F_STRINGS, 0, 0, LIM_ISSUERS_MAX, 1 },
};

static enum ly_res
ht_enroll_work(struct ht_req *r, void *arg)
{
	struct ly_member m;
	enum ly_res res;

	if ((res = ly_member_enroll(r->db, arg, &m)) != LY_OK)
		return res;
	return ht_member_reply(r, &m, 201);
}

void
ht_h_me_enroll(struct ht_req *r)
{
	struct ly_enroll in;
	const cJSON *consent, *sources;
	const char **srcv = NULL;

	if (ht_body(r, ht_enroll_fields, sizeof(ht_enroll_fields) /
	    sizeof(ht_enroll_fields[0])) != 0) {
		/* a consent that is not a boolean at all is still "not
		 * literally true": say so, whatever else is wrong */
		consent = r->json ? cJSON_GetObjectItemCaseSensitive(r->json,
		    "consent") : NULL;
		if (consent != NULL && !cJSON_IsBool(consent) &&
		    !cJSON_IsNull(consent)) {
			free(r->out);
			r->out = NULL;
			r->headers[0] = '\0';
			ht_reply_result(r, LY_CONSENT_REQUIRED,
			    "consent must be literally true");
		}
		return;
	}
	consent = cJSON_GetObjectItemCaseSensitive(r->json, "consent");
	if (!cJSON_IsTrue(consent)) {
		ht_reply_result(r, LY_CONSENT_REQUIRED,
		    "consent must be literally true");
		return;
	}
	memset(&in, 0, sizeof(in));
	in.subject_hash = r->subject_hash;
	in.consent_version = ht_jstr(r->json, "consent_version");
	in.district = ht_jstr(r->json, "district");
	in.channel = ht_jstr(r->json, "channel");
	if (!ly_code_valid(in.district)) {
		ht_reply_result(r, LY_UNKNOWN_DISTRICT, NULL);
		return;
	}
	if (in.channel != NULL && !ly_code_valid(in.channel)) {
		ht_reply_field(r, "channel", "a campaign code: lowercase "
		    "letters, digits, '_', '.', '-'");
		return;
	}
	sources = cJSON_GetObjectItemCaseSensitive(r->json, "sources");
	in.sources_all = sources == NULL || cJSON_IsNull(sources);
	if (!in.sources_all) {
		if ((srcv = ht_strv(sources, &in.nsources)) == NULL) {
			ht_reply_result(r, LY_NOMEM, NULL);
			return;
		}
		in.sources = srcv;
	}
	ht_txn(r, ht_enroll_work, &in);
	free(srcv);
}

/* ---- GET /v1/me ---- */

void
ht_h_me_get(struct ht_req *r)
{
	struct ly_member m;
	enum ly_res res;

	res = ly_member_find(r->db, r->subject_hash, 0, &m);
	if (res == LY_OK)
		res = ht_member_reply(r, &m, 200);
	if (res != LY_OK)
		ht_reply_result(r, res, NULL);
}

/* ---- PUT /v1/me/sources ---- */

static const struct ht_field ht_sources_fields[] = {
	{ "sources", HT_F_STRINGS, 1, 0, LIM_ISSUERS_MAX, 1 },
};

struct ht_sources_args {
	int		 all;
	const char	**v;
	size_t		 n;
};

static enum ly_res
ht_sources_work(struct ht_req *r, void *arg)
{
	struct ht_sources_args *a = arg;
	struct ly_member m;
	enum ly_res res;
	cJSON *j;

	if ((res = ly_member_find(r->db, r->subject_hash, 1, &m)) != LY_OK ||
	    (res = ly_member_sources_set(r->db, m.id, a->all, a->v, a->n)) !=
	    LY_OK)
		return res;
	m.sources_all = a->all;
	j = cJSON_CreateObject();
	if ((res = ht_sources_json(r, &m, j)) != LY_OK) {
		cJSON_Delete(j);
		return res;
	}
	ht_reply_json(r, 200, j);
	return LY_OK;
}

void
ht_h_me_sources(struct ht_req *r)
{
	struct ht_sources_args a = { 1, NULL, 0 };
	const cJSON *s;

	if (ht_body(r, ht_sources_fields, 1) != 0)
		return;
	s = cJSON_GetObjectItemCaseSensitive(r->json, "sources");
	if (!cJSON_IsNull(s)) {
		a.all = 0;
		if ((a.v = ht_strv(s, &a.n)) == NULL) {
			ht_reply_result(r, LY_NOMEM, NULL);
			return;
		}
	}
	ht_txn(r, ht_sources_work, &a);
	free(a.v);
}

/* ---- GET /v1/me/ledger and /v1/me/access-log ---- */

static cJSON *
ht_ledger_json(const struct ht_req *r, const struct ly_ledger_row *e)
{
	cJSON *j = cJSON_CreateObject();
	char id[LIM_PUBLIC_ID_MAX];

	ly_id_derived(r->ctx, id, sizeof(id), "led_", e->id);
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "at", e->at);
	ht_jadd_int(j, "points", e->points);
	cJSON_AddStringToObject(j, "kind", ly_kind_str(e->kind));
	if (e->rule[0] != '\0')
		cJSON_AddStringToObject(j, "rule", e->rule);
	if (e->perk[0] != '\0')
		cJSON_AddStringToObject(j, "perk", e->perk);
	if (e->campaign[0] != '\0')
		cJSON_AddStringToObject(j, "campaign_id", e->campaign);
	ht_jadd_int(j, "balance_after", e->balance_after);
	return j;
}

static void
ht_ledger_cb(const struct ly_ledger_row *e, void *arg)
{
	struct ht_page *p = arg;

	if (ht_page_take(p, e->id))
		cJSON_AddItemToArray(p->items, ht_ledger_json(p->r, e));
}

static cJSON *
ht_access_json(const struct ly_access_row *a)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "at", a->at);
	cJSON_AddStringToObject(j, "org_id", a->org_id);
	cJSON_AddStringToObject(j, "org_name", a->org_name);
	cJSON_AddStringToObject(j, "action", a->action);
	return j;
}

static void
ht_access_cb(const struct ly_access_row *a, void *arg)
{
	struct ht_page *p = arg;

	if (ht_page_take(p, a->id))
		cJSON_AddItemToArray(p->items, ht_access_json(a));
}

/* A newest-first keyset page of one of the member's own lists. */
static void
ht_me_page(struct ht_req *r, int ledger)
{
	struct ht_page p;
	struct ly_member m;
	uint64_t before;
	enum ly_res res;

	if (ht_page_start(r, &p, &before) != 0)
		return;
	if ((res = ly_member_find(r->db, r->subject_hash, 0, &m)) == LY_OK)
		res = ledger ? ly_member_ledger(r->db, m.id, before,
		    p.limit + 1, ht_ledger_cb, &p) : ly_member_access(r->db,
		    m.id, before, p.limit + 1, ht_access_cb, &p);
	ht_page_reply(&p, res);
}

void
ht_h_me_ledger(struct ht_req *r)
{
	ht_me_page(r, 1);
}

void
ht_h_me_access(struct ht_req *r)
{
	ht_me_page(r, 0);
}

/* ---- GET /v1/me/export ---- */

struct ht_export {
	struct ht_req	*r;
	cJSON		*arr;
};

static void
ht_export_ledger_cb(const struct ly_ledger_row *e, void *arg)
{
	struct ht_export *x = arg;

	cJSON_AddItemToArray(x->arr, ht_ledger_json(x->r, e));
}

static void
ht_export_access_cb(const struct ly_access_row *a, void *arg)
{
	cJSON_AddItemToArray(((struct ht_export *)arg)->arr, ht_access_json(a));
}

static void
ht_export_consent_cb(const struct ly_consent_row *c, void *arg)
{
	cJSON *j = cJSON_CreateObject(), *s = NULL;

	cJSON_AddStringToObject(j, "at", c->at);
	cJSON_AddStringToObject(j, "action", c->action);
	ht_jadd_str(j, "consent_version",
	    c->consent_version[0] ? c->consent_version : NULL);
	ht_jadd_str(j, "district", c->district[0] ? c->district : NULL);
	ht_jadd_str(j, "channel", c->channel[0] ? c->channel : NULL);
	/* written by ly_member_* as a JSON array of org ids */
	if (c->sources != NULL && (s = cJSON_Parse(c->sources)) != NULL &&
	    cJSON_IsArray(s))
		cJSON_AddItemToObject(j, "sources", s);
	else {
		cJSON_Delete(s);
		cJSON_AddNullToObject(j, "sources");
	}
	cJSON_AddItemToArray(((struct ht_export *)arg)->arr, j);
}

static void
ht_export_redemption_cb(const struct ly_redemption_row *v, void *arg)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "id", v->id);
	cJSON_AddStringToObject(j, "perk_id", v->perk_id);
	ht_jadd_int(j, "points", v->points);
	cJSON_AddStringToObject(j, "status", v->status);
	cJSON_AddStringToObject(j, "issued_at", v->issued_at);
	cJSON_AddStringToObject(j, "expires_at", v->expires_at);
	ht_jadd_str(j, "used_at", v->used_at[0] ? v->used_at : NULL);
	cJSON_AddItemToArray(((struct ht_export *)arg)->arr, j);
}

static void
ht_export_pass_cb(const struct ly_pass_row *v, void *arg)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "perk_id", v->perk_id);
	cJSON_AddStringToObject(j, "created_at", v->created_at);
	cJSON_AddStringToObject(j, "expires_at", v->expires_at);
	cJSON_AddItemToArray(((struct ht_export *)arg)->arr, j);
}

/* Everything about the member, read in one transaction so the sections
 * agree with each other. */
static enum ly_res
ht_export_work(struct ht_req *r, void *arg)
{
	struct ht_export x = { r, NULL };
	struct ht_jw w = { NULL, 0, 0, 0, 0 };
	struct ly_member m;
	struct ly_ladder l;
	char now[32], at[32], *txt;
	enum ly_res res;
	size_t len;
	cJSON *doc;

	(void)arg;
	if ((res = ly_member_find(r->db, r->subject_hash, 0, &m)) != LY_OK ||
	    (res = ly_ladder_get(r->db, &l)) != LY_OK)
		return res;
	doc = cJSON_CreateObject();
	ly_now(now);
	ht_time_fmt(now, at);
	cJSON_AddStringToObject(doc, "exported_at", at);
	ht_member_write(r, &m, &l, &w);
	if ((txt = ht_jw_take(&w, &len)) == NULL) {
		cJSON_Delete(doc);
		return LY_NOMEM;
	}
	cJSON_AddRawToObject(doc, "member", txt);	/* the same bytes */
	free(txt);
	x.arr = cJSON_AddArrayToObject(doc, "consents");
	if ((res = ly_member_consents(r->db, m.id, ht_export_consent_cb,
	    &x)) != LY_OK || (res = ht_sources_json(r, &m, doc)) != LY_OK)
		goto fail;
	x.arr = cJSON_AddArrayToObject(doc, "ledger");
	if ((res = ly_member_ledger(r->db, m.id, 0, (size_t)INT64_MAX,
	    ht_export_ledger_cb, &x)) != LY_OK)
		goto fail;
	x.arr = cJSON_AddArrayToObject(doc, "redemptions");
	if ((res = ly_member_redemptions(r->db, m.id, ht_export_redemption_cb,
	    &x)) != LY_OK)
		goto fail;
	x.arr = cJSON_AddArrayToObject(doc, "passes");
	if ((res = ly_member_passes(r->db, m.id, ht_export_pass_cb, &x)) !=
	    LY_OK)
		goto fail;
	x.arr = cJSON_AddArrayToObject(doc, "access_log");
	if ((res = ly_member_access(r->db, m.id, 0, (size_t)INT64_MAX,
	    ht_export_access_cb, &x)) != LY_OK)
		goto fail;
	ht_reply_json(r, 200, doc);
	ht_header(r, "Content-Disposition",
	    "attachment; filename=\"perkd-export.json\"");
	return LY_OK;
fail:
	cJSON_Delete(doc);
	return res;
}

void
ht_h_me_export(struct ht_req *r)
{
	ht_txn(r, ht_export_work, NULL);
}

/* ---- DELETE /v1/me ---- */

static enum ly_res
ht_leave_work(struct ht_req *r, void *arg)
{
	enum ly_res res;

	(void)arg;
	if ((res = ly_member_close(r->db, r->subject_hash)) != LY_OK)
		return res;
	r->status = 204;
	return LY_OK;
}

void
ht_h_me_delete(struct ht_req *r)
{
	ht_txn_points(r, ht_leave_work, NULL);
}
