/*
 * csv.c: RFC 4180 CSV for the stats endpoints. Fields holding a comma,
 * quote, CR or LF are quoted with quotes doubled; a field that starts with
 * = + - @ TAB or CR gets a leading ' so that a spreadsheet shows it as text
 * instead of running it as a formula (CSV injection). Lines end in CRLF.
 * The buffer has a maximum size; past it the CSV is marked failed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

void
ht_csv_init(struct ht_csv *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	c->max = max;
}

static void
ht_csv_put(struct ht_csv *c, const char *s, size_t n)
{
	if (!c->failed &&
	    ht_append(&c->buf, &c->len, &c->cap, 1024, c->max, s, n) != 0)
		c->failed = 1;
}

static void
ht_csv_sep(struct ht_csv *c)
{
	if (c->col++ > 0)
		ht_csv_put(c, ",", 1);
}

void
ht_csv_field(struct ht_csv *c, const char *s)
{
	const char *p;
	int quote, formula;

	ht_csv_sep(c);
	if (s == NULL)
		return;
	formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
	    s[0] == '\t' || s[0] == '\r';
	quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (!quote) {
		ht_csv_put(c, s, strlen(s));
		return;
	}
	ht_csv_put(c, "\"", 1);
	if (formula)
		ht_csv_put(c, "'", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			ht_csv_put(c, "\"\"", 2);
		else
			ht_csv_put(c, p, 1);
	}
	ht_csv_put(c, "\"", 1);
}

void
ht_csv_int(struct ht_csv *c, long long v, int null)
{
	char b[32];

	ht_csv_sep(c);
	if (null)
		return;
	snprintf(b, sizeof(b), "%lld", v);
	ht_csv_put(c, b, strlen(b));
}

void
ht_csv_num(struct ht_csv *c, double v, int null)
{
	char b[64];

	ht_csv_sep(c);
	if (null)
		return;
	snprintf(b, sizeof(b), "%.6g", v);
	ht_csv_put(c, b, strlen(b));
}

void
ht_csv_endrow(struct ht_csv *c)
{
	ht_csv_put(c, "\r\n", 2);
	c->col = 0;
}

void
ht_csv_reply(struct ht_req *r, struct ht_csv *c, const char *filename)
{
	char disp[128];

	if (c->failed) {
		ht_csv_free(c);
		ht_reply_result(r, LY_INTERNAL, "the CSV answer is too large");
		return;
	}
	free(r->out);
	r->out = c->buf;
	r->outlen = c->len;
	r->status = 200;
	r->ctype = "text/csv; charset=utf-8";
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
	ht_header(r, "Content-Disposition", disp);
	c->buf = NULL;
	ht_csv_free(c);
}

void
ht_csv_free(struct ht_csv *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}
