/*
 * db.h: the one door to MariaDB. Only sql/db.c includes <mysql.h>.
 *
 * A struct db is one connection, owned by one thread. Statements are
 * identified by the address of their text in a module's statement table
 * (a `static const char *const xx_stmts[XX__MAX]`); each is prepared on a
 * connection at first use and reused while the connection keeps it (the
 * most recently used ones, db_stmts_kept_set()). Values go in only through
 * struct db_val; results come back one row at a time as struct db_row,
 * whose text buffers belong to the connection and stay valid until the
 * next statement runs on it.
 *
 * Connector/C's auto-reconnect is off: a lost connection is reported as
 * DB_DOWN, the kept statements are dropped, and the next db_begin() (or a
 * read outside a transaction) reconnects explicitly, so that a reconnect
 * never silently happens inside a transaction.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_WARN_UNUSED __attribute__((warn_unused_result))

enum db_res {
	DB_OK = 0,	/* statement ran */
	DB_ROW,		/* db_next: a row is available */
	DB_DONE,	/* db_next: no more rows */
	DB_NOTFOUND,	/* db_one: no row */
	DB_DUP,		/* unique key violated (1062) */
	DB_CHECK,	/* CHECK constraint violated (4025) */
	DB_RETRY,	/* deadlock (1213) or lock wait timeout (1205) */
	DB_DOWN,	/* server unreachable or connection lost */
	DB_ERR,		/* anything else: logged where it happened */
	DB_RES__MAX
};

enum db_vtype { DB_VNULL, DB_VINT, DB_VTEXT, DB_VBLOB };

/* A bound parameter. Text and blobs are borrowed, not copied. */
struct db_val {
	enum db_vtype	 t;
	long long	 i;
	const void	*p;
	size_t		 len;
};

static inline struct db_val db_int(long long i)
{ struct db_val v = { DB_VINT, i, NULL, 0 }; return v; }
static inline struct db_val db_null(void)
{ struct db_val v = { DB_VNULL, 0, NULL, 0 }; return v; }
struct db_val db_text(const char *s);	/* NULL text binds SQL NULL */
static inline struct db_val db_blob(const void *p, size_t len)
{ struct db_val v = { DB_VBLOB, 0, p, len }; return v; }

/* One column of a fetched row. Integer columns fill i (and d); text,
 * date and decimal columns fill s/len (NUL-terminated) and also i and d
 * parsed from the text, so SUM() results read naturally. */
struct db_col {
	int		 null;
	long long	 i;
	double		 d;
	const char	*s;
	size_t		 len;
};

struct db_row {
	size_t		 ncol;
	struct db_col	 col[32];	/* LIM_DB_COLS */
};

/*
 * socket or host may list several database nodes, comma-separated (at most
 * LIM_DB_NODES): a Galera cluster's nodes in the order they are to be
 * used. A connection goes to the first node that answers and, when there
 * are several, reports itself Synced; so every perkd process writes
 * through the same node until it fails (docs/cluster.md: one writer at a
 * time).
 */
struct db_cfg {
	const char	*socket;	/* unix socket(s), or NULL for TCP */
	const char	*host;
	unsigned	 port;
	const char	*name;
	const char	*user;
	const char	*password;
};

struct db;

/* Library setup/teardown, once per process and once per thread. */
int	 db_library_init(void);
void	 db_library_end(void);
void	 db_thread_init(void);
void	 db_thread_end(void);

/* Allocates a handle and connects. The handle is returned even when the
 * connection fails (*res = DB_DOWN), so that a later call can reconnect.
 * Returns NULL only when out of memory. Free with db_close(). */
struct db	*db_open(const struct db_cfg *cfg, enum db_res *res);
/* The read/write timeout of connections opened from now on, in seconds
 * (default LIM_DB_RW_S, perkd's; perkctl's long scans set
 * LIM_DB_RW_TOOL_S). Call before the first db_open(). */
void		 db_rw_timeout_set(unsigned seconds);
/* How many prepared statements each connection opened from now on keeps:
 * n clamped to LIM_DB_STMTS_MIN..LIM_DB_STMTS_MAX (the default is the
 * maximum); returns the count set. Running another statement then closes
 * the least recently used one, and running that again prepares it again.
 * Call before the first db_open(). */
size_t		 db_stmts_kept_set(size_t n);
void		 db_close(struct db *db);	/* NULL is a no-op */

/* Runs a statement; for SELECTs, the rows are then read with db_next().
 * A new db_exec() on the same connection discards unread rows. */
enum db_res	 db_exec(struct db *db, const char *sql,
		    const struct db_val *params, size_t nparams) DB_WARN_UNUSED;
enum db_res	 db_next(struct db *db, struct db_row **row) DB_WARN_UNUSED;
/* Runs a query and fetches its first row: DB_ROW, DB_NOTFOUND or an error. */
enum db_res	 db_one(struct db *db, const char *sql,
		    const struct db_val *params, size_t nparams,
		    struct db_row **row) DB_WARN_UNUSED;
unsigned long long db_affected(const struct db *db);
unsigned long long db_insert_id(const struct db *db);

/* Transactions. db_begin() reconnects first if the connection was lost. */
enum db_res	 db_begin(struct db *db) DB_WARN_UNUSED;
enum db_res	 db_commit(struct db *db) DB_WARN_UNUSED;
void		 db_rollback(struct db *db);
enum db_res	 db_savepoint(struct db *db) DB_WARN_UNUSED;
void		 db_rollback_savepoint(struct db *db);
/* A second savepoint ("step"), for a domain function that must undo part
 * of its own work and try again inside the caller's transaction, without
 * touching the caller's ("effect"). Row locks taken after it are kept. */
enum db_res	 db_savepoint_step(struct db *db) DB_WARN_UNUSED;
enum db_res	 db_rollback_step(struct db *db) DB_WARN_UNUSED;
int		 db_in_txn(const struct db *db);

/* DB_OK when the server answers, reconnecting if needed. */
enum db_res	 db_ping(struct db *db) DB_WARN_UNUSED;
/* Runs a whole SQL script (migrations): statements separated by ';' at
 * the end of a line. Not for request-time use. */
enum db_res	 db_script(struct db *db, const char *text) DB_WARN_UNUSED;

/*
 * A statement whose middle part repeats n times, for multi-row INSERTs and
 * IN lists: head, then unit n times separated by sep, then tail. Only the
 * shape repeats, never a value: every value still goes through a `?`.
 */
struct db_multi {
	const char	*head;
	const char	*unit;
	const char	*sep;
	const char	*tail;
};

/* The text of m with n units, n a power of two from 1 to LIM_DB_ROWS_MAX;
 * built once per process and kept until exit (its address is stable, so
 * it is kept prepared on a connection like any statement table entry).
 * NULL when n is not allowed or memory runs out. */
const char	*db_multi_sql(const struct db_multi *m, size_t n);
/* The largest allowed unit count <= n (n >= 1): how many rows the next
 * multi-row INSERT takes from n waiting. */
size_t		 db_multi_take(size_t n);
/* The smallest allowed unit count >= n (1 <= n <= LIM_DB_ROWS_MAX), for
 * IN lists padded with a repeated value. Only 8, 32 and 128 are used, to
 * keep the number of prepared texts small. */
size_t		 db_multi_pad(size_t n);

const char	*db_res_str(enum db_res r);
/* The last server error text, for logging only (never sent to clients). */
const char	*db_error(const struct db *db);
/* Count of DB_DOWN/DB_ERR results since start, for /metrics. */
unsigned long long db_error_count(void);
/* Statements prepared since start, and how many of them replaced a kept
 * statement (the least recently used; see db_stmts_kept_set): a count
 * that keeps rising under steady traffic says the budget is too small. */
void		 db_stmt_counts(unsigned long long *prepared,
		    unsigned long long *evicted);

#endif /* DB_H */
