/* Helpers shared by the Kafka and devbroker tests: the devbroker control API over HTTP, and
 * synchronous produce with delivery reports. */
#ifndef KAFKA_TEST_UTIL_H
#define KAFKA_TEST_UTIL_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* POST/GET control_base + path ("http://127.0.0.1:P" + "/topics?name=x&partitions=3");
 * returns the HTTP status (0 when no answer within 5 s) and copies the body into body. */
long kt_control(const char *control_base, const char *method, const char *path, char *body,
                size_t body_cap);

/* Create a topic on the stack's devbroker (OKTASYNC_DEVBROKER_CONTROL); fails the test if not 200.
 */
void kt_create_topic(const char *topic, int partitions);

/* Producer with a delivery-report callback recording each message's result. */
typedef struct kt_delivery {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} kt_delivery;

rd_kafka_t *kt_producer(const char *brokers, const char *extra);
/* Produce one message and wait (up to timeout_ms) for its delivery report. */
kt_delivery kt_produce_sync(rd_kafka_t *rk, const char *topic, int32_t partition, const char *key,
                            const char *value, int timeout_ms);

#endif
