/*
 * pc_token.c: resident tokens for development (perkctl token): an HS256
 * JWT signed with the configured resident_jwt_secret, as the city's
 * identity provider would issue it. perkd verifies such tokens in
 * fcgi/auth.c; the unit tests mint theirs here too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "cli/perkctl.h"

char *
pc_jwt_mint(const unsigned char *secret, size_t secretlen, const char *sub,
    time_t iat, time_t exp)
{
	static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	cJSON *p = cJSON_CreateObject();
	char *pay = NULL, *out = NULL;
	size_t hb, pb, n;
	unsigned char mac[32];
	crypto_auth_hmacsha256_state st;

	cJSON_AddStringToObject(p, "sub", sub);
	cJSON_AddNumberToObject(p, "iat", (double)iat);
	cJSON_AddNumberToObject(p, "exp", (double)exp);
	if ((pay = cJSON_PrintUnformatted(p)) == NULL)
		goto out;
	hb = sodium_base64_ENCODED_LEN(sizeof(hdr) - 1,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	pb = sodium_base64_ENCODED_LEN(strlen(pay),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = hb + pb + sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) + 4;
	if ((out = malloc(n)) == NULL)
		goto out;
	sodium_bin2base64(out, hb, (const unsigned char *)hdr, sizeof(hdr) - 1,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	strcat(out, ".");
	sodium_bin2base64(out + strlen(out), pb, (const unsigned char *)pay,
	    strlen(pay), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	crypto_auth_hmacsha256_init(&st, secret, secretlen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)out,
	    strlen(out));
	crypto_auth_hmacsha256_final(&st, mac);
	strcat(out, ".");
	sodium_bin2base64(out + strlen(out), n - strlen(out), mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
out:
	cJSON_Delete(p);
	free(pay);
	return out;
}
