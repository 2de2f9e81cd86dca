/*
 * ly_config.c: the perkd.conf file, read by perkd and perkctl alike:
 * "key = value" lines, '#' comments.
 * Every key has a default here; secrets have none, and outside dev mode
 * perkd refuses to start without strong ones (LIM_SECRET_MIN bytes).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "loyalty/ly.h"

int
ly_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	unsigned d;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static void
ly_config_defaults(struct ly_config *c)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "/run/perkd/perkd.sock");
	c->socket_mode = 0660;
	c->threads = n > 0 ? (unsigned)n * 2 : LIM_THREADS_MIN;
	if (c->threads < LIM_THREADS_MIN)
		c->threads = LIM_THREADS_MIN;
	snprintf(c->db_socket, sizeof(c->db_socket), "/run/mysqld/mysqld.sock");
	c->db_port = 3306;
	snprintf(c->db_name, sizeof(c->db_name), "perkd");
	snprintf(c->db_user, sizeof(c->db_user), "perkd");
	c->stats_min_group = LIM_STATS_MIN_GROUP;
	snprintf(c->timezone, sizeof(c->timezone), "UTC");
}

static int
ly_config_hex32(const char *v, unsigned char out[32])
{
	size_t bin = 0;

	if (strlen(v) != 64 || sodium_hex2bin(out, 32, v, 64, NULL, &bin,
	    NULL) != 0 || bin != 32)
		return -1;
	return 0;
}

static int
ly_config_copy(char *dst, size_t dstsz, const char *v)
{
	if (strlen(v) >= dstsz)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Applies one key; -1 on an unknown key or bad value. */
static int
ly_config_set(struct ly_config *c, const char *k, const char *v,
    unsigned *have)
{
	unsigned long long n;

	if (strcmp(k, "socket") == 0)
		return ly_config_copy(c->socket, sizeof(c->socket), v);
	if (strcmp(k, "socket_mode") == 0) {
		char *end;
		unsigned long m = strtoul(v, &end, 8);
		if (*v == '\0' || *end != '\0' || m > 0777)
			return -1;
		c->socket_mode = (unsigned)m;
		return 0;
	}
	if (strcmp(k, "threads") == 0) {
		if (ly_parse_uint(v, LIM_THREADS_MAX, &n) != 0 || n < 1)
			return -1;
		c->threads = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "db_socket") == 0)
		return ly_config_copy(c->db_socket, sizeof(c->db_socket), v);
	if (strcmp(k, "db_host") == 0)
		return ly_config_copy(c->db_host, sizeof(c->db_host), v);
	if (strcmp(k, "db_port") == 0) {
		if (ly_parse_uint(v, 65535, &n) != 0 || n == 0)
			return -1;
		c->db_port = (unsigned)n;
		return 0;
	}
	if (strcmp(k, "db_name") == 0)
		return ly_config_copy(c->db_name, sizeof(c->db_name), v);
	if (strcmp(k, "db_user") == 0)
		return ly_config_copy(c->db_user, sizeof(c->db_user), v);
	if (strcmp(k, "db_password") == 0)
		return ly_config_copy(c->db_password, sizeof(c->db_password), v);
	if (strcmp(k, "resident_jwt_secret") == 0) {
		if (strlen(v) >= sizeof(c->jwt_secret))
			return -1;
		c->jwt_secret_len = strlen(v);
		memcpy(c->jwt_secret, v, c->jwt_secret_len);
		*have |= 1;
		return 0;
	}
	if (strcmp(k, "subject_key") == 0) {
		*have |= 2;
		return ly_config_hex32(v, c->subject_key);
	}
	if (strcmp(k, "server_key") == 0) {
		*have |= 4;
		return ly_config_hex32(v, c->server_key);
	}
	if (strcmp(k, "pass_seed") == 0) {
		*have |= 8;
		return ly_config_hex32(v, c->pass_seed);
	}
	if (strcmp(k, "stats_min_group") == 0) {
		if (ly_parse_uint(v, 1000, &n) != 0 || n < 1)
			return -1;
		c->stats_min_group = (int)n;
		return 0;
	}
	if (strcmp(k, "timezone") == 0)
		return ly_config_copy(c->timezone, sizeof(c->timezone), v);
	if (strcmp(k, "dev_mode") == 0) {
		if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			return -1;
		c->dev_mode = v[0] == '1';
		return 0;
	}
	return -2;
}

static char *
ly_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* 1 if b is one byte repeated (all zero included): a placeholder, never a
 * generated secret. */
static int
ly_config_uniform(const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (b[i] != b[0])
			return 0;
	return 1;
}

int
ly_config_load(const char *path, struct ly_config *c, char *err, size_t errsz)
{
	char line[1024], *k, *v, *eq;
	unsigned have = 0, lineno = 0;
	FILE *f = NULL;
	int rc = -1, set;

	ly_config_defaults(c);
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errsz, "%s:%u: line too long", path, lineno);
			goto out;
		}
		k = ly_trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errsz, "%s:%u: expected key = value",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		v = ly_trim(eq + 1);
		k = ly_trim(k);
		if ((set = ly_config_set(c, k, v, &have)) != 0) {
			snprintf(err, errsz, "%s:%u: %s key '%s'", path, lineno,
			    set == -2 ? "unknown" : "bad value for", k);
			goto out;
		}
	}
	c->have_secrets = have == 15;
	if (!c->have_secrets) {
		snprintf(err, errsz, "%s: resident_jwt_secret, subject_key, "
		    "server_key and pass_seed are all required", path);
		goto out;
	}
	if (c->jwt_secret_len < LIM_SECRET_MIN && !c->dev_mode) {
		snprintf(err, errsz, "%s: resident_jwt_secret must be at least "
		    "%d bytes outside dev mode", path, LIM_SECRET_MIN);
		goto out;
	}
	if (!c->dev_mode && (strstr((const char *)c->jwt_secret, "change") ||
	    strstr((const char *)c->jwt_secret, "secret") ||
	    ly_config_uniform(c->jwt_secret, c->jwt_secret_len) ||
	    ly_config_uniform(c->server_key, 32) ||
	    ly_config_uniform(c->subject_key, 32) ||
	    ly_config_uniform(c->pass_seed, 32))) {
		snprintf(err, errsz, "%s: refusing a default or placeholder "
		    "secret outside dev mode", path);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	return rc;
}

void
ly_config_db(const struct ly_config *c, struct db_cfg *out)
{
	memset(out, 0, sizeof(*out));
	out->socket = c->db_host[0] == '\0' ? c->db_socket : NULL;
	out->host = c->db_host[0] != '\0' ? c->db_host : NULL;
	out->port = c->db_port;
	out->name = c->db_name;
	out->user = c->db_user;
	out->password = c->db_password[0] != '\0' ? c->db_password : NULL;
}
