/* A private librdkafka mock cluster for the Kafka tests that make Kafka vanish: one broker, one
 * topic of one partition, its bootstrap address; stopping it closes its listeners for good. */
#ifndef KAFKA_MOCK_CLUSTER_H
#define KAFKA_MOCK_CLUSTER_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

typedef struct kt_cluster {
    rd_kafka_t *host; /* the mock cluster lives in this handle */
    rd_kafka_mock_cluster_t *mc;
    char bootstrap[256];
} kt_cluster;

void kt_cluster_start(kt_cluster *c, const char *topic);
/* Kafka is gone: the cluster's listeners close, nothing answers again. */
void kt_cluster_stop(kt_cluster *c);

#endif
