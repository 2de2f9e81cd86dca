/*
 * bench_db.c: the SQL of the baselines (see bench_db.h). Connection
 * settings follow sql/db.c (utf8mb4, UTC, READ-COMMITTED) so that the
 * server does the same work for the baseline as for perkd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/bench_db.h"

static const char sel_sql[] = "SELECT id, balance, lifetime_points, "
    "COALESCE(district, '') FROM members WHERE id = ?";
static const char upd_sql[] = "UPDATE members SET balance = balance + 1, "
    "lifetime_points = lifetime_points + 1 WHERE id = ?";
static const char ins_sql[] = "INSERT INTO ledger (member_id, at, kind, "
    "points, balance_after) VALUES (?, UTC_TIMESTAMP(6), 'award', 1, 1)";

static void
trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

int
bench_dbcfg_load(const char *path, struct bench_dbcfg *cfg)
{
	char line[512], *k, *v, *eq;
	FILE *f;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "perkd");
	snprintf(cfg->user, sizeof(cfg->user), "perkd");
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		k = line + strspn(line, " \t");
		if (*k == '#' || (eq = strchr(k, '=')) == NULL)
			continue;
		*eq = '\0';
		v = eq + 1;
		v += strspn(v, " \t");
		trim(k);
		trim(v);
		if (strcmp(k, "db_socket") == 0)
			snprintf(cfg->socket, sizeof(cfg->socket), "%s", v);
		else if (strcmp(k, "db_name") == 0)
			snprintf(cfg->name, sizeof(cfg->name), "%s", v);
		else if (strcmp(k, "db_user") == 0)
			snprintf(cfg->user, sizeof(cfg->user), "%s", v);
		else if (strcmp(k, "db_password") == 0)
			snprintf(cfg->password, sizeof(cfg->password), "%s", v);
	}
	fclose(f);
	if (cfg->socket[0] == '\0') {
		fprintf(stderr, "%s: no db_socket\n", path);
		return -1;
	}
	return 0;
}

static MYSQL_STMT *
prep(MYSQL *my, const char *sql)
{
	MYSQL_STMT *st = mysql_stmt_init(my);

	if (st == NULL)
		return NULL;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		fprintf(stderr, "prepare: %s\n", mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	return st;
}

int
bench_connect(struct bench_conn *c, const struct bench_dbcfg *cfg)
{
	MYSQL_BIND p[1], res[4];

	memset(c, 0, sizeof(*c));
	if ((c->my = mysql_init(NULL)) == NULL)
		return -1;
	mysql_options(c->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(c->my, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00', "
	    "tx_isolation = 'READ-COMMITTED'");
	if (mysql_real_connect(c->my, NULL, cfg->user, cfg->password,
	    cfg->name, 0, cfg->socket, 0) == NULL) {
		fprintf(stderr, "connect: %s\n", mysql_error(c->my));
		goto fail;
	}
	if ((c->sel = prep(c->my, sel_sql)) == NULL ||
	    (c->upd = prep(c->my, upd_sql)) == NULL ||
	    (c->ins = prep(c->my, ins_sql)) == NULL)
		goto fail;

	/* bind once: every execution reads c->id */
	memset(p, 0, sizeof(p));
	p[0].buffer_type = MYSQL_TYPE_LONGLONG;
	p[0].buffer = &c->id;
	if (mysql_stmt_bind_param(c->sel, p) != 0 ||
	    mysql_stmt_bind_param(c->upd, p) != 0 ||
	    mysql_stmt_bind_param(c->ins, p) != 0)
		goto fail;
	memset(res, 0, sizeof(res));
	res[0].buffer_type = MYSQL_TYPE_LONGLONG;
	res[0].buffer = &c->r_id;
	res[1].buffer_type = MYSQL_TYPE_LONGLONG;
	res[1].buffer = &c->r_balance;
	res[2].buffer_type = MYSQL_TYPE_LONGLONG;
	res[2].buffer = &c->r_lifetime;
	res[3].buffer_type = MYSQL_TYPE_STRING;
	res[3].buffer = c->r_district;
	res[3].buffer_length = sizeof(c->r_district) - 1;
	res[3].length = &c->r_district_len;
	for (int i = 0; i < 4; i++)
		res[i].is_null = &c->r_null[i];
	if (mysql_stmt_bind_result(c->sel, res) != 0)
		goto fail;
	return 0;
fail:
	bench_close(c);
	return -1;
}

void
bench_close(struct bench_conn *c)
{
	if (c->sel != NULL)
		mysql_stmt_close(c->sel);
	if (c->upd != NULL)
		mysql_stmt_close(c->upd);
	if (c->ins != NULL)
		mysql_stmt_close(c->ins);
	if (c->my != NULL)
		mysql_close(c->my);
	memset(c, 0, sizeof(*c));
}

int
bench_read(struct bench_conn *c, long long id)
{
	int rc, found = 0;

	c->id = id;
	if (mysql_stmt_execute(c->sel) != 0 ||
	    mysql_stmt_store_result(c->sel) != 0) {
		fprintf(stderr, "read: %s\n", mysql_stmt_error(c->sel));
		return -1;
	}
	while ((rc = mysql_stmt_fetch(c->sel)) == 0 ||
	    rc == MYSQL_DATA_TRUNCATED)
		found = 1;
	mysql_stmt_free_result(c->sel);
	if (rc == 1)
		return -1;
	if (found)
		c->r_district[c->r_district_len < sizeof(c->r_district) ?
		    c->r_district_len : sizeof(c->r_district) - 1] = '\0';
	return found ? 0 : 1;
}

int
bench_write(struct bench_conn *c, long long id)
{
	c->id = id;
	if (mysql_real_query(c->my, "START TRANSACTION", 17) != 0 ||
	    mysql_stmt_execute(c->upd) != 0 ||
	    mysql_stmt_affected_rows(c->upd) != 1 ||
	    mysql_stmt_execute(c->ins) != 0 ||
	    mysql_real_query(c->my, "COMMIT", 6) != 0) {
		/* an UPDATE that touched no row has no error text */
		fprintf(stderr, "write member %lld: %s\n", id,
		    mysql_stmt_errno(c->upd) ? mysql_stmt_error(c->upd) :
		    mysql_stmt_errno(c->ins) ? mysql_stmt_error(c->ins) :
		    mysql_errno(c->my) ? mysql_error(c->my) : "no such member");
		mysql_real_query(c->my, "ROLLBACK", 8);
		return -1;
	}
	return 0;
}
