/* oks_kafka_produce_wait against a private broker: librdkafka's mock cluster, the engine of
 * oktasync-devbroker, started in this process so its fault injection (broker down, Produce
 * errors) never touches the shared stack. */
#include "kafka/oks_kafka.h"
#include "kafka/oks_kafka_produce.h"
#include "kafka_mock_cluster.h"
#include "oks_test.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Kafka payloads and header values are not NUL-terminated: copy exactly n bytes (strndup may
 * read past them under ASan's strict_string_checks). */
static char *copy_bytes(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    OKS_ASSERT(s != NULL);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Read the first message of topic/0 and return its value and header "type" (malloc'd). */
static void consume_first(const char *bootstrap, const char *topic, char **value, char **type)
{
    oks_err err = {0};
    rd_kafka_t *c = oks_kafka_consumer_new(bootstrap, "produce-wait-test", NULL, &err);
    OKS_ASSERT(c != NULL);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    OKS_ASSERT_EQ_INT(rd_kafka_assign(c, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    *value = *type = NULL;
    long deadline = now_ms() + oks_test_timeout_ms(10000);
    while (!*value && now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (!m->err) {
            *value = copy_bytes(m->payload, m->len);
            rd_kafka_headers_t *h = NULL;
            const void *v;
            size_t n;
            if (rd_kafka_message_headers(m, &h) == 0 &&
                rd_kafka_header_get_last(h, "type", &v, &n) == 0)
                *type = copy_bytes(v, n);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    OKS_ASSERT(*value != NULL);
}

OKS_TEST(acknowledged_message_is_stored_with_key_and_headers)
{
    kt_cluster pc;
    kt_cluster_start(&pc, "jobs");
    oks_err err = {0};
    rd_kafka_t *rk = oks_kafka_wait_producer_new(pc.bootstrap, NULL, 5000, "test producer", &err);
    OKS_ASSERT(rk != NULL);
    oks_kafka_header h[] = {{"tenant", "t1"}, {"type", "full_sync"}};
    OKS_ASSERT_EQ_INT(oks_kafka_produce_wait(rk, "jobs", "t1", 2, "{\"v\":1}", 7, h, 2, &err), 0);
    OKS_ASSERT(!oks_kafka_producer_fatal(rk, NULL, 0));
    char *value, *type;
    consume_first(pc.bootstrap, "jobs", &value, &type);
    OKS_ASSERT_EQ_STR(value, "{\"v\":1}");
    OKS_ASSERT(type != NULL);
    OKS_ASSERT_EQ_STR(type, "full_sync");
    free(value);
    free(type);
    rd_kafka_destroy(rk);
    kt_cluster_stop(&pc);
}

OKS_TEST(broker_down_is_a_retriable_error_within_the_message_timeout)
{
    kt_cluster pc;
    kt_cluster_start(&pc, "jobs");
    oks_err err = {0};
    rd_kafka_t *rk = oks_kafka_wait_producer_new(pc.bootstrap, NULL, 1000, "test producer", &err);
    OKS_ASSERT(rk != NULL);
    /* The first message also waits for the connection, the metadata and the producer id: on a
     * loaded machine that can take longer than the 1 s message timeout (seen once in a suite
     * run with a build beside it). It only has to succeed once before the broker goes down. */
    int first = -1;
    for (int attempt = 0; attempt < 5 && first != 0; attempt++) {
        first = oks_kafka_produce_wait(rk, "jobs", NULL, 0, "a", 1, NULL, 0, &err);
        OKS_ASSERT(first == 0 || oks_errcode_is_retriable(err.code));
    }
    OKS_ASSERT_EQ_INT(first, 0);
    OKS_ASSERT_EQ_INT(rd_kafka_mock_broker_set_down(pc.mc, 1), 0);
    long t0 = now_ms();
    OKS_ASSERT_EQ_INT(oks_kafka_produce_wait(rk, "jobs", NULL, 0, "b", 1, NULL, 0, &err), -1);
    OKS_ASSERT(oks_errcode_is_retriable(err.code));
    OKS_ASSERT_CONTAINS(err.msg, "not acknowledged");
    OKS_ASSERT(now_ms() - t0 < oks_test_timeout_ms(5000));
    OKS_ASSERT(!oks_kafka_producer_fatal(rk, NULL, 0));
    rd_kafka_destroy(rk);
    kt_cluster_stop(&pc);
}

/* OUT_OF_ORDER_SEQUENCE_NUMBER is fatal for an idempotent producer: the helper says so with
 * librdkafka's reason, as a permanent error, for this and every later message. */
OKS_TEST(fatal_idempotent_producer_error_is_permanent_and_sticky)
{
    kt_cluster pc;
    kt_cluster_start(&pc, "jobs");
    oks_err err = {0};
    rd_kafka_t *rk = oks_kafka_wait_producer_new(pc.bootstrap, NULL, 5000, "test producer", &err);
    OKS_ASSERT(rk != NULL);
    OKS_ASSERT_EQ_INT(oks_kafka_produce_wait(rk, "jobs", NULL, 0, "a", 1, NULL, 0, &err), 0);
    rd_kafka_mock_push_request_errors(pc.mc, 0 /* Produce */, 1,
                                      RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    OKS_ASSERT_EQ_INT(oks_kafka_produce_wait(rk, "jobs", NULL, 0, "b", 1, NULL, 0, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_PERMANENT);
    OKS_ASSERT_CONTAINS(err.msg, "fatal");
    char why[256];
    OKS_ASSERT(oks_kafka_producer_fatal(rk, why, sizeof why));
    OKS_ASSERT(why[0] != '\0');
    oks_err again = {0};
    long t0 = now_ms();
    OKS_ASSERT_EQ_INT(oks_kafka_produce_wait(rk, "jobs", NULL, 0, "c", 1, NULL, 0, &again), -1);
    OKS_ASSERT_EQ_INT(again.code, OKS_E_PERMANENT);
    OKS_ASSERT(now_ms() - t0 < 1000); /* at once, no waiting for a report */
    rd_kafka_destroy(rk);
    kt_cluster_stop(&pc);
}

OKS_TEST(bad_setting_is_invalid_and_names_the_producer)
{
    oks_err err = {0};
    rd_kafka_t *rk =
        oks_kafka_wait_producer_new("127.0.0.1:1", "no.such.setting=1", 1000, "job producer", &err);
    OKS_ASSERT(rk == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "no.such.setting");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
