/*
 * db.c: MariaDB through Connector/C, the only file that includes <mysql.h>.
 *
 * One struct db per thread: a MYSQL handle, the prepared statements it
 * keeps (keyed by the address of their SQL text), and the buffers that
 * fetched rows point into. Errors are classified once, here, into enum
 * db_res and logged with the server's text; callers above only propagate.
 *
 * Memory: Connector/C holds 9 to 12 KiB of client memory for each
 * prepared statement handle (mysql_stmt_init() preallocates three memory
 * pools), and perkd has one connection per worker thread, so the handles
 * are most of perkd's memory (docs/benchmarks.md). Hence:
 * - a connection keeps at most db->nkept statements (perkd: its share of
 *   LIM_DB_STMTS_TOTAL) and closes the least recently used one to prepare
 *   another: the hot statements stay prepared, while the long tail
 *   (admin, stats, rare paths) cannot make every connection hold every
 *   statement of the program after a long run;
 * - statements with more than LIM_DB_PARAMS parameters (multi-row ones of
 *   a batch) live only until their transaction ends (db_big_close);
 * - transaction control (START, COMMIT, savepoints) goes over the text
 *   protocol: one round trip either way, and no handle to keep.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "sql/db.h"
#include "sql/perkd_limits.h"

/* A limit as text, for the session settings of the init command. */

struct db_slot {
	const char	*sql;		/* key: address of the statement text */
	MYSQL_STMT	*stmt;
	unsigned long long used;	/* db->uses when last run: LRU order */
};

struct db {
	struct db_cfg	 cfg;
	MYSQL		*my;		/* NULL while disconnected */
	int		 in_txn;
	/* the connection was lost inside a transaction: every statement
	 * answers DB_DOWN until the transaction ends (db_rollback, db_commit
	 * or the next db_begin), so that none of them runs on a new
	 * connection, outside the transaction */
	int		 txn_lost;
	unsigned long long uses;	/* statements run, the LRU clock */
	/* the statements kept prepared (nkept at most), in no order; a
	 * linear search of a few dozen pointers costs nothing next to a
	 * round trip */
	size_t		 nkept;
	struct db_slot	 kept[LIM_DB_STMTS_MAX];
	/* statements with more than LIM_DB_PARAMS parameters (the multi-row
	 * ones of a batch): each holds ~100 KiB in the client, so they live
	 * only until the transaction ends (db_big_close) */
	struct db_slot	 big[LIM_DB_BIG_STMTS];
	MYSQL_STMT	*cur;		/* statement whose rows db_next reads */
	MYSQL_BIND	 rbind[LIM_DB_COLS];
	unsigned long	 rlen[LIM_DB_COLS];
	my_bool		 rnull[LIM_DB_COLS];
	long long	 rint[LIM_DB_COLS];
	double		 rdbl[LIM_DB_COLS];
	char		*rbuf[LIM_DB_COLS];
	size_t		 rcap[LIM_DB_COLS];
	struct db_row	 row;
	unsigned long long affected;
	unsigned long long insert_id;
	char		 err[256];
};

static atomic_ullong db_errors;
/* statements prepared, and kept ones closed to make room (db_prepare) */
static atomic_ullong db_prepared, db_evicted;

static const char *const db_res_names[DB_RES__MAX] = {
	"ok", "row", "done", "not found", "duplicate key", "check constraint",
	"deadlock or lock wait timeout", "database unavailable", "database error",
};

const char *
db_res_str(enum db_res r)
{
	return (r >= 0 && r < DB_RES__MAX) ? db_res_names[r] : "?";
}

const char *
db_error(const struct db *db)
{
	return db->err;
}

unsigned long long
db_error_count(void)
{
	return atomic_load(&db_errors);
}

void
db_stmt_counts(unsigned long long *prepared, unsigned long long *evicted)
{
	*prepared = atomic_load(&db_prepared);
	*evicted = atomic_load(&db_evicted);
}

struct db_val
db_text(const char *s)
{
	struct db_val v = { DB_VTEXT, 0, s, s == NULL ? 0 : strlen(s) };

	if (s == NULL)
		v.t = DB_VNULL;
	return v;
}

int
db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

void
db_library_end(void)
{
	mysql_library_end();
}

void
db_thread_init(void)
{
	mysql_thread_init();
}

void
db_thread_end(void)
{
	mysql_thread_end();
}

/*
 * Maps a server or client error number to a result. Lost connections also
 * drop the handle so that the next db_begin() reconnects.
 */
static enum db_res
db_classify(struct db *db, unsigned int no, const char *msg, const char *sql)
{
	enum db_res r;

	snprintf(db->err, sizeof(db->err), "%u: %s", no, msg);
	switch (no) {
	case ER_DUP_ENTRY:
		return DB_DUP;
	case 4025: /* ER_CONSTRAINT_FAILED (MariaDB CHECK) */
		r = DB_CHECK;
		break;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		return DB_RETRY;
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case 2026: /* CR_SSL_CONNECTION_ERROR */
	/* a Galera node that is not (or no longer) part of the primary
	 * component: "WSREP has not yet prepared node for application use".
	 * The connection is dropped like a lost one, and the next connect
	 * goes to a node that is Synced (db_connect). */
	case ER_UNKNOWN_COM_ERROR:
		r = DB_DOWN;
		break;
	default:
		r = DB_ERR;
		break;
	}
	atomic_fetch_add(&db_errors, 1);
	fprintf(stderr, "level=error component=db result=\"%s\" error=\"%s\" "
	    "stmt=\"%.60s\"\n", db_res_str(r), db->err, sql ? sql : "");
	return r;
}

/* Closes the multi-row statements. Safe whenever no result is pending:
 * at the end of a transaction, or when a statement is about to run. */
static void
db_big_close(struct db *db)
{
	size_t i;

	for (i = 0; i < LIM_DB_BIG_STMTS && db->big[i].sql != NULL; i++) {
		if (db->cur == db->big[i].stmt)
			db->cur = NULL;
		mysql_stmt_close(db->big[i].stmt);
		db->big[i].stmt = NULL;
		db->big[i].sql = NULL;
	}
}

static void
db_disconnect(struct db *db)
{
	size_t i;

	db_big_close(db);
	for (i = 0; i < LIM_DB_STMTS_MAX; i++) {
		if (db->kept[i].stmt != NULL)
			mysql_stmt_close(db->kept[i].stmt);
		db->kept[i].stmt = NULL;
		db->kept[i].sql = NULL;
	}
	db->cur = NULL;
	if (db->my != NULL)
		mysql_close(db->my);
	db->my = NULL;
	if (db->in_txn)
		db->txn_lost = 1;
	db->in_txn = 0;
}

/* Set once at start-up (db_rw_timeout_set, db_stmts_kept_set), read by
 * every connect. */
static unsigned db_rw_timeout_s = LIM_DB_RW_S;
static size_t db_stmts_kept = LIM_DB_STMTS_MAX;

void
db_rw_timeout_set(unsigned seconds)
{
	db_rw_timeout_s = seconds;
}

size_t
db_stmts_kept_set(size_t n)
{
	db_stmts_kept = n < LIM_DB_STMTS_MIN ? LIM_DB_STMTS_MIN :
	    n > LIM_DB_STMTS_MAX ? LIM_DB_STMTS_MAX : n;
	return db_stmts_kept;
}

/* Whether the node of a new connection may take requests: on a Galera
 * node, only while it is Synced (a Joiner, Donor or a node cut off from
 * the majority refuses or serves stale data); a server without Galera
 * has no such status and always may. */
static int
db_node_ready(MYSQL *my)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ok = 0;

	if (mysql_query(my, "SHOW STATUS LIKE 'wsrep_local_state'") != 0 ||
	    (res = mysql_store_result(my)) == NULL)
		return 0;
	row = mysql_fetch_row(res);
	ok = row == NULL || (row[1] != NULL && strcmp(row[1], "4") == 0);
	mysql_free_result(res);
	return ok;
}

static enum db_res db_connect_one(struct db *, const char *, const char *,
    int);

/* Connects to the first node of the configured list that answers and is
 * ready; the result of the last attempt if none is. */
static enum db_res
db_connect(struct db *db)
{
	const char *list = db->cfg.socket != NULL ? db->cfg.socket :
	    db->cfg.host;
	char node[256];
	const char *p = list, *comma;
	size_t len, n;
	enum db_res r = DB_DOWN;

	if (list == NULL || strchr(list, ',') == NULL)
		return db_connect_one(db, db->cfg.socket, db->cfg.host, 0);
	for (n = 0; n < LIM_DB_NODES && *p != '\0'; n++) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len >= sizeof(node))
			break;
		memcpy(node, p, len);
		node[len] = '\0';
		r = db_connect_one(db, db->cfg.socket != NULL ? node : NULL,
		    db->cfg.socket != NULL ? NULL : node, 1);
		if (r == DB_OK)
			return DB_OK;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return r;
}

static enum db_res
db_connect_one(struct db *db, const char *socket, const char *host,
    int check_ready)
{
	unsigned int timeout = LIM_DB_CONNECT_S, rw = db_rw_timeout_s;
	my_bool off = 0;
	enum db_res r = DB_OK;

	db_disconnect(db);
	if ((db->my = mysql_init(NULL)) == NULL)
		return DB_ERR;
	mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(db->my, MYSQL_OPT_RECONNECT, &off);
	mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->my, MYSQL_INIT_COMMAND,
	    "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"
	    "NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,"
	    "NO_ENGINE_SUBSTITUTION', tx_isolation = 'READ-COMMITTED', "
	    "innodb_lock_wait_timeout = " LIM_STR(LIM_DB_LOCK_WAIT_S));
	if (mysql_real_connect(db->my, host, db->cfg.user,
	    db->cfg.password, db->cfg.name, db->cfg.port, socket,
	    CLIENT_FOUND_ROWS) == NULL) {
		r = db_classify(db, mysql_errno(db->my), mysql_error(db->my),
		    "connect");
		if (r == DB_ERR && mysql_errno(db->my) >= 2000)
			r = DB_DOWN;	/* any client-side failure to connect */
		mysql_close(db->my);
		db->my = NULL;
		return r == DB_ERR ? DB_ERR : DB_DOWN;
	}
	if (check_ready && !db_node_ready(db->my)) {
		snprintf(db->err, sizeof(db->err), "node %s is not Synced",
		    socket != NULL ? socket : host);
		mysql_close(db->my);
		db->my = NULL;
		return DB_DOWN;
	}
	return DB_OK;
}

struct db *
db_open(const struct db_cfg *cfg, enum db_res *res)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->cfg = *cfg;
	db->nkept = db_stmts_kept;
	*res = db_connect(db);
	return db;
}

void
db_close(struct db *db)
{
	size_t i;

	if (db == NULL)
		return;
	db_disconnect(db);
	for (i = 0; i < LIM_DB_COLS; i++)
		free(db->rbuf[i]);
	free(db);
}

/*
 * Finds or prepares the statement for this SQL text. A statement kept on
 * this connection is marked used; a new one takes a free slot, or the
 * least recently used statement's (closed here, on the server too). No
 * result is pending when this runs (db_run_bound freed it), so closing
 * any kept statement is safe.
 */
static enum db_res
db_prepare(struct db *db, const char *sql, MYSQL_STMT **out)
{
	struct db_slot *slot = &db->kept[0];
	MYSQL_STMT *st;
	enum db_res r;
	size_t i, b;

	db->uses++;
	for (i = 0; i < db->nkept; i++) {
		if (db->kept[i].sql == sql) {
			db->kept[i].used = db->uses;
			*out = db->kept[i].stmt;
			return DB_OK;
		}
		if (db->kept[i].sql == NULL) {
			/* slots fill in order and are emptied all at once
			 * (db_disconnect): the rest are free too */
			slot = &db->kept[i];
			break;
		}
		if (db->kept[i].used < slot->used)
			slot = &db->kept[i];
	}
	for (b = 0; b < LIM_DB_BIG_STMTS && db->big[b].sql != NULL; b++)
		if (db->big[b].sql == sql) {
			*out = db->big[b].stmt;
			return DB_OK;
		}
	if ((st = mysql_stmt_init(db->my)) == NULL)
		return db_classify(db, mysql_errno(db->my),
		    mysql_error(db->my), sql);
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		r = db_classify(db, mysql_stmt_errno(st),
		    mysql_stmt_error(st), sql);
		mysql_stmt_close(st);
		if (r == DB_DOWN)
			db_disconnect(db);
		return r;
	}
	if (mysql_stmt_param_count(st) > LIM_DB_PARAMS) {
		if (b == LIM_DB_BIG_STMTS) {	/* full: no result is pending */
			db_big_close(db);
			b = 0;
		}
		db->big[b].sql = sql;
		db->big[b].stmt = st;
	} else {
		if (slot->stmt != NULL) {
			mysql_stmt_close(slot->stmt);
			atomic_fetch_add(&db_evicted, 1);
		}
		slot->sql = sql;
		slot->stmt = st;
		slot->used = db->uses;
	}
	atomic_fetch_add(&db_prepared, 1);
	*out = st;
	return DB_OK;
}

static int
db_is_int_type(enum enum_field_types t)
{
	return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT ||
	    t == MYSQL_TYPE_LONG || t == MYSQL_TYPE_LONGLONG ||
	    t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_YEAR ||
	    t == MYSQL_TYPE_BIT;
}

static int
db_is_float_type(enum enum_field_types t)
{
	return t == MYSQL_TYPE_FLOAT || t == MYSQL_TYPE_DOUBLE;
}

/* Discards the unread rows of the last statement (a new statement may
 * then run); DB_DOWN when there is no connection to run it on. */
static enum db_res
db_ready(struct db *db)
{
	if (db->cur != NULL) {
		mysql_stmt_free_result(db->cur);
		db->cur = NULL;
	}
	return db->my == NULL || db->txn_lost ? DB_DOWN : DB_OK;
}

static enum db_res db_run_bound(struct db *, const char *,
    const struct db_val *, size_t, MYSQL_BIND *, unsigned long *);

/*
 * Runs a statement. Up to LIM_DB_PARAMS parameters bind from the stack;
 * a multi-row statement's (up to LIM_DB_PARAMS_MAX) from a buffer
 * allocated for this one statement and freed at once, so that a
 * connection (one per worker thread) does not keep ~170 KiB of binds
 * after a batch: the process stays small with many threads.
 */
static enum db_res
db_run(struct db *db, const char *sql, const struct db_val *params,
    size_t nparams)
{
	MYSQL_BIND pbs[LIM_DB_PARAMS], *pb = pbs;
	unsigned long plens[LIM_DB_PARAMS], *plen = plens;
	enum db_res r;

	if (nparams > LIM_DB_PARAMS_MAX)
		return DB_ERR;
	if (nparams > LIM_DB_PARAMS) {
		pb = calloc(nparams, sizeof(*pb));
		plen = calloc(nparams, sizeof(*plen));
		if (pb == NULL || plen == NULL) {
			free(pb);
			free(plen);
			return DB_ERR;
		}
	}
	r = db_run_bound(db, sql, params, nparams, pb, plen);
	if (pb != pbs) {
		free(pb);
		free(plen);
	}
	return r;
}

static enum db_res
db_run_bound(struct db *db, const char *sql, const struct db_val *params,
    size_t nparams, MYSQL_BIND *pb, unsigned long *plen)
{
	MYSQL_STMT *st = NULL;
	MYSQL_RES *meta = NULL;
	MYSQL_FIELD *f;
	my_bool one = 1;
	size_t i, ncol;
	enum db_res r;

	if ((r = db_ready(db)) != DB_OK)
		return r;
	if ((r = db_prepare(db, sql, &st)) != DB_OK)
		return r;
	if (mysql_stmt_param_count(st) != nparams) {
		fprintf(stderr, "level=error component=db error=\"parameter "
		    "count mismatch\" stmt=\"%.60s\"\n", sql);
		return DB_ERR;
	}
	memset(pb, 0, (nparams > 0 ? nparams : 1) * sizeof(*pb));
	for (i = 0; i < nparams; i++) {
		switch (params[i].t) {
		case DB_VNULL:
			pb[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DB_VINT:
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = (void *)&params[i].i;
			break;
		case DB_VTEXT:
		case DB_VBLOB:
			pb[i].buffer_type = params[i].t == DB_VTEXT ?
			    MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
			pb[i].buffer = (void *)params[i].p;
			pb[i].buffer_length = params[i].len;
			plen[i] = params[i].len;
			pb[i].length = &plen[i];
			break;
		}
	}
	if (nparams > 0 && mysql_stmt_bind_param(st, pb) != 0)
		goto fail;
	if (mysql_stmt_execute(st) != 0)
		goto fail;
	db->affected = mysql_stmt_affected_rows(st);
	db->insert_id = mysql_stmt_insert_id(st);
	if ((meta = mysql_stmt_result_metadata(st)) == NULL)
		return DB_OK;	/* not a query */

	ncol = mysql_num_fields(meta);
	if (ncol > LIM_DB_COLS) {
		mysql_free_result(meta);
		mysql_stmt_free_result(st);
		return DB_ERR;
	}
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &one);
	if (mysql_stmt_store_result(st) != 0) {
		mysql_free_result(meta);
		goto fail;
	}
	memset(db->rbind, 0, sizeof(db->rbind));
	for (i = 0; i < ncol; i++) {
		f = mysql_fetch_field_direct(meta, (unsigned int)i);
		db->rbind[i].is_null = &db->rnull[i];
		db->rbind[i].length = &db->rlen[i];
		if (db_is_int_type(f->type)) {
			db->rbind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			db->rbind[i].buffer = &db->rint[i];
			db->rbind[i].is_unsigned = 0;
		} else if (db_is_float_type(f->type)) {
			db->rbind[i].buffer_type = MYSQL_TYPE_DOUBLE;
			db->rbind[i].buffer = &db->rdbl[i];
		} else {
			size_t want = f->max_length + 1;
			if (want > db->rcap[i]) {
				char *nb = realloc(db->rbuf[i], want);
				if (nb == NULL) {
					mysql_free_result(meta);
					mysql_stmt_free_result(st);
					return DB_ERR;
				}
				db->rbuf[i] = nb;
				db->rcap[i] = want;
			}
			db->rbind[i].buffer_type = MYSQL_TYPE_STRING;
			db->rbind[i].buffer = db->rbuf[i];
			db->rbind[i].buffer_length = db->rcap[i] - 1;
		}
	}
	mysql_free_result(meta);
	db->row.ncol = ncol;
	if (mysql_stmt_bind_result(st, db->rbind) != 0)
		goto fail;
	db->cur = st;
	return DB_OK;
fail:
	r = db_classify(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
	if (r == DB_DOWN)
		db_disconnect(db);
	return r;
}

enum db_res
db_exec(struct db *db, const char *sql, const struct db_val *params,
    size_t nparams)
{
	enum db_res r;
	/* read before the statement: losing the connection ends in_txn */
	int outside = !db->in_txn && !db->txn_lost;

	r = db_run(db, sql, params, nparams);
	/*
	 * A lost connection outside a transaction is reconnected and the
	 * statement tried once more: outside a transaction only reads and
	 * single-statement writes run, and the latter are all guarded by
	 * unique keys, so a second attempt cannot apply an effect twice.
	 * Inside one, never: the statement would run on its own, without
	 * the rest of its transaction.
	 */
	if (r == DB_DOWN && outside) {
		if (db_connect(db) != DB_OK)
			return DB_DOWN;
		r = db_run(db, sql, params, nparams);
	}
	if (r == DB_DOWN)
		db->in_txn = 0;
	return r;
}

enum db_res
db_next(struct db *db, struct db_row **row)
{
	size_t i;
	int rc;

	if (db->cur == NULL)
		return DB_DONE;
	rc = mysql_stmt_fetch(db->cur);
	if (rc == MYSQL_NO_DATA) {
		mysql_stmt_free_result(db->cur);
		db->cur = NULL;
		return DB_DONE;
	}
	if (rc == 1)
		return db_classify(db, mysql_stmt_errno(db->cur),
		    mysql_stmt_error(db->cur), "fetch");
	/* rc == 0 or MYSQL_DATA_TRUNCATED: buffers were sized by max_length */
	for (i = 0; i < db->row.ncol; i++) {
		struct db_col *c = &db->row.col[i];
		c->null = db->rnull[i];
		c->s = NULL;
		c->len = 0;
		c->i = 0;
		c->d = 0;
		if (c->null)
			continue;
		if (db->rbind[i].buffer_type == MYSQL_TYPE_LONGLONG) {
			c->i = db->rint[i];
			c->d = (double)c->i;
		} else if (db->rbind[i].buffer_type == MYSQL_TYPE_DOUBLE) {
			c->d = db->rdbl[i];
			c->i = (long long)c->d;
		} else {
			size_t n = db->rlen[i] < db->rcap[i] - 1 ?
			    db->rlen[i] : db->rcap[i] - 1;
			db->rbuf[i][n] = '\0';
			c->s = db->rbuf[i];
			c->len = n;
			c->i = strtoll(c->s, NULL, 10);
			c->d = strtod(c->s, NULL);
		}
	}
	*row = &db->row;
	return DB_ROW;
}

enum db_res
db_one(struct db *db, const char *sql, const struct db_val *params,
    size_t nparams, struct db_row **row)
{
	enum db_res r;

	if ((r = db_exec(db, sql, params, nparams)) != DB_OK)
		return r;
	r = db_next(db, row);
	return r == DB_DONE ? DB_NOTFOUND : r;
}

unsigned long long
db_affected(const struct db *db)
{
	return db->affected;
}

unsigned long long
db_insert_id(const struct db *db)
{
	return db->insert_id;
}

/*
 * Multi-row statement texts: one slot per (struct db_multi, power of two),
 * built on first use under a mutex and never freed (a few KiB each, a few
 * dozen in all). The list is short and searched linearly.
 */
#define DB_MULTI_SIZES	8	/* 1, 2, 4, ... LIM_DB_ROWS_MAX (128) */
#define DB_MULTI_SLOTS	64	/* distinct struct db_multi in the program */

struct db_multi_slot {
	const struct db_multi	*m;
	char			*text[DB_MULTI_SIZES];
};

static pthread_mutex_t db_multi_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_multi_slot db_multi_slots[DB_MULTI_SLOTS];

static char *
db_multi_build(const struct db_multi *m, size_t n)
{
	size_t hl = strlen(m->head), ul = strlen(m->unit), sl = strlen(m->sep),
	    tl = strlen(m->tail), len, i;
	char *t, *p;

	len = hl + n * ul + (n - 1) * sl + tl + 1;
	if ((t = malloc(len)) == NULL)
		return NULL;
	p = t;
	memcpy(p, m->head, hl);
	p += hl;
	for (i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(p, m->sep, sl);
			p += sl;
		}
		memcpy(p, m->unit, ul);
		p += ul;
	}
	memcpy(p, m->tail, tl + 1);
	return t;
}

const char *
db_multi_sql(const struct db_multi *m, size_t n)
{
	struct db_multi_slot *s = NULL;
	const char *out = NULL;
	size_t i, k;

	for (k = 0; k < DB_MULTI_SIZES && ((size_t)1 << k) != n; k++)
		;
	if (k == DB_MULTI_SIZES || n > LIM_DB_ROWS_MAX)
		return NULL;
	pthread_mutex_lock(&db_multi_lock);
	for (i = 0; i < DB_MULTI_SLOTS; i++) {
		if (db_multi_slots[i].m == m || db_multi_slots[i].m == NULL) {
			s = &db_multi_slots[i];
			break;
		}
	}
	if (s == NULL) {
		fprintf(stderr, "level=error component=db error=\"multi-row "
		    "statement table full: raise DB_MULTI_SLOTS\"\n");
		goto out;
	}
	s->m = m;
	if (s->text[k] == NULL)
		s->text[k] = db_multi_build(m, n);
	out = s->text[k];
out:
	pthread_mutex_unlock(&db_multi_lock);
	return out;
}

size_t
db_multi_take(size_t n)
{
	size_t k = LIM_DB_ROWS_MAX;

	while (k > n)
		k >>= 1;
	return k;
}

size_t
db_multi_pad(size_t n)
{
	return n <= 8 ? 8 : n <= 32 ? 32 : LIM_DB_ROWS_MAX;
}

/*
 * Transaction control over the text protocol (COM_QUERY): the same one
 * round trip as executing a prepared statement, without a statement
 * handle kept on every connection for each of them. Unread rows of the
 * last statement are discarded first, as db_exec does.
 */
static enum db_res
db_query(struct db *db, const char *sql)
{
	enum db_res r;

	if ((r = db_ready(db)) != DB_OK)
		return r;
	if (mysql_real_query(db->my, sql, (unsigned long)strlen(sql)) != 0) {
		r = db_classify(db, mysql_errno(db->my), mysql_error(db->my),
		    sql);
		if (r == DB_DOWN)
			db_disconnect(db);
		return r;
	}
	db->affected = mysql_affected_rows(db->my);
	db->insert_id = mysql_insert_id(db->my);
	return DB_OK;
}

enum db_res
db_begin(struct db *db)
{
	enum db_res r;

	db->txn_lost = 0;
	if (db->my == NULL && (r = db_connect(db)) != DB_OK)
		return r;
	db->in_txn = 0;
	/* a stale handle (the server closed it while idle) is reconnected
	 * and the START sent again: nothing has happened on it yet */
	r = db_query(db, "START TRANSACTION");
	if (r == DB_DOWN) {
		if ((r = db_connect(db)) != DB_OK)
			return r;
		r = db_query(db, "START TRANSACTION");
	}
	if (r == DB_OK)
		db->in_txn = 1;
	return r;
}

enum db_res
db_commit(struct db *db)
{
	enum db_res r;

	r = db_query(db, "COMMIT");
	db->in_txn = 0;
	db->txn_lost = 0;
	db_big_close(db);
	return r;
}

void
db_rollback(struct db *db)
{
	if (db->my != NULL && db->in_txn)
		(void)db_query(db, "ROLLBACK");
	db->in_txn = 0;
	db->txn_lost = 0;
	db_big_close(db);
}

enum db_res
db_savepoint(struct db *db)
{
	return db_query(db, "SAVEPOINT effect");
}

void
db_rollback_savepoint(struct db *db)
{
	(void)db_query(db, "ROLLBACK TO SAVEPOINT effect");
}

enum db_res
db_savepoint_step(struct db *db)
{
	return db_query(db, "SAVEPOINT step");
}

enum db_res
db_rollback_step(struct db *db)
{
	return db_query(db, "ROLLBACK TO SAVEPOINT step");
}

int
db_in_txn(const struct db *db)
{
	return db->in_txn;
}

/* COM_PING: no statement to keep. Outside a transaction a lost
 * connection is reconnected and asked once more, as db_exec does. */
enum db_res
db_ping(struct db *db)
{
	enum db_res r = DB_OK;
	int again = !db->in_txn;

	if (db->my == NULL && (r = db_connect(db)) != DB_OK)
		return r;
	for (;;) {
		if (mysql_ping(db->my) == 0) {
			r = DB_OK;
			break;
		}
		r = db_classify(db, mysql_errno(db->my), mysql_error(db->my),
		    "ping");
		if (r != DB_DOWN)
			break;
		db_disconnect(db);
		if (!again || (r = db_connect(db)) != DB_OK)
			break;
		again = 0;
	}
	return r;
}

enum db_res
db_script(struct db *db, const char *text)
{
	const char *p = text, *end;
	char *stmt;
	size_t n;
	enum db_res r = DB_OK;

	if (db->my == NULL && (r = db_connect(db)) != DB_OK)
		return r;
	while (*p != '\0') {
		/* a statement ends at ';' followed by end of line */
		end = p;
		while (*end != '\0' && !(*end == ';' &&
		    (end[1] == '\n' || end[1] == '\0' || end[1] == '\r')))
			end++;
		n = (size_t)(end - p);
		if ((stmt = malloc(n + 1)) == NULL)
			return DB_ERR;
		memcpy(stmt, p, n);
		stmt[n] = '\0';
		if (strspn(stmt, " \t\r\n") != n) {
			/* skip pure comment chunks */
			const char *q = stmt;
			int only_comments = 1;
			while (*q != '\0') {
				q += strspn(q, " \t\r\n");
				if (q[0] == '-' && q[1] == '-') {
					q += strcspn(q, "\n");
					continue;
				}
				if (*q != '\0')
					only_comments = 0;
				break;
			}
			if (!only_comments && mysql_real_query(db->my, stmt,
			    (unsigned long)n) != 0) {
				r = db_classify(db, mysql_errno(db->my),
				    mysql_error(db->my), stmt);
				free(stmt);
				return r;
			}
		}
		free(stmt);
		p = *end == ';' ? end + 1 : end;
	}
	return DB_OK;
}
