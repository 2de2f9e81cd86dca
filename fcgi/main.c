/*
 * main.c: perkd, the FastCGI daemon. One process, N worker threads, each
 * with its own FCGX_Request loop on one shared unix socket and its own
 * MariaDB connection (prepared statements made once per connection).
 *
 * Memory: glibc gives each thread that allocates concurrently a malloc
 * arena of its own, up to 8 per core, and an arena keeps what it once
 * held. With 64 workers on a small machine that alone took perkd's RSS
 * from 10 to 77 MB in the benchmarks (docs/benchmarks.md); two arenas
 * kept it under 28 MB at the same throughput. LIM_MALLOC_ARENAS says how
 * many. A request that moved more than LIM_TRIM_AFTER bytes (a batch of
 * awards: a 60 KiB body, a thousand-item reply, their JSON trees) leaves
 * freed memory behind in the arena; malloc_trim() hands it back after
 * such a request, so that a few concurrent batches do not set the RSS
 * for good. Then prepared statements: Connector/C holds ~10 KiB for each,
 * on each connection, so the workers share LIM_DB_STMTS_TOTAL of them
 * (sql/db.c keeps the most recently used on each connection).
 *
 * Signals are blocked in the workers and taken by the main thread with
 * sigwait(): on SIGTERM/SIGINT it stops accepting (shutting the listening
 * socket down wakes every accept()), lets in-flight requests finish, closes
 * the connections and exits 0.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fcgi/ht.h"

static struct ly_config	 cfg;
static struct ly_ctx	 ctx;
static int		 listen_fd = -1;
static atomic_int	 stopping;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: perkd [--config FILE] [--check-config] [--routes]\n"
	    "\n"
	    "perkd serves the perkd civic rewards API over FastCGI on a unix\n"
	    "socket, for nginx to pass requests to. It runs in the foreground\n"
	    "and logs one key=value line per request to standard error.\n"
	    "\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "      --check-config  load and check the configuration, then exit\n"
	    "      --routes        print the route table (METHOD PATH ROLES)\n"
	    "  -h, --help          this help\n"
	    "  -V, --version       print the version\n"
	    "\n"
	    "SIGTERM or SIGINT: stop accepting, finish in-flight requests, exit 0.\n"
	    "See perkd(8) for every configuration key.\n",
	    "/etc/perkd/perkd.conf");
}

/*
 * The request id in our log line and X-Request-Id: nginx's $request_id
 * (fastcgi_param REQUEST_ID) when it is 32 hex digits, so that nginx's
 * access log and ours can be matched; else a random one.
 */
static void
ht_request_id(struct ht_req *r, unsigned char *rnd, size_t n)
{
	const char *id = FCGX_GetParam("REQUEST_ID", r->fcgx->envp);

	if (id != NULL && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32 &&
	    strlen(id) < sizeof(r->request_id)) {
		memcpy(r->request_id, id, 33);
		return;
	}
	randombytes_buf(rnd, n);
	sodium_bin2hex(r->request_id, sizeof(r->request_id), rnd, n);
}

static void *
worker(void *arg)
{
	struct ht_worker *w = arg;
	FCGX_Request fcgx;
	struct ht_req r;
	unsigned char rid[8];
	enum db_res d;
	int big;

	db_thread_init();
	if (FCGX_InitRequest(&fcgx, listen_fd, 0) != 0) {
		fprintf(stderr, "level=error component=worker id=%d "
		    "error=\"FCGX_InitRequest failed\"\n", w->id);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.fcgx = &fcgx;
	r.w = w;
	for (;;) {
		if (FCGX_Accept_r(&fcgx) < 0)
			break;
		if (w->db == NULL) {
			struct db_cfg dc;
			ly_config_db(w->cfg, &dc);
			w->db = db_open(&dc, &d);
		}
		ht_req_reset(&r);
		clock_gettime(CLOCK_MONOTONIC, &r.start);
		ht_request_id(&r, rid, sizeof(rid));
		if (w->db == NULL)
			ht_reply_result(&r, LY_NOMEM, NULL);
		else if (ht_req_read(&r) == 0)
			ht_dispatch(&r);
		if (r.db != NULL && db_in_txn(r.db))
			db_rollback(r.db);	/* a handler bug: never leak */
		big = r.bodylen + r.outlen > LIM_TRIM_AFTER;
		ht_req_finish(&r);
		FCGX_Finish_r(&fcgx);
		if (big) {
			/* see the top of this file */
			ht_req_reset(&r);
			malloc_trim(0);
		}
		if (atomic_load(&stopping))
			break;
	}
	ht_req_reset(&r);
	FCGX_Free(&fcgx, 1);
out:
	db_close(w->db);
	w->db = NULL;
	db_thread_end();
	return NULL;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "routes", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/perkd/perkd.conf";
	struct ht_worker *workers = NULL;
	struct db_cfg dc;
	pthread_t *tids = NULL;
	char err[512];
	sigset_t set;
	int ch, sig, check = 0, rc = 1;
	unsigned i, started = 0;
	size_t kept = 0;

	while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = 1;
			break;
		case 'r':
			ht_routes_print(stdout);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("perkd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
#ifdef M_ARENA_MAX
	/* before any thread starts: see the top of this file */
	mallopt(M_ARENA_MAX, LIM_MALLOC_ARENAS);
#endif
	if (sodium_init() < 0) {
		fprintf(stderr, "perkd: libsodium failed to initialise\n");
		return 1;
	}
	if (ly_config_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "perkd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("perkd: %s is valid\n", path);
		return 0;
	}
	setenv("TZ", cfg.timezone, 1);
	tzset();
	ly_ctx_init(&ctx, cfg.server_key, cfg.subject_key, cfg.pass_seed,
	    cfg.stats_min_group);
	ht_metrics_init();
	ly_ladder_cache_ttl(LIM_LADDER_CACHE_TTL_S);
	ly_terms_cache_ttl(LIM_TERMS_CACHE_TTL_S);
	signal(SIGPIPE, SIG_IGN);
	if (db_library_init() != 0 || FCGX_Init() != 0) {
		fprintf(stderr, "perkd: library initialisation failed\n");
		return 1;
	}
	unlink(cfg.socket);
	if ((listen_fd = FCGX_OpenSocket(cfg.socket, LIM_LISTEN_BACKLOG)) < 0) {
		fprintf(stderr, "perkd: cannot listen on %s: %s\n", cfg.socket,
		    strerror(errno));
		goto out;
	}
	if (chmod(cfg.socket, cfg.socket_mode) != 0) {
		fprintf(stderr, "perkd: chmod %s: %s\n", cfg.socket,
		    strerror(errno));
		goto out;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	workers = calloc(cfg.threads, sizeof(*workers));
	tids = calloc(cfg.threads, sizeof(*tids));
	if (workers == NULL || tids == NULL)
		goto out;
	ly_config_db(&cfg, &dc);
	/* before any connection opens: see the top of this file */
	kept = db_stmts_kept_set(LIM_DB_STMTS_TOTAL / cfg.threads);
	if (ly_access_start(&dc) != 0) {
		fprintf(stderr, "perkd: cannot start the access-log writer\n");
		goto out;
	}
	for (i = 0; i < cfg.threads; i++) {
		enum db_res d;
		workers[i].id = (int)i;
		workers[i].cfg = &cfg;
		workers[i].ctx = &ctx;
		workers[i].db = db_open(&dc, &d);
		if (pthread_create(&tids[i], NULL, worker, &workers[i]) != 0) {
			fprintf(stderr, "perkd: cannot start worker %u\n", i);
			break;
		}
		started++;
	}
	fprintf(stderr, "level=info msg=\"perkd %s listening\" socket=%s "
	    "threads=%u statements_kept=%zu\n", PACKAGE_VERSION, cfg.socket,
	    started, kept);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP)
			continue;	/* no reload: restart to change config */
		break;
	}
	fprintf(stderr, "level=info msg=\"stopping: finishing in-flight "
	    "requests\" signal=%d\n", sig);
	atomic_store(&stopping, 1);
	shutdown(listen_fd, SHUT_RDWR);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	rc = 0;
out:
	ly_access_stop();	/* after the workers: none waits on it now */
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(cfg.socket);
	}
	free(workers);
	free(tids);
	db_library_end();
	sodium_memzero(&cfg, sizeof(cfg));
	sodium_memzero(&ctx, sizeof(ctx));
	return rc;
}
