/*
 * itest.h: integration-test support. Each test group gets a throw-away
 * database, built from sql/ on the MariaDB at $PERKD_TEST_DB_SOCKET, and
 * dropped afterwards.
 */
#ifndef ITEST_H
#define ITEST_H

#include "sql/db.h"
#include "loyalty/ly.h"

struct itest {
	char		 name[64];	/* database name */
	struct db	*db;
	struct ly_ctx	 ctx;
};

/* Creates the database and applies every migration; fails the test
 * (cmocka fail()) if MariaDB is not there. */
int	itest_setup(void **state);
int	itest_teardown(void **state);
/* Inserts an active member directly (for domain tests below HTTP). */
uint64_t itest_member(struct itest *t, const char *district);

#endif
