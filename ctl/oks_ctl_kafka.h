/* Reading topics from oktasyncctl (dlq list/replay, lag): oks_ctl_kafka.c. */
#ifndef OKS_CTL_KAFKA_H
#define OKS_CTL_KAFKA_H

#include "oks_ctl.h"

#include <librdkafka/rdkafka.h>

/* A consumer that never commits (group NULL: a private throwaway group id). */
rd_kafka_t *oks_ctl_kafka_reader(const oks_ctl *ctl, const char *group, oks_err *err);
/* Partition count of topic, -1 with err when unknown or unreachable. */
int oks_ctl_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, oks_err *err);

/* Return non-zero to stop the scan. */
typedef int (*oks_ctl_kafka_cb)(const rd_kafka_message_t *m, void *ud);
/* Every message now in topic (each partition from its low to its high watermark, at most
 * max_messages), in per-partition order. 0, or -1 with err (unreachable, timeout). */
int oks_ctl_kafka_scan(const oks_ctl *ctl, const char *topic, size_t max_messages,
                       oks_ctl_kafka_cb cb, void *ud, oks_err *err);

#endif
