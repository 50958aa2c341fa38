/*
 * The intake (reconcile-mode=coalesce): a batch of Kafka messages becomes durable dirty marks.
 *
 *   envelope → subscribed type? → tenant known? → Redis dedupe (one MGET) →
 *   ONE statement: processed_events + dirty_users → (caller stores offsets) → Redis SET NX
 *
 * An event's effect is durable once its mark is committed: a reconciler will re-read the user
 * from Okta, which is the truth. So the caller stores offsets only after
 * oks_worker_intake_batch returned 0 (docs/worker.md has the crash cases).
 */
#ifndef OKS_WORKER_INTAKE_H
#define OKS_WORKER_INTAKE_H

#include "oks_worker_intake_tenants.h"
#include "oks_worker_process.h"

#include <librdkafka/rdkafka.h>

typedef struct oks_worker_intake_msg {
    const rd_kafka_message_t *m; /* borrowed */
    oks_worker_verdict verdict;  /* after a successful batch: DONE or DEAD */
    oks_err why;                 /* DEAD: the reason */
} oks_worker_intake_msg;

typedef struct oks_worker_intake_stats {
    size_t recorded;  /* new events taken in (processed_events rows inserted) */
    size_t marks;     /* dirty_users rows inserted or bumped */
    size_t covered;   /* recorded, marking nothing: a stored read already covers them */
    size_t dup_redis; /* dropped by the Redis fast path */
    size_t dup_db;    /* dropped by processed_events (incl. twice in one batch) */
    size_t ignored;   /* types the worker does not act on */
    size_t dead;      /* to be dead-lettered */
} oks_worker_intake_stats;

typedef struct oks_worker_intake_ev oks_worker_intake_ev;

typedef struct oks_worker_intake {
    oks_worker_ctx *ctx;
    oks_worker_intake_tenants tenants;
    oks_worker_intake_ev *ev; /* per-batch scratch, grown to intake-batch */
    size_t ev_cap, n_taken;   /* events that reached the database in the last batch */
    bool job_failed;          /* a job of the batch could not be recorded (database down) */
    oks_err job_err;
} oks_worker_intake;

void oks_worker_intake_init(oks_worker_intake *in, oks_worker_ctx *ctx);
void oks_worker_intake_free(oks_worker_intake *in);

/*
 * Decide the fate of every message. 0: each msgs[i].verdict is DONE (recorded, duplicate or
 * ignored: its offset may be stored) or DEAD (the caller dead-letters it first); st says how
 * many of each. -1: transient failure of the batch as a whole (database or Redis down), nothing
 * was recorded that a redelivery would not find as a duplicate; err says why.
 */
int oks_worker_intake_batch(oks_worker_intake *in, oks_worker_intake_msg *msgs, size_t n,
                            oks_worker_intake_stats *st, oks_err *err);

/* After the offsets are stored: the Redis fast-path marks of the last batch's events. A
 * failure only costs a later duplicate its database check (logged). */
void oks_worker_intake_mark_seen(oks_worker_intake *in);

#endif
