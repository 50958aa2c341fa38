/*
 * The consumer loop. coalesce mode: poll a batch (intake-batch messages or intake-linger),
 * take it in (oks_worker_intake: one transaction, during which the next batch is read and
 * prepared), dead-letter what can never succeed, and only then store offsets. naive mode: one
 * message at a time through oks_worker_process (fetch + transaction per event), the benchmark
 * baseline.
 *
 * Failures are per partition: a transient failure pauses the partitions it concerns, seeks each
 * back to its first unstored message (a failed seek is retried before the partition resumes:
 * it never resumes past a message it did not finish) and resumes after a doubling backoff;
 * other partitions keep flowing. /readyz is 503 while any partition is in that state.
 *
 * A fatal dead-letter producer error stops the loop with exit_code 1 (offsets of messages not
 * dead-lettered are not stored) so the orchestrator restarts the process.
 */
#ifndef OKS_WORKER_CONSUMER_H
#define OKS_WORKER_CONSUMER_H

#include "oks_worker_dlq.h"
#include "oks_worker_intake.h"
#include "oks_worker_process.h"
#include "oks_worker_prune.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>

enum { OKS_WORKER_PARTS_MAX = 1024, OKS_WORKER_TOPIC_MAX = 250 };

typedef struct oks_worker_part {
    bool used;
    char topic[OKS_WORKER_TOPIC_MAX];
    int32_t partition;
    /* transient failure: paused until resume_at_ms, then seek to seek_to (-1 = none) */
    bool paused;
    int64_t resume_at_ms, backoff_ms, seek_to;
    char error[sizeof(((oks_err *)0)->msg)]; /* "" = healthy */
    /* naive mode: the message that keeps failing because of Okta, for the retry bounds */
    int64_t fail_offset, fail_attempts, fail_since_ms;
    /* lag: committed offset (used while the position is unknown) and when it was read */
    int64_t committed, committed_at_ms;
} oks_worker_part;

typedef struct oks_worker_loop {
    oks_worker_ctx *ctx;
    rd_kafka_t *consumer;
    oks_worker_dlq *dlq;
    void (*wake)(void *arg); /* new dirty marks committed (may be NULL) */
    /* after each intake batch (or idle poll): behind = another full batch already waits in
     * Kafka (may be NULL) */
    void (*backlog)(void *arg, bool behind);
    void *wake_arg; /* for both */
    int exit_code;  /* 1 after a fatal error */
    /* private */
    oks_worker_intake intake;
    oks_worker_prune prune;
    int64_t next_lag_ms;
    oks_worker_part parts[OKS_WORKER_PARTS_MAX]; /* consumer thread only */
    pthread_mutex_t mu;                          /* guards the /readyz snapshot below */
    int ready_failing;
    char ready_why[512];
} oks_worker_loop;

/* Set ctx, consumer, dlq (and wake) first. */
void oks_worker_loop_init(oks_worker_loop *l);
void oks_worker_loop_free(oks_worker_loop *l);

/* Run until oks_shutdown_requested() (or a fatal error: exit_code 1). */
void oks_worker_loop_run(oks_worker_loop *l);

/* /readyz: false with the failing partitions in why. Thread-safe. */
bool oks_worker_loop_ready(oks_worker_loop *l, char *why, size_t cap);

/* Next backoff: min on the first failure, doubled after, capped at max. Pure; unit-tested. */
int64_t oks_worker_next_backoff(int64_t current, int64_t min_ms, int64_t max_ms);

/* The offset a lag is measured from: the position when known, else the committed offset
 * when known, else the low watermark. Pure; unit-tested. */
int64_t oks_worker_lag_base(int64_t position, int64_t committed, int64_t low);

#endif
