/* Watermarks of a Kafka topic for bench/worker: one line per partition,
 *
 *   PARTITION \t LOW \t HIGH
 *
 * LOW is the oldest offset the broker still keeps, HIGH the next offset to be written. The dev
 * broker (librdkafka's mock cluster) deletes the oldest record batches of a partition once it
 * holds more than about 5 MB, consumed or not: on a topic that started empty, a LOW above 0
 * means the broker dropped messages, and bench/worker/run marks the scenario invalid.
 * --fail-on-dropped: after the lines, exit 3 with one line on stderr naming every partition
 * whose LOW is above 0. Never joins a consumer group and never commits. Exit 0; 1 when Kafka
 * does not answer within --timeout or has no such topic (one line on stderr); 2 on bad usage. */
#include "core/oks_config.h"
#include "kafka/oks_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wm_cfg {
    char *kafka_brokers, *topic, *kafka_config;
    int64_t timeout_ms;
    bool fail_on_dropped;
} wm_cfg;

static const oks_cfg_entry entries[] = {
    OKS_CFG_STR("kafka-brokers", wm_cfg, kafka_brokers, "", OKS_CFG_REQUIRED,
                "Kafka bootstrap servers HOST:PORT[,HOST:PORT]"),
    OKS_CFG_STR("topic", wm_cfg, topic, "events", OKS_CFG_REQUIRED, "topic to read"),
    OKS_CFG_STR("kafka-config", wm_cfg, kafka_config, "", 0,
                "extra librdkafka settings key=value;key=value"),
    OKS_CFG_DURATION("timeout", wm_cfg, timeout_ms, "10s", 100, 600000,
                     "bound of each Kafka request (metadata, one partition's offsets)"),
    OKS_CFG_BOOL("fail-on-dropped", wm_cfg, fail_on_dropped, "false",
                 "exit 3 when a partition's low watermark is above 0 (the topic started empty: "
                 "the broker dropped messages)"),
};
static const oks_cfg_program program = OKS_CFG_PROGRAM(
    "oktasync-bench-kafka-watermarks",
    "Prints 'PARTITION<TAB>LOW<TAB>HIGH' for every partition of a topic (bench/worker: a LOW above "
    "0 means the broker dropped messages). Reads offsets only: no group, no commit.",
    NULL, entries);

static int die(const char *what, oks_err *err)
{
    fprintf(stderr, "oktasync-bench-kafka-watermarks: %s%s%s\n", what, err ? ": " : "",
            err ? err->msg : "");
    return 1;
}

int main(int argc, char **argv)
{
    wm_cfg cfg = {0};
    oks_err err = {0};
    oks_cfg_result r = oks_cfg_load(&program, &cfg, argc, argv, NULL, NULL, &err);
    if (r == OKS_CFG_EXIT)
        return 0;
    if (r == OKS_CFG_ERROR) {
        fprintf(stderr, "oktasync-bench-kafka-watermarks: %s\n", err.msg);
        return 2;
    }
    if (strlen(cfg.kafka_config) > OKS_KAFKA_EXTRA_MAX) {
        fprintf(stderr, "oktasync-bench-kafka-watermarks: --kafka-config is longer than %d\n",
                OKS_KAFKA_EXTRA_MAX);
        oks_cfg_free(&program, &cfg);
        return 2;
    }
    int tmo = (int)cfg.timeout_ms, rc = 1;
    /* A producer handle: it can ask for metadata and offsets and never joins a group. Its own
     * log lines (connection refused, retried) stay quiet: the one-line error below says it. */
    char extra[OKS_KAFKA_EXTRA_MAX + 32];
    snprintf(extra, sizeof(extra), "log_level=0;%s", cfg.kafka_config);
    rd_kafka_t *rk = oks_kafka_producer_new(cfg.kafka_brokers, extra, &err);
    if (!rk) {
        rc = die("kafka client", &err);
        goto out;
    }
    /* Metadata of every topic, not of this one: asking for one topic by name makes the mock
     * cluster (and a broker with auto.create.topics.enable) create it. */
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, tmo);
    if (e) {
        fprintf(stderr, "oktasync-bench-kafka-watermarks: metadata: %s\n", rd_kafka_err2str(e));
        goto out_md;
    }
    int n = -1;
    for (int t = 0; t < md->topic_cnt; t++) {
        if (strcmp(md->topics[t].topic, cfg.topic) == 0 && !md->topics[t].err)
            n = md->topics[t].partition_cnt;
    }
    if (n < 0) {
        fprintf(stderr, "oktasync-bench-kafka-watermarks: no topic %s\n", cfg.topic);
        goto out_md;
    }
    char dropped[1024] = "";
    size_t used = 0;
    int64_t lost = 0;
    for (int p = 0; p < n; p++) {
        int64_t lo = -1, hi = -1;
        e = rd_kafka_query_watermark_offsets(rk, cfg.topic, p, &lo, &hi, tmo);
        if (e) {
            fprintf(stderr, "oktasync-bench-kafka-watermarks: offsets of %s[%d]: %s\n", cfg.topic,
                    p, rd_kafka_err2str(e));
            goto out_md;
        }
        printf("%d\t%lld\t%lld\n", p, (long long)lo, (long long)hi);
        if (lo > 0) {
            lost += lo;
            if (used < sizeof(dropped))
                used += (size_t)snprintf(dropped + used, sizeof(dropped) - used,
                                         "%spartition %d: %lld of %lld", used ? ", " : "", p,
                                         (long long)lo, (long long)hi);
        }
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
    if (rc == 0 && cfg.fail_on_dropped && lost > 0) {
        fprintf(stderr,
                "oktasync-bench-kafka-watermarks: %s: the broker dropped %lld messages: %s\n",
                cfg.topic, (long long)lost, dropped);
        rc = 3;
    }
out_md:
    if (md)
        rd_kafka_metadata_destroy(md);
out:
    if (rk)
        rd_kafka_destroy(rk);
    oks_cfg_free(&program, &cfg);
    return rc;
}
