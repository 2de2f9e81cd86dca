/*
 * pc_bulk.c: the bulk loader under perkctl generate: a fast generator of
 * choices (xoshiro256**), multi-row INSERTs bound to one prepared
 * statement per shape, and the progress bar with its rate.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/pc_bulk.h"


static uint64_t
pc_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
pc_rand(struct pc_rng *r)
{
	uint64_t res = pc_rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = pc_rotl(r->s[3], 45);
	return res;
}

/* Uniform in [0, n). */
uint64_t
pc_below(struct pc_rng *r, uint64_t n)
{
	return n == 0 ? 0 : pc_rand(r) % n;
}

double
pc_unit(struct pc_rng *r)
{
	return (double)(pc_rand(r) >> 11) / 9007199254740992.0;
}

/* ---- multi-row INSERTs ---- */


/* Every statement text built, kept reachable until exit (see
 * pc_bulk_done): each block starts with a pointer to the one built before,
 * so the texts are neither freed nor reported as leaked. */
static void *pc_bulk_texts;

static char *
pc_bulk_text(const struct pc_bulk *b, size_t rows)
{
	size_t len = strlen(b->head) + strlen(b->tail) + rows *
	    (b->ncols * 2 + 3) + sizeof(" VALUES ") + 2, i, k;
	void **block = malloc(sizeof(void *) + len);
	char *s, *p;

	if (block == NULL)
		return NULL;
	block[0] = pc_bulk_texts;
	pc_bulk_texts = block;
	s = (char *)(block + 1);
	p = s + snprintf(s, len, "%s VALUES ", b->head);
	for (i = 0; i < rows; i++) {
		*p++ = i ? ',' : ' ';
		*p++ = '(';
		for (k = 0; k < b->ncols; k++) {
			if (k)
				*p++ = ',';
			*p++ = '?';
		}
		*p++ = ')';
	}
	snprintf(p, len - (size_t)(p - s), " %s", b->tail);
	return s;
}

int
pc_bulk_init(struct pc_bulk *b, const char *head, const char *tail,
    size_t ncols)
{
	memset(b, 0, sizeof(*b));
	b->head = head;
	b->tail = tail;
	b->ncols = ncols;
	b->sql_full = pc_bulk_text(b, PC_BULK_ROWS);
	b->sql_one = pc_bulk_text(b, 1);
	b->vals = calloc(PC_BULK_ROWS * ncols, sizeof(*b->vals));
	b->text = calloc(PC_BULK_ROWS * ncols, sizeof(*b->text));
	if (b->sql_full == NULL || b->sql_one == NULL || b->vals == NULL ||
	    b->text == NULL)
		return -1;
	return 0;
}

/* Statement texts stay allocated until exit: the connection's statement
 * cache is keyed by their address, so they must never be reused. */
void
pc_bulk_done(struct pc_bulk *b)
{
	free(b->vals);
	free(b->text);
	b->vals = NULL;
	b->text = NULL;
}

/* Slot for the next value of the current row. */
struct db_val *
pc_bulk_slot(struct pc_bulk *b, size_t col)
{
	return &b->vals[b->rows * b->ncols + col];
}

/* Copies s into the batch's text storage and binds it. */
void
pc_bulk_str(struct pc_bulk *b, size_t col, const char *s)
{
	char *t = b->text[b->rows * b->ncols + col];

	snprintf(t, 32, "%s", s);
	*pc_bulk_slot(b, col) = db_text(t);
}

enum db_res
pc_bulk_flush(struct pc *pc, struct pc_bulk *b)
{
	enum db_res r = DB_OK;
	size_t i;

	if (b->rows == PC_BULK_ROWS)
		r = db_exec(pc->db, b->sql_full, b->vals,
		    PC_BULK_ROWS * b->ncols);
	else
		for (i = 0; i < b->rows && r == DB_OK; i++)
			r = db_exec(pc->db, b->sql_one, b->vals + i * b->ncols,
			    b->ncols);
	if (r != DB_OK)
		fprintf(stderr, "\nperkctl: bulk insert: %s: %s\n",
		    db_res_str(r), db_error(pc->db));
	b->inserted += b->rows;
	b->rows = 0;
	return r;
}

/* Ends a row; flushes a full batch. */
enum db_res
pc_bulk_row(struct pc *pc, struct pc_bulk *b)
{
	if (++b->rows < PC_BULK_ROWS)
		return DB_OK;
	return pc_bulk_flush(pc, b);
}

/* ---- the progress bar ---- */


void
pc_progress_show(struct pc_progress *p, unsigned long long done,
    unsigned long long extra, const char *extra_name, int final)
{
	double now = pc_clock(), el = now - p->start;
	int width = 30, fill, i, tty = isatty(2);
	char bar[32];

	/* a bar redrawn 4 times a second on a terminal; in a log, a line
	 * every 10 seconds */
	if (!final && now - p->last < (tty ? 0.25 : 10))
		return;
	p->last = now;
	fill = p->total ? (int)((double)done * width / (double)p->total) : width;
	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr, "%s%-10s [%s] %3d%% %llu/%llu %.0f/s", tty ? "\r" : "",
	    p->what, bar,
	    p->total ? (int)(done * 100 / p->total) : 100, done, p->total,
	    el > 0 ? (double)done / el : 0.0);
	if (extra_name != NULL)
		fprintf(stderr, ", %llu %s %.0f/s", extra, extra_name,
		    el > 0 ? (double)extra / el : 0.0);
	fprintf(stderr, ", %.1f s%s", el, final || !tty ? "\n" : "   ");
}
