/*
 * ly_access.c: the access log, "who touched my data", one row per award,
 * voucher check or use and pass check, and its group-commit writer.
 *
 * Inside a transaction (an award, a voucher use) the row is one more
 * INSERT of that transaction. A check, though, changes nothing else: on
 * its own it would be a transaction with one INSERT and one durable
 * commit, and at 64 concurrent checks the commits, not the reads, set the
 * pace. So perkd runs one writer thread (ly_access_start) with its own
 * connection: a check hands its row to the writer and waits; the writer
 * takes every row that arrived meanwhile and commits them together, a
 * few multi-row INSERTs and one COMMIT. The check answers only once its
 * row is committed, or with the writer's error (503): no answer without
 * its log row, exactly as before, and a crash loses nothing acknowledged.
 *
 * Without a writer (perkctl, the tests) the row is written through the
 * caller's connection, in a transaction of its own.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loyalty/ly.h"

/* The rows, in chunks of up to LIM_ACCESS_CHUNK (one row is a chunk of
 * one). */
static const struct db_multi ly_access_multi = {
	"INSERT INTO access_log (member_id, org_id, action, at) VALUES ",
	"(?, ?, ?, ?)", ", ", ""
};

/* A row waiting for the writer; it lives on the waiting thread's stack. */
struct ly_access_req {
	uint64_t		 member_id, org_id;
	const char		*action;
	char			 at[32];
	enum ly_res		 res;
	int			 done;
	struct ly_access_req	*next;
};

static struct {
	pthread_mutex_t		 mu;
	pthread_cond_t		 more;	/* the writer: a row came, or stop */
	pthread_cond_t		 done;	/* the waiters: a batch was written */
	struct ly_access_req	*head, **tail;
	int			 running, stop;
	pthread_t		 tid;
	struct db		*db;
	unsigned long long	 commits, rows;	/* written by the writer */
} ly_aw = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

/* Inserts n rows of a list, in chunks of a power of two rows, at most
 * LIM_ACCESS_CHUNK, in the caller's transaction. */
static enum ly_res
ly_access_rows(struct db *db, struct ly_access_req *q, size_t n)
{
	struct db_val p[LIM_ACCESS_CHUNK * 4];
	const char *sql;
	enum db_res r;
	size_t k, i;

	for (; n > 0; n -= k) {
		k = db_multi_take(n < LIM_ACCESS_CHUNK ? n : LIM_ACCESS_CHUNK);
		for (i = 0; i < k; i++, q = q->next) {
			p[4 * i] = db_int((long long)q->member_id);
			p[4 * i + 1] = db_int((long long)q->org_id);
			p[4 * i + 2] = db_text(q->action);
			p[4 * i + 3] = db_text(q->at);
		}
		if ((sql = db_multi_sql(&ly_access_multi, k)) == NULL)
			return LY_INTERNAL;
		if ((r = db_exec(db, sql, p, 4 * k)) != DB_OK)
			return ly_from_db(r);
	}
	return LY_OK;
}

/* Writes a batch (a list in arrival order, n rows) in one transaction of
 * its own. Always a transaction: a single INSERT in autocommit whose OK
 * is lost would be sent again by db_exec's reconnect, and written twice. */
static enum ly_res
ly_access_flush_once(struct db *db, struct ly_access_req *batch, size_t n)
{
	enum ly_res res;
	enum db_res r;

	if ((r = db_begin(db)) != DB_OK)
		return ly_from_db(r);
	if ((res = ly_access_rows(db, batch, n)) != LY_OK) {
		db_rollback(db);
		return res;
	}
	if ((r = db_commit(db)) != DB_OK) {
		db_rollback(db);
		return ly_from_db(r);
	}
	return LY_OK;
}

static enum ly_res
ly_access_flush(struct db *db, struct ly_access_req *batch)
{
	struct ly_access_req *q;
	enum ly_res res = LY_RETRY;
	size_t n = 0;
	int attempt;

	for (q = batch; q != NULL; q = q->next)
		n++;
	for (attempt = 0; attempt <= LIM_DB_RETRIES && res == LY_RETRY;
	    attempt++) {
		if (attempt > 0)
			usleep(1000U * (unsigned)attempt);
		res = ly_access_flush_once(db, batch, n);
	}
	return res;
}

static void *
ly_access_writer(void *arg)
{
	struct ly_access_req *batch, *q;
	enum ly_res res;

	(void)arg;
	db_thread_init();
	pthread_mutex_lock(&ly_aw.mu);
	for (;;) {
		while (ly_aw.head == NULL && !ly_aw.stop)
			pthread_cond_wait(&ly_aw.more, &ly_aw.mu);
		if (ly_aw.head == NULL)
			break;		/* stopping, and nothing is left */
		batch = ly_aw.head;
		ly_aw.head = NULL;
		ly_aw.tail = &ly_aw.head;
		pthread_mutex_unlock(&ly_aw.mu);
		res = ly_access_flush(ly_aw.db, batch);
		pthread_mutex_lock(&ly_aw.mu);
		for (q = batch; q != NULL; q = q->next) {
			q->res = res;
			q->done = 1;
			ly_aw.rows += res == LY_OK;
		}
		ly_aw.commits += res == LY_OK;
		pthread_cond_broadcast(&ly_aw.done);
	}
	pthread_mutex_unlock(&ly_aw.mu);
	db_thread_end();
	return NULL;
}

int
ly_access_start(const struct db_cfg *cfg)
{
	enum db_res r;

	if (ly_aw.running)
		return 0;
	if ((ly_aw.db = db_open(cfg, &r)) == NULL)
		return -1;	/* a failed connect is retried by db_begin */
	ly_aw.head = NULL;
	ly_aw.tail = &ly_aw.head;
	ly_aw.stop = 0;
	if (pthread_create(&ly_aw.tid, NULL, ly_access_writer, NULL) != 0) {
		db_close(ly_aw.db);
		ly_aw.db = NULL;
		return -1;
	}
	pthread_mutex_lock(&ly_aw.mu);
	ly_aw.running = 1;
	pthread_mutex_unlock(&ly_aw.mu);
	return 0;
}

void
ly_access_counts(unsigned long long *commits, unsigned long long *rows)
{
	pthread_mutex_lock(&ly_aw.mu);
	*commits = ly_aw.commits;
	*rows = ly_aw.rows;
	pthread_mutex_unlock(&ly_aw.mu);
}

void
ly_access_stop(void)
{
	pthread_mutex_lock(&ly_aw.mu);
	if (!ly_aw.running) {
		pthread_mutex_unlock(&ly_aw.mu);
		return;
	}
	ly_aw.running = 0;	/* new rows go through their own connection */
	ly_aw.stop = 1;
	pthread_cond_signal(&ly_aw.more);
	pthread_mutex_unlock(&ly_aw.mu);
	pthread_join(ly_aw.tid, NULL);	/* after it wrote what was queued */
	db_close(ly_aw.db);
	ly_aw.db = NULL;
}

enum ly_res
ly_access_note(struct db *db, uint64_t member_id, uint64_t org_id,
    const char *action)
{
	struct ly_access_req q;

	memset(&q, 0, sizeof(q));
	q.member_id = member_id;
	q.org_id = org_id;
	q.action = action;
	ly_now(q.at);
	if (db_in_txn(db))
		return ly_access_rows(db, &q, 1);	/* part of the caller's */
	pthread_mutex_lock(&ly_aw.mu);
	if (!ly_aw.running) {
		pthread_mutex_unlock(&ly_aw.mu);
		return ly_access_flush(db, &q);	/* a batch of one */
	}
	*ly_aw.tail = &q;
	ly_aw.tail = &q.next;
	pthread_cond_signal(&ly_aw.more);
	while (!q.done)
		pthread_cond_wait(&ly_aw.done, &ly_aw.mu);
	pthread_mutex_unlock(&ly_aw.mu);
	return q.res;
}
