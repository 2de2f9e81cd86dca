/*
 * h_stats.c: campaigns (managers create, list and change them) and the
 * statistics endpoints, each as JSON or, on Accept: text/csv or
 * ?format=csv, as CSV. A withheld count (fewer than stats_min_group
 * members, see catalog/cat_stats.c) is JSON null and an empty CSV field.
 *
 * The overview and campaign CSVs are "long": one line per figure
 * (section, key, name, metric, value), so that every breakdown fits in
 * one file a spreadsheet can pivot.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

/* ---- campaigns ---- */

static const struct ht_field ht_campaign_create_fields[] = {
	{ "name", HT_F_STRING, 1, 1, LIM_NAME_MAX, 0 },
	{ "code", HT_F_STRING, 1, 1, LIM_CODE_MAX, 0 },
	{ "starts_at", HT_F_TIME, 1, 0, 0, 0 },
	{ "ends_at", HT_F_TIME, 1, 0, 0, 0 },
	{ "districts", HT_F_STRINGS, 0, 0, LIM_CAMPAIGN_DISTRICTS, 1 },
	{ "enrollment_target", HT_F_INT, 0, 1, 1000000000, 1 },
	{ "bonus", HT_F_OBJECT, 0, 0, 0, 1 },
};

static const struct ht_field ht_campaign_patch_fields[] = {
	{ "name", HT_F_STRING, 0, 1, LIM_NAME_MAX, 0 },
	{ "code", HT_F_STRING, 0, 1, LIM_CODE_MAX, 0 },
	{ "starts_at", HT_F_TIME, 0, 0, 0, 0 },
	{ "ends_at", HT_F_TIME, 0, 0, 0, 0 },
	{ "districts", HT_F_STRINGS, 0, 0, LIM_CAMPAIGN_DISTRICTS, 1 },
	{ "enrollment_target", HT_F_INT, 0, 1, 1000000000, 1 },
	{ "bonus", HT_F_OBJECT, 0, 0, 0, 1 },
};

static const struct ht_field ht_bonus_fields[] = {
	{ "rule", HT_F_STRING, 1, 1, LIM_CODE_MAX, 0 },
	{ "multiplier", HT_F_NUMBER, 1, 1, LIM_MULTIPLIER_MAX, 0 },
};

struct ht_campaign_args {
	struct cat_campaign_in	 in;
	char			 starts_at[32], ends_at[32];
	const char		*districts[LIM_CAMPAIGN_DISTRICTS];
};

static int
ht_campaign_invalid(struct ht_req *r, const char *field, const char *msg)
{
	ht_reply_field(r, field, msg);
	return -1;
}

/*
 * Reads a checked create or patch body into a. Returns 0, or -1 with a
 * 422 reply set (bad code, window, bonus).
 */
static int
ht_campaign_read(struct ht_req *r, struct ht_campaign_args *a)
{
	struct cat_campaign_in *in = &a->in;
	const cJSON *j = r->json, *it, *bonus;
	struct ht_verr err;
	time_t t0 = 0, t1 = 0;
	double m;

	memset(a, 0, sizeof(*a));
	if ((in->has_name = ht_jhas(j, "name")))
		in->name = ht_jstr(j, "name");
	if ((in->has_code = ht_jhas(j, "code"))) {
		in->code = ht_jstr(j, "code");
		if (!ly_code_valid(in->code))
			return ht_campaign_invalid(r, "code", "a code is 1 to 64 "
			    "of a-z 0-9 _ . - starting with a letter or digit");
	}
	if ((in->has_starts_at = ht_jhas(j, "starts_at"))) {
		if (ht_time_parse(ht_jstr(j, "starts_at"), a->starts_at,
		    &t0) != 0)
			return ht_campaign_invalid(r, "starts_at", "bad time");
		in->starts_at = a->starts_at;
	}
	if ((in->has_ends_at = ht_jhas(j, "ends_at"))) {
		if (ht_time_parse(ht_jstr(j, "ends_at"), a->ends_at, &t1) != 0)
			return ht_campaign_invalid(r, "ends_at", "bad time");
		in->ends_at = a->ends_at;
	}
	if (in->has_starts_at && in->has_ends_at && t1 <= t0)
		return ht_campaign_invalid(r, "ends_at",
		    "must be after starts_at");
	if ((in->has_target = ht_jhas(j, "enrollment_target")))
		in->target = ht_jint(j, "enrollment_target", 0);
	if ((in->has_districts = ht_jhas(j, "districts"))) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j,
		    "districts")) {
			if (in->ndistricts >= LIM_CAMPAIGN_DISTRICTS)
				break;
			a->districts[in->ndistricts++] = it->valuestring;
		}
		in->districts = a->districts;
	}
	bonus = cJSON_GetObjectItemCaseSensitive(j, "bonus");
	if ((in->has_bonus = bonus != NULL) && !cJSON_IsNull(bonus)) {
		if (ht_json_check(bonus, ht_bonus_fields, 2, &err) != 0) {
			char field[sizeof(err.field)];
			memcpy(field, err.field, sizeof(field));
			snprintf(err.field, sizeof(err.field), "bonus.%.40s",
			    field);
			ht_reply_verr(r, &err);
			return -1;
		}
		/* a number > 1 and <= 10 with at most two decimals, kept
		 * exactly as a percentage */
		m = cJSON_GetObjectItemCaseSensitive(bonus,
		    "multiplier")->valuedouble;
		if (m <= 1 || m > LIM_MULTIPLIER_MAX ||
		    fabs(m * 100 - round(m * 100)) > 1e-6)
			return ht_campaign_invalid(r, "bonus.multiplier",
			    "must be more than 1 and at most 10, with at most "
			    "two decimals");
		in->bonus_rule = ht_jstr(bonus, "rule");
		in->bonus_pct = (int)lround(m * 100);
	}
	return 0;
}

static cJSON *
ht_campaign_json(const struct cat_campaign *c)
{
	cJSON *j = cJSON_CreateObject(), *ds, *b;
	size_t i;

	cJSON_AddStringToObject(j, "id", c->public_id);
	cJSON_AddStringToObject(j, "name", c->name);
	cJSON_AddStringToObject(j, "code", c->code);
	cJSON_AddStringToObject(j, "starts_at", c->starts_at);
	cJSON_AddStringToObject(j, "ends_at", c->ends_at);
	cJSON_AddBoolToObject(j, "active", c->active);
	/* every district when none is listed (docs/openapi.yaml) */
	cJSON_AddBoolToObject(j, "all_districts", c->ndistricts == 0);
	ds = cJSON_AddArrayToObject(j, "districts");
	for (i = 0; i < c->ndistricts; i++)
		cJSON_AddItemToArray(ds, cJSON_CreateString(c->districts[i]));
	if (c->target > 0)
		ht_jadd_int(j, "enrollment_target", c->target);
	else
		cJSON_AddNullToObject(j, "enrollment_target");
	if (c->bonus_pct > 0) {
		b = cJSON_AddObjectToObject(j, "bonus");
		cJSON_AddStringToObject(b, "rule", c->bonus_rule);
		cJSON_AddNumberToObject(b, "multiplier", c->bonus_pct / 100.0);
	} else
		cJSON_AddNullToObject(j, "bonus");
	cJSON_AddStringToObject(j, "created_at", c->created_at);
	cJSON_AddStringToObject(j, "updated_at", c->updated_at);
	return j;
}

/* Creates the campaign (no path id) or changes the one in the path. */
static enum ly_res
ht_campaign_work(struct ht_req *r, void *arg)
{
	struct ht_campaign_args *a = arg;
	struct cat_campaign c;
	enum ly_res res;

	if (r->nparams == 0)
		res = cat_campaign_create(r->db, &a->in, &c);
	else if ((res = cat_campaign_update(r->db, r->params[0], &a->in,
	    &c)) == LY_INVAL)
		/* the window check the body alone could not make */
		(void)ht_campaign_invalid(r, "ends_at", "must be after "
		    "starts_at");
	if (res != LY_OK)
		return res;
	ht_reply_json(r, r->nparams == 0 ? 201 : 200, ht_campaign_json(&c));
	return LY_OK;
}

void
ht_h_campaigns_create(struct ht_req *r)
{
	struct ht_campaign_args a;

	if (ht_body(r, ht_campaign_create_fields, 7) != 0 ||
	    ht_campaign_read(r, &a) != 0)
		return;
	ht_txn(r, ht_campaign_work, &a);
	ly_terms_forget();	/* after the commit: a bonus may have changed */
}

void
ht_h_campaigns_update(struct ht_req *r)
{
	struct ht_campaign_args a;

	if (ht_body(r, ht_campaign_patch_fields, 7) != 0 ||
	    ht_campaign_read(r, &a) != 0)
		return;
	ht_txn(r, ht_campaign_work, &a);
	ly_terms_forget();	/* after the commit: a bonus may have changed */
}

void
ht_h_campaigns_list(struct ht_req *r)
{
	struct cat_campaign *cs = NULL;
	struct ht_page pg;
	uint64_t after;
	size_t n = 0, i;
	enum ly_res res;

	if (ht_page_start(r, &pg, &after) != 0)
		return;
	res = cat_campaign_list(r->db, after, pg.limit + 1, &cs, &n);
	for (i = 0; res == LY_OK && i < n; i++)
		if (ht_page_take(&pg, cs[i].id))
			cJSON_AddItemToArray(pg.items,
			    ht_campaign_json(&cs[i]));
	ht_page_reply(&pg, res);
	free(cs);
}

/* ---- JSON and CSV of withheld values ---- */

static void
ht_jcount(cJSON *o, const char *name, struct cat_count c)
{
	if (c.null)
		cJSON_AddNullToObject(o, name);
	else
		ht_jadd_int(o, name, c.v);
}

/* Rates are rounded to 6 decimals: more would only be noise. */
static double
ht_rate_round(double v)
{
	return round(v * 1e6) / 1e6;
}

static void
ht_jrate(cJSON *o, const char *name, struct cat_rate r)
{
	if (r.null)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddNumberToObject(o, name, ht_rate_round(r.v));
}

/* One line of a long CSV: section, key, name, metric, then a value. */
static void
ht_csv_head(struct ht_csv *c, const char *section, const char *key,
    const char *name, const char *metric)
{
	ht_csv_field(c, section);
	ht_csv_field(c, key);
	ht_csv_field(c, name);
	ht_csv_field(c, metric);
}

static void
ht_csv_count_line(struct ht_csv *c, const char *section, const char *key,
    const char *name, const char *metric, struct cat_count v)
{
	ht_csv_head(c, section, key, name, metric);
	ht_csv_int(c, v.v, v.null);
	ht_csv_endrow(c);
}

static void
ht_csv_rate_line(struct ht_csv *c, const char *section, const char *key,
    const char *name, const char *metric, struct cat_rate v)
{
	ht_csv_head(c, section, key, name, metric);
	ht_csv_num(c, ht_rate_round(v.v), v.null);
	ht_csv_endrow(c);
}

static const char *const ht_long_header[] = { "section", "key", "name",
	"metric", "value" };

static void
ht_csv_header(struct ht_csv *c, const char *const *cols, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ht_csv_field(c, cols[i]);
	ht_csv_endrow(c);
}

/* ---- /v1/stats/campaigns/{id} ---- */

void
ht_h_stats_campaign(struct ht_req *r)
{
	struct cat_campaign_stats st;
	struct ht_csv c;
	enum ly_res res;
	cJSON *j, *ds, *d;
	size_t i;

	res = cat_stats_campaign(r->db, r->ctx->stats_min_group, r->params[0],
	    &st);
	if (res != LY_OK) {
		ht_reply_result(r, res, NULL);
		return;
	}
	if (ht_wants_csv(r)) {
		struct cat_count target = { st.c.target, st.c.target <= 0 };
		ht_csv_init(&c, LIM_STATS_CSV_MAX);
		ht_csv_header(&c, ht_long_header, 5);
		ht_csv_count_line(&c, "campaign", st.c.code, st.c.name,
		    "enrolled", st.enrolled);
		ht_csv_count_line(&c, "campaign", st.c.code, st.c.name,
		    "target", target);
		ht_csv_rate_line(&c, "campaign", st.c.code, st.c.name,
		    "progress", st.progress);
		ht_csv_rate_line(&c, "campaign", st.c.code, st.c.name,
		    "activation_rate", st.activation_rate);
		ht_csv_count_line(&c, "campaign", st.c.code, st.c.name,
		    "bonus_points", st.bonus_points);
		for (i = 0; i < st.ndistricts; i++)
			ht_csv_count_line(&c, "district", st.districts[i].id,
			    "", "enrolled", st.districts[i].count);
		free(st.districts);
		ht_csv_reply(r, &c, "campaign.csv");
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", st.c.public_id);
	cJSON_AddStringToObject(j, "name", st.c.name);
	cJSON_AddStringToObject(j, "code", st.c.code);
	if (st.c.target > 0)
		ht_jadd_int(j, "target", st.c.target);
	else
		cJSON_AddNullToObject(j, "target");
	ht_jcount(j, "enrolled", st.enrolled);
	ht_jrate(j, "progress", st.progress);
	ht_jrate(j, "activation_rate", st.activation_rate);
	ht_jcount(j, "bonus_points", st.bonus_points);
	ds = cJSON_AddArrayToObject(j, "districts");
	for (i = 0; i < st.ndistricts; i++) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "district", st.districts[i].id);
		ht_jcount(d, "enrolled", st.districts[i].count);
		cJSON_AddItemToArray(ds, d);
	}
	free(st.districts);
	ht_reply_json(r, 200, j);
}

/* ---- /v1/stats/enrollment ---- */

/* A from/to query value: "YYYY-MM-DD", or an RFC 3339 time taken as
 * its local day. 1 found (day in out), 0 absent, -1 bad (400 set). */
static int
ht_query_day(struct ht_req *r, const char *name, char out[11])
{
	char buf[64], sql[32];
	time_t t;
	long day;
	int got;

	if ((got = ht_query(r, name, buf, sizeof(buf))) == 0)
		return 0;
	if (got > 0 && strlen(buf) == 10 && cat_day_parse(buf, &day) == 0) {
		memcpy(out, buf, 11);
		return 1;
	}
	if (got > 0 && ht_time_parse(buf, sql, &t) == 0) {
		ly_day(t, out);
		return 1;
	}
	ht_reply_problem(r, HT_P_INVALID_QUERY, "from and to are dates "
	    "(YYYY-MM-DD) or RFC 3339 times");
	return -1;
}

void
ht_h_stats_enrollment(struct ht_req *r)
{
	static const char *const ivs[CAT_INTERVAL__MAX] = { "day", "week",
	    "month" };
	static const char *const cols[] = { "period", "enrolled", "left",
	    "net", "members", "members_as_of", "population", "opt_in_rate" };
	struct cat_series_q q;
	struct cat_series_row *rows = NULL;
	char from[11], to[11], district[LIM_CODE_MAX + 1], iv[16];
	long dfrom, dto;
	struct ht_csv c;
	size_t n = 0, i;
	enum ly_res res;
	cJSON *j, *series, *o;
	int got;

	memset(&q, 0, sizeof(q));
	q.interval = CAT_DAY;
	if ((got = ht_query_day(r, "from", from)) < 0)
		return;
	q.from = got ? from : NULL;
	if ((got = ht_query_day(r, "to", to)) < 0)
		return;
	q.to = got ? to : NULL;
	if ((got = ht_query(r, "district", district, sizeof(district))) < 0 ||
	    (got > 0 && district[0] == '\0')) {
		ht_reply_problem(r, HT_P_INVALID_QUERY, "bad district");
		return;
	}
	q.district = got ? district : NULL;
	if ((got = ht_query(r, "interval", iv, sizeof(iv))) < 0) {
		ht_reply_problem(r, HT_P_INVALID_QUERY, "bad interval");
		return;
	}
	if (got) {
		for (i = 0; i < CAT_INTERVAL__MAX; i++)
			if (strcmp(iv, ivs[i]) == 0)
				break;
		if (i == CAT_INTERVAL__MAX) {
			ht_reply_problem(r, HT_P_INVALID_QUERY,
			    "interval is day, week or month");
			return;
		}
		q.interval = (enum cat_interval)i;
	}
	if (q.from != NULL && q.to != NULL && cat_day_parse(q.from, &dfrom) == 0 &&
	    cat_day_parse(q.to, &dto) == 0 &&
	    (dfrom > dto || dto - dfrom >= LIM_STATS_DAYS)) {
		ht_reply_problem(r, HT_P_INVALID_QUERY, "from must not be after "
		    "to, and a series spans at most 3660 days");
		return;
	}
	res = cat_stats_enrollment(r->db, r->ctx->stats_min_group, &q, &rows,
	    &n);
	if (res == LY_INVAL) {
		ht_reply_problem(r, HT_P_INVALID_QUERY, "from must not be after "
		    "to, and a series spans at most 3660 days");
		return;
	}
	if (res != LY_OK) {
		ht_reply_result(r, res, NULL);
		return;
	}
	if (ht_wants_csv(r)) {
		ht_csv_init(&c, LIM_STATS_CSV_MAX);
		ht_csv_header(&c, cols, 8);
		for (i = 0; i < n; i++) {
			ht_csv_field(&c, rows[i].period);
			ht_csv_int(&c, rows[i].enrolled.v, rows[i].enrolled.null);
			ht_csv_int(&c, rows[i].left.v, rows[i].left.null);
			ht_csv_int(&c, rows[i].net.v, rows[i].net.null);
			ht_csv_int(&c, rows[i].members.v, rows[i].members.null);
			ht_csv_field(&c, rows[i].members_as_of);
			ht_csv_int(&c, rows[i].population, 0);
			ht_csv_num(&c, ht_rate_round(rows[i].opt_in_rate.v),
			    rows[i].opt_in_rate.null);
			ht_csv_endrow(&c);
		}
		free(rows);
		ht_csv_reply(r, &c, "enrollment.csv");
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "interval", ivs[q.interval]);
	if (q.district != NULL)
		cJSON_AddStringToObject(j, "district", q.district);
	else
		cJSON_AddNullToObject(j, "district");
	cJSON_AddNumberToObject(j, "min_group", r->ctx->stats_min_group);
	series = cJSON_AddArrayToObject(j, "series");
	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "period", rows[i].period);
		ht_jcount(o, "enrolled", rows[i].enrolled);
		ht_jcount(o, "left", rows[i].left);
		ht_jcount(o, "net", rows[i].net);
		ht_jcount(o, "members", rows[i].members);
		ht_jadd_str(o, "members_as_of", rows[i].members_as_of[0] ?
		    rows[i].members_as_of : NULL);
		ht_jadd_int(o, "population", rows[i].population);
		ht_jrate(o, "opt_in_rate", rows[i].opt_in_rate);
		cJSON_AddItemToArray(series, o);
	}
	free(rows);
	ht_reply_json(r, 200, j);
}

/* ---- /v1/stats/overview ---- */

static void
ht_overview_csv(struct ht_req *r, const struct cat_overview *o)
{
	struct ht_csv c;
	size_t i;

	ht_csv_init(&c, LIM_STATS_CSV_MAX);
	ht_csv_header(&c, ht_long_header, 5);
	ht_csv_count_line(&c, "city", "", "", "members", o->members);
	ht_csv_count_line(&c, "city", "", "", "population",
	    cat_count_of(o->population, 0, 0));
	ht_csv_rate_line(&c, "city", "", "", "opt_in_rate", o->opt_in_rate);
	for (i = 0; i < o->ndistricts; i++) {
		const struct cat_district_stat *d = &o->districts[i];
		ht_csv_count_line(&c, "district", d->code, d->name, "members",
		    d->members);
		ht_csv_count_line(&c, "district", d->code, d->name,
		    "population", cat_count_of(d->population, 0, 0));
		ht_csv_rate_line(&c, "district", d->code, d->name,
		    "opt_in_rate", d->opt_in_rate);
	}
	ht_csv_count_line(&c, "points", "", "", "awarded", o->awarded);
	ht_csv_count_line(&c, "points", "", "", "redeemed", o->redeemed);
	ht_csv_count_line(&c, "points", "", "", "refunded", o->refunded);
	ht_csv_count_line(&c, "points", "", "", "closed", o->closed);
	ht_csv_count_line(&c, "points", "", "", "outstanding", o->outstanding);
	for (i = 0; i < o->nperks; i++) {
		ht_csv_count_line(&c, "perk", o->perks[i].id, o->perks[i].title,
		    "redemptions", o->perks[i].count);
		ht_csv_count_line(&c, "perk", o->perks[i].id, o->perks[i].title,
		    "points", o->perks[i].points);
	}
	for (i = 0; i < o->nrules; i++) {
		ht_csv_count_line(&c, "rule", o->rules[i].id, o->rules[i].title,
		    "awards", o->rules[i].count);
		ht_csv_count_line(&c, "rule", o->rules[i].id, o->rules[i].title,
		    "points", o->rules[i].points);
	}
	ht_csv_count_line(&c, "funnel", "", "", "enrolled", o->f_enrolled);
	ht_csv_count_line(&c, "funnel", "", "", "earned", o->f_earned);
	ht_csv_count_line(&c, "funnel", "", "", "redeemed", o->f_redeemed);
	for (i = 0; i < o->nchannels; i++)
		ht_csv_count_line(&c, "channel", o->channels[i].id, "",
		    "enrolled", o->channels[i].count);
	ht_csv_reply(r, &c, "overview.csv");
}

static cJSON *
ht_lines_json(const struct cat_line *ls, size_t n, const char *idname,
    const char *countname)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, idname, ls[i].id);
		cJSON_AddStringToObject(o, "title", ls[i].title);
		ht_jcount(o, countname, ls[i].count);
		ht_jcount(o, "points", ls[i].points);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

void
ht_h_stats_overview(struct ht_req *r)
{
	struct cat_overview o;
	enum ly_res res;
	cJSON *j, *a, *d, *p;
	size_t i;

	if ((res = cat_stats_overview(r->db, r->ctx->stats_min_group, &o)) !=
	    LY_OK) {
		ht_reply_result(r, res, NULL);
		return;
	}
	if (ht_wants_csv(r)) {
		ht_overview_csv(r, &o);
		cat_overview_free(&o);
		return;
	}
	j = cJSON_CreateObject();
	ht_jcount(j, "members", o.members);
	ht_jadd_str(j, "members_as_of", o.members_as_of[0] ?
	    o.members_as_of : NULL);
	ht_jadd_int(j, "population", o.population);
	ht_jrate(j, "opt_in_rate", o.opt_in_rate);
	cJSON_AddNumberToObject(j, "min_group", r->ctx->stats_min_group);
	a = cJSON_AddArrayToObject(j, "districts");
	for (i = 0; i < o.ndistricts; i++) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "code", o.districts[i].code);
		cJSON_AddStringToObject(d, "name", o.districts[i].name);
		ht_jcount(d, "members", o.districts[i].members);
		ht_jadd_int(d, "population", o.districts[i].population);
		ht_jrate(d, "opt_in_rate", o.districts[i].opt_in_rate);
		cJSON_AddItemToArray(a, d);
	}
	p = cJSON_AddObjectToObject(j, "points");
	ht_jcount(p, "awarded", o.awarded);
	ht_jcount(p, "redeemed", o.redeemed);
	ht_jcount(p, "refunded", o.refunded);
	ht_jcount(p, "closed", o.closed);
	ht_jcount(p, "outstanding", o.outstanding);
	cJSON_AddItemToObject(j, "redemptions_per_perk",
	    ht_lines_json(o.perks, o.nperks, "perk_id", "redemptions"));
	cJSON_AddItemToObject(j, "awards_per_rule",
	    ht_lines_json(o.rules, o.nrules, "rule", "awards"));
	p = cJSON_AddObjectToObject(j, "funnel");
	ht_jcount(p, "enrolled", o.f_enrolled);
	ht_jcount(p, "earned", o.f_earned);
	ht_jcount(p, "redeemed", o.f_redeemed);
	a = cJSON_AddArrayToObject(j, "channels");
	for (i = 0; i < o.nchannels; i++) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "channel", o.channels[i].id);
		ht_jcount(d, "enrolled", o.channels[i].count);
		cJSON_AddItemToArray(a, d);
	}
	cat_overview_free(&o);
	ht_reply_json(r, 200, j);
}
