/*
 * Thin helpers over librdkafka: build configurations with the fleet's defaults, pass operator
 * overrides ("kafka-config" setting, "key=value;key=value") straight to rd_kafka_conf_set, route
 * librdkafka's logs into oks_log, and wait until a cluster answers.
 *
 * Ownership follows librdkafka: a conf returned here belongs to the caller until it is handed
 * to rd_kafka_new (which takes it on success). Handles are destroyed by the caller.
 *
 *     oks_err err = {0};
 *     rd_kafka_t *rk = oks_kafka_producer_new(brokers, cfg.kafka_config, &err);
 *     if (!rk || oks_kafka_wait_ready(rk, 5000, &err) != 0) ...
 */
#ifndef OKS_KAFKA_H
#define OKS_KAFKA_H

#include "core/oks_err.h"

#include <librdkafka/rdkafka.h>

/* Longest "kafka-config" string accepted (bounded: it comes from operators' env and flags). */
#define OKS_KAFKA_EXTRA_MAX 8192

/* Called once per "key=value" pair; return 0 to go on, -1 (with err set) to stop. */
typedef int (*oks_kafka_kv_fn)(void *ctx, const char *key, const char *value, oks_err *err);

/*
 * Split "k=v;k=v" (whitespace around keys and values ignored, empty segments allowed) and call
 * fn for each pair, in order. NULL or "" is no pairs. A segment without '=' or with an empty
 * key is OKS_E_INVALID and no pair after it is delivered. Does no I/O: unit-testable.
 */
int oks_kafka_parse_kv(const char *extra, oks_kafka_kv_fn fn, void *ctx, oks_err *err);

/* Apply "k=v;k=v" to conf with rd_kafka_conf_set; an unknown key or bad value is
 * OKS_E_INVALID naming the key. */
int oks_kafka_conf_apply(rd_kafka_conf_t *conf, const char *extra, oks_err *err);

/* New conf with bootstrap.servers = brokers, the oks_log log callback, bounded socket and
 * metadata timeouts, then `extra` (which wins over every default). NULL on error. */
rd_kafka_conf_t *oks_kafka_conf_new(const char *brokers, const char *extra, oks_err *err);

/*
 * Producer conf: enable.idempotence=true, acks=all, linger.ms=5, message.timeout.ms =
 * message_timeout_ms (<= 0 keeps 30000), then `extra`. The caller adds its delivery report
 * callback (rd_kafka_conf_set_dr_msg_cb) before rd_kafka_new.
 */
rd_kafka_conf_t *oks_kafka_producer_conf(const char *brokers, const char *extra,
                                         int message_timeout_ms, oks_err *err);

/* Producer from oks_kafka_producer_conf with default message timeout; NULL on error. */
rd_kafka_t *oks_kafka_producer_new(const char *brokers, const char *extra, oks_err *err);

/*
 * Consumer conf for group_id: enable.auto.offset.store=false (the caller stores an offset with
 * rd_kafka_offsets_store only after its work committed), enable.auto.commit=true (stored
 * offsets are committed in the background), auto.offset.reset=earliest,
 * partition.assignment.strategy=cooperative-sticky, then `extra`.
 */
rd_kafka_conf_t *oks_kafka_consumer_conf(const char *brokers, const char *group_id,
                                         const char *extra, oks_err *err);

/* Consumer from oks_kafka_consumer_conf, with rd_kafka_poll_set_consumer done. NULL on error.
 * Subscribe with rd_kafka_subscribe; a daemon stops it with oks_kafka_consumer_stop
 * (oks_kafka_close.h: commit, leave the group and destroy within a deadline). */
rd_kafka_t *oks_kafka_consumer_new(const char *brokers, const char *group_id, const char *extra,
                                   oks_err *err);

/* log_cb that writes librdkafka's lines through oks_log (syslog level mapped to ours). */
void oks_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Ask the cluster for metadata: 0 when at least one broker answered within timeout_ms,
 * else -1 with OKS_E_UNAVAILABLE / OKS_E_TIMEOUT (retriable). */
int oks_kafka_wait_ready(rd_kafka_t *rk, int timeout_ms, oks_err *err);

/* Map a librdkafka error to our classes (retriable ones to OKS_E_UNAVAILABLE/TIMEOUT/TRANSIENT). */
oks_errcode oks_kafka_errcode(rd_kafka_resp_err_t e);

#endif
