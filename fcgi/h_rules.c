/*
 * h_rules.c: the programme's public terms and their administration:
 * earning rules (public list, manager create/change), the tier ladder
 * and star rule (public, manager replace) and the districts (public
 * list for the enrolment form, manager list and create/replace).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

/* ---- helpers ---- */

/* Offset paging for the short lists ordered by code (rules, districts):
 * the offset of the next page travels in the sealed cursor. */
static int
ht_offset_page(struct ht_req *r, size_t *offset, size_t *limit)
{
	uint64_t last;
	int64_t extra;

	if (ht_query_limit(r, limit) != 0 ||
	    ht_cursor_read(r, &last, &extra) < 0)
		return -1;
	*offset = extra > 0 ? (size_t)extra : 0;
	return 0;
}

/* ---- rules ---- */

static cJSON *
ht_rule_json(const struct ly_rule *rl, int manager)
{
	cJSON *j = cJSON_CreateObject(), *a, *b, *d;
	size_t i;

	cJSON_AddStringToObject(j, "code", rl->code);
	cJSON_AddStringToObject(j, "title", rl->title);
	cJSON_AddStringToObject(j, "description", rl->description);
	ht_jadd_int(j, "points", rl->points);
	if (rl->daily_cap > 0)
		ht_jadd_int(j, "daily_cap", rl->daily_cap);
	else
		cJSON_AddNullToObject(j, "daily_cap");
	a = cJSON_AddArrayToObject(j, "issuers");
	for (i = 0; i < rl->nissuers; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(rl->issuers[i].name));
	if (rl->bonus.campaign_id == 0)
		cJSON_AddNullToObject(j, "active_campaign_bonus");
	else {
		b = cJSON_AddObjectToObject(j, "active_campaign_bonus");
		cJSON_AddStringToObject(b, "campaign_id", rl->bonus.public_id);
		cJSON_AddNumberToObject(b, "multiplier", rl->bonus.pct / 100.0);
		if (rl->bonus.all_districts)
			cJSON_AddNullToObject(b, "districts");
		else {
			d = cJSON_AddArrayToObject(b, "districts");
			for (i = 0; i < rl->bonus.ndistricts; i++)
				cJSON_AddItemToArray(d, cJSON_CreateString(
				    rl->bonus.districts[i]));
		}
		cJSON_AddStringToObject(b, "ends_at", rl->bonus.ends_at);
	}
	if (manager) {
		cJSON_AddBoolToObject(j, "active", rl->active);
		a = cJSON_AddArrayToObject(j, "issuer_ids");
		for (i = 0; i < rl->nissuers; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(
			    rl->issuers[i].public_id));
	}
	return j;
}

void
ht_h_rules_list(struct ht_req *r)
{
	char cursor[LIM_CURSOR_MAX];
	struct ly_rule *rules;
	size_t offset, limit, n, i;
	enum ly_res res;
	cJSON *items;

	if (ht_offset_page(r, &offset, &limit) != 0)
		return;
	if ((res = ly_rule_list(r->db, 1, offset, limit + 1, &rules, &n)) !=
	    LY_OK) {
		ht_reply_result(r, res, NULL);
		return;
	}
	items = cJSON_CreateArray();
	for (i = 0; i < n && i < limit; i++)
		cJSON_AddItemToArray(items, ht_rule_json(&rules[i], 0));
	ly_rules_free(rules, n);
	if (n > limit)
		ht_cursor_make(r, 0, (int64_t)(offset + limit), cursor,
		    sizeof(cursor));
	ht_reply_list(r, items, n > limit ? cursor : NULL);
}

static const struct ht_field ht_rule_create_fields[] = {
	{ "code", HT_F_STRING, 1, 1, LIM_CODE_MAX, 0 },
	{ "title", HT_F_STRING, 1, 1, LIM_NAME_MAX, 0 },
	{ "description", HT_F_STRING, 1, 0, LIM_DESC_MAX, 0 },
	{ "points", HT_F_INT, 1, 1, LIM_POINTS_MAX, 0 },
	{ "daily_cap", HT_F_INT, 0, 1, LIM_DAILY_CAP_MAX, 1 },
	{ "issuers", HT_F_STRINGS, 1, 0, LIM_ISSUERS_MAX, 0 },
};

static const struct ht_field ht_rule_update_fields[] = {
	{ "title", HT_F_STRING, 0, 1, LIM_NAME_MAX, 0 },
	{ "description", HT_F_STRING, 0, 0, LIM_DESC_MAX, 0 },
	{ "points", HT_F_INT, 0, 1, LIM_POINTS_MAX, 0 },
	{ "daily_cap", HT_F_INT, 0, 1, LIM_DAILY_CAP_MAX, 1 },
	{ "issuers", HT_F_STRINGS, 0, 0, LIM_ISSUERS_MAX, 0 },
	{ "active", HT_F_BOOL, 0, 0, 0, 0 },
};

/* Fills a rule input from the checked body; *issuers is malloc'd. */
static int
ht_rule_in(struct ht_req *r, struct ly_rule_in *in, const char ***issuers)
{
	const cJSON *it, *arr;
	size_t i = 0;

	memset(in, 0, sizeof(*in));
	*issuers = NULL;
	in->code = ht_jstr(r->json, "code");
	in->has_title = (in->title = ht_jstr(r->json, "title")) != NULL;
	in->has_description = (in->description = ht_jstr(r->json,
	    "description")) != NULL;
	in->has_points = ht_jhas(r->json, "points");
	in->points = ht_jint(r->json, "points", 0);
	in->has_daily_cap = cJSON_GetObjectItemCaseSensitive(r->json,
	    "daily_cap") != NULL;
	in->daily_cap = ht_jint(r->json, "daily_cap", 0);
	it = cJSON_GetObjectItemCaseSensitive(r->json, "active");
	in->has_active = it != NULL;
	in->active = cJSON_IsTrue(it);
	arr = cJSON_GetObjectItemCaseSensitive(r->json, "issuers");
	in->has_issuers = arr != NULL;
	if (arr != NULL) {
		in->nissuers = (size_t)cJSON_GetArraySize(arr);
		if ((*issuers = calloc(in->nissuers + 1, sizeof(char *))) ==
		    NULL)
			return -1;
		cJSON_ArrayForEach(it, arr)
			(*issuers)[i++] = it->valuestring;
		in->issuers = *issuers;
	}
	return 0;
}

struct ht_rule_args {
	struct ly_rule_in	 in;
	const char		*code;
	int			 status;
};

static enum ly_res
ht_rule_write_work(struct ht_req *r, void *arg)
{
	struct ht_rule_args *a = arg;
	struct ly_rule rl;
	enum ly_res res;

	res = a->status == 201 ? ly_rule_create(r->db, &a->in) :
	    ly_rule_update(r->db, a->code, &a->in);
	if (res != LY_OK || (res = ly_rule_get(r->db, a->code, &rl)) != LY_OK)
		return res;
	ht_reply_json(r, a->status, ht_rule_json(&rl, 1));
	ly_rule_clear(&rl);
	return LY_OK;
}

void
ht_h_rules_create(struct ht_req *r)
{
	struct ht_rule_args a;
	const char **issuers;

	if (ht_body(r, ht_rule_create_fields, sizeof(ht_rule_create_fields) /
	    sizeof(ht_rule_create_fields[0])) != 0)
		return;
	if (ht_rule_in(r, &a.in, &issuers) != 0) {
		ht_reply_result(r, LY_NOMEM, NULL);
		return;
	}
	a.code = a.in.code;
	a.status = 201;
	if (!ly_code_valid(a.code))
		ht_reply_field(r, "code", "lowercase letters, digits, '_', "
		    "'.', '-', starting with a letter or digit");
	else {
		ht_txn(r, ht_rule_write_work, &a);
		ly_terms_forget();	/* after the commit: see ly_terms.c */
	}
	free(issuers);
}

void
ht_h_rules_update(struct ht_req *r)
{
	struct ht_rule_args a;
	const char **issuers;

	if (ht_body(r, ht_rule_update_fields, sizeof(ht_rule_update_fields) /
	    sizeof(ht_rule_update_fields[0])) != 0)
		return;
	if (cJSON_GetArraySize(r->json) == 0) {
		ht_reply_field(r, "", "name at least one field to change");
		return;
	}
	if (ht_rule_in(r, &a.in, &issuers) != 0) {
		ht_reply_result(r, LY_NOMEM, NULL);
		return;
	}
	a.code = r->params[0];
	a.status = 200;
	ht_txn(r, ht_rule_write_work, &a);
	ly_terms_forget();	/* after the commit: see ly_terms.c */
	free(issuers);
}

/* ---- tiers ---- */

static cJSON *
ht_ladder_json(const struct ly_ladder *l)
{
	cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "tiers");
	cJSON *t;
	size_t i;

	for (i = 0; i < l->n; i++) {
		t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "name", l->tiers[i].name);
		ht_jadd_int(t, "min_lifetime_points", l->tiers[i].min_lifetime);
		cJSON_AddItemToArray(a, t);
	}
	ht_jadd_int(j, "star_points", l->star_points);
	ht_jadd_int(j, "stars_per_flag", l->stars_per_flag);
	return j;
}

void
ht_h_tiers_get(struct ht_req *r)
{
	struct ly_ladder l;
	enum ly_res res;

	if ((res = ly_ladder_get(r->db, &l)) != LY_OK) {
		ht_reply_result(r, res, NULL);
		return;
	}
	ht_reply_json(r, 200, ht_ladder_json(&l));
}

static const struct ht_field ht_ladder_fields[] = {
	{ "tiers", HT_F_ARRAY, 1, 1, LIM_TIERS_MAX, 0 },
	{ "star_points", HT_F_INT, 1, 1, LIM_STAR_POINTS_MAX, 0 },
	{ "stars_per_flag", HT_F_INT, 1, 1, LIM_STARS_PER_FLAG_MAX, 0 },
};

static const struct ht_field ht_tier_fields[] = {
	{ "name", HT_F_STRING, 1, 1, LIM_CODE_MAX, 0 },
	{ "min_lifetime_points", HT_F_INT, 1, 0, LIM_JSON_INT_MAX - 1, 0 },
};

static enum ly_res
ht_ladder_work(struct ht_req *r, void *arg)
{
	struct ly_ladder *l = arg;
	enum ly_res res;

	if ((res = ly_ladder_put(r->db, l)) != LY_OK)
		return res;
	ht_reply_json(r, 200, ht_ladder_json(l));
	return LY_OK;
}

void
ht_h_tiers_put(struct ht_req *r)
{
	struct ly_ladder *l;
	struct ht_verr err;
	const cJSON *it;
	char field[96];

	if (ht_body(r, ht_ladder_fields, 3) != 0)
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		ht_reply_result(r, LY_NOMEM, NULL);
		return;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json,
	    "tiers")) {
		if (ht_json_check(it, ht_tier_fields, 2, &err) != 0) {
			snprintf(field, sizeof(field), "tiers[%zu].%.32s", l->n,
			    err.field);
			snprintf(err.field, sizeof(err.field), "%.63s", field);
			ht_reply_verr(r, &err);
			goto out;
		}
		snprintf(l->tiers[l->n].name, sizeof(l->tiers[0].name), "%s",
		    ht_jstr(it, "name"));
		l->tiers[l->n].min_lifetime = ht_jint(it,
		    "min_lifetime_points", 0);
		l->n++;
	}
	l->star_points = ht_jint(r->json, "star_points", 0);
	l->stars_per_flag = ht_jint(r->json, "stars_per_flag", 0);
	if (ly_ladder_check(l) != LY_OK)
		ht_reply_result(r, LY_BAD_LADDER, "the ladder must start at 0, "
		    "rise strictly and name each tier once");
	else {
		ht_txn(r, ht_ladder_work, l);
		ly_ladder_forget();	/* after the commit: see ly_tiers.c */
	}
out:
	free(l);
}

/* ---- districts ---- */

struct ht_district_page {
	cJSON	*items;
	size_t	 n, limit;
	int	 admin, more;
};

static cJSON *
ht_district_json(const struct ly_district *d, int admin)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "code", d->code);
	cJSON_AddStringToObject(j, "name", d->name);
	ht_jadd_int(j, "population", d->population);
	if (admin)
		cJSON_AddStringToObject(j, "updated_at", d->updated_at);
	return j;
}

static void
ht_district_cb(const struct ly_district *d, void *arg)
{
	struct ht_district_page *p = arg;

	if (p->n == p->limit) {
		p->more = 1;
		return;
	}
	cJSON_AddItemToArray(p->items, ht_district_json(d, p->admin));
	p->n++;
}

static void
ht_districts_list(struct ht_req *r, int admin)
{
	struct ht_district_page p = { NULL, 0, 0, admin, 0 };
	char cursor[LIM_CURSOR_MAX];
	size_t offset;
	enum ly_res res;

	if (ht_offset_page(r, &offset, &p.limit) != 0)
		return;
	p.items = cJSON_CreateArray();
	if ((res = ly_district_list(r->db, offset, p.limit + 1, ht_district_cb,
	    &p)) != LY_OK) {
		cJSON_Delete(p.items);
		ht_reply_result(r, res, NULL);
		return;
	}
	if (p.more)
		ht_cursor_make(r, 0, (int64_t)(offset + p.limit), cursor,
		    sizeof(cursor));
	ht_reply_list(r, p.items, p.more ? cursor : NULL);
}

void
ht_h_districts_list(struct ht_req *r)
{
	ht_districts_list(r, 0);
}

void
ht_h_admin_districts_list(struct ht_req *r)
{
	ht_districts_list(r, 1);
}

static const struct ht_field ht_district_fields[] = {
	{ "name", HT_F_STRING, 1, 1, LIM_NAME_MAX, 0 },
	{ "population", HT_F_INT, 1, 0, LIM_POPULATION_MAX, 0 },
};

static enum ly_res
ht_district_work(struct ht_req *r, void *arg)
{
	struct ly_district d;
	enum ly_res res;
	int created;

	(void)arg;
	if ((res = ly_district_put(r->db, r->params[0], ht_jstr(r->json,
	    "name"), ht_jint(r->json, "population", 0), &created, &d)) !=
	    LY_OK)
		return res;
	ht_reply_json(r, created ? 201 : 200, ht_district_json(&d, 1));
	return LY_OK;
}

void
ht_h_district_put(struct ht_req *r)
{
	if (ht_body(r, ht_district_fields, 2) != 0)
		return;
	if (!ly_code_valid(r->params[0])) {
		ht_reply_field(r, "code", "lowercase letters, digits, '_', "
		    "'.', '-', starting with a letter or digit");
		return;
	}
	ht_txn(r, ht_district_work, NULL);
}
