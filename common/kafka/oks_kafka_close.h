/*
 * Bounded shutdown of a group consumer: commit the stored offsets, leave the group, destroy the
 * handle, all within one deadline even when Kafka is gone.
 *
 * librdkafka's blocking calls have no time limit of their own here (librdkafka 2.0.2):
 * rd_kafka_commit(rk, NULL, 0) pops its reply with RD_POLL_INFINITE and waits as long as the
 * group handler keeps the commit waiting for a coordinator (90 s in worker_shutdown_it_test
 * with a 45 s session; more than 10 minutes in the benchmark), and rd_kafka_consumer_close /
 * rd_kafka_destroy wait until the group handler terminates, which with no coordinator takes
 * session.timeout.ms (measured: 45 s with the default). So:
 *
 *   1. the final commit is rd_kafka_commit_queue on a temporary queue, polled until its
 *      RD_KAFKA_EVENT_OFFSET_COMMIT or the deadline;
 *   2. the group is left with rd_kafka_consumer_close_queue, polled until
 *      rd_kafka_consumer_closed() or the deadline;
 *   3. a closed consumer is destroyed with rd_kafka_destroy; one that is not (deadline passed)
 *      with rd_kafka_destroy_flags(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE), and even that waits
 *      for the group handler, so it runs on a helper thread that gets what is left of the
 *      deadline plus destroy_grace_ms; after that the handle is abandoned (its threads die
 *      with the process, which is about to exit) and the result says so.
 *
 * One line is logged (warn) when a step was skipped, naming it and why; nothing when all went
 * through. Skipping is safe for the worker: offsets are stored only after the effect is durable
 * in PostgreSQL, so an uncommitted offset means redelivery, which is deduplicated.
 *
 *     oks_kafka_stop_result r;
 *     oks_kafka_consumer_stop(rk, 10000, 2000, &r);
 *     if (r.abandoned) ... exit without tearing down more (see oks_kafka_stop_result)
 */
#ifndef OKS_KAFKA_CLOSE_H
#define OKS_KAFKA_CLOSE_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct oks_kafka_stop_result {
    /* the final commit answered in time (commit_err: NO_ERROR, _NO_OFFSET, or Kafka's error) */
    bool commit_answered;
    rd_kafka_resp_err_t commit_err;
    bool closed; /* the consumer left its group in time */
    /* the destroy did not finish in time: librdkafka threads still run, so the process should
     * leave with _exit (exit handlers could clean up libraries under them) */
    bool abandoned;
    int64_t elapsed_ms;
} oks_kafka_stop_result;

/* Commit, close and destroy rk (a subscribed group consumer) within timeout_ms (plus
 * destroy_grace_ms for a forced destroy); rk must not be used afterwards, whatever the result.
 * out may be NULL. Not for a consumer whose rebalances are served by the application (a
 * rebalance callback or rebalance events): none of ours. */
void oks_kafka_consumer_stop(rd_kafka_t *rk, int64_t timeout_ms, int64_t destroy_grace_ms,
                             oks_kafka_stop_result *out);

/* Flush a producer for at most timeout_ms, then purge what is left (one warn line naming what)
 * and serve the purge's delivery reports (at most 500 ms more). Returns how many messages (or
 * requests) were left; the purged ones got RD_KAFKA_RESP_ERR__PURGE_* reports. A producer
 * destroyed after this does not wait for Kafka (measured: milliseconds with the broker gone). */
int oks_kafka_producer_drain(rd_kafka_t *rk, int64_t timeout_ms, const char *what);

/* oks_kafka_producer_drain, then rd_kafka_destroy. NULL is fine (returns 0). */
int oks_kafka_producer_stop(rd_kafka_t *rk, int64_t timeout_ms, const char *what);

#endif
