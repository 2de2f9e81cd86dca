/*
 * ht.h: the HTTP layer of perkd. Only fcgi/ includes <fcgiapp.h> and
 * <cJSON.h>. A request arrives on a worker thread (main.c), is parsed into
 * a struct ht_req (req.c), matched against the one route table
 * (route.c), authenticated (auth.c), and handed to a handler (h_*.c),
 * which validates its input against a field table (json.c), calls the
 * domain inside one transaction (txn.c, which also keeps Idempotency-Key
 * records), and sets the reply. problem.c holds the one table that maps
 * domain results to HTTP statuses and problem codes.
 *
 * Ownership: the struct ht_req owns everything parsed for one request
 * (body, JSON tree, reply) and ht_req_reset() frees it all once per loop.
 */
#ifndef HT_H
#define HT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cJSON.h>
#include <fcgiapp.h>

#include "sql/db.h"
#include "sql/perkd_limits.h"
#include "loyalty/ly.h"
#include "catalog/cat.h"

#define HT_WARN_UNUSED __attribute__((warn_unused_result))

/* ---- callers and roles ---- */

enum ht_role {
	HT_PUBLIC	= 0,
	HT_RESIDENT	= 1 << 0,
	HT_ISSUER	= 1 << 1,	/* == LY_ROLE_ISSUER << 1 */
	HT_PARTNER	= 1 << 2,
	HT_MANAGER	= 1 << 3,
};

enum ht_caller { HT_CALLER_NONE, HT_CALLER_RESIDENT, HT_CALLER_ORG };

/* Per-thread state: one database connection, the shared config. */
struct ht_worker {
	int			 id;
	struct db		*db;
	const struct ly_config	*cfg;
	const struct ly_ctx	*ctx;
};

#define HT_HEADERS_MAX 1024

struct ht_req {
	FCGX_Request		*fcgx;
	struct ht_worker	*w;
	struct db		*db;		/* == w->db */
	const struct ly_ctx	*ctx;
	char			 request_id[40];	/* nginx $request_id: 32 hex digits */
	const char		*method;
	char			 path[LIM_PATH_MAX];
	const char		*query;
	int			 route;		/* index in the route table */
	char			*params[LIM_PATH_PARAMS];	/* {id} values */
	size_t			 nparams;
	unsigned long long	 clen;		/* checked Content-Length */
	const char		*in_ctype;	/* CONTENT_TYPE, or NULL */
	const char		*in_authz;	/* HTTP_AUTHORIZATION, or NULL */
	char			*body;		/* NUL-terminated, bodylen bytes */
	size_t			 bodylen;
	cJSON			*json;		/* parsed body, if any */
	/* who is calling */
	enum ht_caller		 caller;
	struct ly_org		 org;		/* HT_CALLER_ORG */
	unsigned char		 subject_hash[32];	/* HT_CALLER_RESIDENT */
	char			 idem_key[LIM_IDEM_KEY_MAX + 1];
	/* the reply */
	int			 status;	/* 0 = not set yet */
	char			*out;		/* body, malloc'd */
	size_t			 outlen;
	const char		*ctype;
	char			 headers[HT_HEADERS_MAX];	/* extra lines */
	int			 replayed;
	struct timespec		 start;
};

typedef void (*ht_handler)(struct ht_req *);

/* ---- the route table (route.c) ---- */

struct ht_route {
	const char	*method;
	const char	*pattern;	/* "/v1/admin/orgs/{id}/keys" */
	unsigned	 roles;		/* enum ht_role bits; 0 = public */
	ht_handler	 fn;
	int		 creates;	/* a creating POST: Idempotency-Key */
	size_t		 body_max;	/* 0 = LIM_BODY_MAX */
};

extern const struct ht_route	ht_routes[];
extern const size_t		ht_routes_n;

/* Dispatches one parsed request: route, auth, handler. */
void	ht_dispatch(struct ht_req *r);
/* Prints the route table (perkd --routes). */
void	ht_routes_print(FILE *f);

/* ---- requests (req.c) ---- */

/* Reads the params of the accepted request into r (method, path, query,
 * Idempotency-Key, a checked Content-Length). Returns 0, or -1 with a
 * problem reply set. */
int		 ht_req_read(struct ht_req *r) HT_WARN_UNUSED;
/* Reads the body, at most max bytes (the route's limit): 0, or -1 with a
 * problem reply set (413 over max, 400 shorter than Content-Length). */
int		 ht_req_read_body(struct ht_req *r, size_t max) HT_WARN_UNUSED;
void		 ht_req_reset(struct ht_req *r);
const char	*ht_param(const struct ht_req *r, const char *name);
/* Copies the URL-decoded query argument into buf; 1 found, 0 absent,
 * -1 malformed or too long. */
int		 ht_query(const struct ht_req *r, const char *name, char *buf,
		    size_t bufsz);
/* Parses ?limit= (default LIM_PAGE_DEFAULT, 1..LIM_PAGE_MAX); sets a 400
 * problem and returns -1 if bad. */
int		 ht_query_limit(struct ht_req *r, size_t *limit) HT_WARN_UNUSED;
/* Writes the reply and logs the request line. */
void		 ht_req_finish(struct ht_req *r);
/* Whether the client asked for CSV (Accept: text/csv or ?format=csv). */
int		 ht_wants_csv(const struct ht_req *r);

/* ---- replies (problem.c, json.c) ---- */

enum ht_prob {
	HT_P_ROUTE_NOT_FOUND,
	HT_P_METHOD_NOT_ALLOWED,
	HT_P_PAYLOAD_TOO_LARGE,
	HT_P_INVALID_CONTENT_LENGTH,
	HT_P_UNSUPPORTED_MEDIA_TYPE,
	HT_P_INVALID_JSON,
	HT_P_VALIDATION_FAILED,
	HT_P_UNKNOWN_FIELD,
	HT_P_INVALID_QUERY,
	HT_P_INVALID_CURSOR,
	HT_P_UNAUTHORIZED,
	HT_P_FORBIDDEN,
	HT_P_IDEMPOTENCY_KEY_REUSED,
	HT_P_INVALID_IDEMPOTENCY_KEY,
	HT_P_RATE_LIMITED,
	HT_P__MAX
};

/* Sets a problem reply for a domain result (detail may be NULL). */
void	ht_reply_result(struct ht_req *r, enum ly_res res, const char *detail);
/* Sets a problem reply for a transport problem. */
void	ht_reply_problem(struct ht_req *r, enum ht_prob p, const char *detail);
/* Same with an extra member merged into the problem document (e.g. the
 * first used_at of an already-used voucher); takes ownership of extra. */
void	ht_reply_problem_x(struct ht_req *r, int status, const char *code,
	    const char *title, const char *detail, cJSON *extra);
/* The status a domain result maps to (for batch items and metrics). */
int	ht_result_status(enum ly_res res);
/* A problem object for embedding (batch results). Caller owns it. */
cJSON	*ht_problem_json(enum ly_res res, const char *detail);
/* Sets a JSON reply; takes ownership of (and deletes) root. */
void	ht_reply_json(struct ht_req *r, int status, cJSON *root);
/* Sets {"items": items, "next_cursor": cursor|null}; owns items. */
void	ht_reply_list(struct ht_req *r, cJSON *items, const char *cursor);
/* Sets a reply with a given content type; copies the body. */
void	ht_reply_raw(struct ht_req *r, int status, const char *ctype,
	    const char *body, size_t len);
/* Appends "Name: value\r\n" to the extra headers. */
void	ht_header(struct ht_req *r, const char *name, const char *value);

/* ---- JSON input (json.c) ---- */

enum ht_ftype {
	HT_F_STRING,	/* min/max = length in characters (UTF-8) */
	HT_F_INT,	/* whole number within [min, max] (and +-2^53) */
	HT_F_NUMBER,	/* any finite number within [min, max] */
	HT_F_BOOL,
	HT_F_TIME,	/* RFC 3339 string */
	HT_F_STRINGS,	/* array of strings; min/max = count; each <= 64 */
	HT_F_OBJECT,	/* checked by the handler with its own table */
	HT_F_ARRAY,	/* array of anything; min/max = count */
};

struct ht_field {
	const char	*name;
	enum ht_ftype	 type;
	int		 required;
	long long	 min;
	long long	 max;
	int		 nullable;	/* JSON null accepted (means "unset") */
};

struct ht_verr {
	enum ht_prob	 prob;		/* VALIDATION_FAILED or UNKNOWN_FIELD */
	char		 field[64];
	char		 message[128];
};

/* Checks obj against a field table: types, ranges, required, unknown
 * fields. Returns 0, or -1 with err filled. */
int	ht_json_check(const cJSON *obj, const struct ht_field *f, size_t n,
	    struct ht_verr *err) HT_WARN_UNUSED;
/* Parses the request body as one JSON object (explicit length, UTF-8
 * validated, depth bounded, no trailing data) into r->json and checks it
 * against f. Returns 0, or -1 with a problem reply set. */
int	ht_body(struct ht_req *r, const struct ht_field *f, size_t n)
	    HT_WARN_UNUSED;
/* Sets a 422 validation problem from err. */
void	ht_reply_verr(struct ht_req *r, const struct ht_verr *err);
/* Sets a 422 validation problem for one field checked by hand. */
void	ht_reply_field(struct ht_req *r, const char *field, const char *msg);
/* Field accessors on a checked object: NULL/dflt when absent or null. */
const char	*ht_jstr(const cJSON *obj, const char *name);
long long	 ht_jint(const cJSON *obj, const char *name, long long dflt);
int		 ht_jhas(const cJSON *obj, const char *name);
/* Validates UTF-8 (no overlongs, no surrogates). 1 valid. */
int	ht_utf8_valid(const char *s, size_t len);
/* RFC 3339 -> "YYYY-MM-DD HH:MM:SS.ffffff" UTC (and time_t). 0 or -1. */
int	ht_time_parse(const char *s, char out[32], time_t *t) HT_WARN_UNUSED;
/* SQL DATETIME text "YYYY-MM-DD HH:MM:SS[.f]" -> RFC 3339 "...Z". */
void	ht_time_fmt(const char *sql, char out[32]);
/* v in decimal, written backwards from the end of buf; returns where the
 * text (NUL-terminated) starts. */
char	*ht_lltoa(char buf[24], long long v);
/* Appends s[0..n) to the NUL-terminated text *p (*len bytes, *cap
 * allocated), growing it by doubling from first, never past max bytes
 * (0: no limit). 0, or -1 with the text unchanged. The JSON writer's and
 * the CSV builder's buffers. */
int	ht_append(char **p, size_t *len, size_t *cap, size_t first,
	    size_t max, const char *s, size_t n);
/* cJSON helpers that keep the 2^53 rule on output. */
void	ht_jadd_int(cJSON *obj, const char *name, long long v);
void	ht_jadd_str(cJSON *obj, const char *name, const char *s); /* NULL -> null */

/*
 * A JSON writer for hot replies: the text straight into one growing
 * buffer, no cJSON tree (a tree costs three allocations a string member
 * and a print). Its bytes are those cJSON's unformatted printer would give
 * the same members. Start from a zeroed struct; keys NULL inside no
 * object; ht_jw_take hands over the text (malloc'd, the caller frees) or
 * NULL if memory ran out, and resets the writer; ht_reply_jw makes it the
 * reply (500 if memory ran out).
 */
struct ht_jw {
	char	*p;
	size_t	 len, cap;
	int	 err;	/* out of memory: the rest is dropped */
	int	 more;	/* this object has a member: the next needs a comma */
};
void	ht_jw_open(struct ht_jw *w, const char *key);
void	ht_jw_close(struct ht_jw *w);
void	ht_jw_str(struct ht_jw *w, const char *key, const char *v); /* NULL -> null */
void	ht_jw_int(struct ht_jw *w, const char *key, long long v);
void	ht_jw_null(struct ht_jw *w, const char *key);
char	*ht_jw_take(struct ht_jw *w, size_t *len);
void	ht_reply_jw(struct ht_req *r, int status, struct ht_jw *w);

/* ---- transactions and idempotency (txn.c) ---- */

typedef enum ly_res (*ht_work)(struct ht_req *r, void *arg);

/*
 * Runs work in one transaction, retrying on deadlock, with the request's
 * Idempotency-Key (if any) claimed and its answer stored in the same
 * transaction. work sets the reply on LY_OK; on another result the
 * reply is the result's problem (unless work already set one), its
 * effects are rolled back, and for a domain refusal the key still
 * records that answer so a retry gets it again.
 */
void	ht_txn(struct ht_req *r, ht_work work, void *arg);
void	ht_txn_points(struct ht_req *r, ht_work work, void *arg);

/* ---- cursors (cursor.c) ---- */

/* Opaque, tamper-evident keyset cursor: (route, last id, extra) sealed
 * with the cursor key. out must hold LIM_CURSOR_MAX. */
void	ht_cursor_make(const struct ht_req *r, uint64_t last_id,
	    int64_t extra, char *out, size_t outsz);
/* 1 valid cursor read, 0 absent (first page), -1 forged (400 set). */
int	ht_cursor_read(struct ht_req *r, uint64_t *last_id, int64_t *extra)
	    HT_WARN_UNUSED;

/* ---- keyset pages (page.c) ---- */

/* A page of a list being filled by a domain visitor that was asked for
 * limit + 1 rows: the row past the limit only marks that more follow. */
struct ht_page {
	struct ht_req	*r;
	cJSON		*items;		/* NULL until the first row is kept */
	uint64_t	 last;		/* id of the last row kept */
	size_t		 n, limit;
	int		 more;
};

/* Starts pg for r with ?limit= and ?cursor=; *from is the cursor's id (0
 * on the first page). 0, or -1 with a 400 problem set. */
int	ht_page_start(struct ht_req *r, struct ht_page *pg, uint64_t *from)
	    HT_WARN_UNUSED;
/* Whether the row with this id belongs on the page: 1, and the caller
 * appends its item to pg->items; 0 past the limit (there are more). */
int	ht_page_take(struct ht_page *pg, uint64_t id) HT_WARN_UNUSED;
/* On LY_OK replies with the items kept and, if more follow, a cursor
 * after the last; else frees them and replies with res's problem. */
void	ht_page_reply(struct ht_page *pg, enum ly_res res);

/* ---- CSV (csv.c) ---- */

struct ht_csv {
	char	*buf;
	size_t	 len, cap, max;
	int	 failed;
	int	 col;
};
void	ht_csv_init(struct ht_csv *c, size_t max);
/* A field: quoted per RFC 4180 when needed; a leading =,+,-,@,TAB,CR is
 * neutralised with a ' so spreadsheets do not run it as a formula. */
void	ht_csv_field(struct ht_csv *c, const char *s);
void	ht_csv_int(struct ht_csv *c, long long v, int null);
void	ht_csv_num(struct ht_csv *c, double v, int null);
void	ht_csv_endrow(struct ht_csv *c);
/* Sets the reply (text/csv) and frees the buffer. */
void	ht_csv_reply(struct ht_req *r, struct ht_csv *c, const char *filename);
void	ht_csv_free(struct ht_csv *c);

/* ---- auth (auth.c) ---- */

/* Verifies an HS256 JWT: alg must be HS256, exp and sub required, sub at
 * most LIM_SUBJECT_MAX. 0 and the subject in sub, or -1. */
int	ht_jwt_verify(const char *tok, const unsigned char *secret,
	    size_t secretlen, time_t now, char *sub, size_t subsz)
	    HT_WARN_UNUSED;
/* Authenticates r for a route needing roles: 0, or -1 with 401/403 set. */
int	ht_auth(struct ht_req *r, unsigned roles) HT_WARN_UNUSED;
/* The API-key cache: a hit copies the org verified less than
 * LIM_KEY_CACHE_TTL_S ago (1), else 0; gen is to be handed to the put that
 * follows a successful database check, which then stores nothing if the
 * cache was cleared meanwhile. now is CLOCK_MONOTONIC seconds. Clear after
 * a key is revoked (after the commit). */
int	ht_keycache_get(const unsigned char hash[32], time_t now,
	    struct ly_org *org, unsigned long *gen);
void	ht_keycache_put(const unsigned char hash[32], const struct ly_org *org,
	    time_t now, unsigned long gen);
void	ht_keycache_clear(void);
/* A credential's digest for the caches below: BLAKE2b keyed with a random
 * per-process key, HT_TOKDIGEST_LEN bytes (so the caches keep neither
 * tokens, keys nor subjects). The verified-token cache (residents' JWTs),
 * by that digest: a
 * hit copies the subject hash of a token that verified before and whose
 * exp and nbf still hold at now (wall-clock seconds, as ht_jwt_verify), 1,
 * else 0. Put only what ht_jwt_verify accepted. */
#define HT_TOKDIGEST_LEN	32
void	ht_cred_digest(const char *tok, size_t len,
	    unsigned char out[HT_TOKDIGEST_LEN]);
int	ht_tokcache_get(const unsigned char d[HT_TOKDIGEST_LEN], time_t now,
	    unsigned char subject_hash[32]);
void	ht_tokcache_put(const unsigned char d[HT_TOKDIGEST_LEN], double exp,
	    double nbf, const unsigned char subject_hash[32]);
/* The caller's idempotency identity ("o:<id>" or "r:<hex hash>"). */
void	ht_caller_id(const struct ht_req *r, char *out, size_t outsz);

/* ---- metrics (metrics.c) ---- */

enum ht_counter { HT_C_AWARDS, HT_C_AWARD_POINTS, HT_C_REDEMPTIONS,
	HT_C_VOUCHER_USES, HT_C__MAX };
void	ht_metrics_init(void);
void	ht_metrics_request(int route, int status, double seconds);
void	ht_metrics_add(enum ht_counter c, unsigned long long n);
/* Renders the Prometheus text exposition; malloc'd, caller frees. */
char	*ht_metrics_render(size_t *len);

/* ---- handlers (h_*.c) ---- */

void	ht_h_healthz(struct ht_req *);
void	ht_h_readyz(struct ht_req *);
void	ht_h_metrics(struct ht_req *);
void	ht_h_orgs_create(struct ht_req *);
void	ht_h_orgs_list(struct ht_req *);
void	ht_h_keys_create(struct ht_req *);
void	ht_h_keys_revoke(struct ht_req *);
void	ht_h_issuers(struct ht_req *);
/* loyalty: members (h_members.c), rules, tiers, districts (h_rules.c),
 * awards (h_awards.c) */
void	ht_h_me_enroll(struct ht_req *);
void	ht_h_me_get(struct ht_req *);
void	ht_h_me_sources(struct ht_req *);
void	ht_h_me_ledger(struct ht_req *);
void	ht_h_me_access(struct ht_req *);
void	ht_h_me_export(struct ht_req *);
void	ht_h_me_delete(struct ht_req *);
void	ht_h_rules_list(struct ht_req *);
void	ht_h_rules_create(struct ht_req *);
void	ht_h_rules_update(struct ht_req *);
void	ht_h_tiers_get(struct ht_req *);
void	ht_h_tiers_put(struct ht_req *);
void	ht_h_districts_list(struct ht_req *);
void	ht_h_admin_districts_list(struct ht_req *);
void	ht_h_district_put(struct ht_req *);
void	ht_h_awards_create(struct ht_req *);
void	ht_h_awards_batch(struct ht_req *);
/* catalogue (h_catalog.c, h_partner.c) */
/* Adds an SQL DATETIME text as RFC 3339 ("" or NULL -> null). */
void	ht_jadd_sqltime(cJSON *obj, const char *name, const char *sql);
void	ht_h_perks_list(struct ht_req *);
void	ht_h_perks_create(struct ht_req *);
void	ht_h_perks_update(struct ht_req *);
void	ht_h_pass_key(struct ht_req *);
void	ht_h_redemptions_create(struct ht_req *);
void	ht_h_redemptions_list(struct ht_req *);
void	ht_h_redemptions_cancel(struct ht_req *);
void	ht_h_redemption_qr(struct ht_req *);
void	ht_h_passes_create(struct ht_req *);
void	ht_h_pass_qr(struct ht_req *);
void	ht_h_vouchers_check(struct ht_req *);
void	ht_h_vouchers_use(struct ht_req *);
void	ht_h_passes_check(struct ht_req *);
/* campaigns and stats (h_stats.c) */
void	ht_h_campaigns_create(struct ht_req *);
void	ht_h_campaigns_list(struct ht_req *);
void	ht_h_campaigns_update(struct ht_req *);
void	ht_h_stats_campaign(struct ht_req *);
void	ht_h_stats_enrollment(struct ht_req *);
void	ht_h_stats_overview(struct ht_req *);

#endif /* HT_H */
