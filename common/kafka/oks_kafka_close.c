#include "kafka/oks_kafka_close.h"

#include "core/oks_log.h"
#include "core/oks_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest single wait on a queue, so the deadline is checked often. */
enum { POLL_SLICE_MS = 100 };

static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - oks_now_mono_ms();
    if (left <= 0)
        return 0;
    return left > POLL_SLICE_MS ? POLL_SLICE_MS : (int)left;
}

/* Step 1: the result of the final commit arrives on q as an OFFSET_COMMIT event. Anything else
 * served there (an error event) is dropped. */
static bool final_commit(rd_kafka_t *rk, rd_kafka_queue_t *q, int64_t deadline,
                         rd_kafka_resp_err_t *err)
{
    rd_kafka_resp_err_t e = rd_kafka_commit_queue(rk, NULL, q, NULL, NULL);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *err = e; /* refused at once (not a group consumer): an answer, nothing to wait for */
        return true;
    }
    while (oks_now_mono_ms() < deadline) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, remaining_ms(deadline));
        if (!ev)
            continue;
        bool done = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT;
        if (done)
            *err = rd_kafka_event_error(ev);
        rd_kafka_event_destroy(ev);
        if (done)
            return true;
    }
    return false;
}

/* Step 2: leave the group. The group's queue is forwarded to q: what arrives there (messages
 * fetched but not handed out, errors) is dropped; our consumers let librdkafka run their
 * rebalances itself (no rebalance callback, no rebalance events enabled). */
static bool leave_group(rd_kafka_t *rk, rd_kafka_queue_t *q, int64_t deadline)
{
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(rk, q);
    if (error) {
        OKS_LOG_WARN("kafka consumer close: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return rd_kafka_consumer_closed(rk) != 0;
    }
    while (!rd_kafka_consumer_closed(rk) && oks_now_mono_ms() < deadline) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, remaining_ms(deadline));
        if (ev)
            rd_kafka_event_destroy(ev);
    }
    return rd_kafka_consumer_closed(rk) != 0;
}

/* Step 3 for a consumer that did not close: the destroy runs on a helper thread so the caller
 * can give up on it. The job is freed by whichever side lets go last. */
typedef struct destroy_job {
    rd_kafka_t *rk;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int refs;
} destroy_job;

static void job_release(destroy_job *j)
{
    pthread_mutex_lock(&j->mu);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (last) {
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cv);
        free(j);
    }
}

static void *destroy_main(void *arg)
{
    destroy_job *j = arg;
    rd_kafka_destroy_flags(j->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    job_release(j);
    return NULL;
}

/* true when the handle was destroyed within wait_ms. */
static bool destroy_bounded(rd_kafka_t *rk, int64_t wait_ms)
{
    destroy_job *j = calloc(1, sizeof *j);
    pthread_condattr_t ca;
    if (!j || pthread_condattr_init(&ca) != 0) {
        free(j);
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        return true;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->rk = rk;
    j->refs = 2;
    pthread_t tid;
    if (pthread_create(&tid, NULL, destroy_main, j) != 0) {
        j->refs = 1;
        job_release(j);
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        return true;
    }
    struct timespec until = oks_time_after_ms(CLOCK_MONOTONIC, wait_ms);
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    while (!j->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&j->cv, &j->mu, &until);
    bool done = j->done;
    pthread_mutex_unlock(&j->mu);
    if (done)
        pthread_join(tid, NULL);
    else
        pthread_detach(tid);
    job_release(j);
    return done;
}

void oks_kafka_consumer_stop(rd_kafka_t *rk, int64_t timeout_ms, int64_t destroy_grace_ms,
                             oks_kafka_stop_result *out)
{
    oks_kafka_stop_result r = {.commit_err = RD_KAFKA_RESP_ERR_NO_ERROR};
    int64_t start = oks_now_mono_ms();
    int64_t deadline = start + (timeout_ms > 0 ? timeout_ms : 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    r.commit_answered = final_commit(rk, q, deadline, &r.commit_err);
    if (r.commit_answered && r.commit_err != RD_KAFKA_RESP_ERR_NO_ERROR &&
        r.commit_err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        OKS_LOG_WARN("final commit: %s", rd_kafka_err2str(r.commit_err));
    r.closed = leave_group(rk, q, deadline);
    /* before the handle: a queue must not outlive it; ops still addressed to it are dropped */
    rd_kafka_queue_destroy(q);
    if (r.closed) {
        rd_kafka_destroy(rk);
    } else {
        int64_t left = deadline - oks_now_mono_ms();
        r.abandoned = !destroy_bounded(rk, (left > 0 ? left : 0) + destroy_grace_ms);
    }
    r.elapsed_ms = oks_now_mono_ms() - start;
    if (!r.commit_answered || !r.closed) {
        char skipped[256];
        snprintf(skipped, sizeof skipped, "%s%s%s",
                 r.commit_answered ? ""
                                   : "final commit skipped (the stored offsets are redelivered "
                                     "and deduplicated)",
                 !r.commit_answered && !r.closed ? "; " : "",
                 r.closed ? "" : "group not left (the group waits session.timeout.ms for it)");
        OKS_LOG_WARN("kafka consumer stop cut short: %s: no answer from Kafka within %lld ms; %s "
                     "(%lld ms in all)",
                     skipped, (long long)timeout_ms,
                     r.abandoned ? "handle abandoned (its teardown still waited for the group)"
                                 : "handle destroyed without leaving the group",
                     (long long)r.elapsed_ms);
    }
    if (out)
        *out = r;
}

int oks_kafka_producer_drain(rd_kafka_t *rk, int64_t timeout_ms, const char *what)
{
    rd_kafka_flush(rk, timeout_ms > 0 ? (int)timeout_ms : 0);
    int left = rd_kafka_outq_len(rk);
    if (left > 0) {
        OKS_LOG_WARN("%s: %d messages or requests not done within %lld ms; purged", what, left,
                     (long long)timeout_ms);
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(rk, 500); /* serves the purge reports (the callbacks free their state) */
    }
    return left;
}

int oks_kafka_producer_stop(rd_kafka_t *rk, int64_t timeout_ms, const char *what)
{
    if (!rk)
        return 0;
    int left = oks_kafka_producer_drain(rk, timeout_ms, what);
    rd_kafka_destroy(rk);
    return left;
}
