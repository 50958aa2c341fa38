#include "kafka_test_util.h"

#include "kafka/oks_kafka.h"
#include "oks_test.h"

#include <curl/curl.h>

typedef struct kt_buf {
    char *p;
    size_t cap, len;
} kt_buf;

static size_t kt_write(char *data, size_t size, size_t n, void *ctx)
{
    kt_buf *b = ctx;
    size_t total = size * n;
    size_t room = b->cap > b->len + 1 ? b->cap - b->len - 1 : 0;
    size_t take = total < room ? total : room;
    memcpy(b->p + b->len, data, take);
    b->len += take;
    b->p[b->len] = '\0';
    return total;
}

long kt_control(const char *control_base, const char *method, const char *path, char *body,
                size_t body_cap)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", control_base, path);
    kt_buf b = {body, body_cap, 0};
    if (body_cap)
        body[0] = '\0';
    CURL *c = curl_easy_init();
    OKS_ASSERT(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kt_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

void kt_create_topic(const char *topic, int partitions)
{
    char path[512], body[512];
    snprintf(path, sizeof(path), "/topics?name=%s&partitions=%d", topic, partitions);
    long st = kt_control(oks_test_service("OKTASYNC_DEVBROKER_CONTROL"), "POST", path, body,
                         sizeof(body));
    if (st != 200)
        oks_test_fail(__FILE__, __LINE__, "creating topic %s: HTTP %ld %s", topic, st, body);
}

static void kt_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    kt_delivery *d = m->_private;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
    d->done = 1;
}

rd_kafka_t *kt_producer(const char *brokers, const char *extra)
{
    oks_err err = {0};
    rd_kafka_conf_t *conf = oks_kafka_producer_conf(brokers, extra, 0, &err);
    if (!conf)
        oks_test_fail(__FILE__, __LINE__, "producer conf: %s", err.msg);
    rd_kafka_conf_set_dr_msg_cb(conf, kt_dr);
    char errstr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk)
        oks_test_fail(__FILE__, __LINE__, "producer: %s", errstr);
    return rk;
}

kt_delivery kt_produce_sync(rd_kafka_t *rk, const char *topic, int32_t partition, const char *key,
                            const char *value, int timeout_ms)
{
    kt_delivery d = {0};
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        oks_test_fail(__FILE__, __LINE__, "producev: %s", rd_kafka_err2str(e));
    int waited = 0;
    while (!d.done && waited < timeout_ms) {
        rd_kafka_poll(rk, 50);
        waited += 50;
    }
    if (!d.done) { /* the callback must not write into our stack after we return */
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(rk, 5000);
        if (!d.done)
            oks_test_fail(__FILE__, __LINE__, "no delivery report after %d ms", timeout_ms);
    }
    return d;
}
