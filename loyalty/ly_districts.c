/*
 * ly_districts.c: the city's districts, each with its population (the
 * denominator of the opt-in rate). A resident enrols in one of them.
 * Districts are few (tens), so lists page by offset in code order.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "loyalty/ly.h"

enum ly_district_stmt {
	DISTRICT_EXISTS,
	DISTRICT_UPSERT,
	DISTRICT_GET,
	DISTRICT_LIST,
	DISTRICT_STMT__MAX
};

#define DISTRICT_COLS "code, name, population, " \
	"DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ')"

static const char *const ly_district_stmts[DISTRICT_STMT__MAX] = {
	[DISTRICT_EXISTS] = "SELECT 1 FROM districts WHERE code = ? "
	    "FOR UPDATE",
	[DISTRICT_UPSERT] = "INSERT INTO districts (code, name, population, "
	    "updated_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "name = VALUES(name), population = VALUES(population), "
	    "updated_at = VALUES(updated_at)",
	[DISTRICT_GET] = "SELECT " DISTRICT_COLS " FROM districts "
	    "WHERE code = ?",
	[DISTRICT_LIST] = "SELECT " DISTRICT_COLS " FROM districts "
	    "ORDER BY code LIMIT ? OFFSET ?",
};

static void
ly_district_from_row(const struct db_row *row, struct ly_district *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->code, sizeof(d->code), "%s", row->col[0].s);
	snprintf(d->name, sizeof(d->name), "%s", row->col[1].s);
	d->population = row->col[2].i;
	snprintf(d->updated_at, sizeof(d->updated_at), "%s", row->col[3].s);
}

enum ly_res
ly_district_put(struct db *db, const char *code, const char *name,
    long long population, int *created, struct ly_district *out)
{
	struct db_val k[] = { db_text(code) };
	struct db_row *row;
	char now[32];
	enum db_res r;

	if (!ly_code_valid(code) || population < 0 ||
	    population > LIM_POPULATION_MAX)
		return LY_INVAL;
	/* the lock makes "created" exact under concurrent PUTs */
	r = db_one(db, ly_district_stmts[DISTRICT_EXISTS], k, 1, &row);
	if (r != DB_ROW && r != DB_NOTFOUND)
		return ly_from_db(r);
	*created = r == DB_NOTFOUND;
	ly_now(now);
	struct db_val p[] = { db_text(code), db_text(name),
	    db_int(population), db_text(now) };
	if ((r = db_exec(db, ly_district_stmts[DISTRICT_UPSERT], p, 4)) != DB_OK)
		return ly_from_db(r);
	if ((r = db_one(db, ly_district_stmts[DISTRICT_GET], k, 1, &row)) !=
	    DB_ROW)
		return r == DB_NOTFOUND ? LY_INTERNAL : ly_from_db(r);
	ly_district_from_row(row, out);
	return LY_OK;
}

enum ly_res
ly_district_list(struct db *db, size_t offset, size_t limit,
    void (*cb)(const struct ly_district *, void *), void *arg)
{
	struct db_val p[] = { db_int((long long)limit),
	    db_int((long long)offset) };
	struct ly_district d;
	struct db_row *row;
	enum db_res r;

	if ((r = db_exec(db, ly_district_stmts[DISTRICT_LIST], p, 2)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		ly_district_from_row(row, &d);
		cb(&d, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}
