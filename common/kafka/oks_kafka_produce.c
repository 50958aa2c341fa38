#include "kafka/oks_kafka_produce.h"

#include "kafka/oks_kafka.h"

#include <stdio.h>

/* The message's opaque points at the waiting caller's result. */
static void delivery_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    rd_kafka_resp_err_t *out = m->_private;
    if (out)
        *out = m->err;
}

rd_kafka_t *oks_kafka_wait_producer_new(const char *brokers, const char *extra,
                                        int message_timeout_ms, const char *what, oks_err *err)
{
    char errstr[256];
    rd_kafka_conf_t *conf = oks_kafka_producer_conf(brokers, extra, message_timeout_ms, err);
    if (!conf)
        return NULL;
    rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        oks_err_set(err, OKS_E_INVALID, "%s: %s", what, errstr);
    }
    return rk;
}

bool oks_kafka_producer_fatal(rd_kafka_t *rk, char *why, size_t why_cap)
{
    char reason[256];
    if (rd_kafka_fatal_error(rk, reason, sizeof reason) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    if (why && why_cap > 0)
        snprintf(why, why_cap, "%s", reason);
    return true;
}

static int fatal_err(rd_kafka_t *rk, oks_err *err)
{
    char why[256];
    if (!oks_kafka_producer_fatal(rk, why, sizeof why))
        snprintf(why, sizeof why, "unknown reason");
    return oks_err_set(err, OKS_E_PERMANENT,
                       "kafka producer fatal error (the process must restart): %s", why);
}

int oks_kafka_produce_wait(rd_kafka_t *rk, const char *topic, const void *key, size_t key_len,
                           const void *value, size_t value_len, const oks_kafka_header *headers,
                           size_t n_headers, oks_err *err)
{
    if (oks_kafka_producer_fatal(rk, NULL, 0))
        return fatal_err(rk, err);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(n_headers);
    for (size_t i = 0; i < n_headers; i++)
        rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, -1);
    rd_kafka_resp_err_t delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? key_len : 0),
        RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&delivered), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs); /* the message owns them only once produced */
        if (e == RD_KAFKA_RESP_ERR__FATAL)
            return fatal_err(rk, err);
        return oks_err_set(err, oks_kafka_errcode(e), "produce to %s: %s", topic,
                           rd_kafka_err2str(e));
    }
    /* message.timeout.ms bounds this: the report always arrives, and delivered lives in this
     * frame, so there is no returning before it. */
    while (delivered == RD_KAFKA_RESP_ERR__IN_PROGRESS)
        rd_kafka_poll(rk, 100);
    if (delivered == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    if (delivered == RD_KAFKA_RESP_ERR__FATAL || oks_kafka_producer_fatal(rk, NULL, 0))
        return fatal_err(rk, err);
    oks_errcode code = oks_kafka_errcode(delivered);
    if (!oks_errcode_is_retriable(code))
        code = OKS_E_UNAVAILABLE; /* not acknowledged: the same message may go through later */
    return oks_err_set(err, code, "%s: not acknowledged: %s", topic, rd_kafka_err2str(delivered));
}
