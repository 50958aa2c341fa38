/*
 * oktasync-devbroker internals: a librdkafka mock cluster plus a small HTTP control API that
 * tests in other processes use to inject faults (brokers down/up, round-trip delay, topics).
 * Development and tests only; nothing is kept across restarts.
 */
#ifndef OKS_DEVBROKER_H
#define OKS_DEVBROKER_H

#include "core/oks_err.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

typedef struct devbroker_control devbroker_control;

/* Start the control API on listen ("host:port", port 0 picks a free one). The mock cluster is
 * borrowed: it must outlive the control API. broker_cnt is the number of broker ids (1..n). */
devbroker_control *devbroker_control_start(const char *listen, rd_kafka_mock_cluster_t *mcluster,
                                           int broker_cnt, oks_err *err);
/* "127.0.0.1:PORT" of the bound listener. */
const char *devbroker_control_address(const devbroker_control *c);
void devbroker_control_stop(devbroker_control *c);

#endif
