/*
 * test_access.c: the access log and its group-commit writer
 * (loyalty/ly_access.c), on a real MariaDB: rows noted from many threads
 * at once are each committed exactly once before the call returns; a row
 * noted inside a transaction belongs to it; without the writer rows go
 * through the caller's own connection.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"

#define T_THREADS	16
#define T_NOTES		40	/* per thread */

static long long
t_count(struct itest *t, const char *where)
{
	static const char *const q[] = {
		"SELECT COUNT(*) FROM access_log",
		"SELECT COUNT(*) FROM access_log WHERE action = 'pass_check'",
	};
	struct db_row *row;

	assert_int_equal(db_one(t->db, q[strcmp(where, "all") != 0], NULL, 0,
	    &row), DB_ROW);
	return row->col[0].i;
}

struct t_noter {
	struct itest		*t;
	pthread_barrier_t	*bar;
	long long		 k;	/* this thread's member ids: k * 1000 + n */
	int			 ok;	/* notes that returned LY_OK */
	int			 seen;	/* of those, rows found committed */
};

/* Notes T_NOTES rows through its own connection; after each, another
 * connection must already see the row (committed before the return). */
static void *
t_noter(void *arg)
{
	struct t_noter *x = arg;
	struct db_cfg cfg;
	struct db *db, *look;
	struct db_row *row;
	enum db_res r;
	long long member;
	int i;

	itest_db_cfg(x->t->name, &cfg);
	db = db_open(&cfg, &r);
	look = db_open(&cfg, &r);
	pthread_barrier_wait(x->bar);
	for (i = 0; db != NULL && look != NULL && i < T_NOTES; i++) {
		member = x->k * 1000 + i;
		if (ly_access_note(db, (uint64_t)member, 7, "pass_check") !=
		    LY_OK)
			continue;
		x->ok++;
		struct db_val p[] = { db_int(member) };
		if (db_one(look, "SELECT COUNT(*) FROM access_log WHERE "
		    "member_id = ?", p, 1, &row) == DB_ROW && row->col[0].i == 1)
			x->seen++;
	}
	db_close(look);
	db_close(db);
	return NULL;
}

static void
writer__parallel_notes__each_committed_once_before_return(void **state)
{
	struct itest *t = *state;
	struct t_noter x[T_THREADS];
	pthread_t th[T_THREADS];
	pthread_barrier_t bar;
	struct db_cfg cfg;
	int i, ok = 0, seen = 0;

	itest_db_cfg(t->name, &cfg);
	assert_int_equal(ly_access_start(&cfg), 0);
	pthread_barrier_init(&bar, NULL, T_THREADS);
	for (i = 0; i < T_THREADS; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].t = t;
		x[i].bar = &bar;
		x[i].k = i + 1;
		assert_int_equal(pthread_create(&th[i], NULL, t_noter, &x[i]),
		    0);
	}
	for (i = 0; i < T_THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += x[i].ok;
		seen += x[i].seen;
	}
	pthread_barrier_destroy(&bar);
	ly_access_stop();
	assert_int_equal(ok, T_THREADS * T_NOTES);
	assert_int_equal(seen, T_THREADS * T_NOTES);
	assert_int_equal(t_count(t, "pass_check"), T_THREADS * T_NOTES);
}

static void
note__inside_a_transaction__belongs_to_it(void **state)
{
	struct itest *t = *state;
	struct db_cfg cfg;

	/* even with the writer running, a row of a transaction is written
	 * in it, and a rollback takes it away */
	itest_db_cfg(t->name, &cfg);
	assert_int_equal(ly_access_start(&cfg), 0);
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_access_note(t->db, 1, 2, "voucher_use"), LY_OK);
	db_rollback(t->db);
	assert_int_equal(t_count(t, "all"), 0);
	assert_int_equal(db_begin(t->db), DB_OK);
	assert_int_equal(ly_access_note(t->db, 1, 2, "voucher_use"), LY_OK);
	assert_int_equal(db_commit(t->db), DB_OK);
	assert_int_equal(t_count(t, "all"), 1);
	ly_access_stop();
}

static void
note__without_writer__own_connection_own_transaction(void **state)
{
	struct itest *t = *state;

	ly_access_stop();	/* harmless when it does not run */
	assert_int_equal(ly_access_note(t->db, 3, 4, "pass_check"), LY_OK);
	assert_int_equal(t_count(t, "pass_check"), 1);
	/* a bad action is refused by the column, not stored */
	assert_int_not_equal(ly_access_note(t->db, 3, 4, "peek"), LY_OK);
	assert_int_equal(t_count(t, "all"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    writer__parallel_notes__each_committed_once_before_return,
		    itest_setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
		    note__inside_a_transaction__belongs_to_it,
		    itest_setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
		    note__without_writer__own_connection_own_transaction,
		    itest_setup, itest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
