/* Test tool for tests/ctl (not a test; brokers from OKTASYNC_KAFKA_BROKERS / the stack):
 *   ctl_topic_dump TOPIC                      every message as one JSON array
 *                                             ([{"key","value","headers","partition","offset"}])
 *   ctl_topic_dump --produce TOPIC KEY [AGE_MS] [PARTITION]
 *                                             produce stdin (one line, newline cut) with key,
 *                                             timestamped AGE_MS ago, acknowledged
 *   ctl_topic_dump --commit TOPIC GROUP PARTITION OFFSET
 *                                             commit an offset for a group (as a worker would) */
#include "core/oks_time.h"
#include "oks_test.h"
#include "wtest.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rd_kafka_conf_t *conf(void)
{
    char e[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", oks_test_service("OKTASYNC_KAFKA_BROKERS"), e,
                          sizeof e) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s\n", e);
        exit(1);
    }
    return c;
}

static int produce(const char *topic, const char *key, int64_t age_ms, int partition)
{
    static char value[1 << 20];
    size_t len = fread(value, 1, sizeof value - 1, stdin);
    while (len > 0 && value[len - 1] == '\n')
        len--;
    char e[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf(), e, sizeof e);
    if (!rk)
        return fprintf(stderr, "%s\n", e), 1;
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, len),
                          RD_KAFKA_V_TIMESTAMP(oks_now_wall_ms() - age_ms),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (!err)
        err = rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    if (err)
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
    return err ? 1 : 0;
}

static int commit(const char *topic, const char *group, int partition, int64_t offset)
{
    char e[256];
    rd_kafka_conf_t *c = conf();
    rd_kafka_conf_set(c, "group.id", group, e, sizeof e);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
    if (!rk)
        return fprintf(stderr, "%s\n", e), 1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, l, 0);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    if (err)
        fprintf(stderr, "commit: %s\n", rd_kafka_err2str(err));
    return err ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--produce") == 0)
        return produce(argv[2], argv[3], argc > 4 ? strtoll(argv[4], NULL, 10) : 0,
                       argc > 5 ? atoi(argv[5]) : RD_KAFKA_PARTITION_UA);
    if (argc == 6 && strcmp(argv[1], "--commit") == 0)
        return commit(argv[2], argv[3], atoi(argv[4]), strtoll(argv[5], NULL, 10));
    if (argc != 2) {
        fprintf(stderr, "usage: ctl_topic_dump TOPIC | --produce TOPIC KEY [AGE_MS [PARTITION]] "
                        "| --commit TOPIC GROUP PARTITION OFFSET\n");
        return 2;
    }
    json_t *msgs = wt_consume_all(argv[1], 10000);
    char *s = json_dumps(msgs, JSON_COMPACT);
    puts(s ? s : "[]");
    free(s);
    json_decref(msgs);
    return 0;
}
