/* oks_kafka against the stack's development broker: readiness, round trip, key -> partition,
 * a consumer group of two separate processes sharing partitions, and offsets committed only
 * once stored. */
#include "kafka/oks_kafka.h"
#include "kafka_group_member.h"
#include "kafka_test_util.h"
#include "oks_test.h"

#include <stdlib.h>
#include <time.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *brokers(void)
{
    return oks_test_service("OKTASYNC_KAFKA_BROKERS");
}

/* Poll until a message (not an event/EOF) arrives or timeout; caller destroys it. */
static rd_kafka_message_t *next_message(rd_kafka_t *c, int timeout_ms)
{
    long deadline = now_ms() + oks_test_timeout_ms(timeout_ms);
    while (now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m)
            continue;
        if (!m->err)
            return m;
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static rd_kafka_t *subscribed_consumer(const char *group, const char *topic, const char *extra)
{
    oks_err err = {0};
    rd_kafka_t *c = oks_kafka_consumer_new(brokers(), group, extra, &err);
    if (!c)
        oks_test_fail(__FILE__, __LINE__, "consumer: %s", err.msg);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    OKS_ASSERT(rd_kafka_subscribe(c, l) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    return c;
}

static void store_offset(rd_kafka_t *c, const rd_kafka_message_t *m)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset + 1;
    OKS_ASSERT(rd_kafka_offsets_store(c, l) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
}

OKS_TEST(wait_ready_on_stack_broker)
{
    oks_err err = {0};
    rd_kafka_t *p = oks_kafka_producer_new(brokers(), NULL, &err);
    OKS_ASSERT(p);
    OKS_ASSERT(oks_kafka_wait_ready(p, oks_test_timeout_ms(5000), &err) == 0);
    rd_kafka_destroy(p);
}

OKS_TEST(wait_ready_without_broker_is_retriable)
{
    oks_err err = {0};
    /* port 1 on loopback: nothing listens, connection refused */
    rd_kafka_t *p = oks_kafka_producer_new("127.0.0.1:1", NULL, &err);
    OKS_ASSERT(p);
    long t0 = now_ms();
    OKS_ASSERT(oks_kafka_wait_ready(p, 1000, &err) != 0);
    OKS_ASSERT(oks_errcode_is_retriable(err.code));
    OKS_ASSERT(now_ms() - t0 < 3000);
    rd_kafka_destroy(p);
}

OKS_TEST(round_trip_with_key_and_headers)
{
    const char *topic = oks_test_unique("oks_rt");
    kt_create_topic(topic, 3);
    rd_kafka_t *p = kt_producer(brokers(), NULL);
    kt_delivery d = {0};
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "tenant", -1, "t-1", -1);
    OKS_ASSERT(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("t-1", 3),
                                 RD_KAFKA_V_VALUE("{\"v\":1}", 7), RD_KAFKA_V_HEADERS(h),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&d),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
    OKS_ASSERT_EQ_INT(rd_kafka_flush(p, oks_test_timeout_ms(10000)), RD_KAFKA_RESP_ERR_NO_ERROR);
    OKS_ASSERT(d.done);
    OKS_ASSERT_EQ_INT(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);

    rd_kafka_t *c = subscribed_consumer(oks_test_unique("g_rt"), topic, NULL);
    rd_kafka_message_t *m = next_message(c, 15000);
    OKS_ASSERT(m);
    OKS_ASSERT_EQ_INT(m->len, 7);
    OKS_ASSERT(memcmp(m->payload, "{\"v\":1}", 7) == 0);
    OKS_ASSERT(m->key_len == 3 && memcmp(m->key, "t-1", 3) == 0);
    OKS_ASSERT_EQ_INT(m->partition, d.partition);
    rd_kafka_headers_t *got = NULL;
    const void *val = NULL;
    size_t len = 0;
    OKS_ASSERT(rd_kafka_message_headers(m, &got) == RD_KAFKA_RESP_ERR_NO_ERROR);
    OKS_ASSERT(rd_kafka_header_get_last(got, "tenant", &val, &len) == RD_KAFKA_RESP_ERR_NO_ERROR);
    OKS_ASSERT(len == 3 && memcmp(val, "t-1", 3) == 0);
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

OKS_TEST(same_key_same_partition)
{
    const char *topic = oks_test_unique("oks_key");
    kt_create_topic(topic, 6);
    rd_kafka_t *p = kt_producer(brokers(), NULL);
    int32_t first[4] = {-1, -1, -1, -1};
    bool spread = false;
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof(key), "tenant-%d", i % 4);
        kt_delivery d = kt_produce_sync(p, topic, RD_KAFKA_PARTITION_UA, key, "x", 10000);
        OKS_ASSERT_EQ_INT(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
        if (first[i % 4] < 0)
            first[i % 4] = d.partition;
        OKS_ASSERT_EQ_INT(d.partition, first[i % 4]);
        spread |= d.partition != first[0];
    }
    /* four keys over six partitions: a hash that ignored the key would not show this */
    OKS_ASSERT(spread);
    rd_kafka_destroy(p);
}

static int64_t committed_offset(rd_kafka_t *c, const char *topic)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0);
    int64_t off = -9999;
    if (rd_kafka_committed(c, l, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR && !l->elems[0].err)
        off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    return off;
}

OKS_TEST(offsets_committed_only_when_stored)
{
    const char *topic = oks_test_unique("oks_off");
    const char *group = oks_test_unique("g_off");
    kt_create_topic(topic, 1);
    rd_kafka_t *p = kt_producer(brokers(), NULL);
    for (int i = 0; i < 5; i++) {
        char v[8];
        snprintf(v, sizeof(v), "%d", i);
        OKS_ASSERT_EQ_INT(kt_produce_sync(p, topic, 0, "k", v, 10000).err, 0);
    }
    rd_kafka_destroy(p);

    const char *fast = "auto.commit.interval.ms=100";
    rd_kafka_t *c = subscribed_consumer(group, topic, fast);
    for (int i = 0; i < 5; i++) {
        rd_kafka_message_t *m = next_message(c, 15000);
        OKS_ASSERT(m);
        OKS_ASSERT_EQ_INT(m->offset, i);
        if (i < 2) /* "work committed" only for the first two */
            store_offset(c, m);
        rd_kafka_message_destroy(m);
    }
    /* The background commit picks up what was stored: 2, although 5 messages were consumed
     * (with automatic offset store it would commit 5). */
    int64_t off = RD_KAFKA_OFFSET_INVALID;
    long deadline = now_ms() + oks_test_timeout_ms(5000);
    while (off == RD_KAFKA_OFFSET_INVALID && now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (m)
            rd_kafka_message_destroy(m);
        off = committed_offset(c, topic);
    }
    OKS_ASSERT_EQ_INT(off, 2);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);

    /* Another member of the group resumes at the committed offset (assign, no group join). */
    oks_err err = {0};
    c = oks_kafka_consumer_new(brokers(), group, fast, &err);
    OKS_ASSERT(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset = RD_KAFKA_OFFSET_STORED;
    OKS_ASSERT(rd_kafka_assign(c, l) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_t *m = next_message(c, 10000);
    OKS_ASSERT(m);
    OKS_ASSERT_EQ_INT(m->offset, 2);
    OKS_ASSERT(m->len == 1 && ((const char *)m->payload)[0] == '2');
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

OKS_TEST(group_of_two_processes_shares_partitions)
{
    const char *topic = oks_test_unique("oks_grp");
    const char *group = oks_test_unique("g_grp");
    kt_create_topic(topic, 4);
    kgm_member members[2];
    for (int i = 0; i < 2; i++)
        kgm_spawn(&members[i], brokers(), group, topic);
    /* Produce only once the group settled, so both members must get messages. */
    OKS_ASSERT(kgm_wait_split(members, 2, 4, oks_test_timeout_ms(40000)));
    rd_kafka_t *p = kt_producer(brokers(), NULL);
    for (int i = 0; i < 40; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        OKS_ASSERT_EQ_INT(kt_produce_sync(p, topic, RD_KAFKA_PARTITION_UA, key, key, 10000).err, 0);
    }
    rd_kafka_destroy(p);
    OKS_ASSERT(kgm_wait_messages(members, 2, 40, oks_test_timeout_ms(20000)));
    for (int i = 0; i < 2; i++) {
        OKS_ASSERT(members[i].n_messages > 0);
        OKS_ASSERT_EQ_INT(members[i].foreign_partition_messages, 0);
    }
    for (int i = 0; i < 2; i++)
        OKS_ASSERT_EQ_INT(kgm_stop(&members[i], oks_test_timeout_ms(15000)), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], KGM_CHILD_FLAG) == 0)
        return kgm_child_main(argc, argv);
    return oks_test_main(argc, argv);
}
