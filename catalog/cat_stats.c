/*
 * cat_stats.c: the programme's statistics, computed from the aggregate
 * tables only (agg_members_daily, agg_channel_daily, agg_funnel_total,
 * agg_points_total of 0030, kept by triggers on the daily tables of
 * 0002), so that a call reads O(days x districts) small rows whatever
 * the number of members or ledger entries.
 *
 * Privacy (docs/stats.md has the reasoning):
 *   - a count of 1..k-1 is withheld (k = stats_min_group), and so is
 *     anything computed from a withheld count;
 *   - in a breakdown whose total is published, more cells are withheld
 *     until the withheld ones add up to 0 or at least k, so "total minus
 *     the others" cannot reveal a small group (cat_stats_suppress);
 *   - series periods are whole days, ISO weeks or months whatever from
 *     and to say, so two overlapping ranges give identical cells; a week
 *     or month is withheld when its withheld days add up to 1..k-1;
 *   - member counts are running totals, so a count is only published as
 *     of an "anchor" day: a day at which, in every district, the
 *     enrolments and the departures since the previous anchor are each
 *     0 or at least k. The difference of any two published member counts
 *     is then made of groups of at least k.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/cat.h"

enum cat_stats_stmt {
	ST_DISTRICTS,
	ST_MEMBERS_DAILY,
	ST_POINTS,
	ST_FUNNEL,
	ST_CHANNELS,
	ST_CAMPAIGN_WINDOW,
	ST_CAMPAIGN_DISTRICTS,
	ST_CAMPAIGN_BONUS,
	ST_STMT__MAX
};

static const char *const cat_stats_stmts[ST_STMT__MAX] = {
	[ST_DISTRICTS] = "SELECT code, name, population FROM districts "
	    "ORDER BY code",
	[ST_MEMBERS_DAILY] = "SELECT DATEDIFF(day, '1970-01-01'), district, "
	    "enrolled, left_count FROM agg_members_daily ORDER BY day",
	/* grouped first, then joined: 20-odd lookups instead of one per
	 * shard and district */
	[ST_POINTS] = "SELECT x.kind, x.ref_id, x.n, x.p, p.public_id, "
	    "p.title, r.code, r.title FROM (SELECT kind, ref_id, "
	    "SUM(entries) n, SUM(points) p FROM agg_points_total GROUP BY "
	    "kind, ref_id) x LEFT JOIN perks p ON x.kind = 'redemption' AND "
	    "p.id = x.ref_id LEFT JOIN rules r ON x.kind = 'award' AND "
	    "r.id = x.ref_id ORDER BY x.kind, x.ref_id",
	[ST_FUNNEL] = "SELECT COALESCE(SUM(enrolled), 0), "
	    "COALESCE(SUM(earned), 0), COALESCE(SUM(redeemed), 0) "
	    "FROM agg_funnel_total",
	[ST_CHANNELS] = "SELECT channel, SUM(enrolled) FROM agg_funnel_total "
	    "GROUP BY channel ORDER BY channel",
	[ST_CAMPAIGN_WINDOW] = "SELECT UNIX_TIMESTAMP(starts_at), "
	    "UNIX_TIMESTAMP(ends_at) FROM campaigns WHERE id = ?",
	[ST_CAMPAIGN_DISTRICTS] = "SELECT district, SUM(enrolled), "
	    "SUM(earned_30d) FROM agg_channel_daily WHERE channel = ? AND "
	    "enroll_day >= ? AND enroll_day <= ? GROUP BY district "
	    "ORDER BY district",
	[ST_CAMPAIGN_BONUS] = "SELECT COALESCE(SUM(entries), 0), "
	    "COALESCE(SUM(points), 0) FROM agg_points_total WHERE "
	    "campaign_id = ? AND kind = 'award'",
};

/* ---- days and periods (pure) ---- */

/* Days from 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static long
cat_days_from_civil(long y, unsigned m, unsigned d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
cat_civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int
cat_day_parse(const char *s, long *day)
{
	long y, yy;
	unsigned m, d, mm, dd;
	int i;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
	d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*day = cat_days_from_civil(y, m, d);
	/* 2026-02-30 would roll over into March: refuse it */
	cat_civil_from_days(*day, &yy, &mm, &dd);
	return yy == y && mm == m && dd == d ? 0 : -1;
}

void
cat_day_fmt(long day, char out[11])
{
	long y;
	unsigned m, d;

	cat_civil_from_days(day, &y, &m, &d);
	/* y within 0..9999 and m, d below 100 fill exactly 10 characters */
	y = y < 0 ? 0 : y % 10000;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10 % 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10 % 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

long
cat_period_start(long day, enum cat_interval iv)
{
	long y;
	unsigned m, d;

	switch (iv) {
	case CAT_WEEK:
		/* 1970-01-01 was a Thursday: Monday-based weekday is +3 */
		return day - (((day % 7) + 7 + 3) % 7);
	case CAT_MONTH:
		cat_civil_from_days(day, &y, &m, &d);
		return cat_days_from_civil(y, m, 1);
	default:
		return day;
	}
}

long
cat_period_next(long start, enum cat_interval iv)
{
	long y;
	unsigned m, d;

	switch (iv) {
	case CAT_WEEK:
		return start + 7;
	case CAT_MONTH:
		cat_civil_from_days(start, &y, &m, &d);
		return m == 12 ? cat_days_from_civil(y + 1, 1, 1) :
		    cat_days_from_civil(y, m + 1, 1);
	default:
		return start + 1;
	}
}

/* ---- suppression (pure) ---- */

/* Withholds the smallest published non-zero cells while the withheld
 * cells add up to 1..k-1. */
static void
cat_suppress_more(const long long *v, size_t n, long long k, int *withheld)
{
	long long hidden = 0;
	size_t i, best;

	for (i = 0; i < n; i++)
		if (withheld[i])
			hidden += v[i];
	while (hidden > 0 && hidden < k) {
		best = n;
		for (i = 0; i < n; i++)
			if (!withheld[i] && v[i] > 0 &&
			    (best == n || v[i] < v[best]))
				best = i;
		if (best == n)
			break;	/* everything non-zero is withheld */
		withheld[best] = 1;
		hidden += v[best];
	}
}

int
cat_stats_suppress(const long long *v, size_t n, long long k, int *withheld)
{
	long long total = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		withheld[i] = v[i] > 0 && v[i] < k;
		total += v[i];
	}
	cat_suppress_more(v, n, k, withheld);
	return total == 0 || total >= k;
}

struct cat_count
cat_count_of(long long v, long long k, int withheld)
{
	struct cat_count c;

	c.null = withheld || (v > 0 && v < k);
	c.v = c.null ? 0 : v;
	return c;
}

struct cat_rate
cat_rate_of(struct cat_count part, struct cat_count whole, long long k)
{
	struct cat_rate r = { 0, 1 };
	long long rest;

	if (part.null || whole.null || whole.v <= 0)
		return r;
	rest = whole.v - part.v;
	if (rest > 0 && rest < k)
		return r;
	r.v = (double)part.v / (double)whole.v;
	r.null = 0;
	return r;
}

/* ---- history of member counts ---- */

struct cat_hist {
	struct cat_district_stat *d;	/* code, name, population */
	size_t		 nd;
	long		 first, ndays;	/* day numbers first .. first+ndays-1 */
	long long	*e, *l, *cum;	/* [day * nd + district] */
	unsigned char	*anchor;	/* [day] */
};

/* Per-district work arrays of one answer. */
struct cat_scratch {
	long long	*vals;
	int		*wh;
};

static void
cat_scratch_free(struct cat_scratch *s)
{
	free(s->vals);
	free(s->wh);
	memset(s, 0, sizeof(*s));
}

static int
cat_scratch_init(struct cat_scratch *s, size_t nd)
{
	s->vals = calloc(nd + 1, sizeof(long long));
	s->wh = calloc(nd + 1, sizeof(int));
	if (s->vals == NULL || s->wh == NULL) {
		cat_scratch_free(s);
		return -1;
	}
	return 0;
}

static void
cat_hist_free(struct cat_hist *h)
{
	free(h->d);
	free(h->e);
	free(h->l);
	free(h->cum);
	free(h->anchor);
	memset(h, 0, sizeof(*h));
}

static long
cat_today(void)
{
	char buf[11];
	long day = 0;

	ly_day(time(NULL), buf);
	if (cat_day_parse(buf, &day) != 0)
		day = (long)(time(NULL) / 86400);
	return day;
}

static long
cat_hist_district(struct cat_hist *h, const char *code)
{
	size_t i;

	for (i = 0; i < h->nd; i++)
		if (strcmp(h->d[i].code, code) == 0)
			return (long)i;
	return -1;
}

static enum ly_res
cat_hist_districts(struct db *db, struct cat_hist *h)
{
	struct db_row *row;
	enum db_res r;

	if ((h->d = calloc(LIM_STATS_DISTRICTS, sizeof(*h->d))) == NULL)
		return LY_NOMEM;
	if ((r = db_exec(db, cat_stats_stmts[ST_DISTRICTS], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW && h->nd < LIM_STATS_DISTRICTS) {
		snprintf(h->d[h->nd].code, sizeof(h->d[0].code), "%s",
		    row->col[0].s);
		snprintf(h->d[h->nd].name, sizeof(h->d[0].name), "%s",
		    row->col[1].s);
		h->d[h->nd++].population = row->col[2].i;
	}
	return r == DB_DONE || r == DB_ROW ? LY_OK : ly_from_db(r);
}

struct cat_hist_row {
	long		 day;
	size_t		 j;
	long long	 e, l;
};

/*
 * Loads every row of agg_members_daily into day x district arrays
 * covering [min(first row, from), max(last, to)], computes the running
 * totals and marks the anchor days (see the file comment). Districts
 * seen in the aggregates but since removed are kept, with population 0.
 */
static enum ly_res
cat_hist_load(struct db *db, long long k, long from, long to,
    struct cat_hist *h)
{
	struct db_row *row;
	enum db_res r;
	enum ly_res res;
	long day, last, j, dd;
	long long *fe = NULL, *fl = NULL;
	struct cat_hist_row *rows = NULL;
	size_t i, cells, nrows = 0, caprows = 0;
	int safe;

	memset(h, 0, sizeof(*h));
	if ((res = cat_hist_districts(db, h)) != LY_OK)
		return res;
	/* one read into a row list (extent and extra districts), then the
	 * arrays */
	h->first = from;
	last = to;
	if ((r = db_exec(db, cat_stats_stmts[ST_MEMBERS_DAILY], NULL, 0)) !=
	    DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		if (nrows == caprows) {
			struct cat_hist_row *nr;
			caprows = caprows ? caprows * 2 : 1024;
			if ((nr = realloc(rows, caprows * sizeof(*nr))) == NULL) {
				res = LY_NOMEM;
				goto out;
			}
			rows = nr;
		}
		day = (long)row->col[0].i;
		if ((j = cat_hist_district(h, row->col[1].s)) < 0) {
			if (h->nd == LIM_STATS_DISTRICTS)
				continue;
			j = (long)h->nd;
			snprintf(h->d[h->nd++].code, sizeof(h->d[0].code), "%s",
			    row->col[1].s);
		}
		rows[nrows].day = day;
		rows[nrows].j = (size_t)j;
		rows[nrows].e = row->col[2].i;
		rows[nrows++].l = row->col[3].i;
		if (day < h->first)
			h->first = day;
		if (day > last)
			last = day;
	}
	if (r != DB_DONE) {
		res = ly_from_db(r);
		goto out;
	}
	h->ndays = last - h->first + 1;
	cells = (size_t)h->ndays * h->nd;
	if (h->ndays <= 0 || cells > LIM_STATS_CELLS) {
		fprintf(stderr, "cat_stats: history of %ld days x %zu districts "
		    "exceeds LIM_STATS_CELLS\n", h->ndays, h->nd);
		res = LY_INTERNAL;
		goto out;
	}
	/* + 1: a city without districts still has days (all anchors) */
	h->e = calloc(cells + 1, sizeof(long long));
	h->l = calloc(cells + 1, sizeof(long long));
	h->cum = calloc(cells + 1, sizeof(long long));
	h->anchor = calloc((size_t)h->ndays, 1);
	fe = calloc(h->nd + 1, sizeof(long long));
	fl = calloc(h->nd + 1, sizeof(long long));
	if (h->e == NULL || h->l == NULL || h->cum == NULL ||
	    h->anchor == NULL || fe == NULL || fl == NULL) {
		res = LY_NOMEM;
		goto out;
	}
	for (i = 0; i < nrows; i++) {
		dd = rows[i].day - h->first;
		h->e[(size_t)dd * h->nd + rows[i].j] += rows[i].e;
		h->l[(size_t)dd * h->nd + rows[i].j] += rows[i].l;
	}
	for (dd = 0; dd < h->ndays; dd++) {
		safe = 1;
		for (i = 0; i < h->nd; i++) {
			size_t c = (size_t)dd * h->nd + i;
			h->cum[c] = (dd > 0 ? h->cum[c - h->nd] : 0) +
			    h->e[c] - h->l[c];
			fe[i] += h->e[c];
			fl[i] += h->l[c];
			if ((fe[i] > 0 && fe[i] < k) || (fl[i] > 0 && fl[i] < k))
				safe = 0;
		}
		if (safe) {
			h->anchor[dd] = 1;
			memset(fe, 0, h->nd * sizeof(long long));
			memset(fl, 0, h->nd * sizeof(long long));
		}
	}
	res = LY_OK;
out:
	free(rows);
	free(fe);
	free(fl);
	return res;
}

/* The last anchor day index in [a, b] (indices into h), or -1. */
static long
cat_hist_last_anchor(const struct cat_hist *h, long a, long b)
{
	if (a < 0)
		a = 0;
	if (b >= h->ndays)
		b = h->ndays - 1;
	for (; b >= a; b--)
		if (h->anchor[b])
			return b;
	return -1;
}

/*
 * Member counts per district as of anchor day index a, suppressed as one
 * breakdown. a = -1, no anchor: all withheld, unless nothing happened
 * before today (no history, nothing to single out: zeros). Fills
 * h->d[].members and .opt_in_rate and the city total.
 */
static void
cat_hist_members(struct cat_hist *h, long long k, long a, long today,
    long long *vals, int *wh, struct cat_count *city, long long *population)
{
	long long total = 0, pop = 0;
	size_t i;
	int ok, none;

	for (i = 0; i < h->nd; i++) {
		vals[i] = a >= 0 ? h->cum[(size_t)a * h->nd + i] : 0;
		total += vals[i];
		pop += h->d[i].population;
	}
	none = a < 0 && today > h->first;	/* history, but no anchor */
	ok = !none && cat_stats_suppress(vals, h->nd, k, wh);
	for (i = 0; i < h->nd; i++) {
		struct cat_count pc = cat_count_of(h->d[i].population, 0, 0);
		h->d[i].members = cat_count_of(vals[i], k, none || wh[i]);
		h->d[i].opt_in_rate = cat_rate_of(h->d[i].members, pc, 0);
	}
	*city = cat_count_of(total, k, !ok);
	*population = pop;
}

/* ---- the enrolment series ---- */

/*
 * The day cells that must be withheld, for every district and the city
 * (column nd), over the whole history, whatever the query asks: a query
 * must never change which cells are withheld, or two queries could be
 * differenced. Starting from the primary rule (1..k-1), cells are added
 * until every constraint holds: for each day, the withheld districts add
 * up to 0 or at least k (unless the city total is itself withheld); for
 * each district and the city, the withheld days of each ISO week and of
 * each month add up to 0 or at least k, so that a week or a month minus
 * its published days reveals no small group. Each step only adds cells,
 * so the loop ends. mask is [day * (nd + 1) + column].
 */
static int
cat_hist_mask(const struct cat_hist *h, const long long *src, long long k,
    unsigned char **maskp)
{
	size_t w = h->nd + 1, i, n, cap = 32;
	long long *v = NULL, *tmp = NULL;
	unsigned char *m = NULL;
	int *wh = NULL, changed, rc = -1;
	long dd, p, next, day, iv;

	*maskp = NULL;
	if (h->ndays <= 0)
		return 0;
	v = calloc((size_t)h->ndays * w, sizeof(*v));
	m = calloc((size_t)h->ndays * w, 1);
	tmp = calloc(w > cap ? w : cap, sizeof(*tmp));
	wh = calloc(w > cap ? w : cap, sizeof(*wh));
	if (v == NULL || m == NULL || tmp == NULL || wh == NULL)
		goto out;
	for (dd = 0; dd < h->ndays; dd++)
		for (i = 0; i < h->nd; i++) {
			v[(size_t)dd * w + i] = src[(size_t)dd * h->nd + i];
			v[(size_t)dd * w + h->nd] += src[(size_t)dd * h->nd + i];
		}
	for (i = 0; i < (size_t)h->ndays * w; i++)
		m[i] = v[i] > 0 && v[i] < k;
	do {
		changed = 0;
		for (dd = 0; dd < h->ndays; dd++) {
			if (m[(size_t)dd * w + h->nd])
				continue;
			for (i = 0; i < h->nd; i++)
				wh[i] = m[(size_t)dd * w + i];
			cat_suppress_more(v + (size_t)dd * w, h->nd, k, wh);
			for (i = 0; i < h->nd; i++)
				if (wh[i] && !m[(size_t)dd * w + i]) {
					m[(size_t)dd * w + i] = 1;
					changed = 1;
				}
		}
		for (iv = CAT_WEEK; iv <= CAT_MONTH; iv++)
			for (p = cat_period_start(h->first, (enum cat_interval)iv);
			    p < h->first + h->ndays; p = next) {
				next = cat_period_next(p, (enum cat_interval)iv);
				for (i = 0; i < w; i++) {
					for (n = 0, day = p; day < next; day++) {
						dd = day - h->first;
						if (dd < 0 || dd >= h->ndays)
							continue;
						tmp[n] = v[(size_t)dd * w + i];
						wh[n++] = m[(size_t)dd * w + i];
					}
					cat_suppress_more(tmp, n, k, wh);
					for (n = 0, day = p; day < next; day++) {
						dd = day - h->first;
						if (dd < 0 || dd >= h->ndays)
							continue;
						if (wh[n++] &&
						    !m[(size_t)dd * w + i]) {
							m[(size_t)dd * w + i] = 1;
							changed = 1;
						}
					}
				}
			}
	} while (changed);
	*maskp = m;
	m = NULL;
	rc = 0;
out:
	free(v);
	free(m);
	free(tmp);
	free(wh);
	return rc;
}

/*
 * The count of district j (or the city if j < 0) in days [a, b] (indices
 * into h). A day is read through the mask; a week or a month is the sum
 * of its days, suppressed as one breakdown across the districts.
 */
static struct cat_count
cat_period_count(const struct cat_hist *h, const long long *src,
    const unsigned char *mask, long long k, long a, long b, int by_day,
    struct cat_scratch *s, long j)
{
	long long total = 0;
	size_t i, w = h->nd + 1;
	long dd;
	int ok;

	memset(s->vals, 0, h->nd * sizeof(long long));
	for (dd = a; dd <= b; dd++) {
		if (dd < 0 || dd >= h->ndays)
			continue;
		for (i = 0; i < h->nd; i++)
			s->vals[i] += src[(size_t)dd * h->nd + i];
	}
	for (i = 0; i < h->nd; i++)
		total += s->vals[i];
	if (by_day) {
		int out = a < 0 || a >= h->ndays || mask == NULL;
		return cat_count_of(j >= 0 ? s->vals[j] : total, k, !out &&
		    mask[(size_t)a * w + (j >= 0 ? (size_t)j : h->nd)]);
	}
	ok = cat_stats_suppress(s->vals, h->nd, k, s->wh);
	if (j >= 0)
		return cat_count_of(s->vals[j], k, s->wh[j]);
	return cat_count_of(total, k, !ok);
}

enum ly_res
cat_stats_enrollment(struct db *db, long long k, const struct cat_series_q *q,
    struct cat_series_row **rows, size_t *n)
{
	struct cat_hist h;
	struct cat_scratch s;
	struct cat_series_row *out = NULL, *row;
	unsigned char *me = NULL, *ml = NULL;
	long from, to, today, p, next, a, b, anchor, j = -1;
	long long pop = 0;
	size_t cap, i;
	struct cat_count city;
	enum ly_res res;
	int by_day = q->interval == CAT_DAY;

	*rows = NULL;
	*n = 0;
	memset(&h, 0, sizeof(h));
	memset(&s, 0, sizeof(s));
	today = cat_today();
	if (q->to != NULL) {
		if (cat_day_parse(q->to, &to) != 0)
			return LY_INVAL;
	} else
		to = today;
	if (q->from != NULL) {
		if (cat_day_parse(q->from, &from) != 0)
			return LY_INVAL;
	} else
		from = to - (q->interval == CAT_MONTH ? 365 :
		    q->interval == CAT_WEEK ? 182 : 89);
	if (from > to || to - from >= LIM_STATS_DAYS)
		return LY_INVAL;
	from = cat_period_start(from, q->interval);
	to = cat_period_next(cat_period_start(to, q->interval), q->interval) - 1;
	if ((res = cat_hist_load(db, k, from, to, &h)) != LY_OK)
		goto out;
	if (q->district != NULL &&
	    (j = cat_hist_district(&h, q->district)) < 0) {
		res = LY_UNKNOWN_DISTRICT;
		goto out;
	}
	cap = (size_t)(to - from) / (by_day ? 1 :
	    q->interval == CAT_WEEK ? 7 : 28) + 2;
	if (cat_scratch_init(&s, h.nd) != 0 ||
	    (out = calloc(cap, sizeof(*out))) == NULL ||
	    (by_day && (cat_hist_mask(&h, h.e, k, &me) != 0 ||
	    cat_hist_mask(&h, h.l, k, &ml) != 0))) {
		res = LY_NOMEM;
		goto out;
	}
	for (i = 0; i < h.nd; i++)
		pop += h.d[i].population;
	for (p = from; p <= to && *n < cap; p = next) {
		next = cat_period_next(p, q->interval);
		row = &out[(*n)++];
		cat_day_fmt(p, row->period);
		row->population = j >= 0 ? h.d[j].population : pop;
		a = p - h.first;
		b = next - 1 - h.first;
		row->enrolled = cat_period_count(&h, h.e, me, k, a, b, by_day,
		    &s, j);
		row->left = cat_period_count(&h, h.l, ml, k, a, b, by_day, &s,
		    j);
		row->net = cat_count_of(row->enrolled.v - row->left.v, 0,
		    row->enrolled.null || row->left.null);
		/* members as of the last anchor day of the period, before
		 * today: today's flows still move, and two readings of one
		 * moving count would tell what happened in between */
		if (b > today - 1 - h.first)
			b = today - 1 - h.first;
		if ((anchor = cat_hist_last_anchor(&h, a, b)) < 0)
			row->members = cat_count_of(0, 0, 1);
		else {
			cat_day_fmt(h.first + anchor, row->members_as_of);
			cat_hist_members(&h, k, anchor, today, s.vals, s.wh,
			    &city, &pop);
			row->members = j >= 0 ? h.d[j].members : city;
		}
		row->opt_in_rate = cat_rate_of(row->members,
		    cat_count_of(row->population, 0, 0), 0);
	}
	*rows = out;
	out = NULL;
	res = LY_OK;
out:
	if (res != LY_OK)
		*n = 0;
	free(out);
	free(me);
	free(ml);
	cat_scratch_free(&s);
	cat_hist_free(&h);
	return res;
}

/* ---- the overview ---- */

void
cat_overview_free(struct cat_overview *o)
{
	free(o->districts);
	free(o->perks);
	free(o->rules);
	free(o->channels);
	memset(o, 0, sizeof(*o));
}

/* A growable list of breakdown lines. */
struct cat_lines {
	struct cat_line	*l;
	size_t		 n, cap;
};

/* Appends a zeroed line; NULL when out of memory or past
 * LIM_STATS_ROWS (the breakdown is then cut, never overrun). */
static struct cat_line *
cat_lines_add(struct cat_lines *ls)
{
	struct cat_line *nl;

	if (ls->n == LIM_STATS_ROWS)
		return NULL;
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 16;
		if ((nl = realloc(ls->l, ls->cap * sizeof(*nl))) == NULL)
			return NULL;
		ls->l = nl;
	}
	memset(&ls->l[ls->n], 0, sizeof(ls->l[0]));
	return &ls->l[ls->n++];
}

/* Suppresses the counts of a breakdown as one; a withheld count
 * withholds its points, and without_points withholds them all. */
static enum ly_res
cat_lines_suppress(struct cat_lines *ls, long long k, int without_points)
{
	long long *v = calloc(ls->n + 1, sizeof(*v));
	int *wh = calloc(ls->n + 1, sizeof(*wh));
	size_t i;

	if (v == NULL || wh == NULL) {
		free(v);
		free(wh);
		return LY_NOMEM;
	}
	for (i = 0; i < ls->n; i++)
		v[i] = ls->l[i].count.v;
	(void)cat_stats_suppress(v, ls->n, k, wh);
	for (i = 0; i < ls->n; i++) {
		ls->l[i].count = cat_count_of(v[i], k, wh[i]);
		ls->l[i].points = cat_count_of(ls->l[i].points.v, 0,
		    without_points || ls->l[i].count.null);
	}
	free(v);
	free(wh);
	return LY_OK;
}

/*
 * Points by kind, and the redemptions per perk and awards per rule, from
 * one read of agg_points_total. Redeemed and closed points are reported
 * as positive amounts (the ledger stores them negative).
 */
static enum ly_res
cat_points_read(struct db *db, long long k, struct cat_overview *o)
{
	static const char *const kinds[4] = { "award", "redemption",
	    "refund", "closure" };
	struct cat_lines perks = { NULL, 0, 0 }, rules = { NULL, 0, 0 };
	long long e[4] = { 0, 0, 0, 0 }, pts[4] = { 0, 0, 0, 0 }, v;
	struct cat_line *l;
	struct db_row *row;
	enum db_res r;
	enum ly_res res = LY_OK;
	int i;

	if ((r = db_exec(db, cat_stats_stmts[ST_POINTS], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		for (i = 0; i < 4; i++)
			if (strcmp(row->col[0].s, kinds[i]) == 0)
				break;
		if (i == 4)
			continue;
		v = row->col[3].i < 0 ? -row->col[3].i : row->col[3].i;
		e[i] += row->col[2].i;
		pts[i] += v;
		if (i != 0 && i != 1)
			continue;
		if ((l = cat_lines_add(i == 0 ? &rules : &perks)) == NULL)
			continue;
		snprintf(l->id, sizeof(l->id), "%s", row->col[i == 0 ? 6 : 4].s ?
		    row->col[i == 0 ? 6 : 4].s : "");
		snprintf(l->title, sizeof(l->title), "%s",
		    row->col[i == 0 ? 7 : 5].s ? row->col[i == 0 ? 7 : 5].s : "");
		l->count.v = row->col[2].i;
		l->points.v = v;
	}
	if (r != DB_DONE) {
		res = ly_from_db(r);
		goto out;
	}
	if ((res = cat_lines_suppress(&perks, k, 0)) != LY_OK ||
	    (res = cat_lines_suppress(&rules, k, 0)) != LY_OK)
		goto out;
	o->awarded = cat_count_of(pts[0], 0, e[0] > 0 && e[0] < k);
	o->redeemed = cat_count_of(pts[1], 0, e[1] > 0 && e[1] < k);
	o->refunded = cat_count_of(pts[2], 0, e[2] > 0 && e[2] < k);
	o->closed = cat_count_of(pts[3], 0, e[3] > 0 && e[3] < k);
	o->outstanding = cat_count_of(pts[0] + pts[2] - pts[1] - pts[3], 0,
	    o->awarded.null || o->redeemed.null || o->refunded.null ||
	    o->closed.null);
	o->perks = perks.l;
	o->nperks = perks.n;
	o->rules = rules.l;
	o->nrules = rules.n;
	perks.l = rules.l = NULL;
out:
	free(perks.l);
	free(rules.l);
	return res;
}

/* Enrolments per channel, over all time. */
static enum ly_res
cat_channels_read(struct db *db, long long k, struct cat_overview *o)
{
	struct cat_lines ls = { NULL, 0, 0 };
	struct cat_line *l;
	struct db_row *row;
	enum db_res r;
	enum ly_res res;

	if ((r = db_exec(db, cat_stats_stmts[ST_CHANNELS], NULL, 0)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW)
		if ((l = cat_lines_add(&ls)) != NULL) {
			snprintf(l->id, sizeof(l->id), "%s", row->col[0].s);
			l->count.v = row->col[1].i;
		}
	if (r != DB_DONE)
		res = ly_from_db(r);
	else
		res = cat_lines_suppress(&ls, k, 1);
	if (res != LY_OK) {
		free(ls.l);
		return res;
	}
	o->channels = ls.l;
	o->nchannels = ls.n;
	return LY_OK;
}

enum ly_res
cat_stats_overview(struct db *db, long long k, struct cat_overview *o)
{
	struct cat_hist h;
	struct db_row *row;
	enum db_res r;
	enum ly_res res;
	long today, anchor;
	long long *vals = NULL;
	int *wh = NULL;

	memset(o, 0, sizeof(*o));
	today = cat_today();
	if ((res = cat_hist_load(db, k, today, today, &h)) != LY_OK)
		goto out;
	vals = calloc(h.nd + 1, sizeof(long long));
	wh = calloc(h.nd + 1, sizeof(int));
	if (vals == NULL || wh == NULL) {
		res = LY_NOMEM;
		goto out;
	}
	/* as of the last anchor before today: today's flows still move */
	anchor = cat_hist_last_anchor(&h, 0, today - h.first - 1);
	cat_hist_members(&h, k, anchor, today, vals, wh, &o->members,
	    &o->population);
	if (anchor >= 0)
		cat_day_fmt(h.first + anchor, o->members_as_of);
	else if (today <= h.first)	/* no history: zeros as of today */
		cat_day_fmt(today, o->members_as_of);
	o->opt_in_rate = cat_rate_of(o->members,
	    cat_count_of(o->population, 0, 0), 0);
	o->districts = h.d;
	o->ndistricts = h.nd;
	h.d = NULL;

	if ((res = cat_points_read(db, k, o)) != LY_OK ||
	    (res = cat_channels_read(db, k, o)) != LY_OK)
		goto out;

	if ((r = db_one(db, cat_stats_stmts[ST_FUNNEL], NULL, 0, &row)) !=
	    DB_ROW) {
		res = ly_from_db(r);
		goto out;
	}
	o->f_enrolled = cat_count_of(row->col[0].i, k, 0);
	o->f_earned = cat_count_of(row->col[1].i, k, o->f_enrolled.null);
	o->f_redeemed = cat_count_of(row->col[2].i, k, o->f_enrolled.null);
	res = LY_OK;
out:
	free(vals);
	free(wh);
	cat_hist_free(&h);
	if (res != LY_OK)
		cat_overview_free(o);
	return res;
}

/* ---- one campaign ---- */

enum ly_res
cat_stats_campaign(struct db *db, long long k, const char *public_id,
    struct cat_campaign_stats *out)
{
	char from[11], to[11];
	struct db_row *row;
	struct cat_line *ls = NULL;
	long long *v = NULL, enrolled = 0, earned = 0;
	int *wh = NULL, ok;
	size_t n = 0, i;
	enum db_res r;
	enum ly_res res;
	time_t t0, t1;

	memset(out, 0, sizeof(*out));
	if ((res = cat_campaign_get(db, public_id, &out->c)) != LY_OK)
		return res;
	struct db_val w[] = { db_int((long long)out->c.id) };
	if ((r = db_one(db, cat_stats_stmts[ST_CAMPAIGN_WINDOW], w, 1, &row)) !=
	    DB_ROW)
		return ly_from_db(r);
	/* the aggregates count local days; the window is UTC and its end
	 * exclusive */
	t0 = (time_t)row->col[0].i;
	t1 = (time_t)row->col[1].i - 1;
	ly_day(t0, from);
	ly_day(t1, to);

	ls = calloc(LIM_STATS_DISTRICTS, sizeof(*ls));
	v = calloc(LIM_STATS_DISTRICTS, sizeof(*v));
	wh = calloc(LIM_STATS_DISTRICTS, sizeof(*wh));
	if (ls == NULL || v == NULL || wh == NULL) {
		res = LY_NOMEM;
		goto out;
	}
	struct db_val p[] = { db_text(out->c.code), db_text(from), db_text(to) };
	if ((r = db_exec(db, cat_stats_stmts[ST_CAMPAIGN_DISTRICTS], p, 3)) !=
	    DB_OK) {
		res = ly_from_db(r);
		goto out;
	}
	while ((r = db_next(db, &row)) == DB_ROW && n < LIM_STATS_DISTRICTS) {
		snprintf(ls[n].id, sizeof(ls[n].id), "%s", row->col[0].s);
		v[n] = row->col[1].i;
		enrolled += row->col[1].i;
		earned += row->col[2].i;
		n++;
	}
	if (r != DB_DONE && r != DB_ROW) {
		res = ly_from_db(r);
		goto out;
	}
	ok = cat_stats_suppress(v, n, k, wh);
	for (i = 0; i < n; i++) {
		ls[i].count = cat_count_of(v[i], k, wh[i]);
		ls[i].points.null = 1;
	}
	out->enrolled = cat_count_of(enrolled, k, !ok);
	if (out->c.target > 0)
		out->progress = cat_rate_of(out->enrolled,
		    cat_count_of(out->c.target, 0, 0), 0);
	else
		out->progress.null = 1;
	out->activation_rate = cat_rate_of(cat_count_of(earned, k,
	    out->enrolled.null), out->enrolled, k);

	if ((r = db_one(db, cat_stats_stmts[ST_CAMPAIGN_BONUS], w, 1, &row)) !=
	    DB_ROW) {
		res = ly_from_db(r);
		goto out;
	}
	out->bonus_points = cat_count_of(row->col[1].i, 0,
	    row->col[0].i > 0 && row->col[0].i < k);
	out->districts = ls;
	out->ndistricts = n;
	ls = NULL;
	res = LY_OK;
out:
	free(ls);
	free(v);
	free(wh);
	return res;
}
