/*
 * fuzz_jwt.c: resident token parsing and verification. A random input
 * must never verify (the secret is not in the corpus) and never crash.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/ht.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char secret[] = "fuzzing-secret-fuzzing-secret-32";
	char *tok, sub[LIM_SUBJECT_MAX + 1];

	if ((tok = malloc(size + 1)) == NULL)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (ht_jwt_verify(tok, secret, sizeof(secret) - 1, 1800000000, sub,
	    sizeof(sub)) == 0 && strlen(tok) == size)
		abort();	/* a forged token verified: a real bug */
	free(tok);
	return 0;
}
