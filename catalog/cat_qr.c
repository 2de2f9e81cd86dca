/*
 * cat_qr.c: QR codes as SVG, for vouchers and passes shown at a counter.
 * libqrencode makes the symbol (error correction M: survives a scuffed
 * phone screen); this file draws it as one SVG path, one horizontal run
 * of dark modules per "M x y h n v1 h-n z" segment, inside a 4-module
 * quiet zone (ISO/IEC 18004 asks for 4), scaled by the viewer.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "catalog/cat.h"

#define CAT_QR_QUIET	4

struct cat_buf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static void
cat_buf_printf(struct cat_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cat_buf_printf(struct cat_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->failed = 1;	/* the buffer was sized for the worst case */
		return;
	}
	b->len += (size_t)n;
}

char *
cat_qr_svg(const char *text, size_t *len)
{
	QRcode *qr = NULL;
	struct cat_buf b = { NULL, 0, 0, 0 };
	int x, y, run, w, full;

	if (text == NULL || *text == '\0' ||
	    strlen(text) > LIM_PASS_TEXT_MAX)
		return NULL;
	if ((qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
	    NULL)
		return NULL;
	w = qr->width;
	full = w + 2 * CAT_QR_QUIET;
	/* worst case: every other module dark, ~40 bytes per run */
	b.cap = 512 + (size_t)w * (size_t)(w / 2 + 1) * 40;
	if ((b.p = malloc(b.cap)) == NULL)
		goto out;
	cat_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	    "shape-rendering=\"crispEdges\">\n"
	    "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
	    "<path fill=\"#000\" d=\"", full, full, full * 8, full * 8, full,
	    full);
	for (y = 0; y < w; y++)
		for (x = 0; x < w; x += run > 0 ? run : 1) {
			for (run = 0; x + run < w &&
			    (qr->data[y * w + x + run] & 1); run++)
				;
			if (run > 0)
				cat_buf_printf(&b, "M%d %dh%dv1h-%dz",
				    x + CAT_QR_QUIET, y + CAT_QR_QUIET, run,
				    run);
		}
	cat_buf_printf(&b, "\"/>\n</svg>\n");
	if (b.failed) {
		free(b.p);
		b.p = NULL;
		goto out;
	}
	if (len != NULL)
		*len = b.len;
out:
	QRcode_free(qr);
	return b.p;
}
