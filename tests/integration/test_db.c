/*
 * test_db.c: sql/db.c against a real MariaDB: results are classified
 * (duplicate, CHECK), transactions and savepoints roll back, a killed
 * connection is reconnected explicitly at the next transaction (or ping),
 * never inside one, a connection keeps only its most recently used
 * statements, and transaction control prepares no statement.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sql/perkd_limits.h"
#include "tests/integration/itest.h"

static const char *const q_insert_district = "INSERT INTO districts (code, "
    "name, population, updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))";
static const char *const q_district = "SELECT name, population FROM "
    "districts WHERE code = ?";
static const char *const q_conn_id = "SELECT CONNECTION_ID()";
static const char *const q_kill = "KILL CONNECTION ?";

/* the session's own counts of statements prepared and closed: what the
 * server saw, not what the client believes */
static const char *const q_stmt_counts = "SELECT "
    "MAX(IF(VARIABLE_NAME = 'COM_STMT_PREPARE', CAST(VARIABLE_VALUE AS "
    "UNSIGNED), 0)), MAX(IF(VARIABLE_NAME = 'COM_STMT_CLOSE', "
    "CAST(VARIABLE_VALUE AS UNSIGNED), 0)) FROM "
    "information_schema.SESSION_STATUS WHERE VARIABLE_NAME IN "
    "('COM_STMT_PREPARE', 'COM_STMT_CLOSE')";
/* one more distinct text than the fewest statements a connection keeps */
static const char *const q_numbered[] = {
	"SELECT 0", "SELECT 1", "SELECT 2", "SELECT 3", "SELECT 4",
	"SELECT 5", "SELECT 6", "SELECT 7", "SELECT 8", "SELECT 9",
	"SELECT 10", "SELECT 11", "SELECT 12", "SELECT 13", "SELECT 14",
	"SELECT 15", "SELECT 16",
};
_Static_assert(sizeof(q_numbered) / sizeof(q_numbered[0]) ==
    LIM_DB_STMTS_MIN + 1, "q_numbered: LIM_DB_STMTS_MIN + 1 texts");

static const struct db_multi q_multi_insert = { "INSERT INTO districts "
    "(code, name, population, updated_at) VALUES ",
    "(?, ?, ?, UTC_TIMESTAMP(6))", ", ", "" };
static const struct db_multi q_multi_in = { "SELECT COUNT(*), "
    "COALESCE(SUM(population), 0) FROM districts WHERE code IN (", "?", ", ",
    ")" };

static void
multi__powers_of_two__one_text_each_and_many_params_bound(void **state)
{
	struct itest *t = *state;
	struct db_val v[LIM_DB_ROWS_MAX * 3];
	char codes[LIM_DB_ROWS_MAX][16];
	struct db_row *row;
	const char *sql;
	size_t i;

	/* sizes: powers of two up to LIM_DB_ROWS_MAX, the same text again */
	assert_null(db_multi_sql(&q_multi_in, 3));
	assert_null(db_multi_sql(&q_multi_in, LIM_DB_ROWS_MAX * 2));
	assert_ptr_equal(db_multi_sql(&q_multi_in, 4),
	    db_multi_sql(&q_multi_in, 4));
	assert_string_equal(db_multi_sql(&q_multi_in, 2), "SELECT COUNT(*), "
	    "COALESCE(SUM(population), 0) FROM districts WHERE code IN (?, ?)");
	assert_int_equal(db_multi_take(1000), LIM_DB_ROWS_MAX);
	assert_int_equal(db_multi_take(100), 64);
	assert_int_equal(db_multi_take(1), 1);
	assert_int_equal(db_multi_pad(5), 8);
	assert_int_equal(db_multi_pad(33), LIM_DB_ROWS_MAX);

	/* LIM_DB_ROWS_MAX rows of 3 values: far beyond the stack binds */
	for (i = 0; i < LIM_DB_ROWS_MAX; i++) {
		snprintf(codes[i], sizeof(codes[i]), "m%zu", i);
		v[i * 3] = db_text(codes[i]);
		v[i * 3 + 1] = db_text("Multi");
		v[i * 3 + 2] = db_int((long long)i);
	}
	sql = db_multi_sql(&q_multi_insert, LIM_DB_ROWS_MAX);
	assert_non_null(sql);
	assert_int_equal(db_exec(t->db, sql, v, LIM_DB_ROWS_MAX * 3), DB_OK);
	assert_int_equal(db_affected(t->db), LIM_DB_ROWS_MAX);
	/* an IN list padded with a repeated value counts it once */
	for (i = 0; i < 32; i++)
		v[i] = db_text(codes[i < 20 ? i : 19]);
	assert_int_equal(db_one(t->db, db_multi_sql(&q_multi_in, 32), v, 32,
	    &row), DB_ROW);
	assert_int_equal(row->col[0].i, 20);
	assert_int_equal(row->col[1].i, 19 * 20 / 2);
	/* the wrong number of values is refused, not run */
	assert_int_equal(db_exec(t->db, sql, v, 3), DB_ERR);
}

static void
exec__duplicate_key__reported_as_dup(void **state)
{
	struct itest *t = *state;
	struct db_val p[] = { db_text("north"), db_text("North"), db_int(100) };

	assert_int_equal(db_exec(t->db, q_insert_district, p, 3), DB_OK);
	assert_int_equal(db_exec(t->db, q_insert_district, p, 3), DB_DUP);
}

static void
exec__check_constraint__reported_as_check(void **state)
{
	struct itest *t = *state;
	struct db_val p[] = { db_text("neg"), db_text("Negative"), db_int(-1) };

	assert_int_equal(db_exec(t->db, q_insert_district, p, 3), DB_CHECK);
}

static void
one__text_and_int_columns__read_back(void **state)
{
	struct itest *t = *state;
	struct db_val p[] = { db_text("utf"), db_text("Zh\xc5\x8dngsh\xc4\x81n \xe4\xb8\xad\xe5\xb1\xb1"),
	    db_int(123456789012LL) };
	struct db_val q[] = { db_text("utf") };
	struct db_row *row;

	assert_int_equal(db_exec(t->db, q_insert_district, p, 3), DB_OK);
	assert_int_equal(db_one(t->db, q_district, q, 1, &row), DB_ROW);
	assert_string_equal(row->col[0].s, "Zh\xc5\x8dngsh\xc4\x81n \xe4\xb8\xad\xe5\xb1\xb1");
	assert_int_equal(row->col[1].i, 123456789012LL);
	struct db_val none[] = { db_text("absent") };
	assert_int_equal(db_one(t->db, q_district, none, 1, &row), DB_NOTFOUND);
}

static void
rollback__uncommitted_insert__gone(void **state)
{
	struct itest *t = *state;
	struct db_val p[] = { db_text("ghost"), db_text("Ghost"), db_int(1) };
	struct db_val q[] = { db_text("ghost") };
	struct db_row *row;

	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(db_exec(t->db, q_insert_district, p, 3), DB_OK);
	db_rollback(t->db);
	assert_int_equal(db_one(t->db, q_district, q, 1, &row), DB_NOTFOUND);
}

static void
killed_connection__next_begin__reconnects(void **state)
{
	struct itest *t = *state;
	struct db_cfg cfg = { getenv("PERKD_TEST_DB_SOCKET"), NULL, 0, t->name,
	    "root", NULL };
	struct db_row *row;
	struct db *other;
	enum db_res r;
	long long id;

	assert_int_equal(db_one(t->db, q_conn_id, NULL, 0, &row), DB_ROW);
	id = row->col[0].i;
	other = db_open(&cfg, &r);
	assert_int_equal(r, DB_OK);
	struct db_val k[] = { db_int(id) };
	assert_int_equal(db_exec(other, q_kill, k, 1), DB_OK);
	db_close(other);
	/* inside a transaction the loss is reported, not papered over */
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(db_one(t->db, q_conn_id, NULL, 0, &row), DB_ROW);
	assert_int_not_equal(row->col[0].i, id);
	db_rollback(t->db);
}

/* Statements prepared and closed on db's session so far. */
static void
stmt_counts(struct db *db, long long *prepared, long long *closed)
{
	struct db_row *row;

	assert_int_equal(db_one(db, q_stmt_counts, NULL, 0, &row), DB_ROW);
	*prepared = row->col[0].i;
	*closed = row->col[1].i;
}

/* Runs q_numbered[n] on db and checks that it answers n. */
static void
numbered(struct db *db, size_t n)
{
	struct db_row *row;

	assert_int_equal(db_one(db, q_numbered[n], NULL, 0, &row), DB_ROW);
	assert_int_equal(row->col[0].i, (long long)n);
}

static void
stmts__more_texts_than_kept__least_recent_closed_and_prepared_again(
    void **state)
{
	struct itest *t = *state;
	struct db_cfg cfg;
	struct db *db;
	enum db_res r;
	long long p0, c0, p, c;
	unsigned long long prep0, evict0, prep, evict;
	size_t i, n = LIM_DB_STMTS_MIN - 1;	/* q_stmt_counts is one more */

	assert_int_equal(db_stmts_kept_set(1), LIM_DB_STMTS_MIN);
	itest_db_cfg(t->name, &cfg);
	db = db_open(&cfg, &r);
	assert_int_equal(db_stmts_kept_set(LIM_DB_STMTS_MAX), LIM_DB_STMTS_MAX);
	assert_non_null(db);
	assert_int_equal(r, DB_OK);

	stmt_counts(db, &p0, &c0);
	for (i = 0; i < n; i++)
		numbered(db, i);
	stmt_counts(db, &p, &c);
	assert_int_equal(p - p0, n);		/* the connection is full now */
	for (i = 0; i < n; i++)
		numbered(db, i);
	stmt_counts(db, &p0, &c0);
	assert_int_equal(p0, p);		/* all kept: none prepared */
	assert_int_equal(c0, c);

	db_stmt_counts(&prep0, &evict0);
	numbered(db, n);			/* one more: q_numbered[0] goes */
	stmt_counts(db, &p, &c);
	assert_int_equal(p - p0, 1);
	assert_int_equal(c - c0, 1);		/* closed on the server too */
	db_stmt_counts(&prep, &evict);		/* and counted for /metrics */
	assert_int_equal(prep - prep0, 1);
	assert_int_equal(evict - evict0, 1);
	numbered(db, 1);			/* still kept */
	stmt_counts(db, &p0, &c0);
	assert_int_equal(p0, p);
	assert_int_equal(c0, c);
	numbered(db, 0);			/* prepared again, q_numbered[2] goes */
	stmt_counts(db, &p, &c);
	assert_int_equal(p - p0, 1);
	assert_int_equal(c - c0, 1);
	numbered(db, 2);
	stmt_counts(db, &p0, &c0);
	assert_int_equal(p0 - p, 1);
	db_close(db);
}

static void
transaction_control__begin_savepoints_commit_ping__prepare_nothing(
    void **state)
{
	struct itest *t = *state;
	long long p0, c0, p, c;

	stmt_counts(t->db, &p0, &c0);
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(db_savepoint(t->db), DB_OK);
	assert_int_equal(db_savepoint_step(t->db), DB_OK);
	assert_int_equal(db_rollback_step(t->db), DB_OK);
	db_rollback_savepoint(t->db);
	assert_int_equal(db_commit(t->db), DB_OK);
	assert_int_equal(db_begin(t->db), DB_OK);
	db_rollback(t->db);
	assert_int_equal(db_ping(t->db), DB_OK);
	stmt_counts(t->db, &p, &c);
	assert_int_equal(p, p0);
	assert_int_equal(c, c0);
}

static void
savepoints__effect_and_step__each_undoes_only_what_followed_it(void **state)
{
	struct itest *t = *state;
	struct db_val a[] = { db_text("spa"), db_text("A"), db_int(1) };
	struct db_val b[] = { db_text("spb"), db_text("B"), db_int(1) };
	struct db_val c[] = { db_text("spc"), db_text("C"), db_int(1) };
	struct db_val qa[] = { db_text("spa") }, qb[] = { db_text("spb") },
	    qc[] = { db_text("spc") };
	struct db_row *row;

	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(db_savepoint(t->db), DB_OK);
	assert_int_equal(db_exec(t->db, q_insert_district, a, 3), DB_OK);
	db_rollback_savepoint(t->db);		/* undoes a */
	assert_int_equal(db_exec(t->db, q_insert_district, b, 3), DB_OK);
	assert_int_equal(db_savepoint_step(t->db), DB_OK);
	assert_int_equal(db_exec(t->db, q_insert_district, c, 3), DB_OK);
	assert_int_equal(db_rollback_step(t->db), DB_OK);	/* undoes c */
	assert_int_equal(db_commit(t->db), DB_OK);
	assert_false(db_in_txn(t->db));
	assert_int_equal(db_one(t->db, q_district, qa, 1, &row), DB_NOTFOUND);
	assert_int_equal(db_one(t->db, q_district, qb, 1, &row), DB_ROW);
	assert_int_equal(db_one(t->db, q_district, qc, 1, &row), DB_NOTFOUND);
}

/* Kills db's session from another connection. */
static void
kill_session(struct itest *t, struct db *db)
{
	struct db_cfg cfg;
	struct db_row *row;
	struct db *other;
	enum db_res r;

	assert_int_equal(db_one(db, q_conn_id, NULL, 0, &row), DB_ROW);
	struct db_val k[] = { db_int(row->col[0].i) };
	itest_db_cfg(t->name, &cfg);
	other = db_open(&cfg, &r);
	assert_int_equal(r, DB_OK);
	assert_int_equal(db_exec(other, q_kill, k, 1), DB_OK);
	db_close(other);
}

static void
killed_connection__ping__reconnects_outside_a_transaction_only(void **state)
{
	struct itest *t = *state;

	kill_session(t, t->db);
	assert_int_equal(db_ping(t->db), DB_OK);	/* reconnected */
	assert_int_equal(db_begin(t->db), DB_OK);
	kill_session(t, t->db);
	/* kill_session ran a statement: still inside the transaction */
	assert_int_equal(db_ping(t->db), DB_DOWN);
	assert_false(db_in_txn(t->db));
	assert_int_equal(db_ping(t->db), DB_OK);	/* the next one does */
}

/*
 * A connection lost inside a transaction loses the whole transaction: the
 * statement that found it lost, and every later one until the transaction
 * ends, answer DB_DOWN; none is sent again on a new connection, where it
 * would commit on its own (with a Galera cluster, or a server back at
 * once, a reconnect succeeds: an award's ledger row without its award).
 */
static void
killed_connection__inside_a_transaction__nothing_runs_in_autocommit(
    void **state)
{
	struct itest *t = *state;
	struct db_val a[] = { db_text("lost-a"), db_text("A"), db_int(1) };
	struct db_val b[] = { db_text("lost-b"), db_text("B"), db_int(1) };
	struct db_val qa[] = { db_text("lost-a") }, qb[] = { db_text("lost-b") };
	struct db_row *row;

	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(db_exec(t->db, q_insert_district, a, 3), DB_OK);
	kill_session(t, t->db);
	assert_int_equal(db_exec(t->db, q_insert_district, b, 3), DB_DOWN);
	/* a later statement of the same transaction is refused too */
	assert_int_equal(db_exec(t->db, q_insert_district, b, 3), DB_DOWN);
	assert_int_equal(db_commit(t->db), DB_DOWN);
	db_rollback(t->db);
	/* the next transaction reconnects; neither row was written */
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(db_one(t->db, q_district, qa, 1, &row), DB_NOTFOUND);
	assert_int_equal(db_one(t->db, q_district, qb, 1, &row), DB_NOTFOUND);
	db_rollback(t->db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(multi__powers_of_two__one_text_each_and_many_params_bound),
		cmocka_unit_test(exec__duplicate_key__reported_as_dup),
		cmocka_unit_test(exec__check_constraint__reported_as_check),
		cmocka_unit_test(one__text_and_int_columns__read_back),
		cmocka_unit_test(rollback__uncommitted_insert__gone),
		cmocka_unit_test(killed_connection__next_begin__reconnects),
		cmocka_unit_test(stmts__more_texts_than_kept__least_recent_closed_and_prepared_again),
		cmocka_unit_test(transaction_control__begin_savepoints_commit_ping__prepare_nothing),
		cmocka_unit_test(savepoints__effect_and_step__each_undoes_only_what_followed_it),
		cmocka_unit_test(killed_connection__ping__reconnects_outside_a_transaction_only),
		cmocka_unit_test(killed_connection__inside_a_transaction__nothing_runs_in_autocommit),
	};

	return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
