/*
 * itest.c: throw-away databases for integration tests. The database
 * name is generated here (never from input), which is why building its
 * CREATE/DROP text with snprintf is acceptable in test code.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "tests/integration/itest.h"

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

void
itest_db_cfg(const char *name, struct db_cfg *out)
{
	struct db_cfg cfg = { getenv("PERKD_TEST_DB_SOCKET"), NULL, 0, name,
	    "root", NULL };

	*out = cfg;
}

static struct db *
connect_to(const char *name)
{
	struct db_cfg cfg;
	enum db_res r;

	itest_db_cfg(name, &cfg);
	struct db *db;

	if (cfg.socket == NULL) {
		fprintf(stderr, "PERKD_TEST_DB_SOCKET is not set: run through "
		    "tests/lib/run-test.sh (make check does)\n");
		return NULL;
	}
	db = db_open(&cfg, &r);
	if (r != DB_OK) {
		fprintf(stderr, "cannot connect to MariaDB at %s: %s\n",
		    cfg.socket, db ? db_error(db) : "?");
		db_close(db);
		return NULL;
	}
	return db;
}

int
itest_setup(void **state)
{
	const char *dir = getenv("PERKD_SQLDIR");
	struct itest *t = calloc(1, sizeof(*t));
	unsigned char k[32], seed[32];
	char sql[256], *names[64], path[1024], *text;
	struct dirent *de;
	struct db *admin;
	size_t n = 0, i;
	DIR *d;

	if (sodium_init() < 0 || db_library_init() != 0)
		fail_msg("library init");
	snprintf(t->name, sizeof(t->name), "perkd_t_%ld_%u", (long)getpid(),
	    randombytes_random());
	if ((admin = connect_to(NULL)) == NULL)
		fail_msg("MariaDB is required for integration tests");
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s CHARACTER SET utf8mb4 "
	    "COLLATE utf8mb4_unicode_ci;\n", t->name);
	assert_int_equal(db_script(admin, sql), DB_OK);
	db_close(admin);
	if ((t->db = connect_to(t->name)) == NULL)
		fail_msg("cannot open the test database");
	if (dir == NULL)
		dir = PERKD_SQLDIR;
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL && n < 64)
		if (strlen(de->d_name) > 9 && de->d_name[4] == '_' &&
		    strcmp(de->d_name + strlen(de->d_name) - 4, ".sql") == 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		assert_non_null(text = slurp(path));
		if (db_script(t->db, text) != DB_OK)
			fail_msg("migration %s: %s", names[i], db_error(t->db));
		free(text);
		free(names[i]);
	}
	randombytes_buf(k, sizeof(k));
	randombytes_buf(seed, sizeof(seed));
	ly_ctx_init(&t->ctx, k, k, seed, 5);
	*state = t;
	return 0;
}

int
itest_teardown(void **state)
{
	struct itest *t = *state;
	char sql[128];

	if (t == NULL)
		return 0;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s;\n", t->name);
	if (db_script(t->db, sql) != DB_OK)
		fprintf(stderr, "could not drop %s\n", t->name);
	db_close(t->db);
	free(t);
	return 0;
}

uint64_t
itest_member(struct itest *t, const char *district)
{
	static const char *const ins = "INSERT INTO members (subject_hash, "
	    "district, channel, enrolled_at) VALUES (?, ?, '', UTC_TIMESTAMP(6))";
	unsigned char h[32];

	randombytes_buf(h, sizeof(h));
	struct db_val p[] = { db_blob(h, 32), db_text(district) };
	assert_int_equal(db_exec(t->db, ins, p, 2), DB_OK);
	return db_insert_id(t->db);
}

void
itest_org(struct itest *t, const char *name, unsigned roles,
    struct ly_org *out)
{
	assert_int_equal(ly_org_create(t->db, name, roles, out), LY_OK);
}

void
itest_programme(struct itest *t, struct ly_org *a, struct ly_org *b,
    const struct itest_rule *r, size_t n)
{
	struct ly_district d;
	size_t i;
	int created;

	itest_org(t, "Issuer A", LY_ROLE_ISSUER, a);
	itest_org(t, "Issuer B", LY_ROLE_ISSUER, b);
	assert_int_equal(ly_district_put(t->db, "north", "North", 1000,
	    &created, &d), LY_OK);
	assert_int_equal(ly_district_put(t->db, "south", "South", 2000,
	    &created, &d), LY_OK);
	for (i = 0; i < n; i++) {
		const char *issuer[] = { r[i].issuer->public_id };
		struct ly_rule_in in = { .code = r[i].code,
		    .title = r[i].title, .points = r[i].points,
		    .daily_cap = r[i].daily_cap, .issuers = issuer,
		    .nissuers = 1 };

		assert_int_equal(ly_rule_create(t->db, &in), LY_OK);
	}
}
