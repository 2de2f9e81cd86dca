/*
 * txn.c: one request = one transaction, retried on deadlock, with its
 * Idempotency-Key kept in the same transaction as the effect.
 *
 * Claiming a key is an INSERT into `idempotency`. A second request with
 * the same key blocks on that row until the first commits, then sees the
 * duplicate and replays the stored answer (or 422 if the request differs).
 * A domain refusal (409 out_of_stock, say) rolls back to a savepoint taken
 * after the claim, so the refusal itself is what the key remembers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fcgi/ht.h"

enum ht_idem_stmt {
	IDEM_CLAIM,
	IDEM_READ,
	IDEM_STORE,
	IDEM_EXPIRE,
	IDEM_STMT__MAX
};

static const char *const ht_idem_stmts[IDEM_STMT__MAX] = {
	[IDEM_CLAIM] = "INSERT INTO idempotency (caller, idem_key, "
	    "request_hash, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
	[IDEM_READ] = "SELECT request_hash, status, body, "
	    "created_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND "
	    "FROM idempotency WHERE caller = ? AND idem_key = ?",
	[IDEM_STORE] = "UPDATE idempotency SET status = ?, body = ? "
	    "WHERE caller = ? AND idem_key = ?",
	[IDEM_EXPIRE] = "DELETE FROM idempotency WHERE caller = ? AND "
	    "idem_key = ?",
};

enum ht_claim { CLAIM_NEW, CLAIM_REPLAY, CLAIM_MISMATCH, CLAIM_ERROR };

static void
ht_request_hash(const struct ht_req *r, unsigned char out[32])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)r->method,
	    strlen(r->method));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)r->path,
	    strlen(r->path));
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)r->body,
	    r->bodylen);
	crypto_hash_sha256_final(&st, out);
}

static enum ht_claim
ht_idem_claim(struct ht_req *r, const char *caller, enum ly_res *res)
{
	unsigned char hash[32];
	struct db_row *row;
	enum db_res d;
	int attempt;

	ht_request_hash(r, hash);
	for (attempt = 0; attempt < 2; attempt++) {
		struct db_val c[] = { db_text(caller), db_text(r->idem_key),
		    db_blob(hash, sizeof(hash)) };
		d = db_exec(r->db, ht_idem_stmts[IDEM_CLAIM], c, 3);
		if (d == DB_OK)
			return CLAIM_NEW;
		if (d != DB_DUP) {
			*res = ly_from_db(d);
			return CLAIM_ERROR;
		}
		struct db_val q[] = { db_int(LIM_IDEM_KEEP_S), db_text(caller),
		    db_text(r->idem_key) };
		d = db_one(r->db, ht_idem_stmts[IDEM_READ], q, 3, &row);
		if (d == DB_NOTFOUND)
			continue;	/* deleted meanwhile: claim again */
		if (d != DB_ROW) {
			*res = ly_from_db(d);
			return CLAIM_ERROR;
		}
		if (row->col[3].i) {
			/* older than we promise to keep: forget it */
			d = db_exec(r->db, ht_idem_stmts[IDEM_EXPIRE], q + 1, 2);
			if (d != DB_OK) {
				*res = ly_from_db(d);
				return CLAIM_ERROR;
			}
			continue;
		}
		if (row->col[0].len != 32 ||
		    sodium_memcmp(row->col[0].s, hash, 32) != 0)
			return CLAIM_MISMATCH;
		if (row->col[1].null) {
			*res = LY_INTERNAL;
			return CLAIM_ERROR;
		}
		ht_reply_raw(r, (int)row->col[1].i, (int)row->col[1].i >= 400 ?
		    "application/problem+json" : "application/json",
		    row->col[2].s ? row->col[2].s : "", row->col[2].len);
		r->replayed = 1;
		ht_header(r, "Idempotent-Replayed", "true");
		return CLAIM_REPLAY;
	}
	*res = LY_RETRY;
	return CLAIM_ERROR;
}

static enum ly_res
ht_idem_store(struct ht_req *r, const char *caller)
{
	struct db_val p[] = { db_int(r->status),
	    db_blob(r->out ? r->out : "", r->outlen), db_text(caller),
	    db_text(r->idem_key) };

	return ly_from_db(db_exec(r->db, ht_idem_stmts[IDEM_STORE], p, 4));
}

static void
ht_reply_clear(struct ht_req *r)
{
	free(r->out);
	r->out = NULL;
	r->outlen = 0;
	r->status = 0;
	r->ctype = NULL;
	r->headers[0] = '\0';
}

static int
ht_is_infra(enum ly_res res)
{
	return res == LY_RETRY || res == LY_UNAVAIL || res == LY_INTERNAL ||
	    res == LY_NOMEM;
}

void
ht_txn(struct ht_req *r, ht_work work, void *arg)
{
	char caller[80];
	enum ly_res res = LY_OK;
	enum db_res d;
	int attempt, idem = r->idem_key[0] != '\0';

	ht_caller_id(r, caller, sizeof(caller));
	for (attempt = 0; attempt <= LIM_DB_RETRIES; attempt++) {
		if (attempt > 0)
			usleep(1000U * (unsigned)attempt *
			    (1 + randombytes_uniform(5)));
		ht_reply_clear(r);
		if ((d = db_begin(r->db)) != DB_OK) {
			res = ly_from_db(d);
			if (res == LY_RETRY)
				continue;
			break;
		}
		if (idem) {
			switch (ht_idem_claim(r, caller, &res)) {
			case CLAIM_NEW:
				break;
			case CLAIM_REPLAY:
				db_rollback(r->db);
				return;
			case CLAIM_MISMATCH:
				db_rollback(r->db);
				ht_reply_problem(r, HT_P_IDEMPOTENCY_KEY_REUSED,
				    "this key was used with a different "
				    "request");
				return;
			case CLAIM_ERROR:
				db_rollback(r->db);
				if (res == LY_RETRY)
					continue;
				goto fail;
			}
			if ((d = db_savepoint(r->db)) != DB_OK) {
				res = ly_from_db(d);
				db_rollback(r->db);
				if (res == LY_RETRY)
					continue;
				goto fail;
			}
		}
		res = work(r, arg);
		if (ht_is_infra(res)) {
			db_rollback(r->db);
			if (res == LY_RETRY)
				continue;
			goto fail;
		}
		if (res != LY_OK) {
			/* a domain refusal: undo its effects, keep the answer */
			if (r->status == 0)
				ht_reply_result(r, res, NULL);
			if (!idem) {
				db_rollback(r->db);
				return;
			}
			db_rollback_savepoint(r->db);
		}
		if (idem && (res = ht_idem_store(r, caller)) != LY_OK) {
			db_rollback(r->db);
			if (res == LY_RETRY)
				continue;
			goto fail;
		}
		if ((d = db_commit(r->db)) != DB_OK) {
			res = ly_from_db(d);
			db_rollback(r->db);
			if (res == LY_RETRY)
				continue;
			goto fail;
		}
		return;
	}
fail:
	ht_reply_clear(r);
	ht_reply_result(r, res == LY_OK ? LY_INTERNAL : res, NULL);
}

/* ht_txn() for a transaction that moves points: in a slot of its own
 * (loyalty/ly_slots.c), taken before it begins and given back after it
 * ends, retries included. */
void
ht_txn_points(struct ht_req *r, ht_work work, void *arg)
{
	ly_slot_take();
	ht_txn(r, work, arg);
	ly_slot_give();
}
