/*
 * Fast-path duplicate detection in Redis: key oks:dedupe:<tenant>:<event_uuid>, checked before
 * any work and set (SET NX EX ttl) only after the database commit. The processed_events table is
 * the durable truth; Redis only saves the Okta call and the transaction for the common case.
 * Uses common/redis (lazy connect, reconnect after a failure, per-command timeout).
 */
#ifndef OKS_WORKER_DEDUPE_H
#define OKS_WORKER_DEDUPE_H

#include "redis/oks_redis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oks_worker_dedupe {
    oks_redis *r;
    int64_t ttl_s;
} oks_worker_dedupe;

/* Keep the settings; no I/O. OKS_E_INVALID on a bad URL. */
int oks_worker_dedupe_init(oks_worker_dedupe *d, const char *url, int64_t timeout_ms, int64_t ttl_s,
                           oks_err *err);
void oks_worker_dedupe_close(oks_worker_dedupe *d);

/* Key for one event into buf. */
void oks_worker_dedupe_key(const char *tenant, const char *event_uuid, char *buf, size_t cap);

/* *seen = key exists. Redis unreachable → retriable err. */
int oks_worker_dedupe_seen(oks_worker_dedupe *d, const char *tenant, const char *event_uuid,
                           bool *seen, oks_err *err);
/* Mark processed (SET NX EX ttl). */
int oks_worker_dedupe_mark(oks_worker_dedupe *d, const char *tenant, const char *event_uuid,
                           oks_err *err);

/* Batch forms for the intake (one round trip each). seen[i] = key i exists (MGET). */
int oks_worker_dedupe_seen_many(oks_worker_dedupe *d, size_t n, const char *const *tenants,
                                const char *const *event_uuids, bool *seen, oks_err *err);
/* SET NX EX ttl for every key (one EVAL), sent without waiting for its reply: the next command
 * reads it (the next batch's MGET: one round trip for both). -1 with err when it could not be
 * sent. */
int oks_worker_dedupe_mark_many(oks_worker_dedupe *d, size_t n, const char *const *tenants,
                                const char *const *event_uuids, oks_err *err);
/* Marks sent by oks_worker_dedupe_mark_many that failed since the last call (error reply, or the
 * connection lost before the reply); *last says why. */
unsigned oks_worker_dedupe_failed_marks(oks_worker_dedupe *d, oks_err *last);

#endif
