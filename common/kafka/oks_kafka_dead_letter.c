#include "kafka/oks_kafka_dead_letter.h"

#include "core/oks_time.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

/* The reason as a JSON string: cut to the maximum, non-ASCII bytes replaced when the text is
 * not valid UTF-8 (jansson refuses it). */
static json_t *reason_string(const char *reason)
{
    char buf[OKS_DEAD_LETTER_REASON_MAX + 1];

    if (!reason)
        reason = "";
    size_t n = strnlen(reason, OKS_DEAD_LETTER_REASON_MAX);
    json_t *s = json_stringn(reason, n);
    if (s)
        return s;
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)reason[i] < 0x80 ? reason[i] : '?';
    return json_stringn(buf, n);
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
    json_t *reason = reason_string(dl->reason);
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
