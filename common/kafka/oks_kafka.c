#include "kafka/oks_kafka.h"

#include "core/oks_log.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Trim ASCII whitespace in place; returns the new start. */
static char *kafka_trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int oks_kafka_parse_kv(const char *extra, oks_kafka_kv_fn fn, void *ctx, oks_err *err)
{
    if (!extra || !*extra)
        return 0;
    size_t len = strnlen(extra, OKS_KAFKA_EXTRA_MAX + 1);
    if (len > OKS_KAFKA_EXTRA_MAX)
        return oks_err_set(err, OKS_E_INVALID, "kafka config longer than %d bytes",
                           OKS_KAFKA_EXTRA_MAX);
    char *copy = strdup(extra);
    if (!copy)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *seg = strtok_r(copy, ";", &save); seg; seg = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(seg, '=');
        char *trimmed = kafka_trim(seg);
        if (!*trimmed)
            continue; /* "a=b;;c=d" and a trailing ';' are harmless */
        if (!eq) {
            rc = oks_err_set(err, OKS_E_INVALID, "kafka config: \"%.64s\" is not key=value",
                             trimmed);
            goto out;
        }
        *eq = '\0';
        char *key = kafka_trim(seg);
        char *value = kafka_trim(eq + 1);
        if (!*key) {
            rc =
                oks_err_set(err, OKS_E_INVALID, "kafka config: empty key before \"=%.64s\"", value);
            goto out;
        }
        rc = fn(ctx, key, value, err);
        if (rc != 0)
            goto out;
    }
out:
    free(copy);
    return rc;
}

static int kafka_conf_set_kv(void *ctx, const char *key, const char *value, oks_err *err)
{
    char errstr[256];
    if (rd_kafka_conf_set((rd_kafka_conf_t *)ctx, key, value, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK)
        return oks_err_set(err, OKS_E_INVALID, "kafka config %s: %s", key, errstr);
    return 0;
}

int oks_kafka_conf_apply(rd_kafka_conf_t *conf, const char *extra, oks_err *err)
{
    return oks_kafka_parse_kv(extra, kafka_conf_set_kv, conf, err);
}

/* Set a list of NULL-terminated key/value pairs; a failure here is a programming error or an
 * option this librdkafka does not know, reported as OKS_E_INVALID. */
static int kafka_conf_set_all(rd_kafka_conf_t *conf, const char *const *kv, oks_err *err)
{
    for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
        if (kafka_conf_set_kv(conf, kv[i], kv[i + 1], err) != 0)
            return -1;
    }
    return 0;
}

static rd_kafka_conf_t *kafka_conf_base(const char *brokers, oks_err *err)
{
    if (!brokers || !*brokers) {
        oks_err_set(err, OKS_E_INVALID, "kafka brokers are empty");
        return NULL;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Bounded network waits: a dead broker must surface as an error, not a hang. */
    static const char *const defaults[] = {"socket.timeout.ms",
                                           "10000",
                                           "socket.connection.setup.timeout.ms",
                                           "10000",
                                           "metadata.max.age.ms",
                                           "60000",
                                           "reconnect.backoff.max.ms",
                                           "2000",
                                           NULL};
    if (kafka_conf_set_kv(conf, "bootstrap.servers", brokers, err) != 0 ||
        kafka_conf_set_all(conf, defaults, err) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, oks_kafka_log_cb);
    return conf;
}

/* Apply extra last so operators can override every default; destroys conf on failure. */
static rd_kafka_conf_t *kafka_conf_finish(rd_kafka_conf_t *conf, const char *extra, oks_err *err)
{
    if (oks_kafka_conf_apply(conf, extra, err) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

rd_kafka_conf_t *oks_kafka_conf_new(const char *brokers, const char *extra, oks_err *err)
{
    rd_kafka_conf_t *conf = kafka_conf_base(brokers, err);
    return conf ? kafka_conf_finish(conf, extra, err) : NULL;
}

rd_kafka_conf_t *oks_kafka_producer_conf(const char *brokers, const char *extra,
                                         int message_timeout_ms, oks_err *err)
{
    rd_kafka_conf_t *conf = kafka_conf_base(brokers, err);
    if (!conf)
        return NULL;
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%d", message_timeout_ms > 0 ? message_timeout_ms : 30000);
    const char *const kv[] = {"enable.idempotence", "true",  "acks", "all", "linger.ms", "5",
                              "message.timeout.ms", timeout, NULL};
    if (kafka_conf_set_all(conf, kv, err) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return kafka_conf_finish(conf, extra, err);
}

/* rd_kafka_new takes ownership of conf only on success. */
static rd_kafka_t *kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, oks_err *err)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        oks_err_set(err, OKS_E_INVALID, "kafka client: %s", errstr);
    }
    return rk;
}

rd_kafka_t *oks_kafka_producer_new(const char *brokers, const char *extra, oks_err *err)
{
    rd_kafka_conf_t *conf = oks_kafka_producer_conf(brokers, extra, 0, err);
    return conf ? kafka_new(RD_KAFKA_PRODUCER, conf, err) : NULL;
}

rd_kafka_conf_t *oks_kafka_consumer_conf(const char *brokers, const char *group_id,
                                         const char *extra, oks_err *err)
{
    if (!group_id || !*group_id) {
        oks_err_set(err, OKS_E_INVALID, "kafka consumer group id is empty");
        return NULL;
    }
    rd_kafka_conf_t *conf = kafka_conf_base(brokers, err);
    if (!conf)
        return NULL;
    const char *const kv[] = {"group.id",
                              group_id,
                              "enable.auto.offset.store",
                              "false",
                              "enable.auto.commit",
                              "true",
                              "auto.offset.reset",
                              "earliest",
                              "partition.assignment.strategy",
                              "cooperative-sticky",
                              NULL};
    if (kafka_conf_set_all(conf, kv, err) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return kafka_conf_finish(conf, extra, err);
}

rd_kafka_t *oks_kafka_consumer_new(const char *brokers, const char *group_id, const char *extra,
                                   oks_err *err)
{
    rd_kafka_conf_t *conf = oks_kafka_consumer_conf(brokers, group_id, extra, err);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = kafka_new(RD_KAFKA_CONSUMER, conf, err);
    if (rk)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

void oks_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0..3 emerg..err, 4 warning, 5..6 notice/info, 7 debug */
    oks_log_level l = level <= 3   ? OKS_LOG_ERROR
                      : level == 4 ? OKS_LOG_WARN
                      : level <= 6 ? OKS_LOG_INFO
                                   : OKS_LOG_DEBUG;
    if (l < oks_log_threshold)
        return;
    oks_log_fields(l, buf, "component", "librdkafka", "fac", fac ? fac : "", "client",
                   rk ? rd_kafka_name(rk) : "", NULL);
}

oks_errcode oks_kafka_errcode(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return OKS_OK;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return OKS_E_TIMEOUT;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
        return OKS_E_UNAVAILABLE;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return OKS_E_TRANSIENT;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        return OKS_E_NOTFOUND;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
        return OKS_E_INVALID;
    default:
        return OKS_E_TRANSIENT;
    }
}

int oks_kafka_wait_ready(rd_kafka_t *rk, int timeout_ms, oks_err *err)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        oks_errcode code = oks_kafka_errcode(e);
        if (!oks_errcode_is_retriable(code))
            code = OKS_E_UNAVAILABLE;
        return oks_err_set(err, code, "kafka cluster not ready after %d ms: %s", timeout_ms,
                           rd_kafka_err2str(e));
    }
    int brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    if (brokers <= 0)
        return oks_err_set(err, OKS_E_UNAVAILABLE, "kafka cluster reported no brokers");
    return 0;
}
