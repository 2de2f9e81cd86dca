/*
 * ly_orgs.c: organisations (issuers, partners, managers) and their API
 * keys. A key is "pk_<lookup>_<secret>": 80 bits of lookup find the row,
 * 256 bits of secret make it unguessable, and only the SHA-256 of the
 * whole key is stored, compared in constant time.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "loyalty/ly.h"

enum ly_org_stmt {
	ORG_INSERT,
	ORG_BY_PUBLIC,
	ORG_LIST,
	KEY_INSERT,
	KEY_REVOKE,
	KEY_BY_LOOKUP,
	ORG_STMT__MAX
};

#define ORG_COLS "o.id, o.public_id, o.name, o.is_issuer, o.is_partner, " \
	"o.is_manager, DATE_FORMAT(o.created_at, '%Y-%m-%dT%H:%i:%sZ')"

static const char *const ly_org_stmts[ORG_STMT__MAX] = {
	[ORG_INSERT] = "INSERT INTO orgs (public_id, name, is_issuer, "
	    "is_partner, is_manager, created_at) VALUES (?, ?, ?, ?, ?, ?)",
	[ORG_BY_PUBLIC] = "SELECT " ORG_COLS " FROM orgs o WHERE o.public_id = ?",
	[ORG_LIST] = "SELECT " ORG_COLS " FROM orgs o WHERE o.id > ? AND "
	    "(? = 0 OR (o.is_issuer = 1 AND ? & 1) OR (o.is_partner = 1 AND "
	    "? & 2) OR (o.is_manager = 1 AND ? & 4)) ORDER BY o.id LIMIT ?",
	[KEY_INSERT] = "INSERT INTO api_keys (public_id, org_id, lookup, hash, "
	    "created_at) VALUES (?, ?, ?, ?, ?)",
	[KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ? WHERE public_id = ? "
	    "AND revoked_at IS NULL",
	[KEY_BY_LOOKUP] = "SELECT k.hash, " ORG_COLS " FROM api_keys k JOIN "
	    "orgs o ON o.id = k.org_id WHERE k.lookup = ? AND "
	    "k.revoked_at IS NULL",
};

#define KEY_LOOKUP_BYTES 10	/* 16 base32 chars */
#define KEY_SECRET_BYTES 32

static void
ly_org_from_row(const struct db_row *row, size_t off, struct ly_org *o)
{
	memset(o, 0, sizeof(*o));
	o->id = (uint64_t)row->col[off].i;
	snprintf(o->public_id, sizeof(o->public_id), "%s", row->col[off + 1].s);
	snprintf(o->name, sizeof(o->name), "%s", row->col[off + 2].s);
	o->roles = (row->col[off + 3].i ? LY_ROLE_ISSUER : 0) |
	    (row->col[off + 4].i ? LY_ROLE_PARTNER : 0) |
	    (row->col[off + 5].i ? LY_ROLE_MANAGER : 0);
	snprintf(o->created_at, sizeof(o->created_at), "%s", row->col[off + 6].s);
}

enum ly_res
ly_org_create(struct db *db, const char *name, unsigned roles,
    struct ly_org *out)
{
	char now[32];
	enum db_res r;

	memset(out, 0, sizeof(*out));
	ly_id_random(out->public_id, sizeof(out->public_id), "org_");
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->roles = roles;
	ly_now(now);
	struct db_val p[] = {
		db_text(out->public_id), db_text(name),
		db_int(!!(roles & LY_ROLE_ISSUER)),
		db_int(!!(roles & LY_ROLE_PARTNER)),
		db_int(!!(roles & LY_ROLE_MANAGER)), db_text(now),
	};
	r = db_exec(db, ly_org_stmts[ORG_INSERT], p, 6);
	if (r == DB_DUP)
		return LY_ORG_EXISTS;
	if (r != DB_OK)
		return ly_from_db(r);
	out->id = db_insert_id(db);
	/* created_at as the API shows it */
	snprintf(out->created_at, sizeof(out->created_at),
	    "%.10sT%.8sZ", now, now + 11);
	return LY_OK;
}

enum ly_res
ly_org_get(struct db *db, const char *public_id, struct ly_org *out)
{
	struct db_val p[] = { db_text(public_id) };
	struct db_row *row;
	enum db_res r;

	r = db_one(db, ly_org_stmts[ORG_BY_PUBLIC], p, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_ORG_NOT_FOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	ly_org_from_row(row, 0, out);
	return LY_OK;
}

enum ly_res
ly_org_list(struct db *db, unsigned roles, uint64_t after, size_t limit,
    void (*cb)(const struct ly_org *, void *), void *arg)
{
	struct db_val p[] = { db_int((long long)after), db_int(roles),
	    db_int(roles), db_int(roles), db_int(roles),
	    db_int((long long)limit) };
	struct db_row *row;
	struct ly_org o;
	enum db_res r;

	if ((r = db_exec(db, ly_org_stmts[ORG_LIST], p, 6)) != DB_OK)
		return ly_from_db(r);
	while ((r = db_next(db, &row)) == DB_ROW) {
		ly_org_from_row(row, 0, &o);
		cb(&o, arg);
	}
	return r == DB_DONE ? LY_OK : ly_from_db(r);
}

enum ly_res
ly_key_create(struct db *db, uint64_t org_id, char *key, size_t keysz,
    char *key_id, size_t key_idsz)
{
	unsigned char lraw[KEY_LOOKUP_BYTES], sraw[KEY_SECRET_BYTES];
	unsigned char hash[crypto_hash_sha256_BYTES];
	char lookup[32], secret[64], now[32];
	enum db_res r;

	randombytes_buf(lraw, sizeof(lraw));
	randombytes_buf(sraw, sizeof(sraw));
	ly_base32(lookup, sizeof(lookup), lraw, sizeof(lraw));
	ly_base32(secret, sizeof(secret), sraw, sizeof(sraw));
	snprintf(key, keysz, "pk_%s_%s", lookup, secret);
	crypto_hash_sha256(hash, (const unsigned char *)key, strlen(key));
	ly_id_random(key_id, key_idsz, "key_");
	ly_now(now);
	struct db_val p[] = { db_text(key_id), db_int((long long)org_id),
	    db_text(lookup), db_blob(hash, sizeof(hash)), db_text(now) };
	r = db_exec(db, ly_org_stmts[KEY_INSERT], p, 5);
	sodium_memzero(sraw, sizeof(sraw));
	sodium_memzero(secret, sizeof(secret));
	return ly_from_db(r);
}

enum ly_res
ly_key_revoke(struct db *db, const char *key_id)
{
	char now[32];
	enum db_res r;

	ly_now(now);
	struct db_val p[] = { db_text(now), db_text(key_id) };
	if ((r = db_exec(db, ly_org_stmts[KEY_REVOKE], p, 2)) != DB_OK)
		return ly_from_db(r);
	return db_affected(db) == 1 ? LY_OK : LY_KEY_NOT_FOUND;
}

enum ly_res
ly_key_check(struct db *db, const char *key, struct ly_org *out)
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	char lookup[17];
	struct db_row *row;
	enum db_res r;

	/* "pk_" + 16 lookup chars + "_" + secret */
	if (strncmp(key, "pk_", 3) != 0 || strlen(key) < 3 + 16 + 1 + 1 ||
	    key[3 + 16] != '_')
		return LY_NOTFOUND;
	memcpy(lookup, key + 3, 16);
	lookup[16] = '\0';
	struct db_val p[] = { db_text(lookup) };
	r = db_one(db, ly_org_stmts[KEY_BY_LOOKUP], p, 1, &row);
	if (r == DB_NOTFOUND)
		return LY_NOTFOUND;
	if (r != DB_ROW)
		return ly_from_db(r);
	crypto_hash_sha256(hash, (const unsigned char *)key, strlen(key));
	if (row->col[0].len != sizeof(hash) ||
	    sodium_memcmp(hash, row->col[0].s, sizeof(hash)) != 0)
		return LY_NOTFOUND;
	ly_org_from_row(row, 1, out);
	return LY_OK;
}
