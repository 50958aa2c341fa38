/*
 * The intake (reconcile-mode=coalesce): a batch of Kafka messages becomes durable dirty marks.
 *
 *   envelope → subscribed type? → Redis dedupe (one MGET) → tenant known? →
 *   ONE statement: processed_events + dirty_users → (caller stores offsets) → Redis SET NX
 *
 * An event's effect is durable once its mark is committed: a reconciler will re-read the user
 * from Okta, which is the truth. So the caller stores offsets only after oks_worker_intake_end
 * returned 0 (docs/worker.md has the crash cases).
 *
 * The statement runs while the caller prepares the next batch: oks_worker_intake_begin sends it,
 * oks_worker_intake_ahead classifies the next batch and checks it in Redis meanwhile (no
 * database), oks_worker_intake_end takes the result.
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
    size_t events;    /* messages of the events topic (not jobs) */
} oks_worker_intake_stats;

typedef struct oks_worker_intake_ev oks_worker_intake_ev;

/* One batch on its way through the intake. Two are alive at once: one whose statement runs and
 * the next one, read meanwhile. */
typedef struct oks_worker_intake_batch {
    oks_worker_intake_msg *msgs; /* the caller's: msgs[i].m set for i < n */
    size_t n;
    oks_worker_intake_stats st; /* after oks_worker_intake_end */
    /* private */
    oks_worker_intake_ev *ev; /* the events to record, grown to n */
    size_t ev_cap, k, taken;  /* taken: events that reached the database (for the SET NX) */
    bool classified, checked; /* envelope and type done; Redis asked */
    bool tenants_known;       /* events of unknown tenants taken out */
    char *json;               /* the statement's parameter, when built ahead */
    bool sent;                /* its statement runs */
    int64_t sent_ms;
} oks_worker_intake_batch;

typedef struct oks_worker_intake {
    oks_worker_ctx *ctx;
    oks_worker_intake_tenants tenants;
} oks_worker_intake;

void oks_worker_intake_init(oks_worker_intake *in, oks_worker_ctx *ctx);
void oks_worker_intake_free(oks_worker_intake *in);
void oks_worker_intake_batch_free(oks_worker_intake_batch *b);
/* Forget what was learned of b's messages (after the caller changed them). */
void oks_worker_intake_batch_reset(oks_worker_intake_batch *b);

/* While another batch's statement runs: classify b and ask Redis which events it has seen. Uses no
 * database, so it does nothing for a batch with a full-sync job; a Redis failure is left for
 * oks_worker_intake_begin to meet again. */
void oks_worker_intake_ahead(oks_worker_intake *in, oks_worker_intake_batch *b);

/* Everything before the statement (what oks_worker_intake_ahead did not do), then send it and
 * return without waiting. 0, or -1: transient failure of the batch as a whole (database or Redis
 * down), nothing recorded; err says why. After 0, oks_worker_intake_end must follow before the
 * database connection is used again. */
int oks_worker_intake_begin(oks_worker_intake *in, oks_worker_intake_batch *b, oks_err *err);

/*
 * Wait for the statement. 0: each msgs[i].verdict is DONE (recorded, duplicate or ignored: its
 * offset may be stored) or DEAD (the caller dead-letters it first); st says how many of each.
 * -1: transient failure of the batch as a whole, nothing was recorded that a redelivery would not
 * find as a duplicate; err says why.
 */
int oks_worker_intake_end(oks_worker_intake *in, oks_worker_intake_batch *b, oks_err *err);

/* After the offsets are stored: the Redis fast-path marks of b's events (sent, not waited for).
 * A failure only costs a later duplicate its database check (logged). */
void oks_worker_intake_mark_seen(oks_worker_intake *in, oks_worker_intake_batch *b);

#endif
