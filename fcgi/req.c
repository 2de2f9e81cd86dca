/*
 * req.c: reading one FastCGI request (params, a bounded body, the query
 * string) into struct ht_req, writing its reply, and logging one
 * key=value line per request. The log line never holds a token, a body or
 * a resident's subject.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fcgi/ht.h"

#define HT_LOG_LINE_MAX	2048	/* a log line, or the reply headers (HT_HEADERS_MAX and the fixed ones) */

const char *
ht_param(const struct ht_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgx->envp);
}

/* The value of a "NAME=value" entry if it is name's (first) entry. */
static void
ht_take(const char *entry, const char *name, size_t nl, const char **v)
{
	if (*v == NULL && strncmp(entry, name, nl) == 0 && entry[nl] == '=')
		*v = entry + nl + 1;
}

int
ht_req_read(struct ht_req *r)
{
	unsigned long long clen = 0;
	const char *cl = NULL, *uri = NULL, *script = NULL, *idem = NULL;
	char **e;
	size_t n;

	/*
	 * The parameters the loop needs, in one pass over the ~30 that nginx
	 * sends (FCGX_GetParam scans them all for each name: ~6,000
	 * instructions a request). The first of a repeated name wins, as
	 * with FCGX_GetParam.
	 */
#define HT_TAKE(name, v)	ht_take(*e, name, sizeof(name) - 1, v)
	for (e = r->fcgx->envp; e != NULL && *e != NULL; e++) {
		switch ((*e)[0]) {
		case 'C':
			HT_TAKE("CONTENT_LENGTH", &cl);
			HT_TAKE("CONTENT_TYPE", &r->in_ctype);
			break;
		case 'D':
			HT_TAKE("DOCUMENT_URI", &uri);
			break;
		case 'H':
			HT_TAKE("HTTP_AUTHORIZATION", &r->in_authz);
			HT_TAKE("HTTP_IDEMPOTENCY_KEY", &idem);
			break;
		case 'Q':
			HT_TAKE("QUERY_STRING", &r->query);
			break;
		case 'R':
			HT_TAKE("REQUEST_METHOD", &r->method);
			break;
		case 'S':
			HT_TAKE("SCRIPT_NAME", &script);
			break;
		}
	}
#undef HT_TAKE
	if (r->method == NULL)
		r->method = "GET";
	if (uri == NULL)
		uri = script;
	if (uri == NULL)
		uri = "/";
	n = strlen(uri);
	if (n >= sizeof(r->path))
		n = sizeof(r->path) - 1;	/* no route is that long: 404 */
	memcpy(r->path, uri, n);
	r->path[n] = '\0';
	if (r->query == NULL)
		r->query = "";

	if (idem != NULL) {
		n = strlen(idem);
		if (n == 0 || n > LIM_IDEM_KEY_MAX) {
			ht_reply_problem(r, HT_P_INVALID_IDEMPOTENCY_KEY,
			    "Idempotency-Key must be 1 to 128 characters");
			return -1;
		}
		memcpy(r->idem_key, idem, n + 1);
	}

	if (cl != NULL && *cl != '\0' &&
	    ly_parse_uint(cl, 1ULL << 62, &clen) != 0) {
		ht_reply_problem(r, HT_P_INVALID_CONTENT_LENGTH,
		    "Content-Length must be a decimal byte count");
		return -1;
	}
	r->clen = clen;
	return 0;
}

int
ht_req_read_body(struct ht_req *r, size_t max)
{
	char detail[96];
	int got;

	/* the length was parsed against a bound far above any limit, so that
	 * a huge value is 413 and junk is 400 */
	if (r->clen > max) {
		snprintf(detail, sizeof(detail), "request bodies here are "
		    "limited to %zu KiB", max / 1024);
		ht_reply_problem(r, HT_P_PAYLOAD_TOO_LARGE, detail);
		return -1;
	}
	if ((r->body = malloc((size_t)r->clen + 1)) == NULL) {
		ht_reply_result(r, LY_NOMEM, NULL);
		return -1;
	}
	r->bodylen = 0;
	while (r->bodylen < r->clen) {
		got = FCGX_GetStr(r->body + r->bodylen,
		    (int)(r->clen - r->bodylen), r->fcgx->in);
		if (got <= 0)
			break;
		r->bodylen += (size_t)got;
	}
	r->body[r->bodylen] = '\0';
	if (r->bodylen != r->clen) {
		ht_reply_problem(r, HT_P_INVALID_CONTENT_LENGTH,
		    "the body is shorter than Content-Length");
		return -1;
	}
	return 0;
}

static int
ht_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
ht_query(const struct ht_req *r, const char *name, char *buf, size_t bufsz)
{
	const char *p = r->query, *amp, *eq;
	size_t nl = strlen(name), o;
	int hi, lo;

	if (strlen(p) > LIM_QUERY_MAX)
		return -1;
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if ((size_t)((eq ? eq : amp) - p) == nl &&
		    strncmp(p, name, nl) == 0) {
			o = 0;
			for (p = eq ? eq + 1 : amp; p < amp; p++) {
				char ch = *p;
				if (ch == '+')
					ch = ' ';
				else if (ch == '%') {
					if (amp - p < 3)
						return -1;
					if ((hi = ht_hexval(p[1])) < 0 ||
					    (lo = ht_hexval(p[2])) < 0)
						return -1;
					ch = (char)(hi * 16 + lo);
					p += 2;
				}
				if (ch == '\0' || o + 1 >= bufsz)
					return -1;
				buf[o++] = ch;
			}
			buf[o] = '\0';
			return 1;
		}
		p = *amp == '&' ? amp + 1 : amp;
	}
	return 0;
}

int
ht_query_limit(struct ht_req *r, size_t *limit)
{
	char buf[16];
	unsigned long long v;
	int q;

	*limit = LIM_PAGE_DEFAULT;
	if ((q = ht_query(r, "limit", buf, sizeof(buf))) == 0)
		return 0;
	if (q < 0 || ly_parse_uint(buf, LIM_PAGE_MAX, &v) != 0 || v < 1) {
		ht_reply_problem(r, HT_P_INVALID_QUERY,
		    "limit must be a whole number from 1 to 500");
		return -1;
	}
	*limit = (size_t)v;
	return 0;
}

int
ht_wants_csv(const struct ht_req *r)
{
	const char *accept = ht_param(r, "HTTP_ACCEPT");
	char fmt[8];

	if (ht_query(r, "format", fmt, sizeof(fmt)) == 1)
		return strcmp(fmt, "csv") == 0;
	return accept != NULL && strstr(accept, "text/csv") != NULL;
}

static const char *
ht_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return status >= 500 ? "Internal Server Error" : "OK";
	}
}

/* Writes all of buf to fd 2, going on after a short write or a signal. */
static void
ht_log_write(const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(STDERR_FILENO, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* nowhere to report it */
		buf += w;
		n -= (size_t)w;
	}
}

/* A line built from pieces: what does not fit is cut (never past cap). */
struct ht_line {
	char	 buf[HT_LOG_LINE_MAX];
	size_t	 len;
};

static void
ht_line_put(struct ht_line *l, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(l->buf) - l->len)
		n = sizeof(l->buf) - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
ht_line_int(struct ht_line *l, long long v)
{
	char b[24];

	ht_line_put(l, ht_lltoa(b, v));
}

/*
 * Sends the reply and logs the request. The headers go to libfcgi in one
 * piece. The log line is built here (no printf: at these rates its
 * formatting was a tenth of a request's instructions) and written with
 * one write(2): fprintf(stderr) holds stdio's lock on stderr across the
 * write, and with every worker logging every request that lock was where
 * the threads queued (docs/benchmarks.md: most futex waits of a GET
 * /v1/me load, and the long tail at 64 connections). One write of a whole
 * line (an O_APPEND file, or a pipe up to PIPE_BUF) is not interleaved
 * with another thread's line.
 */
void
ht_req_finish(struct ht_req *r)
{
	struct timespec end;
	long long ns, cs;
	struct ht_line l;

	if (r->status == 0)
		ht_reply_result(r, LY_INTERNAL, NULL);
	l.len = 0;
	ht_line_put(&l, "Status: ");
	ht_line_int(&l, r->status);
	ht_line_put(&l, " ");
	ht_line_put(&l, ht_reason(r->status));
	ht_line_put(&l, "\r\n");
	if (r->status != 204 && r->ctype != NULL) {
		ht_line_put(&l, "Content-Type: ");
		ht_line_put(&l, r->ctype);
		ht_line_put(&l, "\r\n");
	}
	ht_line_put(&l, "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\nX-Request-Id: ");
	ht_line_put(&l, r->request_id);
	ht_line_put(&l, "\r\n");
	ht_line_put(&l, r->headers);
	ht_line_put(&l, "\r\n");
	FCGX_PutStr(l.buf, (int)l.len, r->fcgx->out);
	if (r->status != 204 && r->out != NULL && r->outlen > 0 &&
	    strcmp(r->method, "HEAD") != 0)
		FCGX_PutStr(r->out, (int)r->outlen, r->fcgx->out);

	clock_gettime(CLOCK_MONOTONIC, &end);
	ns = (long long)(end.tv_sec - r->start.tv_sec) * 1000000000LL +
	    (end.tv_nsec - r->start.tv_nsec);
	ht_metrics_request(r->route, r->status, (double)ns / 1e9);
	cs = (ns + 5000) / 10000;	/* dur_ms has two decimals: 10 us */
	l.len = 0;
	ht_line_put(&l, "ts=");
	ht_line_int(&l, (long long)time(NULL));
	ht_line_put(&l, " rid=");
	ht_line_put(&l, r->request_id);
	ht_line_put(&l, " method=");
	ht_line_put(&l, r->method);
	ht_line_put(&l, " route=");
	ht_line_put(&l, r->route >= 0 ? ht_routes[r->route].pattern : "-");
	ht_line_put(&l, " status=");
	ht_line_int(&l, r->status);
	ht_line_put(&l, " dur_ms=");
	ht_line_int(&l, cs / 100);
	ht_line_put(&l, cs % 100 < 10 ? ".0" : ".");
	ht_line_int(&l, cs % 100);
	ht_line_put(&l, " caller=");
	ht_line_put(&l, r->caller == HT_CALLER_ORG ? "org:" :
	    r->caller == HT_CALLER_RESIDENT ? "resident" : "none");
	if (r->caller == HT_CALLER_ORG)
		ht_line_put(&l, r->org.public_id);
	if (r->replayed)
		ht_line_put(&l, " replayed=1");
	if (r->idem_key[0] != '\0')
		ht_line_put(&l, " idem=1");
	if (l.len == sizeof(l.buf))
		l.len--;	/* cut (a method longer than a line): end it */
	l.buf[l.len++] = '\n';
	ht_log_write(l.buf, l.len);
}

void
ht_req_reset(struct ht_req *r)
{
	FCGX_Request *fcgx = r->fcgx;
	struct ht_worker *w = r->w;

	free(r->body);
	cJSON_Delete(r->json);
	free(r->out);
	memset(r, 0, sizeof(*r));
	r->fcgx = fcgx;
	r->w = w;
	r->db = w->db;
	r->ctx = w->ctx;
	r->route = -1;
}
