/*
 * Per-tenant reconcilers: threads that take tenants with dirty users (marked by the intake),
 * re-read those users from Okta in bulk and apply them in batches (docs/worker.md). Any number
 * of replicas run them; a PostgreSQL advisory lock gives each tenant one reconciler at a time
 * across the fleet, and a tenant in trouble waits on its own clock without holding up others.
 */
#ifndef OKS_WORKER_RECONCILE_H
#define OKS_WORKER_RECONCILE_H

#include "crypto/oks_crypto.h"
#include "oks_worker_config.h"

#include <stdbool.h>

typedef struct oks_worker_reconciler oks_worker_reconciler;

/* Start cfg->reconcile_threads threads, each with its own PostgreSQL connection and Okta
 * clients (connected lazily). NULL with err on failure to start. */
oks_worker_reconciler *oks_worker_reconciler_start(const oks_worker_cfg *cfg,
                                                   const uint8_t key[OKS_CRYPTO_KEY_LEN],
                                                   oks_err *err);
/* The intake committed new dirty marks: one idle thread looks now instead of at its next poll
 * (and brings another when it finds more than one due tenant). */
void oks_worker_reconciler_wake(oks_worker_reconciler *r);
/* After each intake batch: another full batch already waits in Kafka (behind), or not. While
 * behind, a tenant's round waits for a full round's worth of due users or for backlog-linger;
 * catching up wakes a thread as a wake does (docs/worker-reconcile.md "Rounds under a backlog").
 * NULL is fine. */
void oks_worker_reconciler_backlog(oks_worker_reconciler *r, bool behind);
/* Ask the threads to stop after the round (or full-sync turn) in hand, without waiting: no
 * round starts after this, and a round's remaining dead letters are not tried (their marks
 * stay and are retried later). NULL is fine. */
void oks_worker_reconciler_request_stop(oks_worker_reconciler *r);
/* Stop (as above), join the threads, flush the dead-letter producer until deadline_ms
 * (oks_now_mono_ms clock; what is left then is purged and logged), free. NULL is fine. */
void oks_worker_reconciler_stop(oks_worker_reconciler *r, int64_t deadline_ms);

#endif
