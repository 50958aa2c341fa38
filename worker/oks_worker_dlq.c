#include "oks_worker_dlq.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka.h"

#include <jansson.h>
#include <openssl/evp.h>
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
                        const char *topic, int timeout_ms, oks_err *err)
{
    char errstr[256];
    memset(d, 0, sizeof *d);
    d->timeout_ms = timeout_ms;
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

static json_t *original_value(const rd_kafka_message_t *m, const char **field)
{
    *field = "value";
    json_t *s = json_stringn(m->payload ? m->payload : "", m->payload ? m->len : 0);
    if (s)
        return s;
    /* Not valid UTF-8: carry the bytes in base64 (OpenSSL's encoder). */
    *field = "value_base64";
    size_t cap = 4 * ((m->len + 2) / 3) + 1;
    unsigned char *b64 = malloc(cap);
    if (!b64)
        return NULL;
    EVP_EncodeBlock(b64, m->payload, (int)m->len);
    s = json_string((const char *)b64);
    free(b64);
    return s;
}

char *oks_worker_dlq_value(const rd_kafka_message_t *m, const char *reason, const char *err_class,
                           int64_t now_ms)
{
    char failed_at[32];
    const char *field;
    oks_time_format_iso8601(now_ms, failed_at, sizeof failed_at);
    json_t *orig = original_value(m, &field);
    if (!orig)
        return NULL;
    json_t *root =
        json_pack("{s:i, s:s, s:s, s:s, s:i, s:I, s:s, s:o}", "v", 1, "reason", reason,
                  "error_class", err_class, "source_topic",
                  m->rkt ? rd_kafka_topic_name(m->rkt) : "", "source_partition", (int)m->partition,
                  "source_offset", (json_int_t)m->offset, "failed_at", failed_at, field, orig);
    if (!root)
        return NULL;
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

int oks_worker_dlq_send(oks_worker_dlq *d, const rd_kafka_message_t *m, const oks_err *why,
                        oks_err *err)
{
    int rc = -1;
    const char *cls = oks_errcode_name(why->code);
    char *value = oks_worker_dlq_value(m, why->msg, cls, oks_now_wall_ms());
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
        RD_KAFKA_V_HEADER("reason", why->msg, -1), RD_KAFKA_V_HEADER("error_class", cls, -1),
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
