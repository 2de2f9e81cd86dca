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
/* How to connect to database `name` (t->name for the group's own), for
 * tests that open more connections. */
void	itest_db_cfg(const char *name, struct db_cfg *out);
/* Inserts an active member directly (for domain tests below HTTP). */
uint64_t itest_member(struct itest *t, const char *district);

/* One rule of a group's programme, awardable by *issuer alone (the org
 * is read when the rule is created, so it may be filled in later). */
struct itest_rule {
	const char		*code;
	const char		*title;
	long long		 points;
	long long		 daily_cap;	/* 0 = none */
	const struct ly_org	*issuer;
};

/* Creates organisation `name` with `roles` into *out; fails the test
 * unless it is created. */
void	itest_org(struct itest *t, const char *name, unsigned roles,
	    struct ly_org *out);
/* Creates the programme the award tests share: issuers "Issuer A" (*a)
 * and "Issuer B" (*b), districts "north" (population 1000) and "south"
 * (2000), then the n rules of r in order (their ids follow that order);
 * fails the test unless each is stored. */
void	itest_programme(struct itest *t, struct ly_org *a, struct ly_org *b,
	    const struct itest_rule *r, size_t n);

#endif
