#include "oks_ingest_producer.h"

#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "event/oks_event.h"
#include "oks_ingest_metrics.h"
#include "kafka/oks_kafka.h"
#include "kafka/oks_kafka_close.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct oks_ingest_tracker {
    oks_ingest_tracker *prev, *next; /* in-flight list (armed and not released) */
    int outstanding;                 /* messages still inside librdkafka */
    bool released;                   /* the request let go */
    bool armed;                      /* waiting for settle() */
    /* Written once (under the lock) by settle; read without it by oks_ingest_tracker_result,
     * which runs after the resume that settle triggers. */
    atomic_int result;
    int64_t deadline_ms, started_ms;
    oks_ingest_settled_fn settled;
    void *ctx;
};

struct oks_ingest_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;     /* events */
    rd_kafka_topic_t *rkt_dlq; /* dead letters */
    pthread_t poller;
    atomic_bool stop;
    pthread_mutex_t lock;    /* guards every tracker and the list */
    oks_ingest_tracker head; /* sentinel of the armed list */
    atomic_int live;         /* trackers not released */
};

static void metric_add(oks_counter *c, uint64_t n)
{
    if (c)
        oks_counter_add(c, n);
}

/* Settle once (lock held): record the result and wake the request if it is waiting. */
static void settle(oks_ingest_tracker *t, oks_ingest_result r)
{
    if (atomic_load_explicit(&t->result, memory_order_relaxed) != OKS_INGEST_PENDING)
        return;
    atomic_store_explicit(&t->result, r, memory_order_release);
    if (t->armed && !t->released && t->settled)
        t->settled(t->ctx);
}

static void maybe_free(oks_ingest_tracker *t)
{
    if (t->released && t->outstanding == 0)
        free(t);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    oks_ingest_producer *p = opaque;
    oks_ingest_tracker *t = m->_private;

    (void)rk;
    if (!t)
        return;
    pthread_mutex_lock(&p->lock);
    t->outstanding--;
    if (m->err) {
        metric_add(oks_ingest_m.delivery_failures, 1);
        OKS_LOG_WARN("delivery failed: %s", rd_kafka_err2str(m->err));
        settle(t, OKS_INGEST_FAILED);
    } else {
        metric_add(m->rkt == p->rkt_dlq ? oks_ingest_m.events_dead_lettered
                                        : oks_ingest_m.events_produced,
                   1);
        if (oks_ingest_m.ack_latency)
            oks_histogram_observe(oks_ingest_m.ack_latency,
                                  (double)(oks_now_mono_ms() - t->started_ms) / 1000.0);
        if (t->outstanding == 0)
            settle(t, OKS_INGEST_ACKED);
    }
    maybe_free(t);
    pthread_mutex_unlock(&p->lock);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    char fatal[256];

    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        /* The idempotent producer cannot go on: every request now fails (503), /readyz
         * reports it, and the process drains and exits non-zero so that the orchestrator
         * replaces this instance (a live but useless process would stay in place). */
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        OKS_LOG_ERROR("kafka producer fatal error, shutting down: %s", fatal);
        oks_shutdown_request();
        return;
    }
    OKS_LOG_WARN("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void expire_deadlines(oks_ingest_producer *p)
{
    int64_t now = oks_now_mono_ms();

    pthread_mutex_lock(&p->lock);
    for (oks_ingest_tracker *t = p->head.next; t != &p->head; t = t->next) {
        if (atomic_load_explicit(&t->result, memory_order_relaxed) == OKS_INGEST_PENDING &&
            now >= t->deadline_ms) {
            metric_add(oks_ingest_m.ack_timeouts, 1);
            settle(t, OKS_INGEST_TIMEOUT);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

static void *poller_main(void *arg)
{
    oks_ingest_producer *p = arg;

    /* Short poll so deadlines fire within a few ms of their time. rd_kafka_poll returns after
     * every batch of delivery reports, so the scan (which holds the lock the HTTP threads
     * need) runs on its own ~5 ms clock, not once per batch. */
    int64_t next_scan = 0;
    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(p->rk, 5);
        int64_t now = oks_now_mono_ms();
        if (now >= next_scan) {
            expire_deadlines(p);
            next_scan = now + 5;
        }
    }
    return NULL;
}

static rd_kafka_conf_t *build_conf(oks_ingest_producer *p, const char *brokers, const char *extra,
                                   oks_err *err)
{
    char merged[OKS_KAFKA_EXTRA_MAX + 64];

    /* Durable, duplicate-free producing (acks=all + idempotence) comes from the fleet's
     * producer conf; a 0.5 ms linger keeps the ack latency low
     * (requests wait for acks, so latency bounds throughput: connections / latency). The operator's
     * kafka-config comes last and wins. */
    int n = snprintf(merged, sizeof(merged), "linger.ms=0.5;client.id=oktasync-ingest;%s",
                     extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof(merged)) {
        oks_err_set(err, OKS_E_INVALID, "kafka-config is too long");
        return NULL;
    }
    rd_kafka_conf_t *conf = oks_kafka_producer_conf(brokers, merged, 0, err);
    if (!conf)
        return NULL;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, p);
    return conf;
}

oks_ingest_producer *oks_ingest_producer_new(const char *brokers, const char *topic,
                                             const char *dlq_topic, const char *extra_conf,
                                             oks_err *err)
{
    char errstr[512];
    oks_ingest_producer *p = calloc(1, sizeof(*p));

    if (!p) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->head.next = p->head.prev = &p->head;
    rd_kafka_conf_t *conf = build_conf(p, brokers, extra_conf, err);
    if (!conf)
        goto fail;
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!p->rk) { /* conf is still ours on failure */
        rd_kafka_conf_destroy(conf);
        oks_err_set(err, OKS_E_INVALID, "kafka producer: %s", errstr);
        goto fail;
    }
    p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!p->rkt) {
        oks_err_set(err, OKS_E_INVALID, "kafka topic %s: %s", topic,
                    rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    p->rkt_dlq = rd_kafka_topic_new(p->rk, dlq_topic, NULL);
    if (!p->rkt_dlq) {
        oks_err_set(err, OKS_E_INVALID, "kafka topic %s: %s", dlq_topic,
                    rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    if (pthread_create(&p->poller, NULL, poller_main, p) != 0) {
        oks_err_set(err, OKS_E_NOMEM, "cannot start the producer poll thread");
        goto fail;
    }
    return p;
fail:
    if (p->rkt_dlq)
        rd_kafka_topic_destroy(p->rkt_dlq);
    if (p->rkt)
        rd_kafka_topic_destroy(p->rkt);
    if (p->rk)
        rd_kafka_destroy(p->rk);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}

int oks_ingest_producer_destroy(oks_ingest_producer *p, int flush_ms)
{
    if (!p)
        return 0;
    atomic_store(&p->stop, true);
    pthread_join(p->poller, NULL);
    int left = oks_kafka_producer_drain(p->rk, flush_ms, "producer"); /* reports free trackers */
    rd_kafka_topic_destroy(p->rkt_dlq);
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return left;
}

bool oks_ingest_producer_reachable(oks_ingest_producer *p, int timeout_ms, char *why,
                                   size_t why_cap)
{
    const struct rd_kafka_metadata *md = NULL;
    char fatal[256];

    if (rd_kafka_fatal_error(p->rk, fatal, sizeof(fatal)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, why_cap, "kafka producer fatal error: %s", fatal);
        return false;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, p->rkt, &md, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, why_cap, "kafka unreachable: %s", rd_kafka_err2str(e));
        return false;
    }
    rd_kafka_metadata_destroy(md);
    return true;
}

oks_ingest_tracker *oks_ingest_tracker_new(oks_ingest_producer *p, int64_t deadline_mono_ms)
{
    oks_ingest_tracker *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->deadline_ms = deadline_mono_ms;
    t->started_ms = oks_now_mono_ms();
    t->prev = t->next = t; /* not on the list until armed */
    atomic_fetch_add(&p->live, 1);
    return t;
}

/* An envelope's headers: tenant and type, and its routing fields when they fit
 * (event/oks_event.h), so the worker need not parse the value. */
static rd_kafka_headers_t *envelope_headers(const char *key, size_t klen, const oks_ingest_msg *m)
{
    const oks_event_route *r = &m->route;
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, OKS_EVENT_HDR_TENANT, -1, key, (ssize_t)klen);
    rd_kafka_header_add(h, OKS_EVENT_HDR_TYPE, -1, m->event_type, -1);
    if (r->ok) {
        rd_kafka_header_add(h, OKS_EVENT_HDR_UUID, -1, r->uuid, -1);
        rd_kafka_header_add(h, OKS_EVENT_HDR_USER, -1, r->okta_user_id, -1);
        rd_kafka_header_add(h, OKS_EVENT_HDR_RECEIVED_AT, -1, r->received_at, -1);
        if (r->published[0])
            rd_kafka_header_add(h, OKS_EVENT_HDR_PUBLISHED, -1, r->published, -1);
    }
    return h;
}

/* One produce call: an envelope to the events topic, or a dead letter with the fleet's
 * dead-letter headers (kafka/oks_kafka_dead_letter.h; no source topic: the event came from a
 * webhook, so partition and offset are -1). The key is the tenant id either way. */
static rd_kafka_resp_err_t produce_one(oks_ingest_producer *p, oks_ingest_tracker *t,
                                       const char *key, size_t klen, const oks_ingest_msg *m)
{
    if (!m->dead_letter) {
        rd_kafka_headers_t *h = envelope_headers(key, klen, m);
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_RKT(p->rkt), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE(m->value, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(t), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) /* librdkafka owns them only once produced */
            rd_kafka_headers_destroy(h);
        return e;
    }
    return rd_kafka_producev(
        p->rk, RD_KAFKA_V_RKT(p->rkt_dlq), RD_KAFKA_V_KEY(key, klen),
        RD_KAFKA_V_VALUE(m->value, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("reason", m->dl_reason, -1),
        RD_KAFKA_V_HEADER("error_class", oks_errcode_name(OKS_E_INVALID), -1),
        RD_KAFKA_V_HEADER("source_topic", "", 0), RD_KAFKA_V_HEADER("source_partition", "-1", -1),
        RD_KAFKA_V_HEADER("source_offset", "-1", -1),
        RD_KAFKA_V_HEADER("tenant", key, (ssize_t)klen),
        RD_KAFKA_V_HEADER("type", m->event_type, -1), RD_KAFKA_V_OPAQUE(t), RD_KAFKA_V_END);
}

void oks_ingest_producer_send(oks_ingest_producer *p, oks_ingest_tracker *t, const char *key,
                              oks_ingest_batch *b)
{
    size_t klen = strlen(key);

    if (b->n_msgs == 0)
        return;
    /* Count the whole batch before the first produce: a report may arrive at once, and the
     * tracker must not look complete until the last message is in. Dead letters are counted
     * like envelopes: a 200 means both are stored. */
    pthread_mutex_lock(&p->lock);
    t->outstanding += (int)b->n_msgs;
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < b->n_msgs; i++) {
        rd_kafka_resp_err_t e = produce_one(p, t, key, klen, &b->msgs[i]);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            continue;
        OKS_LOG_WARN("produce failed%s: %s", b->msgs[i].dead_letter ? " (dead letter)" : "",
                     rd_kafka_err2str(e));
        metric_add(oks_ingest_m.delivery_failures, 1);
        pthread_mutex_lock(&p->lock);
        t->outstanding -= (int)(b->n_msgs - i); /* this one and the ones never produced */
        settle(t, OKS_INGEST_FAILED);
        pthread_mutex_unlock(&p->lock);
        return; /* the request fails as a whole; Okta retries it */
    }
}

oks_ingest_result oks_ingest_tracker_arm(oks_ingest_producer *p, oks_ingest_tracker *t,
                                         void (*suspend)(void *), oks_ingest_settled_fn settled,
                                         void *ctx)
{
    oks_ingest_result r;

    pthread_mutex_lock(&p->lock);
    if (atomic_load_explicit(&t->result, memory_order_relaxed) == OKS_INGEST_PENDING &&
        t->outstanding == 0)
        atomic_store_explicit(&t->result, OKS_INGEST_ACKED, memory_order_relaxed); /* nothing */
    /* Deadline already gone (slow upload): answer now instead of suspending until the next
     * scan, so a drain that ends at the last deadline never meets a suspended connection. */
    if (atomic_load_explicit(&t->result, memory_order_relaxed) == OKS_INGEST_PENDING &&
        oks_now_mono_ms() >= t->deadline_ms) {
        metric_add(oks_ingest_m.ack_timeouts, 1);
        atomic_store_explicit(&t->result, OKS_INGEST_TIMEOUT, memory_order_relaxed);
    }
    r = atomic_load_explicit(&t->result, memory_order_relaxed);
    if (r == OKS_INGEST_PENDING) {
        suspend(ctx);
        t->armed = true;
        t->settled = settled;
        t->ctx = ctx;
        t->next = &p->head;
        t->prev = p->head.prev;
        p->head.prev->next = t;
        p->head.prev = t;
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

oks_ingest_result oks_ingest_tracker_result(oks_ingest_producer *p, oks_ingest_tracker *t)
{
    (void)p;
    return (oks_ingest_result)atomic_load_explicit(&t->result, memory_order_acquire);
}

void oks_ingest_tracker_release(oks_ingest_producer *p, oks_ingest_tracker *t)
{
    pthread_mutex_lock(&p->lock);
    if (t->armed) {
        t->prev->next = t->next;
        t->next->prev = t->prev;
        t->armed = false;
    }
    t->released = true;
    t->ctx = NULL;
    atomic_fetch_sub(&p->live, 1);
    maybe_free(t);
    pthread_mutex_unlock(&p->lock);
}

bool oks_ingest_producer_fatal(oks_ingest_producer *p)
{
    char ignored[8];
    return rd_kafka_fatal_error(p->rk, ignored, sizeof(ignored)) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

int oks_ingest_producer_in_flight(oks_ingest_producer *p)
{
    return atomic_load(&p->live);
}
