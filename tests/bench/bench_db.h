/*
 * bench_db.h: what the SQL baselines share (tests/bench/ only).
 *
 * bare-sql (FastCGI) and raw-sql (no HTTP) must run exactly the same SQL
 * the same way, or their ratio means nothing: both call bench_read() and
 * bench_write() below on a connection opened by bench_connect(). They are
 * benchmark programs, not part of perkd, so they talk to Connector/C
 * directly (tests/check-layers.sh exempts tests/bench/): the point is to
 * measure the least a request can do, without perkd's db layer.
 *
 *   read:  one prepared primary-key SELECT of a member row
 *   write: START TRANSACTION; UPDATE members SET balance = balance + 1
 *          WHERE id = ?; INSERT INTO ledger (...); COMMIT
 *          (the shape of an award, at the server's durability setting)
 */
#ifndef BENCH_DB_H
#define BENCH_DB_H

#include <mysql.h>

struct bench_dbcfg {
	char	socket[256];
	char	name[64];
	char	user[64];
	char	password[128];
};

/* One connection and its two prepared statements, per thread. */
struct bench_conn {
	MYSQL		*my;
	MYSQL_STMT	*sel;
	MYSQL_STMT	*upd;
	MYSQL_STMT	*ins;
	/* bound parameter and result buffers */
	long long	 id;
	long long	 r_id, r_balance, r_lifetime;
	char		 r_district[65];
	unsigned long	 r_district_len;
	my_bool		 r_null[4];
};

/* Reads db_socket, db_name, db_user, db_password from a perkd.conf
 * (key = value lines, # comments). 0, or -1 with a message on stderr. */
int	bench_dbcfg_load(const char *path, struct bench_dbcfg *cfg);
/* Connects and prepares; 0 or -1 (message on stderr). */
int	bench_connect(struct bench_conn *c, const struct bench_dbcfg *cfg);
void	bench_close(struct bench_conn *c);
/* One primary-key SELECT: 0 found, 1 not found, -1 error. */
int	bench_read(struct bench_conn *c, long long id);
/* One award-shaped transaction: 0 committed, -1 error (rolled back). */
int	bench_write(struct bench_conn *c, long long id);

#endif /* BENCH_DB_H */
