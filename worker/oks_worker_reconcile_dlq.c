/*
 * Dead-letter of a dirty mark that failed user-max-attempts times (a poison user): a JSON
 * record on dead-letter-topic, key = tenant, produced and acknowledged before the mark is
 * deleted. Rare, so sends are serialized by one mutex (the delivery report is read by whichever
 * thread polls).
 */
#include "oks_worker_reconcile_int.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t send_mu = PTHREAD_MUTEX_INITIALIZER;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    rd_kafka_resp_err_t *out = m->_private;
    if (out)
        *out = m->err;
}

rd_kafka_t *oks_worker_rdlq_open(const oks_worker_cfg *cfg, oks_err *err)
{
    char errstr[256];
    rd_kafka_conf_t *conf = oks_kafka_producer_conf(cfg->kafka_brokers, cfg->kafka_config,
                                                    (int)cfg->dead_letter_timeout_ms, err);
    if (!conf)
        return NULL;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        oks_err_set(err, OKS_E_INVALID, "reconciler dead-letter producer: %s", errstr);
    }
    return rk;
}

/* Only printable ASCII survives into the record: reasons may quote bytes Okta sent. */
static void ascii(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; src && *src && n + 1 < cap; src++)
        dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
    dst[n] = '\0';
}

char *oks_worker_rdlq_value(const char *tenant, const oks_worker_mark *m, const char *reason,
                            int64_t now_ms)
{
    char at[40], why[OKS_ERR_MSG_MAX], id[OKS_WORKER_OKTA_ID_MAX + 1];
    oks_time_format_iso8601(now_ms, at, sizeof at);
    ascii(why, sizeof why, reason);
    ascii(id, sizeof id, m->okta_id);
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "v", 1, "kind", "dirty_user",
                          "tenant", tenant, "okta_id", id, "reason", why, "events", m->events,
                          "attempts", m->attempts + 1, "failed_at", at);
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

int oks_worker_rdlq_send(rd_kafka_t *rk, const oks_worker_cfg *cfg, const char *tenant,
                         const oks_worker_mark *m, const char *reason, oks_err *err)
{
    char *value = oks_worker_rdlq_value(tenant, m, reason, oks_now_wall_ms());
    if (!value)
        return oks_err_set(err, OKS_E_NOMEM, "building dead-letter record");
    char hdr[OKS_ERR_MSG_MAX];
    ascii(hdr, sizeof hdr, reason);
    int rc = -1;
    pthread_mutex_lock(&send_mu);
    rd_kafka_resp_err_t delivered = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(cfg->dead_letter_topic), RD_KAFKA_V_KEY(tenant, strlen(tenant)),
        RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("reason", hdr, -1), RD_KAFKA_V_HEADER("error_class", "dirty_user", -1),
        RD_KAFKA_V_OPAQUE(&delivered), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        oks_err_set(err, oks_kafka_errcode(e), "dead-letter produce: %s", rd_kafka_err2str(e));
        goto out;
    }
    /* message.timeout.ms (= dead-letter-timeout) bounds the wait for the report */
    while (delivered == RD_KAFKA_RESP_ERR__IN_PROGRESS)
        rd_kafka_poll(rk, 100);
    if (delivered != RD_KAFKA_RESP_ERR_NO_ERROR) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "dead-letter not acknowledged: %s",
                    rd_kafka_err2str(delivered));
        goto out;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&send_mu);
    free(value);
    return rc;
}
