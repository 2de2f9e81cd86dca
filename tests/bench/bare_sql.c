/*
 * bare_sql.c: the least a FastCGI request that touches MariaDB can cost.
 * Same loop as bare (and perkd), one MariaDB connection per thread with
 * its statements prepared once, and per request either
 *
 *   read   GET  ...?id=N  one primary-key SELECT of member N, as JSON
 *   write  POST ...?id=N  the award-shaped transaction on member N
 *                         (bench_db.c: START, UPDATE, INSERT, COMMIT)
 *
 *   bare-sql SOCKET THREADS read|write PERKD_CONF
 *
 * PERKD_CONF is perkd's config, read only for db_socket, db_name,
 * db_user and db_password: the baseline uses perkd's database and user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/bench_db.h"
#include "tests/bench/bench_fcgi.h"

static struct bench_dbcfg dbcfg;
static int write_mode;

static void *
sql_init(void *arg)
{
	struct bench_conn *c = malloc(sizeof(*c));

	(void)arg;
	mysql_thread_init();
	if (c == NULL || bench_connect(c, &dbcfg) != 0)
		return (void *)-1;
	return c;
}

static long long
query_id(FCGX_Request *req)
{
	const char *q = FCGX_GetParam("QUERY_STRING", req->envp);
	const char *p;

	if (q == NULL || (p = strstr(q, "id=")) == NULL)
		return -1;
	return strtoll(p + 3, NULL, 10);
}

static void
sql_handle(FCGX_Request *req, void *state)
{
	struct bench_conn *c = state;
	long long id = query_id(req);
	char out[256];
	int n, rc;

	if (id < 1) {
		n = snprintf(out, sizeof(out), "{\"error\":\"id\"}");
		bench_reply(req, 400, out, n);
		return;
	}
	if (write_mode) {
		rc = bench_write(c, id);
		n = snprintf(out, sizeof(out), "{\"ok\":%s}", rc ? "false" :
		    "true");
		bench_reply(req, rc ? 500 : 201, out, n);
		return;
	}
	rc = bench_read(c, id);
	if (rc == 0)
		n = snprintf(out, sizeof(out), "{\"id\":%lld,\"balance\":%lld,"
		    "\"lifetime_points\":%lld,\"district\":\"%s\"}", c->r_id,
		    c->r_balance, c->r_lifetime, c->r_district);
	else
		n = snprintf(out, sizeof(out), "{\"error\":\"%s\"}",
		    rc > 0 ? "not found" : "database");
	bench_reply(req, rc == 0 ? 200 : rc > 0 ? 404 : 500, out, n);
}

int
main(int argc, char *argv[])
{
	int threads;

	if (argc != 5 || (threads = atoi(argv[2])) < 1 || threads > 1024 ||
	    (strcmp(argv[3], "read") != 0 && strcmp(argv[3], "write") != 0)) {
		fprintf(stderr, "usage: bare-sql SOCKET THREADS read|write "
		    "PERKD_CONF\n");
		return 2;
	}
	write_mode = strcmp(argv[3], "write") == 0;
	if (bench_dbcfg_load(argv[4], &dbcfg) != 0 ||
	    mysql_library_init(0, NULL, NULL) != 0)
		return 1;
	return bench_serve(argv[1], (unsigned)threads, sql_init, NULL,
	    sql_handle);
}
