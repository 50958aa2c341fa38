/* Unit tests of the librdkafka helpers that need no broker: "k=v;k=v" parsing, defaults, and
 * overrides (extra wins), error classes. */
#include "kafka/oks_kafka.h"
#include "oks_test.h"

#include "core/oks_log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct kv_list {
    int n;
    char keys[8][64];
    char values[8][64];
} kv_list;

static int collect(void *ctx, const char *key, const char *value, oks_err *err)
{
    kv_list *l = ctx;
    (void)err;
    if (l->n >= 8)
        return -1;
    snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
    snprintf(l->values[l->n], sizeof(l->values[0]), "%s", value);
    l->n++;
    return 0;
}

static void conf_expect(rd_kafka_conf_t *conf, const char *key, const char *want)
{
    char buf[256];
    size_t n = sizeof(buf);
    OKS_ASSERT(rd_kafka_conf_get(conf, key, buf, &n) == RD_KAFKA_CONF_OK);
    OKS_ASSERT_EQ_STR(buf, want);
}

OKS_TEST(parse_pairs_in_order_trimmed)
{
    kv_list l = {0};
    oks_err err = {0};
    OKS_ASSERT(oks_kafka_parse_kv(" linger.ms = 50 ;acks=1;; client.id=a=b ;", collect, &l, &err) ==
               0);
    OKS_ASSERT_EQ_INT(l.n, 3);
    OKS_ASSERT_EQ_STR(l.keys[0], "linger.ms");
    OKS_ASSERT_EQ_STR(l.values[0], "50");
    OKS_ASSERT_EQ_STR(l.keys[1], "acks");
    OKS_ASSERT_EQ_STR(l.values[1], "1");
    /* only the first '=' splits: values may contain '=' */
    OKS_ASSERT_EQ_STR(l.keys[2], "client.id");
    OKS_ASSERT_EQ_STR(l.values[2], "a=b");
}

OKS_TEST(parse_empty_is_no_pairs)
{
    kv_list l = {0};
    oks_err err = {0};
    OKS_ASSERT(oks_kafka_parse_kv(NULL, collect, &l, &err) == 0);
    OKS_ASSERT(oks_kafka_parse_kv("", collect, &l, &err) == 0);
    OKS_ASSERT(oks_kafka_parse_kv(" ; ;", collect, &l, &err) == 0);
    OKS_ASSERT_EQ_INT(l.n, 0);
    OKS_ASSERT(oks_kafka_parse_kv("k=", collect, &l, &err) == 0); /* empty value is a value */
    OKS_ASSERT_EQ_INT(l.n, 1);
    OKS_ASSERT_EQ_STR(l.values[0], "");
}

OKS_TEST(parse_rejects_bad_segments)
{
    kv_list l = {0};
    oks_err err = {0};
    OKS_ASSERT(oks_kafka_parse_kv("a=1;linger.ms;b=2", collect, &l, &err) != 0);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "\"linger.ms\" is not key=value");
    OKS_ASSERT_EQ_INT(l.n, 1); /* nothing after the bad segment */
    OKS_ASSERT(oks_kafka_parse_kv("=5", collect, &l, &err) != 0);
    OKS_ASSERT_CONTAINS(err.msg, "empty key");
    OKS_ASSERT(oks_kafka_parse_kv("  =x", collect, &l, &err) != 0);
    OKS_ASSERT_CONTAINS(err.msg, "empty key");
}

OKS_TEST(parse_rejects_overlong)
{
    size_t n = OKS_KAFKA_EXTRA_MAX + 10;
    char *s = malloc(n + 1);
    OKS_ASSERT(s);
    memset(s, 'a', n);
    s[0] = 'k';
    s[1] = '=';
    s[n] = '\0';
    kv_list l = {0};
    oks_err err = {0};
    int rc = oks_kafka_parse_kv(s, collect, &l, &err);
    free(s);
    OKS_ASSERT(rc != 0);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "longer than");
}

OKS_TEST(apply_unknown_key_names_it)
{
    oks_err err = {0};
    rd_kafka_conf_t *conf = oks_kafka_conf_new("127.0.0.1:1", "no.such.option=1", &err);
    OKS_ASSERT(conf == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "no.such.option");
    conf = oks_kafka_conf_new("127.0.0.1:1", "linger.ms=banana", &err);
    OKS_ASSERT(conf == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "linger.ms");
}

OKS_TEST(empty_brokers_or_group_rejected)
{
    oks_err err = {0};
    OKS_ASSERT(oks_kafka_conf_new("", NULL, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT(oks_kafka_producer_new(NULL, NULL, &err) == NULL);
    OKS_ASSERT(oks_kafka_consumer_new("127.0.0.1:1", "", NULL, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "group id");
}

OKS_TEST(producer_defaults_and_override)
{
    oks_err err = {0};
    rd_kafka_conf_t *conf = oks_kafka_producer_conf("127.0.0.1:1", NULL, 7000, &err);
    OKS_ASSERT(conf);
    conf_expect(conf, "bootstrap.servers", "127.0.0.1:1");
    conf_expect(conf, "enable.idempotence", "true");
    conf_expect(conf, "acks", "-1"); /* all */
    conf_expect(conf, "linger.ms", "5");
    conf_expect(conf, "message.timeout.ms", "7000");
    conf_expect(conf, "socket.timeout.ms", "10000");
    rd_kafka_conf_destroy(conf);
    /* extra is applied last and wins */
    conf = oks_kafka_producer_conf("127.0.0.1:1", "linger.ms=50;socket.timeout.ms=2000", 0, &err);
    OKS_ASSERT(conf);
    conf_expect(conf, "linger.ms", "50");
    conf_expect(conf, "socket.timeout.ms", "2000");
    conf_expect(conf, "message.timeout.ms", "30000");
    rd_kafka_conf_destroy(conf);
}

OKS_TEST(consumer_defaults_and_override)
{
    oks_err err = {0};
    rd_kafka_conf_t *conf = oks_kafka_consumer_conf("127.0.0.1:1", "g1", NULL, &err);
    OKS_ASSERT(conf);
    conf_expect(conf, "group.id", "g1");
    conf_expect(conf, "enable.auto.offset.store", "false");
    conf_expect(conf, "enable.auto.commit", "true");
    conf_expect(conf, "auto.offset.reset", "smallest"); /* librdkafka's name for earliest */
    conf_expect(conf, "partition.assignment.strategy", "cooperative-sticky");
    rd_kafka_conf_destroy(conf);
    conf = oks_kafka_consumer_conf("127.0.0.1:1", "g1", "session.timeout.ms=6000", &err);
    OKS_ASSERT(conf);
    conf_expect(conf, "session.timeout.ms", "6000");
    rd_kafka_conf_destroy(conf);
}

OKS_TEST(handles_are_created)
{
    oks_err err = {0};
    rd_kafka_t *p = oks_kafka_producer_new("127.0.0.1:1", NULL, &err);
    OKS_ASSERT(p);
    rd_kafka_destroy(p);
    rd_kafka_t *c = oks_kafka_consumer_new("127.0.0.1:1", "g", NULL, &err);
    OKS_ASSERT(c);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
}

OKS_TEST(error_classes)
{
    OKS_ASSERT_EQ_INT(oks_kafka_errcode(RD_KAFKA_RESP_ERR_NO_ERROR), OKS_OK);
    OKS_ASSERT_EQ_INT(oks_kafka_errcode(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), OKS_E_TIMEOUT);
    OKS_ASSERT_EQ_INT(oks_kafka_errcode(RD_KAFKA_RESP_ERR__TRANSPORT), OKS_E_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(oks_kafka_errcode(RD_KAFKA_RESP_ERR__QUEUE_FULL), OKS_E_TRANSIENT);
    OKS_ASSERT_EQ_INT(oks_kafka_errcode(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), OKS_E_INVALID);
    OKS_ASSERT_EQ_INT(oks_kafka_errcode(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC), OKS_E_NOTFOUND);
    OKS_ASSERT(oks_errcode_is_retriable(oks_kafka_errcode(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)));
}

/* Run the log callback with stderr captured; returns what was written. */
static const char *captured_log(int level, const char *fac, const char *msg)
{
    static char buf[2048];
    int p[2], saved = dup(2);
    OKS_ASSERT(pipe(p) == 0 && saved >= 0);
    fflush(stderr);
    dup2(p[1], 2);
    oks_kafka_log_cb(NULL, level, fac, msg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

OKS_TEST(librdkafka_logs_go_through_oks_log)
{
    oks_log_init("kafka-test", OKS_LOG_INFO);
    const char *out = captured_log(3, "FAIL", "broker down");
    OKS_ASSERT_CONTAINS(out, "\"level\":\"error\"");
    OKS_ASSERT_CONTAINS(out, "\"msg\":\"broker down\"");
    OKS_ASSERT_CONTAINS(out, "\"component\":\"librdkafka\"");
    OKS_ASSERT_CONTAINS(out, "\"fac\":\"FAIL\"");
    OKS_ASSERT_CONTAINS(captured_log(4, "W", "careful"), "\"level\":\"warn\"");
    OKS_ASSERT_CONTAINS(captured_log(6, "I", "fyi"), "\"level\":\"info\"");
    /* below the threshold: nothing at all */
    OKS_ASSERT_EQ_STR(captured_log(7, "D", "chatter"), "");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
