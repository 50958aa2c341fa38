/*
 * Kafka producer with per-request acknowledgement tracking. Each request gets a tracker that
 * counts its outstanding messages; the delivery-report callback (on the producer's poll
 * thread) decrements it and, when every message is acknowledged, any failed, or the deadline
 * passed, settles the tracker and calls its `settled` callback once (which resumes the
 * suspended HTTP connection). No thread per request.
 *
 * Lifetime: a tracker is referenced by the request and by each message still in librdkafka;
 * it is freed when the request released it and the last message report arrived.
 */
#ifndef OKS_INGEST_PRODUCER_H
#define OKS_INGEST_PRODUCER_H

#include "core/oks_err.h"
#include "oks_ingest_request.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct oks_ingest_producer oks_ingest_producer;
typedef struct oks_ingest_tracker oks_ingest_tracker;

typedef enum oks_ingest_result {
    OKS_INGEST_PENDING = 0,
    OKS_INGEST_ACKED,   /* every message acknowledged (acks=all) */
    OKS_INGEST_FAILED,  /* a message failed (produce or delivery error) */
    OKS_INGEST_TIMEOUT, /* the deadline passed first */
} oks_ingest_result;

/* Called once, with the producer lock held: keep it short (MHD_resume_connection). */
typedef void (*oks_ingest_settled_fn)(void *ctx);

/* brokers: bootstrap list; topic: events; dlq_topic: dead letters; extra_conf: "k=v;k=v"
 * passed to rd_kafka_conf_set (may be NULL). */
oks_ingest_producer *oks_ingest_producer_new(const char *brokers, const char *topic,
                                             const char *dlq_topic, const char *extra_conf,
                                             oks_err *err);
/* Flush up to flush_ms, then destroy. Returns the number of messages left unflushed. */
int oks_ingest_producer_destroy(oks_ingest_producer *p, int flush_ms);

/* Is at least one broker reachable (metadata answered within timeout_ms)? */
bool oks_ingest_producer_reachable(oks_ingest_producer *p, int timeout_ms, char *why,
                                   size_t why_cap);

oks_ingest_tracker *oks_ingest_tracker_new(oks_ingest_producer *p, int64_t deadline_mono_ms);

/* Produce every message of b (envelopes to the events topic, dead letters to the dead-letter
 * topic; the tracker waits for all of them). librdkafka copies each value (the value may live in
 * the request's arena, which is gone once the request has been produced); b stays the caller's. */
void oks_ingest_producer_send(oks_ingest_producer *p, oks_ingest_tracker *t, const char *key,
                              oks_ingest_batch *b);

/*
 * After send: if the tracker is already settled return its result; otherwise call
 * suspend(ctx) under the lock (so `settled` cannot run before the suspension) and arrange for
 * settled(ctx) to be called later; returns OKS_INGEST_PENDING.
 */
oks_ingest_result oks_ingest_tracker_arm(oks_ingest_producer *p, oks_ingest_tracker *t,
                                         void (*suspend)(void *), oks_ingest_settled_fn settled,
                                         void *ctx);

oks_ingest_result oks_ingest_tracker_result(oks_ingest_producer *p, oks_ingest_tracker *t);

/* The request is done with the tracker (never touches ctx again). */
void oks_ingest_tracker_release(oks_ingest_producer *p, oks_ingest_tracker *t);

/* Has librdkafka raised a fatal error (the idempotent producer cannot go on)? When it does,
 * the error callback also asks the process to shut down, and main exits non-zero. */
bool oks_ingest_producer_fatal(oks_ingest_producer *p);

/* Number of trackers not yet released. */
int oks_ingest_producer_in_flight(oks_ingest_producer *p);

#endif
