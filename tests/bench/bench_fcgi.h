/*
 * bench_fcgi.h: the FastCGI loop of the baseline programs (tests/bench/
 * only), built like perkd's (fcgi/main.c): one process, N threads, each
 * with its own FCGX_Request and FCGX_Accept_r() on one shared unix
 * socket, so that the baselines differ from perkd only in what a request
 * does, not in how requests reach it.
 */
#ifndef BENCH_FCGI_H
#define BENCH_FCGI_H

#include <fcgiapp.h>

/* Called once per thread before its first accept; returns the thread's
 * state (or NULL when it has none) and may fail by returning (void *)-1. */
typedef void	*(*bench_thread_init)(void *arg);
/* Answers one accepted request on its own (headers and body). */
typedef void	 (*bench_handler)(FCGX_Request *req, void *state);

/* Listens on path (mode 0666), runs nthreads workers forever (until
 * SIGTERM kills the process). Returns only on a setup failure (1). */
int	bench_serve(const char *path, unsigned nthreads, bench_thread_init init,
	    void *arg, bench_handler fn);

/* Writes a complete reply: status line, Content-Type JSON, body. */
void	bench_reply(FCGX_Request *req, int status, const char *body, int len);

#endif /* BENCH_FCGI_H */
