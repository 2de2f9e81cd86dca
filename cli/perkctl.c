/*
 * perkctl.c: the operator's command-line tool. Each subcommand is one row
 * of the command table at the bottom: name, usage line, function. Every
 * subcommand reads the same perkd.conf as the daemon (--config).
 *
 *   migrate      apply sql/NNNN_*.sql not yet in schema_migrations
 *   org create   create an organisation and its first key
 *   key create   another key for an organisation
 *   token        a resident JWT for development
 *   demo         load the demo programme
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/perkctl.h"

#ifndef PERKD_SQLDIR
#define PERKD_SQLDIR "/usr/share/perkd/sql"
#endif

#define PC_MIGRATIONS_MAX	256

/* ---- shared plumbing ---- */

int
pc_open(struct pc *pc)
{
	struct db_cfg dc;
	enum db_res d;

	ly_config_db(&pc->cfg, &dc);
	db_rw_timeout_set(LIM_DB_RW_TOOL_S);
	if ((pc->db = db_open(&dc, &d)) == NULL || d != DB_OK) {
		fprintf(stderr, "perkctl: cannot connect to the database: %s\n",
		    pc->db ? db_error(pc->db) : "out of memory");
		return -1;
	}
	return 0;
}

double
pc_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
pc_fmt_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

int
pc_txn_end(struct pc *pc, enum ly_res res, const char *what)
{
	enum db_res d;

	if (res != LY_OK) {
		db_rollback(pc->db);
		fprintf(stderr, "perkctl: %s: %s\n", what, ly_res_str(res));
		return -1;
	}
	if ((d = db_commit(pc->db)) != DB_OK) {
		fprintf(stderr, "perkctl: %s: commit: %s\n", what,
		    db_res_str(d));
		return -1;
	}
	return 0;
}

int
pc_begin(struct pc *pc)
{
	enum db_res d;

	if ((d = db_begin(pc->db)) != DB_OK) {
		fprintf(stderr, "perkctl: begin: %s\n", db_res_str(d));
		return -1;
	}
	return 0;
}

static unsigned
pc_role(const char *s)
{
	if (strcmp(s, "issuer") == 0)
		return LY_ROLE_ISSUER;
	if (strcmp(s, "partner") == 0)
		return LY_ROLE_PARTNER;
	if (strcmp(s, "manager") == 0)
		return LY_ROLE_MANAGER;
	return 0;
}

int
pc_org_with_key(struct pc *pc, const char *name, unsigned roles,
    struct ly_org *org, char *key, size_t keysz)
{
	char key_id[LIM_PUBLIC_ID_MAX];
	enum ly_res res;

	if (pc_begin(pc) != 0)
		return -1;
	res = ly_org_create(pc->db, name, roles, org);
	if (res == LY_OK)
		res = ly_key_create(pc->db, org->id, key, keysz, key_id,
		    sizeof(key_id));
	return pc_txn_end(pc, res, name);
}

/* ---- migrate ---- */

static const char *const pc_mig_stmts[] = {
	"CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL "
	"PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at DATETIME(6) "
	"NOT NULL) ENGINE=InnoDB",
	"SELECT COUNT(*) FROM schema_migrations WHERE version = ?",
	"INSERT INTO schema_migrations (version, name, applied_at) VALUES "
	"(?, ?, UTC_TIMESTAMP(6))",
};

static int
pc_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
pc_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else
			buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

static int
cmd_migrate(struct pc *pc, int argc, char *argv[])
{
	const char *dir = getenv("PERKD_SQLDIR");
	char *names[PC_MIGRATIONS_MAX], path[1024], *text;
	struct dirent *de;
	struct db_row *row;
	size_t n = 0, i, applied = 0;
	DIR *d = NULL;
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--dir") == 0)
		dir = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: perkctl migrate [--dir DIR]\n");
		return 2;
	}
	if (dir == NULL)
		dir = PERKD_SQLDIR;
	if (pc_open(pc) != 0)
		return 1;
	if (db_exec(pc->db, pc_mig_stmts[0], NULL, 0) != DB_OK) {
		fprintf(stderr, "perkctl: cannot create schema_migrations\n");
		return 1;
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "perkctl: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL && n < PC_MIGRATIONS_MAX) {
		size_t len = strlen(de->d_name);
		if (len > 9 && de->d_name[4] == '_' &&
		    strspn(de->d_name, "0123456789") == 4 &&
		    strcmp(de->d_name + len - 4, ".sql") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), pc_name_cmp);
	for (i = 0; i < n; i++) {
		long version = strtol(names[i], NULL, 10);
		struct db_val q[] = { db_int(version) };
		if (db_one(pc->db, pc_mig_stmts[1], q, 1, &row) != DB_ROW)
			goto out;
		if (row->col[0].i > 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((text = pc_slurp(path)) == NULL) {
			fprintf(stderr, "perkctl: %s: %s\n", path,
			    strerror(errno));
			goto out;
		}
		printf("applying %s ... ", names[i]);
		fflush(stdout);
		if (db_script(pc->db, text) != DB_OK) {
			printf("failed\n");
			fprintf(stderr, "perkctl: %s: %s\n", names[i],
			    db_error(pc->db));
			free(text);
			goto out;
		}
		free(text);
		struct db_val ins[] = { db_int(version), db_text(names[i]) };
		if (db_exec(pc->db, pc_mig_stmts[2], ins, 2) != DB_OK)
			goto out;
		printf("ok\n");
		applied++;
	}
	printf("migrations: %zu applied, %zu already present\n", applied,
	    n - applied);
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

/* ---- org create, key create ---- */

static int
cmd_org(struct pc *pc, int argc, char *argv[])
{
	const char *name = NULL;
	unsigned roles = 0, r;
	struct ly_org org;
	char key[128];
	int i;

	if (argc < 2 || strcmp(argv[1], "create") != 0)
		goto usage;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			if ((r = pc_role(argv[++i])) == 0)
				goto usage;
			roles |= r;
		} else
			goto usage;
	}
	if (name == NULL || roles == 0 || strlen(name) > LIM_NAME_MAX)
		goto usage;
	if (pc_open(pc) != 0 ||
	    pc_org_with_key(pc, name, roles, &org, key, sizeof(key)) != 0)
		return 1;
	printf("org_id=%s\nkey=%s\n", org.public_id, key);
	return 0;
usage:
	fprintf(stderr, "usage: perkctl org create --name NAME --role "
	    "issuer|partner|manager [--role ...]\n");
	return 2;
}

static int
cmd_key(struct pc *pc, int argc, char *argv[])
{
	char key[128], key_id[LIM_PUBLIC_ID_MAX];
	struct ly_org org;
	enum ly_res res;

	if (argc != 3 || strcmp(argv[1], "create") != 0) {
		fprintf(stderr, "usage: perkctl key create ORG_ID\n");
		return 2;
	}
	if (pc_open(pc) != 0 || pc_begin(pc) != 0)
		return 1;
	res = ly_org_get(pc->db, argv[2], &org);
	if (res == LY_OK)
		res = ly_key_create(pc->db, org.id, key, sizeof(key), key_id,
		    sizeof(key_id));
	if (pc_txn_end(pc, res, argv[2]) != 0)
		return 1;
	printf("key_id=%s\nkey=%s\n", key_id, key);
	return 0;
}

/* ---- token ---- */

static int
cmd_token(struct pc *pc, int argc, char *argv[])
{
	unsigned long long ttl = 3600;
	time_t now = time(NULL);
	char *tok;

	if (argc == 4 && strcmp(argv[2], "--ttl") == 0) {
		if (ly_parse_uint(argv[3], 365ULL * 86400, &ttl) != 0 || ttl == 0)
			goto usage;
	} else if (argc != 2)
		goto usage;
	if (strlen(argv[1]) == 0 || strlen(argv[1]) > LIM_SUBJECT_MAX)
		goto usage;
	tok = pc_jwt_mint(pc->cfg.jwt_secret, pc->cfg.jwt_secret_len, argv[1],
	    now, now + (time_t)ttl);
	if (tok == NULL)
		return 1;
	printf("%s\n", tok);
	free(tok);
	return 0;
usage:
	fprintf(stderr, "usage: perkctl token SUBJECT [--ttl SECONDS]\n");
	return 2;
}

/* ---- demo ---- */

/*
 * The demo programme: a city hall (manager), a blood bank, a water and
 * heat utility and a library (issuers), a health centre, a bike scheme
 * and the library counter (partners), then each area's demo data (rules,
 * tiers, districts, perks, campaigns) from the steps table.
 */
static const struct pc_demo_step pc_demo_steps[] = {
	PC_LOYALTY_DEMO
	PC_CATALOG_DEMO
	PC_CAMPAIGNS_DEMO
	{ NULL, NULL },
};

static int
cmd_demo(struct pc *pc, int argc, char *argv[])
{
	static const struct { const char *name; unsigned roles;
	    const char *var; } orgs[] = {
		{ "City Hall Rewards Office", LY_ROLE_MANAGER, "PERKD_MANAGER" },
		{ "Regional Blood Bank", LY_ROLE_ISSUER, "PERKD_ISSUER" },
		{ "City Water and Heat", LY_ROLE_ISSUER, NULL },
		{ "Central Library", LY_ROLE_ISSUER | LY_ROLE_PARTNER, NULL },
		{ "Community Health Centre", LY_ROLE_PARTNER, "PERKD_PARTNER" },
		{ "City Bike Share", LY_ROLE_PARTNER, NULL },
	};
	struct pc_demo demo;
	struct ly_org org;
	char key[128];
	size_t i;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: perkctl demo\n");
		return 2;
	}
	if (pc_open(pc) != 0)
		return 1;
	memset(&demo, 0, sizeof(demo));
	for (i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++) {
		if (pc_begin(pc) != 0)
			return 1;
		enum ly_res res = ly_org_create(pc->db, orgs[i].name,
		    orgs[i].roles, &org);
		if (res == LY_ORG_EXISTS) {
			db_rollback(pc->db);
			fprintf(stderr, "perkctl: the demo programme is "
			    "already loaded\n");
			return 3;
		}
		if (pc_txn_end(pc, res, orgs[i].name) != 0)
			return 1;
		demo.orgs[i] = org;
		if (orgs[i].var == NULL)
			continue;
		if (pc_begin(pc) != 0)
			return 1;
		char key_id[LIM_PUBLIC_ID_MAX];
		res = ly_key_create(pc->db, org.id, key, sizeof(key), key_id,
		    sizeof(key_id));
		if (pc_txn_end(pc, res, orgs[i].name) != 0)
			return 1;
		printf("%s_KEY=%s\n", orgs[i].var, key);
		if (strcmp(orgs[i].var, "PERKD_MANAGER") != 0)
			printf("%s_ORG=%s\n", orgs[i].var, org.public_id);
	}
	for (i = 0; pc_demo_steps[i].name != NULL; i++) {
		if (pc_begin(pc) != 0)
			return 1;
		if (pc_txn_end(pc, pc_demo_steps[i].fn(pc, &demo),
		    pc_demo_steps[i].name) != 0)
			return 1;
	}
	fprintf(stderr, "perkctl: demo programme loaded\n");
	return 0;
}

/* ---- the command table ---- */

static const struct pc_cmd pc_cmds[] = {
	{ "migrate", "migrate [--dir DIR]", cmd_migrate },
	{ "org", "org create --name NAME --role ROLE [--role ROLE]", cmd_org },
	{ "key", "key create ORG_ID", cmd_key },
	{ "token", "token SUBJECT [--ttl SECONDS]", cmd_token },
	{ "demo", "demo", cmd_demo },
	PC_LOYALTY_COMMANDS
	PC_CATALOG_COMMANDS
	PC_GENERATE_COMMANDS
	PC_STATS_COMMANDS
	{ NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: perkctl [--config FILE] COMMAND [ARGS]\n\n"
	    "perkctl administers a perkd installation: schema migrations,\n"
	    "organisations and keys, development tokens, the demo programme\n"
	    "and consistency checks. It reads the daemon's configuration.\n\n"
	    "options:\n"
	    "  -c, --config FILE   configuration file (default "
	    "/etc/perkd/perkd.conf)\n"
	    "  -h, --help          this help\n"
	    "  -V, --version       print the version\n\ncommands:\n");
	for (i = 0; pc_cmds[i].name != NULL; i++)
		fprintf(f, "  perkctl %s\n", pc_cmds[i].usage);
	fprintf(f, "\nSee perkctl(8).\n");
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/perkd/perkd.conf";
	struct pc pc;
	char err[512];
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("perkctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; pc_cmds[i].name != NULL; i++)
		if (strcmp(pc_cmds[i].name, argv[optind]) == 0)
			break;
	if (pc_cmds[i].name == NULL) {
		fprintf(stderr, "perkctl: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (optind + 1 < argc && (strcmp(argv[optind + 1], "--help") == 0 ||
	    strcmp(argv[optind + 1], "-h") == 0)) {
		printf("usage: perkctl %s\n", pc_cmds[i].usage);
		return 0;
	}
	memset(&pc, 0, sizeof(pc));
	if (sodium_init() < 0 || db_library_init() != 0)
		return 1;
	if (ly_config_load(path, &pc.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "perkctl: %s\n", err);
		return 1;
	}
	setenv("TZ", pc.cfg.timezone, 1);
	tzset();
	ly_ctx_init(&pc.ctx, pc.cfg.server_key, pc.cfg.subject_key,
	    pc.cfg.pass_seed, pc.cfg.stats_min_group);
	rc = pc_cmds[i].fn(&pc, argc - optind, argv + optind);
	db_close(pc.db);
	db_library_end();
	return rc;
}
