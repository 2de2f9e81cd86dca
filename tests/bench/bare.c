/*
 * bare.c: the least a FastCGI request can cost. Answers every request
 * with a fixed small JSON, from the same thread-per-connection loop as
 * perkd. Its rate, behind the same nginx, is the ceiling for any perkd
 * endpoint; nginx's own `return 200` (/bench/static) is the one above it.
 *
 *   bare SOCKET THREADS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/bench_fcgi.h"

static const char body[] = "{\"status\":\"ok\"}";

static void
bare_handle(FCGX_Request *req, void *state)
{
	(void)state;
	bench_reply(req, 200, body, (int)strlen(body));
}

int
main(int argc, char *argv[])
{
	int threads;

	if (argc != 3 || (threads = atoi(argv[2])) < 1 || threads > 1024) {
		fprintf(stderr, "usage: bare SOCKET THREADS\n");
		return 2;
	}
	return bench_serve(argv[1], (unsigned)threads, NULL, NULL, bare_handle);
}
