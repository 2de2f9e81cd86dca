/*
 * perkd_limits.h: every limit perkd enforces, in one place, with the reason
 * for its value. It sits in sql/, the lowest layer, so that every layer can
 * include it. Change a value here and nowhere else.
 */
#ifndef PERKD_LIMITS_H
#define PERKD_LIMITS_H

/* A limit as text, for SQL built at compile time: LIM_STR(LIM_AGG_SHARDS) */
#define LIM_STR2(x)           #x
#define LIM_STR(x)            LIM_STR2(x)

/* HTTP input */
#define LIM_BODY_MAX          (64 * 1024)  /* contract: a body over 64 KiB gets 413 */
/* The one exception: 1000 awards (the contract's batch size) of up to
 * ~500 bytes each (subject 128, rule 64, external_ref 128, a time, JSON
 * punctuation) do not fit in 64 KiB. nginx allows the same on that route. */
#define LIM_BATCH_BODY_MAX    (512 * 1024)
#define LIM_JSON_DEPTH        16           /* deepest legitimate body is 3; bounds recursion */
#define LIM_QUERY_MAX         2048         /* query strings are a few short filters */
#define LIM_PATH_MAX          512          /* longest route is ~60 chars plus an id */
#define LIM_PATH_PARAMS       4            /* at most two {id}s in any route today */
#define LIM_IDEM_KEY_MAX      128          /* Stripe allows 255; 128 fits a UUID and a prefix */
#define LIM_JSON_INT_MAX      9007199254740992LL /* 2^53: larger integers lose precision in JS */

/* Lists */
#define LIM_PAGE_DEFAULT      50           /* contract */
#define LIM_PAGE_MAX          500          /* contract */
#define LIM_CURSOR_MAX        256          /* encoded cursor text */

/* Identity */
#define LIM_SUBJECT_MAX       128          /* contract: resident sub at most 128 chars */
#define LIM_JWT_MAX           4096         /* a resident token is ~300 bytes; 4 KiB is generous */
#define LIM_JWT_SKEW_S        60           /* clock skew tolerated on exp/nbf */
#define LIM_SECRET_MIN        32           /* bytes of secret material required outside dev mode */
#define LIM_PUBLIC_ID_MAX     40           /* "mem_" + 26 base32 chars, with room */

/* Text fields */
#define LIM_NAME_MAX          200          /* org, perk, rule, campaign titles */
#define LIM_DESC_MAX          2000         /* descriptions shown in the catalogue */
#define LIM_CODE_MAX          64           /* rule codes, district codes, campaign codes */
#define LIM_EXTREF_MAX        128          /* issuer's external reference for an act */

/* Awards */
#define LIM_BATCH_MAX         1000         /* contract: up to 1000 awards per batch */
#define LIM_POINTS_MAX        1000000      /* one rule never awards more; keeps sums far from overflow */
#define LIM_MULTIPLIER_MAX    10           /* a campaign bonus at most multiplies by 10 */
#define LIM_ISSUERS_MAX       1000         /* issuers named in a rule or a member's sources */
#define LIM_DAILY_CAP_MAX     1000000      /* a cap above LIM_POINTS_MAX would never cut */

/* Members and tiers */
#define LIM_TIERS_MAX         32           /* a ladder people can read; 4-6 in practice */
#define LIM_CONSENT_VERSION_MAX 64         /* "2026-01": a version label, not the text */
#define LIM_POPULATION_MAX    2147483647LL /* INT range: larger than any city */
#define LIM_STAR_POINTS_MAX   1000000      /* a star never costs more than one rule's max */
#define LIM_STARS_PER_FLAG_MAX 1000

/* Database */
#define LIM_DB_RETRIES        5            /* deadlock / lock-wait retries before 503 */
#define LIM_DB_CONNECT_S      2            /* connect timeout: a down database answers 503 fast */
#define LIM_DB_NODES          8            /* database nodes in db_socket / db_host, tried in order */
#define LIM_DB_RW_S           4            /* perkd's read/write timeout: a frozen or unreachable
                                            * server answers 503 within ~RW + CONNECT s, so a
                                            * client (and nginx's 30 s fastcgi_read_timeout) is
                                            * never held; a healthy statement takes milliseconds
                                            * (measured in tests/chaos/crash.py, docs/reliability.md) */
#define LIM_DB_LOCK_WAIT_S    2            /* innodb_lock_wait_timeout of perkd's sessions: below
                                            * LIM_DB_RW_S, so a long lock wait comes back as a
                                            * retryable error, not a client timeout that drops
                                            * the connection (MariaDB's default is 50 s) */
#define LIM_DB_RW_TOOL_S      3600         /* perkctl: verify, sweep and stats rebuild scan whole
                                            * tables at city scale; an operator can interrupt */
#define LIM_DB_COLS           32           /* widest result row */
#define LIM_DB_PARAMS         32           /* bound parameters held on the stack; more come from a
                                            * per-connection buffer grown on demand */
#define LIM_DB_PARAMS_MAX     65535        /* most bound parameters in one statement (the
                                            * protocol's limit): multi-row INSERTs of batch
                                            * awards (LIM_DB_ROWS_MAX x 11) and of perkctl
                                            * generate (500 rows x up to 10 columns) */
#define LIM_DB_ROWS_MAX       128          /* rows (or IN-list values) in one multi-row statement:
                                            * 1000 batch items in ~8 statements a step; texts exist
                                            * for the powers of two up to it (db_multi_sql) */
/* Prepared statements kept per connection (sql/db.c; the least recently
 * used is closed to make room). Connector/C holds 9-12 KiB of client
 * memory per statement handle, and perkd has a connection per worker
 * thread, so the handles are most of its memory: 36 statements on each
 * of 64 connections were ~25 MB. perkd divides LIM_DB_STMTS_TOTAL among
 * its worker connections, at least LIM_DB_STMTS_MIN each: the statements
 * of an award, a redemption, GET /v1/me, a voucher check and the API-key
 * look-up are 16 together (counted on a served stack), so the hot
 * endpoints never re-prepare; the rarer ones may, one round trip each.
 * LIM_DB_STMTS_MAX sizes the slots (perkctl's connection, few threads). */
#define LIM_DB_STMTS_TOTAL    1024         /* ~10 MB of statement handles per process */
#define LIM_DB_STMTS_MIN      16
#define LIM_DB_STMTS_MAX      64
#define LIM_DB_BIG_STMTS      64           /* statements with more than LIM_DB_PARAMS parameters
                                            * kept until the transaction ends: a batch re-prepares
                                            * its multi-row texts, and 64 idle connections do not
                                            * hold ~1 MiB of them each */

/* Aggregates: hot rows are split into shards so that concurrent awards do
 * not queue on one row lock; stats sum over the shards. */
#define LIM_AGG_SHARDS        16
/* Transactions of one perkd that move points at once (loyalty/ly_slots.c);
 * each writes the aggregate shard of its slot, so at most LIM_AGG_SHARDS */
#define LIM_LEDGER_WRITERS    16

/* Retry-After sent with 503 while the database is unreachable */
#define LIM_RETRY_AFTER_S     5

/* Idempotency keys are kept at least this long (contract: 24 h) */
#define LIM_IDEM_KEEP_S       (48 * 3600)

/* API-key cache (fcgi/auth.c): a verified key is trusted for this long
 * without asking the database again, so organisation calls cost one round
 * trip less. A revocation through this process clears the cache at once;
 * in another perkd process a revoked key works for at most this long. */
#define LIM_KEY_CACHE_TTL_S   5
#define LIM_KEY_CACHE_SLOTS   256          /* direct-mapped; orgs are few, a collision only costs a lookup */

/* Verified-token cache (fcgi/auth.c): residents' tokens that verified,
 * by a keyed digest (88 bytes a slot), so that a resident's next call
 * skips the JWT check and the subject hash. Direct-mapped; a collision
 * only costs a full check. exp/nbf are checked on every hit. */
#define LIM_TOKEN_CACHE_SLOTS 4096

/* The access-log writer (loyalty/ly_access.c) commits the rows of
 * concurrent checks together, in INSERTs of at most this many rows (a
 * power of two; 4 parameters a row, so the statements stay cached). */
#define LIM_ACCESS_CHUNK      8

/* Tier-ladder cache (loyalty/ly_tiers.c): perkd keeps the ladder this
 * long, so GET /v1/me costs one round trip. A change through this process
 * shows at once; one made by perkctl or another perkd within this long. */
#define LIM_LADDER_CACHE_TTL_S 5

/* Earning-terms cache (loyalty/ly_terms.c): a rule, its issuers and its
 * bonus campaigns, kept this long for this many rule codes, so that an
 * award does not read them. Changes show as the ladder's do. */
#define LIM_TERMS_CACHE_TTL_S 5
#define LIM_TERMS_CACHE       64

/* Catalogue: vouchers, partner checks, passes */
#define LIM_VOUCHER_BYTES     16           /* contract: a voucher code carries >= 128 random bits */
#define LIM_VOUCHER_TEXT_MAX  64           /* a code as typed: 26 base32 chars, dashes, spaces */
#define LIM_VOUCHER_DAYS_MAX  3660         /* a voucher is valid at most ten years */
#define LIM_STOCK_MAX         2147483647   /* perks.stock is an INT */
#define LIM_CHECK_FAILS       10           /* failed voucher/pass checks per key per window; a counter
                                            * mistypes a few times a minute, a guesser thousands */
#define LIM_CHECK_WINDOW_S    60           /* the sliding window of the failure limit */
#define LIM_CHECK_ORGS        1024         /* orgs tracked by the in-process limiter; the least
                                            * recently failing one is forgotten first */
#define LIM_PASS_TTL_S        600          /* contract: a pass is valid 10 minutes */
/* Verified-pass cache (catalog/cat_passes.c): passes whose Ed25519
 * signature checked, by a keyed digest (~100 bytes a slot), so that a
 * pass checked again skips the signature. Direct-mapped. */
#define LIM_PASS_CACHE_SLOTS  1024
#define LIM_PASS_TEXT_MAX     512          /* a pass is ~190 characters; 512 bounds the parser */
#define LIM_SWEEP_BATCH       100          /* vouchers expired per query; each refund is its own
                                            * small transaction so the sweep never holds locks long */
#define LIM_PURGE_BATCH       1000         /* idempotency/pass rows deleted per statement */

/* Workers */
#define LIM_THREADS_MIN       8            /* issue: default 2 x cores, at least 8 */
#define LIM_THREADS_MAX       256
#define LIM_LISTEN_BACKLOG    1024
#define LIM_MALLOC_ARENAS     2            /* glibc arenas for all workers: per-thread arenas (up to
                                            * 8 per core) kept 4-5 MB each, 77 MB RSS at 64 threads;
                                            * 2 keep it under 28 MB at the same throughput (fcgi/main.c) */
#define LIM_TRIM_AFTER        (32 * 1024)  /* body + reply bytes after which a worker returns freed
                                            * memory to the system (malloc_trim): batches only */

/* Stats */
#define LIM_STATS_MIN_GROUP   5            /* default stats_min_group: smaller counts are withheld */
#define LIM_STATS_DAYS        3660         /* a series spans at most ten years of days */
#define LIM_STATS_DISTRICTS   256          /* districts a stats answer breaks down (a city has tens) */
#define LIM_STATS_CELLS       1000000      /* days x districts of history held for one answer (~24 MB) */
#define LIM_STATS_ROWS        4096         /* perks, rules or channels listed in one overview */
#define LIM_STATS_CSV_MAX     (4 * 1024 * 1024) /* a ten-year daily series is ~200 KiB of CSV */

/* Campaigns */
#define LIM_CAMPAIGN_DISTRICTS 64          /* districts one campaign targets */

#endif /* PERKD_LIMITS_H */
