/*
 * fuzz_codes.c: voucher codes and status passes as a partner's counter
 * sends them (catalog/cat_voucher.c, catalog/cat_passes.c).
 *
 * The first byte picks what the rest is fed to:
 *   even  cat_code_parse(): whatever parses must format back to a code
 *         that parses to the same bytes (a code has one meaning);
 *   odd   cat_pass_verify() with a fixed key: a random text can only
 *         verify if it is a pass this key signed, so whatever verifies is
 *         re-signed from the fields read back and must verify to the same
 *         fields; then every one-byte change of the text must fail (a
 *         signature covers all of the pass).
 * The key is fixed (seed 0x01..0x20) so that committed seeds can hold real
 * passes signed by it (tests/fuzz/corpus/codes/pass_*).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat.h"

static struct ly_ctx ctx;

static void
fz_ctx(void)
{
	unsigned char k[32];
	int i;

	if (ctx.stats_min_group != 0)
		return;
	for (i = 0; i < 32; i++)
		k[i] = (unsigned char)(i + 1);
	ly_ctx_init(&ctx, k, k, k, 5);
}

static void
fz_code(const char *text)
{
	unsigned char raw[LIM_VOUCHER_BYTES], again[LIM_VOUCHER_BYTES];
	char shown[CAT_CODE_SZ];

	if (cat_code_parse(text, raw) != 0)
		return;
	cat_code_format(raw, shown);
	if (cat_code_parse(shown, again) != 0 ||
	    memcmp(raw, again, sizeof(raw)) != 0)
		abort();	/* a code read two ways */
}

static void
fz_pass(char *text)
{
	char perk[LIM_PUBLIC_ID_MAX], perk2[LIM_PUBLIC_ID_MAX];
	char resigned[LIM_PASS_TEXT_MAX];
	unsigned char nonce[16], nonce2[16];
	time_t exp, exp2;
	size_t i, len;

	if (cat_pass_verify(&ctx, text, perk, &exp, nonce) != 0)
		return;
	cat_pass_sign(&ctx, perk, exp, nonce, resigned, sizeof(resigned));
	if (cat_pass_verify(&ctx, resigned, perk2, &exp2, nonce2) != 0 ||
	    strcmp(perk, perk2) != 0 || exp != exp2 ||
	    memcmp(nonce, nonce2, sizeof(nonce)) != 0)
		abort();	/* verify and sign disagree */
	/* a verified pass: no single changed byte may still verify */
	len = strlen(text);
	for (i = 0; i < len; i++) {
		char c = text[i];

		text[i] = (char)(c == 'A' ? 'B' : 'A');
		if (cat_pass_verify(&ctx, text, perk2, &exp2, nonce2) == 0 &&
		    (strcmp(perk, perk2) != 0 || exp != exp2 ||
		    memcmp(nonce, nonce2, sizeof(nonce)) != 0))
			abort();	/* a forged pass verified */
		text[i] = c;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size == 0)
		return 0;
	fz_ctx();
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 2 == 0)
		fz_code(s);
	else
		fz_pass(s);
	free(s);
	return 0;
}
