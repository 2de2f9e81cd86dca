/*
 * json.c: JSON in and out. Input is parsed with an explicit length,
 * validated as UTF-8, bounded in depth, must be exactly one object with
 * no trailing data, and is then checked against the handler's field table
 * (type, required, min/max, unknown fields rejected, integers whole and
 * within +-2^53). Output goes through cJSON, printed unformatted.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi/ht.h"

int
ht_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	unsigned int cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0) {
			n = 1;
			cp = s[i] & 0x1F;
		} else if ((s[i] & 0xF0) == 0xE0) {
			n = 2;
			cp = s[i] & 0x0F;
		} else if ((s[i] & 0xF8) == 0xF0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (i + n >= len)
			return 0;
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Depth of brackets outside strings; -1 if beyond the bound. */
static int
ht_json_depth_ok(const char *s, size_t len)
{
	size_t i;
	int depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
			continue;
		}
		if (s[i] == '"')
			in_str = 1;
		else if (s[i] == '{' || s[i] == '[') {
			if (++depth > LIM_JSON_DEPTH)
				return 0;
		} else if (s[i] == '}' || s[i] == ']')
			depth--;
	}
	return 1;
}

/* Number of UTF-8 characters (input already validated). */
static size_t
ht_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int
ht_verr_set(struct ht_verr *e, enum ht_prob p, const char *field,
    const char *msg)
{
	e->prob = p;
	snprintf(e->field, sizeof(e->field), "%s", field);
	snprintf(e->message, sizeof(e->message), "%s", msg);
	return -1;
}

static int
ht_is_whole(double d)
{
	return isfinite(d) && d == floor(d) && fabs(d) <= (double)LIM_JSON_INT_MAX;
}

int
ht_json_check(const cJSON *obj, const struct ht_field *f, size_t n,
    struct ht_verr *err)
{
	const cJSON *it, *el;
	size_t i, cnt;
	char msg[128], tbuf[32];
	time_t t;

	if (!cJSON_IsObject(obj))
		return ht_verr_set(err, HT_P_VALIDATION_FAILED, "",
		    "the body must be a JSON object");
	/* unknown fields, and duplicates */
	cJSON_ArrayForEach(it, obj) {
		for (i = 0; i < n; i++)
			if (strcmp(it->string, f[i].name) == 0)
				break;
		if (i == n)
			return ht_verr_set(err, HT_P_UNKNOWN_FIELD, it->string,
			    "unknown field");
		for (el = it->next; el != NULL; el = el->next)
			if (strcmp(el->string, it->string) == 0)
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    it->string, "duplicate field");
	}
	for (i = 0; i < n; i++) {
		it = cJSON_GetObjectItemCaseSensitive(obj, f[i].name);
		if (it == NULL || (cJSON_IsNull(it) && f[i].nullable)) {
			if (f[i].required && it == NULL)
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, "required");
			continue;
		}
		switch (f[i].type) {
		case HT_F_STRING:
			if (!cJSON_IsString(it))
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, "must be a string");
			cnt = ht_utf8_len(it->valuestring);
			if ((long long)cnt < f[i].min || (long long)cnt > f[i].max) {
				snprintf(msg, sizeof(msg), "length must be %lld "
				    "to %lld characters", f[i].min, f[i].max);
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, msg);
			}
			break;
		case HT_F_INT:
		case HT_F_NUMBER:
			if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
			    (f[i].type == HT_F_INT && !ht_is_whole(it->valuedouble)))
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, f[i].type == HT_F_INT ?
				    "must be a whole number" : "must be a number");
			if (it->valuedouble < (double)f[i].min ||
			    it->valuedouble > (double)f[i].max) {
				snprintf(msg, sizeof(msg), "must be from %lld to "
				    "%lld", f[i].min, f[i].max);
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, msg);
			}
			break;
		case HT_F_BOOL:
			if (!cJSON_IsBool(it))
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, "must be true or false");
			break;
		case HT_F_TIME:
			if (!cJSON_IsString(it) ||
			    ht_time_parse(it->valuestring, tbuf, &t) != 0)
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, "must be an RFC 3339 time");
			break;
		case HT_F_STRINGS:
		case HT_F_ARRAY:
			if (!cJSON_IsArray(it))
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, "must be an array");
			cnt = (size_t)cJSON_GetArraySize(it);
			if ((long long)cnt < f[i].min || (long long)cnt > f[i].max) {
				snprintf(msg, sizeof(msg), "must have %lld to %lld "
				    "items", f[i].min, f[i].max);
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, msg);
			}
			if (f[i].type == HT_F_ARRAY)
				break;
			cJSON_ArrayForEach(el, it)
				if (!cJSON_IsString(el) ||
				    ht_utf8_len(el->valuestring) < 1 ||
				    ht_utf8_len(el->valuestring) > LIM_CODE_MAX)
					return ht_verr_set(err,
					    HT_P_VALIDATION_FAILED, f[i].name,
					    "items must be strings of 1 to 64 "
					    "characters");
			break;
		case HT_F_OBJECT:
			if (!cJSON_IsObject(it))
				return ht_verr_set(err, HT_P_VALIDATION_FAILED,
				    f[i].name, "must be an object");
			break;
		}
	}
	return 0;
}

int
ht_body(struct ht_req *r, const struct ht_field *f, size_t n)
{
	const char *ctype = r->in_ctype;	/* read by ht_req_read */
	const char *end = NULL;
	struct ht_verr err;

	if (ctype == NULL || strncmp(ctype, "application/json", 16) != 0 ||
	    (ctype[16] != '\0' && ctype[16] != ';')) {
		ht_reply_problem(r, HT_P_UNSUPPORTED_MEDIA_TYPE,
		    "send Content-Type: application/json");
		return -1;
	}
	if (!ht_utf8_valid(r->body, r->bodylen) ||
	    memchr(r->body, '\0', r->bodylen) != NULL) {
		ht_reply_problem(r, HT_P_INVALID_JSON, "the body is not UTF-8");
		return -1;
	}
	if (!ht_json_depth_ok(r->body, r->bodylen)) {
		ht_reply_problem(r, HT_P_INVALID_JSON, "the body nests too deep");
		return -1;
	}
	r->json = cJSON_ParseWithLengthOpts(r->body, r->bodylen, &end, 0);
	if (r->json == NULL) {
		ht_reply_problem(r, HT_P_INVALID_JSON, "the body is not JSON");
		return -1;
	}
	while (end != NULL && end < r->body + r->bodylen &&
	    (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end == NULL || end != r->body + r->bodylen) {
		ht_reply_problem(r, HT_P_INVALID_JSON,
		    "unexpected data after the JSON value");
		return -1;
	}
	if (ht_json_check(r->json, f, n, &err) != 0) {
		ht_reply_verr(r, &err);
		return -1;
	}
	return 0;
}

void
ht_reply_verr(struct ht_req *r, const struct ht_verr *err)
{
	cJSON *errors = cJSON_CreateArray(), *e = cJSON_CreateObject();
	cJSON *extra = cJSON_CreateObject();
	char detail[256];

	cJSON_AddStringToObject(e, "field", err->field);
	cJSON_AddStringToObject(e, "message", err->message);
	cJSON_AddItemToArray(errors, e);
	cJSON_AddItemToObject(extra, "errors", errors);
	snprintf(detail, sizeof(detail), "%s%s%s", err->field,
	    err->field[0] ? ": " : "", err->message);
	ht_reply_problem_x(r, err->prob == HT_P_UNKNOWN_FIELD ? 400 : 422,
	    err->prob == HT_P_UNKNOWN_FIELD ? "unknown_field" :
	    "validation_failed", err->prob == HT_P_UNKNOWN_FIELD ?
	    "Unknown field" : "Invalid field", detail, extra);
}

void
ht_reply_field(struct ht_req *r, const char *field, const char *msg)
{
	struct ht_verr err;

	err.prob = HT_P_VALIDATION_FAILED;
	snprintf(err.field, sizeof(err.field), "%s", field);
	snprintf(err.message, sizeof(err.message), "%s", msg);
	ht_reply_verr(r, &err);
}

const char *
ht_jstr(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

long long
ht_jint(const cJSON *obj, const char *name, long long dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(it) ? (long long)it->valuedouble : dflt;
}

int
ht_jhas(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return it != NULL && !cJSON_IsNull(it);
}

static int
ht_digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
ht_time_parse(const char *s, char out[32], time_t *t)
{
	int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
	long usec = 0, scale = 100000;
	const char *p;
	struct tm tm;
	time_t v;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (strlen(s) < 20 || strlen(s) > 35)
		return -1;
	if (ht_digits(s, 4, &Y) || s[4] != '-' || ht_digits(s + 5, 2, &M) ||
	    s[7] != '-' || ht_digits(s + 8, 2, &D) ||
	    (s[10] != 'T' && s[10] != 't') || ht_digits(s + 11, 2, &h) ||
	    s[13] != ':' || ht_digits(s + 14, 2, &m) || s[16] != ':' ||
	    ht_digits(s + 17, 2, &sec))
		return -1;
	if (Y < 1970 || Y > 9999 || M < 1 || M > 12 || D < 1 ||
	    D > mdays[M - 1] || h > 23 || m > 59 || sec > 59)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			if (scale > 0)
				usec += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (ht_digits(p + 1, 2, &oh) || p[3] != ':' ||
		    ht_digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	v = timegm(&tm);
	if (tm.tm_mday != D)	/* Feb 29 of a common year */
		return -1;
	v -= sign * (oh * 3600 + om * 60);
	gmtime_r(&v, &tm);
	{
		char tmp[80];	/* wide enough for any int; result is 26 */
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d.%06ld",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, usec);
		snprintf(out, 32, "%.31s", tmp);
	}
	if (t != NULL)
		*t = v;
	return 0;
}

void
ht_time_fmt(const char *sql, char out[32])
{
	if (sql == NULL || strlen(sql) < 19) {
		snprintf(out, 32, "%s", sql ? sql : "");
		return;
	}
	snprintf(out, 32, "%.10sT%.8sZ", sql, sql + 11);
}

char *
ht_lltoa(char buf[24], long long v)
{
	char *p = buf + 23;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	return p;
}

/*
 * A whole number, as cJSON would print it but without its cost: cJSON
 * prints every number with sprintf("%1.15g") and reads it back with
 * sscanf() to check it (about 3,400 instructions a number, a sixth of
 * GET /v1/me's reply). The digits go in as a raw item instead. The text
 * is the same for every |v| < 10^15; above that cJSON would write an
 * exponent ("1e+15") or 17 digits, the same number in JSON.
 */
void
ht_jadd_int(cJSON *obj, const char *name, long long v)
{
	char buf[24];

	cJSON_AddRawToObject(obj, name, ht_lltoa(buf, v));
}

/* ---- the JSON writer ---- */

int
ht_append(char **p, size_t *len, size_t *cap, size_t first, size_t max,
    const char *s, size_t n)
{
	size_t need = *len + n + 1, want;
	char *np;

	if (need > *cap) {
		for (want = *cap ? *cap * 2 : first; want < need; want *= 2)
			;
		if (max > 0 && want > max) {
			if (need > max)
				return -1;
			want = max;
		}
		if ((np = realloc(*p, want)) == NULL)
			return -1;
		*p = np;
		*cap = want;
	}
	memcpy(*p + *len, s, n);
	*len += n;
	(*p)[*len] = '\0';
	return 0;
}

/* Appends n bytes; out of memory, sets w->err and drops the rest. */
static inline void
ht_jw_put(struct ht_jw *w, const char *s, size_t n)
{
	if (!w->err && ht_append(&w->p, &w->len, &w->cap, 512, 0, s, n) != 0)
		w->err = 1;
}

/* A JSON string, escaped exactly as cJSON's printer does (so that the
 * bytes are the same as a cJSON tree's): ", \\ and the control
 * characters; everything else, UTF-8 included, as it is. */
static void
ht_jw_quoted(struct ht_jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	char esc[8];

	ht_jw_put(w, "\"", 1);
	for (; *p != '\0'; p++) {
		if (*p > 31 && *p != '"' && *p != '\\')
			continue;
		ht_jw_put(w, (const char *)run, (size_t)(p - run));
		switch (*p) {
		case '"': ht_jw_put(w, "\\\"", 2); break;
		case '\\': ht_jw_put(w, "\\\\", 2); break;
		case '\b': ht_jw_put(w, "\\b", 2); break;
		case '\f': ht_jw_put(w, "\\f", 2); break;
		case '\n': ht_jw_put(w, "\\n", 2); break;
		case '\r': ht_jw_put(w, "\\r", 2); break;
		case '\t': ht_jw_put(w, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			ht_jw_put(w, esc, 6);
		}
		run = p + 1;
	}
	ht_jw_put(w, (const char *)run, (size_t)(p - run));
	ht_jw_put(w, "\"", 1);
}

/* The comma before a member, and its key (none inside no object). */
static void
ht_jw_key(struct ht_jw *w, const char *key)
{
	if (w->more)
		ht_jw_put(w, ",", 1);
	if (key != NULL) {
		ht_jw_quoted(w, key);
		ht_jw_put(w, ":", 1);
	}
	w->more = 1;
}

void
ht_jw_open(struct ht_jw *w, const char *key)
{
	ht_jw_key(w, key);
	ht_jw_put(w, "{", 1);
	w->more = 0;
}

void
ht_jw_close(struct ht_jw *w)
{
	ht_jw_put(w, "}", 1);
	w->more = 1;
}

void
ht_jw_str(struct ht_jw *w, const char *key, const char *v)
{
	ht_jw_key(w, key);
	if (v == NULL)
		ht_jw_put(w, "null", 4);
	else
		ht_jw_quoted(w, v);
}

void
ht_jw_int(struct ht_jw *w, const char *key, long long v)
{
	char buf[24], *p = ht_lltoa(buf, v);

	ht_jw_key(w, key);
	ht_jw_put(w, p, strlen(p));
}

void
ht_jw_null(struct ht_jw *w, const char *key)
{
	ht_jw_str(w, key, NULL);
}

char *
ht_jw_take(struct ht_jw *w, size_t *len)
{
	char *p = w->err ? NULL : w->p;

	if (w->err)
		free(w->p);
	*len = p != NULL ? w->len : 0;
	memset(w, 0, sizeof(*w));
	return p;
}

void
ht_reply_jw(struct ht_req *r, int status, struct ht_jw *w)
{
	size_t len;
	char *txt = ht_jw_take(w, &len);

	free(r->out);
	r->out = txt;
	r->outlen = len;
	r->status = txt != NULL ? status : 500;
	r->ctype = "application/json";
}

void
ht_jadd_str(cJSON *obj, const char *name, const char *s)
{
	if (s == NULL)
		cJSON_AddNullToObject(obj, name);
	else
		cJSON_AddStringToObject(obj, name, s);
}

void
ht_reply_json(struct ht_req *r, int status, cJSON *root)
{
	char *txt = cJSON_PrintUnformatted(root);

	cJSON_Delete(root);
	free(r->out);
	r->out = txt;
	r->outlen = txt != NULL ? strlen(txt) : 0;
	r->status = txt != NULL ? status : 500;
	r->ctype = "application/json";
}

void
ht_reply_list(struct ht_req *r, cJSON *items, const char *cursor)
{
	cJSON *root = cJSON_CreateObject();

	cJSON_AddItemToObject(root, "items", items);
	ht_jadd_str(root, "next_cursor", cursor);
	ht_reply_json(r, 200, root);
}

void
ht_reply_raw(struct ht_req *r, int status, const char *ctype,
    const char *body, size_t len)
{
	free(r->out);
	r->out = malloc(len + 1);
	if (r->out == NULL) {
		r->outlen = 0;
		r->status = 500;
		return;
	}
	memcpy(r->out, body, len);
	r->out[len] = '\0';
	r->outlen = len;
	r->status = status;
	r->ctype = ctype;
}

void
ht_header(struct ht_req *r, const char *name, const char *value)
{
	size_t n = strlen(r->headers);

	snprintf(r->headers + n, sizeof(r->headers) - n, "%s: %s\r\n",
	    name, value);
}
