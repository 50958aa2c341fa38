#include "oks_worker_dlq.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Delivery result of the one message in flight (the producer is used by one thread). */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    rd_kafka_resp_err_t *out = m->_private;
    if (out)
        *out = m->err;
}

int oks_worker_dlq_open(oks_worker_dlq *d, const char *brokers, const char *extra,
                        const char *topic, int timeout_ms, size_t max_bytes, oks_err *err)
{
    char errstr[256];
    memset(d, 0, sizeof *d);
    d->timeout_ms = timeout_ms;
    d->max_bytes = max_bytes;
    rd_kafka_conf_t *conf = oks_kafka_producer_conf(brokers, extra, timeout_ms, err);
    if (!conf)
        return -1;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!d->rk) {
        rd_kafka_conf_destroy(conf);
        return oks_err_set(err, OKS_E_INVALID, "dead-letter producer: %s", errstr);
    }
    d->topic = strdup(topic);
    if (!d->topic)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    return 0;
}

void oks_worker_dlq_close(oks_worker_dlq *d)
{
    if (d->rk) {
        rd_kafka_flush(d->rk, d->timeout_ms);
        rd_kafka_destroy(d->rk);
    }
    free(d->topic);
    memset(d, 0, sizeof *d);
}

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

void oks_worker_dlq_reason(const char *reason, char *out, size_t cap)
{
    if (cap > OKS_WORKER_DLQ_REASON_MAX)
        cap = OKS_WORKER_DLQ_REASON_MAX;
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

/* The longest prefix of len bytes of valid UTF-8 that ends on a character boundary; *valid is
 * false when an invalid byte comes first. */
static size_t utf8_prefix(const unsigned char *p, size_t len, size_t limit, bool *valid)
{
    size_t i = 0;
    *valid = true;
    while (i < len) {
        size_t n = p[i] == 0 ? 0 : utf8_len(p + i, len - i);
        if (n == 0) {
            *valid = false;
            return i;
        }
        if (i + n > limit)
            break;
        i += n;
    }
    return i;
}

/* The original bytes as a JSON string, cut to about budget bytes of output. */
static json_t *original_value(const rd_kafka_message_t *m, size_t budget, const char **field,
                              bool *cut)
{
    const unsigned char *data = m->payload ? m->payload : (const unsigned char *)"";
    size_t len = m->payload ? m->len : 0;
    bool valid;
    /* escaping can make text up to 6x longer (\u00XX); budget for the worst case */
    size_t text_limit = budget / 6 > 0 ? budget / 6 : 1;
    size_t n = utf8_prefix(data, len, len <= budget / 6 ? len : text_limit, &valid);
    if (valid) {
        *field = "value";
        *cut = n < len;
        return json_stringn((const char *)data, n);
    }
    /* Not valid UTF-8 (or a NUL byte): carry the bytes in base64 (OpenSSL's encoder). */
    *field = "value_base64";
    size_t raw = budget / 4 * 3;
    if (raw > len)
        raw = len;
    *cut = raw < len;
    size_t cap = 4 * ((raw + 2) / 3) + 1;
    unsigned char *b64 = malloc(cap);
    if (!b64)
        return NULL;
    EVP_EncodeBlock(b64, data, (int)raw);
    json_t *s = json_string((const char *)b64);
    free(b64);
    return s;
}

char *oks_worker_dlq_value(const rd_kafka_message_t *m, const char *reason, const char *err_class,
                           int64_t now_ms, size_t max_bytes)
{
    char failed_at[32], why[OKS_WORKER_DLQ_REASON_MAX];
    const char *field;
    bool cut = false;
    oks_time_format_iso8601(now_ms, failed_at, sizeof failed_at);
    oks_worker_dlq_reason(reason, why, sizeof why);
    /* room for the envelope's other fields (reason escaped: up to 6x), then the original */
    size_t fixed = 512 + 6 * strlen(why) + 200;
    size_t budget = max_bytes > fixed + 64 ? max_bytes - fixed : 64;
    json_t *orig = original_value(m, budget, &field, &cut);
    if (!orig)
        return NULL;
    json_t *root =
        json_pack("{s:i, s:s, s:s, s:s, s:i, s:I, s:s, s:o}", "v", 1, "reason", why, "error_class",
                  err_class, "source_topic", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                  "source_partition", (int)m->partition, "source_offset", (json_int_t)m->offset,
                  "failed_at", failed_at, field, orig);
    if (!root)
        return NULL;
    if (cut) {
        json_object_set_new(root, "value_truncated", json_true());
        json_object_set_new(root, "value_bytes",
                            json_integer((json_int_t)(m->payload ? m->len : 0)));
    }
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

bool oks_worker_dlq_fatal(oks_worker_dlq *d, char *why, size_t cap)
{
    if (!d->rk)
        return false;
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(d->rk, why, cap);
    return e != RD_KAFKA_RESP_ERR_NO_ERROR;
}

int oks_worker_dlq_send(oks_worker_dlq *d, const rd_kafka_message_t *m, const oks_err *why,
                        oks_err *err)
{
    int rc = -1;
    const char *cls = oks_errcode_name(why->code);
    char reason[OKS_WORKER_DLQ_REASON_MAX];
    oks_worker_dlq_reason(why->msg, reason, sizeof reason);
    char *value = oks_worker_dlq_value(m, why->msg, cls, oks_now_wall_ms(), d->max_bytes);
    if (!value)
        return oks_err_set(err, OKS_E_NOMEM, "building dead-letter value");
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", (int)m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    const char *src = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    rd_kafka_resp_err_t delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        d->rk, RD_KAFKA_V_TOPIC(d->topic), RD_KAFKA_V_KEY(m->key, m->key_len),
        RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("reason", reason, -1), RD_KAFKA_V_HEADER("error_class", cls, -1),
        RD_KAFKA_V_HEADER("source_topic", src, -1), RD_KAFKA_V_HEADER("source_partition", part, -1),
        RD_KAFKA_V_HEADER("source_offset", off, -1), RD_KAFKA_V_OPAQUE(&delivered), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        oks_err_set(err, oks_kafka_errcode(e), "dead-letter produce: %s", rd_kafka_err2str(e));
        goto out;
    }
    int64_t deadline = oks_now_mono_ms() + d->timeout_ms + 1000;
    while (delivered == RD_KAFKA_RESP_ERR__IN_PROGRESS && oks_now_mono_ms() < deadline)
        rd_kafka_poll(d->rk, 100);
    if (delivered != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Still in flight at the deadline: the opaque points into this frame, so wait for the
         * report before returning (message.timeout.ms bounds it). */
        while (delivered == RD_KAFKA_RESP_ERR__IN_PROGRESS)
            rd_kafka_poll(d->rk, 100);
        oks_err_set(err, OKS_E_UNAVAILABLE, "dead-letter not acknowledged: %s",
                    rd_kafka_err2str(delivered));
        goto out;
    }
    rc = 0;
out:
    free(value);
    return rc;
}
