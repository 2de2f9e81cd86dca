/*
 * bench_fcgi.c: the thread-per-connection FastCGI loop shared by bare and
 * bare-sql (see bench_fcgi.h).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/bench/bench_fcgi.h"

struct bench_worker {
	int			 fd;
	bench_thread_init	 init;
	void			*arg;
	bench_handler		 fn;
};

static void *
bench_worker_main(void *p)
{
	struct bench_worker *w = p;
	FCGX_Request req;
	void *state = NULL;

	if (w->init != NULL && (state = w->init(w->arg)) == (void *)-1) {
		fprintf(stderr, "bench: worker setup failed\n");
		exit(1);
	}
	if (FCGX_InitRequest(&req, w->fd, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0) {
		w->fn(&req, state);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

void
bench_reply(FCGX_Request *req, int status, const char *body, int len)
{
	FCGX_FPrintF(req->out, "Status: %d %s\r\nContent-Type: "
	    "application/json\r\nCache-Control: no-store\r\n\r\n", status,
	    status < 300 ? "OK" : "Error");
	FCGX_PutStr(body, len, req->out);
}

int
bench_serve(const char *path, unsigned nthreads, bench_thread_init init,
    void *arg, bench_handler fn)
{
	struct bench_worker w = { -1, init, arg, fn };
	pthread_t *tids;
	sigset_t set;
	unsigned i;

	if (FCGX_Init() != 0)
		return 1;
	/* after FCGX_Init(), which makes SIGTERM only set a flag that an
	 * idle accept() never sees: the run's cleanup stops us with it */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	unlink(path);
	if ((w.fd = FCGX_OpenSocket(path, 1024)) < 0) {
		perror(path);
		return 1;
	}
	if (chmod(path, 0666) != 0) {
		perror(path);
		return 1;
	}
	if ((tids = calloc(nthreads, sizeof(*tids))) == NULL)
		return 1;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&tids[i], NULL, bench_worker_main, &w) != 0) {
			fprintf(stderr, "bench: cannot start thread %u\n", i);
			return 1;
		}
	fprintf(stderr, "bench: listening on %s with %u threads\n", path,
	    nthreads);
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	return 0;
}
