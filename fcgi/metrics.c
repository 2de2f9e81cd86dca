/*
 * metrics.c: Prometheus text exposition for /metrics: requests by route
 * and status, a latency histogram by route, domain counters (awards,
 * redemptions, voucher uses) and database errors. Lock-free: every
 * counter is an atomic, written by the worker threads.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

#define HT_ROUTES_MAX	128	/* more than the table will ever hold */

static const int ht_statuses[] = { 200, 201, 204, 400, 401, 403, 404, 405,
	409, 410, 413, 415, 422, 429, 500, 503 };
#define HT_NSTATUS	(sizeof(ht_statuses) / sizeof(ht_statuses[0]))
static const double ht_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1.0, 2.5 };
#define HT_NBUCKET	(sizeof(ht_buckets) / sizeof(ht_buckets[0]))

/* index HT_ROUTES_MAX-1 collects requests that matched no route */
static atomic_ullong ht_req_count[HT_ROUTES_MAX][HT_NSTATUS + 1];
static atomic_ullong ht_lat_bucket[HT_ROUTES_MAX][HT_NBUCKET + 1];
static atomic_ullong ht_lat_sum_us[HT_ROUTES_MAX];
static atomic_ullong ht_counters[HT_C__MAX];

static const char *const ht_counter_names[HT_C__MAX][2] = {
	{ "perkd_awards_total", "Awards credited" },
	{ "perkd_award_points_total", "Points credited by awards" },
	{ "perkd_redemptions_total", "Vouchers issued" },
	{ "perkd_voucher_uses_total", "Vouchers used at a partner" },
};

void
ht_metrics_init(void)
{
	if (ht_routes_n >= HT_ROUTES_MAX)
		abort();	/* raise HT_ROUTES_MAX */
}

void
ht_metrics_request(int route, int status, double secs)
{
	size_t ri = route >= 0 ? (size_t)route : HT_ROUTES_MAX - 1, s, b;

	for (s = 0; s < HT_NSTATUS; s++)
		if (ht_statuses[s] == status)
			break;
	atomic_fetch_add(&ht_req_count[ri][s], 1);
	for (b = 0; b < HT_NBUCKET; b++)
		if (secs <= ht_buckets[b])
			break;
	atomic_fetch_add(&ht_lat_bucket[ri][b], 1);
	atomic_fetch_add(&ht_lat_sum_us[ri],
	    (unsigned long long)(secs * 1e6));
}

void
ht_metrics_add(enum ht_counter c, unsigned long long n)
{
	atomic_fetch_add(&ht_counters[c], n);
}

struct ht_buf {
	char	*p;
	size_t	 len, cap;
};

static void
ht_bprintf(struct ht_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ht_bprintf(struct ht_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *np;

	if (b->p == NULL)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		if ((np = realloc(b->p, b->cap * 2)) == NULL) {
			free(b->p);
			b->p = NULL;
			return;
		}
		b->p = np;
		b->cap *= 2;
	}
}

char *
ht_metrics_render(size_t *len)
{
	struct ht_buf b = { malloc(16384), 0, 16384 };
	unsigned long long v, cum, commits, rows, prepared, evicted, hits;
	unsigned long long misses;
	size_t r, s, k;
	const char *name;

	ht_bprintf(&b, "# HELP perkd_http_requests_total HTTP requests by "
	    "route and status.\n# TYPE perkd_http_requests_total counter\n");
	for (r = 0; r < HT_ROUTES_MAX; r++) {
		if (r >= ht_routes_n && r != HT_ROUTES_MAX - 1)
			continue;
		name = r < ht_routes_n ? ht_routes[r].pattern : "unmatched";
		for (s = 0; s <= HT_NSTATUS; s++) {
			if ((v = atomic_load(&ht_req_count[r][s])) == 0)
				continue;
			ht_bprintf(&b, "perkd_http_requests_total{method=\"%s\","
			    "route=\"%s\",status=\"%s%d\"} %llu\n",
			    r < ht_routes_n ? ht_routes[r].method : "any", name,
			    s < HT_NSTATUS ? "" : "other",
			    s < HT_NSTATUS ? ht_statuses[s] : 0, v);
		}
	}
	ht_bprintf(&b, "# HELP perkd_http_request_duration_seconds Time to "
	    "answer, by route.\n# TYPE perkd_http_request_duration_seconds "
	    "histogram\n");
	for (r = 0; r < ht_routes_n; r++) {
		for (k = 0, cum = 0; k <= HT_NBUCKET; k++)
			cum += atomic_load(&ht_lat_bucket[r][k]);
		if (cum == 0)
			continue;
		for (k = 0, cum = 0; k < HT_NBUCKET; k++) {
			cum += atomic_load(&ht_lat_bucket[r][k]);
			ht_bprintf(&b, "perkd_http_request_duration_seconds_bucket"
			    "{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
			    ht_routes[r].method, ht_routes[r].pattern,
			    ht_buckets[k], cum);
		}
		cum += atomic_load(&ht_lat_bucket[r][HT_NBUCKET]);
		ht_bprintf(&b, "perkd_http_request_duration_seconds_bucket"
		    "{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
		    "perkd_http_request_duration_seconds_sum{method=\"%s\","
		    "route=\"%s\"} %.6f\n"
		    "perkd_http_request_duration_seconds_count{method=\"%s\","
		    "route=\"%s\"} %llu\n", ht_routes[r].method,
		    ht_routes[r].pattern, cum, ht_routes[r].method,
		    ht_routes[r].pattern,
		    (double)atomic_load(&ht_lat_sum_us[r]) / 1e6,
		    ht_routes[r].method, ht_routes[r].pattern, cum);
	}
	for (k = 0; k < HT_C__MAX; k++)
		ht_bprintf(&b, "# HELP %s %s.\n# TYPE %s counter\n%s %llu\n",
		    ht_counter_names[k][0], ht_counter_names[k][1],
		    ht_counter_names[k][0], ht_counter_names[k][0],
		    atomic_load(&ht_counters[k]));
	ly_access_counts(&commits, &rows);
	ht_bprintf(&b, "# HELP perkd_access_log_commits_total Commits of the "
	    "access-log writer.\n# TYPE perkd_access_log_commits_total counter\n"
	    "perkd_access_log_commits_total %llu\n# HELP "
	    "perkd_access_log_rows_total Access-log rows it committed (checks)."
	    "\n# TYPE perkd_access_log_rows_total counter\n"
	    "perkd_access_log_rows_total %llu\n", commits, rows);
	ht_bprintf(&b, "# HELP perkd_db_errors_total Database errors "
	    "(unavailable or failed statements).\n# TYPE perkd_db_errors_total "
	    "counter\nperkd_db_errors_total %llu\n", db_error_count());
	db_stmt_counts(&prepared, &evicted);
	ht_bprintf(&b, "# HELP perkd_db_statements_prepared_total Statements "
	    "prepared on perkd's connections.\n# TYPE "
	    "perkd_db_statements_prepared_total counter\n"
	    "perkd_db_statements_prepared_total %llu\n# HELP "
	    "perkd_db_statements_evicted_total Kept statements closed to make "
	    "room for another (prepared again when next used).\n# TYPE "
	    "perkd_db_statements_evicted_total counter\n"
	    "perkd_db_statements_evicted_total %llu\n", prepared, evicted);
	cat_pass_cache_counts(&hits, &misses);
	ht_bprintf(&b, "# HELP perkd_pass_cache_hits_total Passes (checks, "
	    "QR codes) answered from the verified-pass cache.\n# TYPE "
	    "perkd_pass_cache_hits_total counter\nperkd_pass_cache_hits_total "
	    "%llu\n# HELP perkd_pass_cache_misses_total Passes verified in "
	    "full (Ed25519 signature), whether they held or not.\n# TYPE "
	    "perkd_pass_cache_misses_total counter\n"
	    "perkd_pass_cache_misses_total %llu\n", hits, misses);
	ht_bprintf(&b, "# HELP perkd_points_slot_waits_total Transactions "
	    "moving points that waited for one of the " LIM_STR(LIM_LEDGER_WRITERS)
	    " slots.\n# TYPE perkd_points_slot_waits_total counter\n"
	    "perkd_points_slot_waits_total %llu\n",
	    (unsigned long long)ly_slot_waits());
	*len = b.len;
	return b.p;
}
