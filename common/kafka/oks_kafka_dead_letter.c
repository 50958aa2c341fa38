#include "kafka/oks_kafka_dead_letter.h"

#include "core/oks_time.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 character at p (1..4), 0 when the bytes are not one. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void oks_dead_letter_reason(const char *reason, char *out, size_t cap)
{
    if (cap > OKS_DEAD_LETTER_REASON_MAX)
        cap = OKS_DEAD_LETTER_REASON_MAX;
    if (cap < 8) {
        if (cap)
            out[0] = '\0';
        return;
    }
    const unsigned char *p = (const unsigned char *)(reason ? reason : "");
    size_t left = strlen((const char *)p), o = 0;
    while (left > 0) {
        size_t n = utf8_len(p, left);
        char esc[5];
        const char *piece = (const char *)p;
        size_t plen = n;
        if (n == 0) {
            snprintf(esc, sizeof esc, "\\x%02X", p[0]);
            piece = esc;
            plen = 4;
            n = 1;
        }
        /* keep room for "..." unless this piece is the last one and fits */
        if (o + plen > cap - 4 && (o + plen > cap - 1 || left > n)) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        p += n;
        left -= n;
    }
    out[o] = '\0';
}

/* Original bytes as text, or base64 when they are not UTF-8; *field names the member. */
static json_t *original_value(const unsigned char *p, size_t len, const char **field)
{
    json_malloc_t jmalloc;
    json_free_t jfree;

    *field = "value";
    json_t *s = json_stringn(len ? (const char *)p : "", len);
    if (s)
        return s;
    *field = "value_base64";
    json_get_alloc_funcs(&jmalloc, &jfree);
    size_t cap = 4 * ((len + 2) / 3) + 1;
    unsigned char *b64 = jmalloc(cap);
    if (!b64)
        return NULL;
    EVP_EncodeBlock(b64, p, (int)len);
    s = json_string((const char *)b64);
    jfree(b64);
    return s;
}

char *oks_kafka_dead_letter_value(const oks_dead_letter *dl, size_t *out_len)
{
    char failed_at[32];
    const char *field;
    const unsigned char *p = dl->value;
    size_t len = dl->value_len;
    bool cut = dl->value_max > 0 && len > dl->value_max;

    if (cut) {
        len = dl->value_max;
        /* Do not split a UTF-8 sequence: back off over continuation bytes (at most 3). */
        for (int k = 0; k < 3 && len > 0 && (p[len] & 0xC0) == 0x80; k++)
            len--;
    }
    oks_time_format_iso8601(dl->failed_at_ms, failed_at, sizeof failed_at);
    char why[OKS_DEAD_LETTER_REASON_MAX];
    oks_dead_letter_reason(dl->reason, why, sizeof why);
    json_t *reason = json_string(why);
    json_t *orig = original_value(p, len, &field);
    json_t *root = json_pack(
        "{s:i, s:o, s:s, s:s, s:i, s:I, s:s, s:o}", "v", OKS_DEAD_LETTER_VERSION, "reason", reason,
        "error_class", dl->error_class ? dl->error_class : "", "source_topic",
        dl->source_topic ? dl->source_topic : "", "source_partition", (int)dl->source_partition,
        "source_offset", (json_int_t)dl->source_offset, "failed_at", failed_at, field, orig);
    if (!root)
        return NULL; /* "o" steals reason/orig even on failure */
    if (cut &&
        (json_object_set_new(root, "value_truncated", json_true()) != 0 ||
         json_object_set_new(root, "value_length", json_integer((json_int_t)dl->value_len)) != 0)) {
        json_decref(root);
        return NULL;
    }
    char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (out && out_len)
        *out_len = strlen(out);
    return out;
}
