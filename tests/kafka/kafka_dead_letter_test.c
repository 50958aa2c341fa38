/* The fleet's dead-letter value (common/kafka/oks_kafka_dead_letter.h): fields, base64 for
 * non-UTF-8 originals, cut oversize originals at a UTF-8 boundary, the reason rule. */
#include "kafka/oks_kafka_dead_letter.h"
#include "oks_test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(const char *v, size_t len)
{
    json_error_t je;
    OKS_ASSERT(v != NULL);
    OKS_ASSERT_EQ_INT(strlen(v), len);
    json_t *j = json_loads(v, 0, &je);
    OKS_ASSERT(j != NULL);
    return j;
}

static const char *str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static long long num(const json_t *j, const char *key)
{
    return (long long)json_integer_value(json_object_get(j, key));
}

OKS_TEST(dead_letter_value_carries_original_reason_and_source)
{
    const char payload[] = "not json at all";
    oks_dead_letter dl = {.reason = "envelope is not a JSON object",
                          .error_class = "invalid",
                          .source_topic = "events",
                          .source_partition = 3,
                          .source_offset = 42,
                          .failed_at_ms = 1764550000123,
                          .value = payload,
                          .value_len = strlen(payload)};
    size_t len = 0;
    char *v = oks_kafka_dead_letter_value(&dl, &len);
    json_t *j = load(v, len);
    /* The documented member order (docs/worker.md): v first, the original last. */
    OKS_ASSERT(strncmp(v, "{\"v\":1,\"reason\":", 16) == 0);
    OKS_ASSERT_EQ_INT(num(j, "v"), 1);
    OKS_ASSERT_EQ_STR(str(j, "reason"), "envelope is not a JSON object");
    OKS_ASSERT_EQ_STR(str(j, "error_class"), "invalid");
    OKS_ASSERT_EQ_STR(str(j, "source_topic"), "events");
    OKS_ASSERT_EQ_INT(num(j, "source_partition"), 3);
    OKS_ASSERT_EQ_INT(num(j, "source_offset"), 42);
    OKS_ASSERT_EQ_STR(str(j, "failed_at"), "2025-12-01T00:46:40.123Z");
    OKS_ASSERT_EQ_STR(str(j, "value"), payload);
    OKS_ASSERT(json_object_get(j, "value_base64") == NULL);
    OKS_ASSERT(json_object_get(j, "value_truncated") == NULL);
    json_decref(j);
    free(v);
}

OKS_TEST(dead_letter_value_without_source_topic)
{
    oks_dead_letter dl = {.reason = "r",
                          .error_class = "invalid",
                          .source_partition = -1,
                          .source_offset = -1,
                          .value = "{}",
                          .value_len = 2};
    size_t len = 0;
    char *v = oks_kafka_dead_letter_value(&dl, &len);
    json_t *j = load(v, len);
    OKS_ASSERT_EQ_STR(str(j, "source_topic"), "");
    OKS_ASSERT_EQ_INT(num(j, "source_partition"), -1);
    OKS_ASSERT_EQ_INT(num(j, "source_offset"), -1);
    OKS_ASSERT_EQ_STR(str(j, "value"), "{}");
    json_decref(j);
    free(v);
}

OKS_TEST(dead_letter_value_base64_for_bytes_that_are_not_utf8)
{
    const unsigned char bin[] = {0xff, 0xfe, 0x00, 0x41};
    oks_dead_letter dl = {.reason = "r",
                          .error_class = "invalid",
                          .source_topic = "events",
                          .value = bin,
                          .value_len = sizeof bin};
    size_t len = 0;
    char *v = oks_kafka_dead_letter_value(&dl, &len);
    json_t *j = load(v, len);
    OKS_ASSERT_EQ_STR(str(j, "value_base64"), "//4AQQ==");
    OKS_ASSERT(json_object_get(j, "value") == NULL);
    json_decref(j);
    free(v);
}

OKS_TEST(dead_letter_value_cuts_an_oversize_original_at_a_utf8_boundary)
{
    /* "aé" three times (9 bytes). A cut at 5 bytes would split the second é (bytes 4-5), so
     * 4 bytes are kept: "aéa". */
    const char text[] = "a\xc3\xa9"
                        "a\xc3\xa9"
                        "a\xc3\xa9";
    oks_dead_letter dl = {.reason = "r",
                          .error_class = "invalid",
                          .value = text,
                          .value_len = strlen(text),
                          .value_max = 5};
    size_t len = 0;
    char *v = oks_kafka_dead_letter_value(&dl, &len);
    json_t *j = load(v, len);
    OKS_ASSERT_EQ_STR(str(j, "value"), "a\xc3\xa9"
                                       "a");
    OKS_ASSERT(json_is_true(json_object_get(j, "value_truncated")));
    OKS_ASSERT_EQ_INT(num(j, "value_length"), 9);
    json_decref(j);
    free(v);

    /* Exactly at the limit: not cut. */
    dl.value_max = dl.value_len;
    v = oks_kafka_dead_letter_value(&dl, &len);
    j = load(v, len);
    OKS_ASSERT_EQ_STR(str(j, "value"), text);
    OKS_ASSERT(json_object_get(j, "value_truncated") == NULL);
    json_decref(j);
    free(v);

    /* A large original stays under the cap (plus the escaping of the kept part). */
    size_t big = 2 * 1024 * 1024;
    char *raw = malloc(big);
    OKS_ASSERT(raw != NULL);
    memset(raw, 'x', big);
    oks_dead_letter dl2 = {.reason = "r",
                           .error_class = "invalid",
                           .value = raw,
                           .value_len = big,
                           .value_max = 256 * 1024};
    v = oks_kafka_dead_letter_value(&dl2, &len);
    OKS_ASSERT(v != NULL && len < 256 * 1024 + 512);
    j = load(v, len);
    OKS_ASSERT_EQ_INT(strlen(str(j, "value")), 256 * 1024);
    OKS_ASSERT_EQ_INT(num(j, "value_length"), (long long)big);
    json_decref(j);
    free(v);
    free(raw);
}

OKS_TEST(dead_letter_reason_that_is_not_utf8_or_too_long_still_gives_a_value)
{
    oks_dead_letter dl = {
        .reason = "bad \xff\xfe name", .error_class = "invalid", .value = "x", .value_len = 1};
    size_t len = 0;
    char *v = oks_kafka_dead_letter_value(&dl, &len);
    json_t *j = load(v, len);
    OKS_ASSERT_EQ_STR(str(j, "reason"), "bad \\xFF\\xFE name");
    json_decref(j);
    free(v);

    char long_reason[OKS_DEAD_LETTER_REASON_MAX * 2];
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    dl.reason = long_reason;
    v = oks_kafka_dead_letter_value(&dl, &len);
    j = load(v, len);
    OKS_ASSERT_EQ_INT(strlen(str(j, "reason")), OKS_DEAD_LETTER_REASON_MAX - 1);
    OKS_ASSERT_EQ_STR(str(j, "reason") + OKS_DEAD_LETTER_REASON_MAX - 4, "...");
    json_decref(j);
    free(v);
}

/* The one reason rule (was the worker's own copy): invalid bytes as \xNN, so the worker's
 * header and value and ingest's say the same; cut on a character boundary, marked "...". */
OKS_TEST(dead_letter_reason_escapes_invalid_bytes_and_cuts_on_a_character)
{
    char out[OKS_DEAD_LETTER_REASON_MAX];
    /* a lone continuation, a truncated sequence, an overlong form; valid UTF-8 kept */
    oks_dead_letter_reason("bad \x80 x\xC3 \xC0\xAF ok \xC3\xA9", out, sizeof out);
    OKS_ASSERT_EQ_STR(out, "bad \\x80 x\\xC3 \\xC0\\xAF ok \xC3\xA9");
    /* surrogates and code points above U+10FFFF are not UTF-8 either */
    oks_dead_letter_reason("\xED\xA0\x80|\xF4\x90\x80\x80", out, sizeof out);
    OKS_ASSERT_EQ_STR(out, "\\xED\\xA0\\x80|\\xF4\\x90\\x80\\x80");
    /* two-byte characters past the limit: cut between characters, never inside one */
    char big[5000];
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "\xC3\xA9", 2);
    big[sizeof big - 2] = '\0';
    oks_dead_letter_reason(big, out, sizeof out);
    size_t n = strlen(out);
    OKS_ASSERT(n < OKS_DEAD_LETTER_REASON_MAX && n > OKS_DEAD_LETTER_REASON_MAX - 8);
    OKS_ASSERT_EQ_STR(out + n - 3, "...");
    OKS_ASSERT_EQ_INT((n - 3) % 2, 0);
    json_t *s = json_string(out);
    OKS_ASSERT(s != NULL); /* jansson accepts it: the value can be built */
    json_decref(s);
    /* a smaller buffer bounds it too; text that fits beside "..." is not cut */
    oks_dead_letter_reason("0123456789abcdef", out, 12);
    OKS_ASSERT_EQ_STR(out, "01234567...");
    oks_dead_letter_reason("01234567", out, 12);
    OKS_ASSERT_EQ_STR(out, "01234567");
    oks_dead_letter_reason(NULL, out, sizeof out);
    OKS_ASSERT_EQ_STR(out, "");
    oks_dead_letter_reason("long enough", out, 4); /* no room for text and "...": empty */
    OKS_ASSERT_EQ_STR(out, "");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
