/*
 * cursor.c: list cursors. A cursor is the keyset position (the last id
 * seen, plus one optional number) and the route it belongs to, sealed with
 * crypto_secretbox under a server key: opaque to the client (no internal
 * id leaks) and tamper-evident (a forged or foreign cursor is 400).
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "fcgi/ht.h"

#define CUR_PLAIN	18	/* route (2) + last id (8) + extra (8) */
#define CUR_SEALED	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + CUR_PLAIN)

static void
ht_put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
ht_get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void
ht_cursor_make(const struct ht_req *r, uint64_t last_id, int64_t extra,
    char *out, size_t outsz)
{
	unsigned char plain[CUR_PLAIN], sealed[CUR_SEALED];

	plain[0] = (unsigned char)(r->route & 0xff);
	plain[1] = (unsigned char)((r->route >> 8) & 0xff);
	ht_put64(plain + 2, last_id);
	ht_put64(plain + 10, (uint64_t)extra);
	randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, plain,
	    sizeof(plain), sealed, r->ctx->cursor_key);
	sodium_bin2base64(out, outsz, sealed, sizeof(sealed),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
ht_cursor_read(struct ht_req *r, uint64_t *last_id, int64_t *extra)
{
	char text[LIM_CURSOR_MAX];
	unsigned char sealed[CUR_SEALED + 8], plain[CUR_PLAIN];
	size_t n = 0;
	int q;

	*last_id = 0;
	*extra = 0;
	if ((q = ht_query(r, "cursor", text, sizeof(text))) == 0)
		return 0;
	if (q < 0 || sodium_base642bin(sealed, sizeof(sealed), text,
	    strlen(text), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || n != CUR_SEALED ||
	    crypto_secretbox_open_easy(plain,
	    sealed + crypto_secretbox_NONCEBYTES,
	    CUR_SEALED - crypto_secretbox_NONCEBYTES, sealed,
	    r->ctx->cursor_key) != 0 ||
	    (plain[0] | (plain[1] << 8)) != r->route) {
		ht_reply_problem(r, HT_P_INVALID_CURSOR,
		    "this cursor was not issued for this list");
		return -1;
	}
	*last_id = ht_get64(plain + 2);
	*extra = (int64_t)ht_get64(plain + 10);
	return 1;
}
