/*
 * Dead-letter of a dirty mark that failed user-max-attempts times (a poison user): a JSON
 * record on dead-letter-topic, key = tenant, produced and acknowledged before the mark is
 * deleted (oks_kafka_produce_wait). Rare, so sends are serialized by one mutex (the helper's
 * producer is used by one thread at a time).
 */
#include "oks_worker_reconcile_int.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka_produce.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t send_mu = PTHREAD_MUTEX_INITIALIZER;

rd_kafka_t *oks_worker_rdlq_open(const oks_worker_cfg *cfg, oks_err *err)
{
    return oks_kafka_wait_producer_new(cfg->kafka_brokers, cfg->kafka_config,
                                       (int)cfg->dead_letter_timeout_ms,
                                       "reconciler dead-letter producer", err);
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
    const oks_kafka_header h[] = {{"reason", hdr}, {"error_class", "dirty_user"}};
    pthread_mutex_lock(&send_mu);
    /* message.timeout.ms (= dead-letter-timeout) bounds the wait for the report */
    int rc = oks_kafka_produce_wait(rk, cfg->dead_letter_topic, tenant, strlen(tenant), value,
                                    strlen(value), h, 2, err);
    pthread_mutex_unlock(&send_mu);
    free(value);
    return rc;
}
