/*
 * Reading Kafka from oktasyncctl without ever joining or committing for a group: partitions
 * are assigned (never subscribed) and enable.auto.commit is off, so `dlq list` and `lag` leave
 * the workers' group untouched. Every call is bounded by kafka-timeout.
 */
#include "oks_ctl_kafka.h"

#include "core/oks_time.h"
#include "kafka/oks_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

rd_kafka_t *oks_ctl_kafka_reader(const oks_ctl *ctl, const char *group, oks_err *err)
{
    char extra[2048], gid[96];
    snprintf(extra, sizeof extra, "%s%senable.auto.commit=false", ctl->cfg.kafka_config,
             *ctl->cfg.kafka_config ? ";" : "");
    if (!group) {
        snprintf(gid, sizeof gid, "oktasyncctl-reader-%ld", (long)getpid());
        group = gid;
    }
    return oks_kafka_consumer_new(ctl->cfg.kafka_brokers, group, extra, err);
}

int oks_ctl_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, oks_err *err)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (e) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "kafka metadata for %s: %s", topic,
                    rd_kafka_err2str(e));
        return -1;
    }
    int n = -1;
    if (md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    else
        oks_err_set(err, OKS_E_NOTFOUND, "kafka topic %s: %s", topic,
                    rd_kafka_err2str(md->topic_cnt ? md->topics[0].err : e));
    rd_kafka_metadata_destroy(md);
    return n;
}

int oks_ctl_kafka_scan(const oks_ctl *ctl, const char *topic, size_t max_messages,
                       oks_ctl_kafka_cb cb, void *ud, oks_err *err)
{
    int tmo = (int)ctl->cfg.kafka_timeout_ms;
    rd_kafka_t *rk = oks_ctl_kafka_reader(ctl, NULL, err);
    if (!rk)
        return -1;
    int rc = -1, n = oks_ctl_kafka_partitions(rk, topic, tmo, err);
    int64_t *hi = NULL, *next = NULL;
    if (n <= 0)
        goto out;
    hi = calloc((size_t)n, sizeof *hi);
    next = calloc((size_t)n, sizeof *next);
    if (!hi || !next) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++) {
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, p, &next[p], &hi[p], tmo);
        if (e) {
            rd_kafka_topic_partition_list_destroy(parts);
            oks_err_set(err, OKS_E_UNAVAILABLE, "kafka offsets of %s[%d]: %s", topic, p,
                        rd_kafka_err2str(e));
            goto out;
        }
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = next[p];
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    size_t seen = 0;
    int64_t deadline = oks_now_mono_ms() + tmo;
    for (;;) {
        bool done = true;
        for (int p = 0; p < n; p++)
            done = done && next[p] >= hi[p];
        if (done || seen >= max_messages)
            break;
        if (oks_now_mono_ms() > deadline) {
            oks_err_set(err, OKS_E_TIMEOUT, "reading %s: not done after kafka-timeout", topic);
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err && m->partition >= 0 && m->partition < n && m->offset < hi[m->partition]) {
            next[m->partition] = m->offset + 1;
            seen++;
            deadline = oks_now_mono_ms() + tmo; /* progress: the timeout is per message */
            int stop = cb(m, ud);
            if (stop) {
                rd_kafka_message_destroy(m);
                break;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rc = 0;
out:
    free(hi);
    free(next);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
