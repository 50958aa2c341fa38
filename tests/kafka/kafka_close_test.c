/* oks_kafka_consumer_stop and oks_kafka_producer_drain against librdkafka's mock cluster in
 * this process (private: its brokers can be taken down or destroyed without touching the shared
 * stack). With Kafka up the consumer's stored offsets are committed and it leaves its group;
 * with Kafka gone every wait ends at its deadline. */
#include "kafka/oks_kafka.h"
#include "kafka/oks_kafka_close.h"
#include "kafka_mock_cluster.h"
#include "oks_test.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOPIC "events"
#define GROUP "close-test"
/* short session (the mock cluster's first join takes ~3 s), no periodic commit: the stored
 * offset waits for the final one */
#define CONSUMER_EXTRA                                                                             \
    "session.timeout.ms=6000;heartbeat.interval.ms=500;auto.commit.interval.ms=600000"

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void produce_one(const char *bootstrap)
{
    oks_err err = {0};
    rd_kafka_t *p = oks_kafka_producer_new(bootstrap, NULL, &err);
    OKS_ASSERT(p != NULL);
    OKS_ASSERT_EQ_INT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_VALUE("x", 1),
                                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                      0);
    OKS_ASSERT_EQ_INT(rd_kafka_flush(p, oks_test_timeout_ms(10000)), 0);
    rd_kafka_destroy(p);
}

/* A subscribed consumer that received the message at offset 0 and stored offset 1. */
static rd_kafka_t *consumer_with_stored_offset(const char *bootstrap)
{
    oks_err err = {0};
    rd_kafka_t *c = oks_kafka_consumer_new(bootstrap, GROUP, CONSUMER_EXTRA, &err);
    OKS_ASSERT(c != NULL);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, TOPIC, RD_KAFKA_PARTITION_UA);
    OKS_ASSERT_EQ_INT(rd_kafka_subscribe(c, t), 0);
    rd_kafka_topic_partition_list_destroy(t);
    bool stored = false;
    long deadline = now_ms() + oks_test_timeout_ms(20000);
    while (!stored && now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (!m->err) {
            rd_kafka_topic_partition_list_t *o = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(o, TOPIC, m->partition)->offset = m->offset + 1;
            OKS_ASSERT_EQ_INT(rd_kafka_offsets_store(c, o), 0);
            rd_kafka_topic_partition_list_destroy(o);
            stored = true;
        }
        rd_kafka_message_destroy(m);
    }
    OKS_ASSERT(stored);
    return c;
}

/* The group's committed offset of TOPIC/0, read without joining (-1001 = none). */
static int64_t committed(const char *bootstrap)
{
    oks_err err = {0};
    rd_kafka_t *c = oks_kafka_consumer_new(bootstrap, GROUP, NULL, &err);
    OKS_ASSERT(c != NULL);
    rd_kafka_topic_partition_list_t *p = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(p, TOPIC, 0);
    OKS_ASSERT_EQ_INT(rd_kafka_committed(c, p, oks_test_timeout_ms(10000)), 0);
    int64_t off = p->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(p);
    rd_kafka_destroy_flags(c, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return off;
}

OKS_TEST(consumer_stop_with_kafka_up_commits_and_leaves_the_group)
{
    kt_cluster pc;
    kt_cluster_start(&pc, TOPIC);
    produce_one(pc.bootstrap);
    rd_kafka_t *c = consumer_with_stored_offset(pc.bootstrap);
    OKS_ASSERT_EQ_INT(committed(pc.bootstrap), RD_KAFKA_OFFSET_INVALID); /* not yet */
    oks_kafka_stop_result r;
    oks_kafka_consumer_stop(c, oks_test_timeout_ms(10000), 500, &r);
    OKS_ASSERT(r.commit_answered);
    OKS_ASSERT_EQ_INT(r.commit_err, RD_KAFKA_RESP_ERR_NO_ERROR);
    OKS_ASSERT(r.closed);
    OKS_ASSERT(!r.abandoned);
    OKS_ASSERT_EQ_INT(committed(pc.bootstrap), 1);
    kt_cluster_stop(&pc);
}

OKS_TEST(consumer_stop_with_kafka_gone_ends_at_the_deadline)
{
    kt_cluster pc;
    kt_cluster_start(&pc, TOPIC);
    produce_one(pc.bootstrap);
    rd_kafka_t *c = consumer_with_stored_offset(pc.bootstrap);
    kt_cluster_stop(&pc);
    long t0 = now_ms();
    oks_kafka_stop_result r;
    oks_kafka_consumer_stop(c, 1000, 500, &r);
    long took = now_ms() - t0;
    printf("# consumer stop with Kafka gone: %ld ms\n", took);
    OKS_ASSERT(!r.commit_answered); /* rd_kafka_commit has no deadline of its own here */
    OKS_ASSERT(!r.closed);
    /* the group handler waits session.timeout.ms for a coordinator, more than 1 s + 0.5 s */
    OKS_ASSERT(r.abandoned);
    OKS_ASSERT(took >= 1000 && took < oks_test_timeout_ms(1000 + 500 + 1500));
    /* the abandoned teardown still ends by itself, cleanly (no use after free under ASan) */
    OKS_ASSERT_EQ_INT(rd_kafka_wait_destroyed(oks_test_timeout_ms(20000)), 0);
}

static void count_purged(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    int *purged = opaque;
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        (*purged)++;
}

OKS_TEST(producer_drain_purges_what_kafka_did_not_take_in_time)
{
    kt_cluster pc;
    kt_cluster_start(&pc, TOPIC);
    oks_err err = {0};
    int purged = 0;
    rd_kafka_conf_t *conf = oks_kafka_producer_conf(pc.bootstrap, NULL, 60000, &err);
    OKS_ASSERT(conf != NULL);
    rd_kafka_conf_set_dr_msg_cb(conf, count_purged);
    rd_kafka_conf_set_opaque(conf, &purged);
    char errstr[256];
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    OKS_ASSERT(p != NULL);
    /* nothing queued: returns at once */
    long t0 = now_ms();
    OKS_ASSERT_EQ_INT(oks_kafka_producer_drain(p, 5000, "test producer"), 0);
    OKS_ASSERT(now_ms() - t0 < oks_test_timeout_ms(1000));
    OKS_ASSERT_EQ_INT(rd_kafka_mock_broker_set_down(pc.mc, 1), 0);
    for (int i = 0; i < 3; i++)
        OKS_ASSERT_EQ_INT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_VALUE("y", 1),
                                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                            RD_KAFKA_V_END),
                          0);
    t0 = now_ms();
    OKS_ASSERT_EQ_INT(oks_kafka_producer_drain(p, 500, "test producer"), 3);
    OKS_ASSERT_EQ_INT(purged, 3); /* each message got its report (callers free their state) */
    /* the producer's destroy does not wait for the broker either */
    rd_kafka_destroy(p);
    long took = now_ms() - t0;
    printf("# drain + destroy with the broker down: %ld ms\n", took);
    OKS_ASSERT(took >= 500 && took < oks_test_timeout_ms(500 + 500 + 1000));
    kt_cluster_stop(&pc);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
