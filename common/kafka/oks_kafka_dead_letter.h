/*
 * The value of a dead-letter message, one format for every producer of the fleet (the worker's
 * failed messages, ingest's malformed subscribed events). Pure: no I/O, no Kafka handle.
 *
 *   {"v":1,"reason":"...","error_class":"invalid","source_topic":"events","source_partition":3,
 *    "source_offset":42,"failed_at":"<iso>","value":"<original bytes as text>"}
 *
 * "value_base64" replaces "value" when the original bytes are not UTF-8. A value longer than
 * value_max is cut (at a UTF-8 boundary when it is text) and the object gets
 * "value_truncated":true and "value_length":<original length>, so an oversize original never
 * makes the dead-letter message itself too large for Kafka. The reason goes through
 * oks_dead_letter_reason (invalid UTF-8 bytes written as the text \xNN, cut at a character
 * boundary with "..." below OKS_DEAD_LETTER_REASON_MAX bytes): the dead-letter path must not
 * fail on the text that explains a failure.
 */
#ifndef OKS_KAFKA_DEAD_LETTER_H
#define OKS_KAFKA_DEAD_LETTER_H

#include <stddef.h>
#include <stdint.h>

#define OKS_DEAD_LETTER_VERSION 1
#define OKS_DEAD_LETTER_REASON_MAX 1024

typedef struct oks_dead_letter {
    const char *reason;       /* why it failed (any bytes, NUL-terminated) */
    const char *error_class;  /* oks_errcode_name(): "invalid", "not_found", ... */
    const char *source_topic; /* "" when the original never was on a topic (ingest) */
    int32_t source_partition; /* -1 when none */
    int64_t source_offset;    /* -1 when none */
    int64_t failed_at_ms;     /* wall clock, ms since the epoch */
    const void *value;        /* the original bytes (may be NULL when value_len is 0) */
    size_t value_len;
    size_t value_max; /* keep at most this many bytes of value; 0 = no limit */
} oks_dead_letter;

/*
 * Compact JSON, NUL-terminated, length in *out_len (may be NULL). The buffer comes from
 * jansson's allocator (json_get_alloc_funcs): plain malloc, so free(), unless the program
 * installed its own functions. NULL only when out of memory.
 */
char *oks_kafka_dead_letter_value(const oks_dead_letter *dl, size_t *out_len);

/* The reason as it is written (value and "reason" header): valid UTF-8, each invalid byte as
 * the text \xNN, cut at a character boundary to fit cap (at most OKS_DEAD_LETTER_REASON_MAX,
 * NUL included) with "..." when cut. NULL reason = "". Pure. */
void oks_dead_letter_reason(const char *reason, char *out, size_t cap);

#endif
