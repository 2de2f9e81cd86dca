/*
 * test_db.c: sql/db.c against a real MariaDB: results are classified
 * (duplicate, CHECK), transactions roll back, and a killed connection is
 * reconnected explicitly at the next transaction, never inside one.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/integration/itest.h"

static const char *const q_insert_district = "INSERT INTO districts (code, "
    "name, population, updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))";
static const char *const q_district = "SELECT name, population FROM "
    "districts WHERE code = ?";
static const char *const q_conn_id = "SELECT CONNECTION_ID()";
static const char *const q_kill = "KILL CONNECTION ?";

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exec__duplicate_key__reported_as_dup),
		cmocka_unit_test(exec__check_constraint__reported_as_check),
		cmocka_unit_test(one__text_and_int_columns__read_back),
		cmocka_unit_test(rollback__uncommitted_insert__gone),
		cmocka_unit_test(killed_connection__next_begin__reconnects),
	};

	return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
