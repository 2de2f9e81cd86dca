/*
 * pc_bulk.h: the bulk loader of perkctl generate (pc_bulk.c).
 */
#ifndef PC_BULK_H
#define PC_BULK_H

#include <stdint.h>

#include "cli/perkctl.h"

#define PC_BULK_ROWS		500	/* rows per multi-row INSERT */

/* xoshiro256** seeded from the system's random source: fast choices;
 * the subject hashes themselves come from randombytes_buf(). */
struct pc_rng {
	uint64_t	 s[4];
};

/*
 * A bulk insert: `head` VALUES + PC_BULK_ROWS tuples of ncols
 * placeholders + `tail`. The full-size text is built once (its address
 * identifies the prepared statement); a last partial batch goes row by
 * row through the one-row text.
 */
struct pc_bulk {
	const char	*head, *tail;
	size_t		 ncols, rows;
	char		*sql_full, *sql_one;
	struct db_val	*vals;
	/* text storage for the values of the current batch */
	char		(*text)[32];
	size_t		 ntext;
	unsigned long long inserted;
};

struct pc_progress {
	const char	*what;
	double		 start, last;
	unsigned long long total;
};

/* Uniform 64-bit values, in [0, n), and in [0, 1). */
uint64_t	pc_rand(struct pc_rng *r);
uint64_t	pc_below(struct pc_rng *r, uint64_t n);
double		pc_unit(struct pc_rng *r);

/* A bulk insert of ncols columns: head VALUES (tuples) tail. 0 or -1. */
int		pc_bulk_init(struct pc_bulk *b, const char *head,
		    const char *tail, size_t ncols);
void		pc_bulk_done(struct pc_bulk *b);
/* The value of column col in the row being filled. */
struct db_val	*pc_bulk_slot(struct pc_bulk *b, size_t col);
void		pc_bulk_str(struct pc_bulk *b, size_t col, const char *s);
/* Ends the row; a full batch is inserted. pc_bulk_flush inserts what is
 * left, row by row. */
enum db_res	pc_bulk_row(struct pc *pc, struct pc_bulk *b);
enum db_res	pc_bulk_flush(struct pc *pc, struct pc_bulk *b);

/* Redraws the bar of p (4 times a second on a terminal, every 10 s in a
 * log), with an optional second count; final prints the last line. */
void		pc_progress_show(struct pc_progress *p, unsigned long long done,
		    unsigned long long extra, const char *extra_name, int final);

#endif /* PC_BULK_H */
