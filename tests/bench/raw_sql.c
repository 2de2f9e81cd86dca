/*
 * raw_sql.c: the same SQL as bare-sql (bench_db.c) from N threads through
 * Connector/C, with no HTTP at all, for a fixed time. Its rate is what
 * MariaDB itself allows on this machine; bare-sql / raw-sql is what
 * nginx + FastCGI cost on top.
 *
 *   raw-sql read|write THREADS SECONDS LO-HI PERKD_CONF
 *
 * Each thread picks member ids at random in [LO, HI]. Prints one JSON
 * object: operations, rate, p50/p99 latency (ms), errors.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/bench/bench_db.h"

#define BUCKET_US	10		/* latency histogram resolution */
#define BUCKETS		100000		/* up to 1 s; slower lands in the last */

static struct bench_dbcfg dbcfg;
static int write_mode;
static long long lo, hi;
static atomic_int go, stop;

struct raw_thread {
	pthread_t	 tid;
	unsigned	 seed;
	unsigned long	 ops, errors;
	unsigned	*hist;
	int		 failed;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
raw_main(void *p)
{
	struct raw_thread *t = p;
	struct bench_conn c;
	double t0, us;
	long long id;
	size_t b;
	int rc;

	mysql_thread_init();
	if (bench_connect(&c, &dbcfg) != 0) {
		t->failed = 1;
		atomic_fetch_add(&go, 1);
		return NULL;
	}
	atomic_fetch_add(&go, 1);
	while (!atomic_load(&stop)) {
		id = lo + (long long)(rand_r(&t->seed) % (unsigned)(hi - lo + 1));
		t0 = now_s();
		rc = write_mode ? bench_write(&c, id) : bench_read(&c, id);
		us = (now_s() - t0) * 1e6;
		if (rc != 0) {
			t->errors++;
			continue;
		}
		b = (size_t)(us / BUCKET_US);
		t->hist[b < BUCKETS ? b : BUCKETS - 1]++;
		t->ops++;
	}
	bench_close(&c);
	mysql_thread_end();
	return NULL;
}

/* the latency (ms) below which a share q of the operations fell */
static double
percentile(const unsigned long *hist, unsigned long total, double q)
{
	unsigned long want = (unsigned long)(q * (double)total), seen = 0;
	size_t i;

	for (i = 0; i < BUCKETS; i++) {
		seen += hist[i];
		if (seen > want)
			return (double)(i + 1) * BUCKET_US / 1000.0;
	}
	return (double)BUCKETS * BUCKET_US / 1000.0;
}

int
main(int argc, char *argv[])
{
	struct raw_thread *th = NULL;
	unsigned long *hist = NULL, ops = 0, errors = 0;
	double secs, t0, elapsed;
	int n, i, rc = 1;
	size_t b;

	if (argc != 6 || (strcmp(argv[1], "read") != 0 &&
	    strcmp(argv[1], "write") != 0) || (n = atoi(argv[2])) < 1 ||
	    n > 1024 || (secs = atof(argv[3])) <= 0 ||
	    sscanf(argv[4], "%lld-%lld", &lo, &hi) != 2 || lo < 1 || hi < lo) {
		fprintf(stderr, "usage: raw-sql read|write THREADS SECONDS "
		    "LO-HI PERKD_CONF\n");
		return 2;
	}
	write_mode = strcmp(argv[1], "write") == 0;
	if (bench_dbcfg_load(argv[5], &dbcfg) != 0 ||
	    mysql_library_init(0, NULL, NULL) != 0)
		return 1;
	if ((th = calloc((size_t)n, sizeof(*th))) == NULL ||
	    (hist = calloc(BUCKETS, sizeof(*hist))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		th[i].seed = (unsigned)(i * 7919 + time(NULL));
		if ((th[i].hist = calloc(BUCKETS, sizeof(unsigned))) == NULL ||
		    pthread_create(&th[i].tid, NULL, raw_main, &th[i]) != 0)
			goto out;
	}
	while (atomic_load(&go) < n)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	t0 = now_s();
	nanosleep(&(struct timespec){ (time_t)secs,
	    (long)((secs - (double)(time_t)secs) * 1e9) }, NULL);
	atomic_store(&stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(th[i].tid, NULL);
	elapsed = now_s() - t0;
	for (i = 0; i < n; i++) {
		if (th[i].failed)
			goto out;
		ops += th[i].ops;
		errors += th[i].errors;
		for (b = 0; b < BUCKETS; b++)
			hist[b] += th[i].hist[b];
	}
	printf("{\"mode\":\"%s\",\"threads\":%d,\"seconds\":%.3f,"
	    "\"ops\":%lu,\"errors\":%lu,\"rate\":%.1f,\"p50_ms\":%.3f,"
	    "\"p99_ms\":%.3f}\n", argv[1], n, elapsed, ops, errors,
	    (double)ops / elapsed, percentile(hist, ops, 0.50),
	    percentile(hist, ops, 0.99));
	rc = errors == 0 ? 0 : 1;
out:
	if (th != NULL)
		for (i = 0; i < n; i++)
			free(th[i].hist);
	free(th);
	free(hist);
	mysql_library_end();
	return rc;
}
