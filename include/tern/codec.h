/* Transfer and character decoding: base64, quoted-printable, charsets to UTF-8, format=flowed. */
#ifndef TERN_CODEC_H
#define TERN_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "tern/buf.h"

/*
 * Decode base64, appending to out. Whitespace is skipped; any other byte outside the alphabet
 * is skipped too and counted. A trailing partial group yields the bytes it holds.
 * Returns the number of bytes skipped as invalid (0 for clean input).
 */
size_t codec_b64_decode(const char *in, size_t n, struct buf *out);
/* Encode n bytes as base64 without line breaks (for tests and the builder). */
void codec_b64_encode(const void *in, size_t n, struct buf *out);
/* Encode n bytes as base64 in lines of 76 characters, each ending in LF (a MIME body). */
void codec_b64_encode_lines(const void *in, size_t n, struct buf *out);
/*
 * Decode quoted-printable, appending to out. header: RFC 2047 Q ('_' is a space, no soft line
 * breaks). A '=' not followed by two hex digits or a line break is kept as is.
 * Returns the number of such malformed escapes.
 */
size_t codec_qp_decode(const char *in, size_t n, bool header, struct buf *out);

/* How codec_to_utf8 ended up reading the bytes. */
enum codec_how {
    CODEC_AS_DECLARED = 0,   /* the declared charset (or UTF-8/ASCII) converted cleanly */
    CODEC_AS_UTF8,           /* declared missing, unknown or wrong, but the bytes are UTF-8 */
    CODEC_AS_CP1252,         /* last resort: Windows-1252 */
    CODEC_WITH_ERRORS,       /* declared charset, bad sequences replaced with U+FFFD */
};

/*
 * Convert n bytes in charset (NULL or "" when undeclared) to UTF-8, appending to out. Falls
 * back from the declared charset to UTF-8 (if valid) to Windows-1252, so it never fails and
 * never emits invalid UTF-8. Charset names are matched loosely (case, common aliases).
 */
enum codec_how codec_to_utf8(const char *charset, const char *in, size_t n, struct buf *out);
/* Every byte below 0x80 in text labelled charset comes out of codec_to_utf8 as that same
 * ASCII character, whatever fallback the conversion takes (UTF-8, US-ASCII, the ISO-8859,
 * Windows and KOI8 sets; not UTF-16, UTF-7, ISO-2022-JP, Shift_JIS or GBK, whose ASCII bytes
 * can be parts of other characters). */
bool codec_ascii_compatible(const char *charset);
/* The code point of byte c in Windows-1252 (U+FFFD for its five unassigned bytes): the
 * fallback charset, and what HTML makes of &#128;..&#159; as browsers do. */
unsigned codec_cp1252(unsigned char c);
/* n bytes are entirely valid UTF-8 (no overlongs, no surrogates). */
bool codec_utf8_valid(const char *s, size_t n);
/* Append s as UTF-8, replacing each invalid byte with U+FFFD. */
void codec_utf8_repair(const char *s, size_t n, struct buf *out);

/*
 * RFC 3676 format=flowed: join soft-broken lines (trailing space) of the same quote depth,
 * undo space-stuffing, honour DelSp=yes. Input and output are text with '\n' line ends.
 */
void codec_unflow(const char *in, size_t n, bool delsp, struct buf *out);

/* Sanitising modes: TEXT keeps tab and newline (CRLF becomes LF); LINE turns tab, CR and LF
 * into spaces (for one-line header values). */
#define CODEC_SAN_TEXT 0
#define CODEC_SAN_LINE 1
/*
 * Make text safe for a terminal, appending to out: C0 controls and DEL shown as ^X (ESC is
 * ^[), C1 controls, bidi overrides and line/paragraph separators as <U+XXXX>, invalid UTF-8
 * replaced with U+FFFD. The output never contains a byte that could drive the terminal.
 */
void codec_sanitize(const char *s, size_t n, int mode, struct buf *out);

#endif
