/* Shared between the oks_worker_reconcile*.c files (private). */
#ifndef OKS_WORKER_RECONCILE_INT_H
#define OKS_WORKER_RECONCILE_INT_H

#include "oks_worker_apply_batch.h"
#include "oks_worker_fail.h"
#include "oks_worker_fetch.h"
#include "oks_worker_okta.h"
#include "oks_worker_pg.h"
#include "oks_worker_reconcile.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>

/* pg_try_advisory_lock(class, hashtext(tenant)): one reconciler per tenant across the fleet */
#define OKS_WORKER_RECONCILE_LOCK_CLASS 730901

enum { OKS_WORKER_APP_OK_SLOTS = 64, OKS_WORKER_INFLIGHT_MAX = 32 };

typedef struct oks_worker_round oks_worker_round;

typedef struct oks_worker_rthread {
    struct oks_worker_reconciler *r;
    pthread_t tid;
    int index;
    oks_worker_pg pg;
    oks_worker_okta_cache okta; /* this thread's clients: a client is single-threaded */
    struct {
        char tenant[40];
        char app_id[128];
        int64_t until_ms;
    } app_ok[OKS_WORKER_APP_OK_SLOTS]; /* app ids proven right lately (skip the check) */
    int64_t metrics_at_ms;
    /* rounds whose Okta reads a reader thread finished, for this thread to apply (a ring: at
     * most reconcile-inflight are out at once) */
    pthread_mutex_t done_mu;
    pthread_cond_t done_cv;
    oks_worker_round *done[OKS_WORKER_INFLIGHT_MAX];
    int done_head, done_n;
} oks_worker_rthread;

struct oks_worker_reconciler {
    const oks_worker_cfg *cfg;
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wake_tokens;                 /* under mu: looks owed by idle threads, <= n */
    _Atomic int64_t behind_until_ms; /* oks_worker_reconciler_backlog (oks_now_mono_ms) */
    pthread_mutex_t slot_mu;         /* apply slots: apply-concurrency transactions at once */
    pthread_cond_t slot_cv;
    int slots_free; /* under slot_mu */
    atomic_bool stop;
    rd_kafka_t *dlq; /* dead-letter producer for marks that failed user-max-attempts times */
    /* readers: threads that run rounds' Okta reads, so a reconciler thread (and its database
     * connection) keeps reconcile-inflight tenants' reads in flight at once */
    pthread_mutex_t read_mu;
    pthread_cond_t read_cv;
    oks_worker_round **read_q; /* ring of n_alloc * reconcile-inflight */
    int read_cap, read_head, read_n;
    bool readers_stop; /* under read_mu */
    pthread_t *readers;
    int n_readers;
    int inflight; /* rounds a thread keeps out (reconcile-inflight; 1: read on the thread) */
    int n;        /* threads started */
    int n_alloc;  /* threads set up (connections to close) */
    oks_worker_rthread *threads;
};

/* Apply slots: a reconciler thread holds one for each apply transaction, so at most
 * cfg->apply_concurrency of them write at once however many threads read Okta meanwhile
 * (docs/worker-reconcile.md "Apply slots"). */
void oks_worker_apply_slot_take(struct oks_worker_reconciler *r);
void oks_worker_apply_slot_give(struct oks_worker_reconciler *r);

/* ---- tenant picking and state (oks_worker_reconcile_state.c) ---- */

/* Up to cap due tenants, oldest change first, into ids[i] (37 bytes each). -1 on DB error.
 * behind: the intake is behind Kafka (oks_worker_reconciler_backlog): a tenant waits for a
 * full round or the backlog linger. */
int oks_worker_rstate_due(oks_db *db, const oks_worker_cfg *cfg, bool behind, char (*ids)[40],
                          int cap, oks_err *err);
/* Under the tenant's lock: is it still due? (The list may be stale: another thread may have
 * just finished its round or recorded a fault.) 1 / 0 / -1 on error. */
int oks_worker_rstate_still_due(oks_db *db, const oks_worker_cfg *cfg, bool behind,
                                const char *tenant, oks_err *err);
/* 1 = locked, 0 = another reconciler holds it, -1 = error. */
int oks_worker_rstate_lock(oks_db *db, const char *tenant, oks_err *err);
void oks_worker_rstate_unlock(oks_db *db, const char *tenant);
/* Record a tenant fault with its backoff (parked: parked-recheck). */
int oks_worker_rstate_fault(oks_db *db, const oks_worker_cfg *cfg, const char *tenant,
                            oks_worker_fail f, const char *reason, oks_err *err);
/* In the round's transaction: a successful round clears the tenant's fault. */
int oks_worker_rstate_clear(oks_db *db, const char *tenant, oks_err *err);
/* Marks of the round (≤ limit), with the users row's facts. *out malloc'd. */
int oks_worker_rstate_marks(oks_db *db, const oks_worker_cfg *cfg, const char *tenant, long limit,
                            oks_worker_mark **out, size_t *n, oks_err *err);
/* Stored users that are (or may be) assigned, counted up to cap + 1 (the cost model needs no
 * more; a whole-tenant count costs a scan of a large tenant every round). */
int64_t oks_worker_rstate_assigned_estimate(oks_db *db, const char *tenant, int64_t cap,
                                            oks_err *err);

/* Per-user failures, in the round's transaction: attempts+1, last_error, next_attempt_at
 * (backoff) WHERE seq = the seq read; dead[i] marks are deleted instead (dead-lettered). */
typedef struct oks_worker_ufail {
    const oks_worker_mark *mark;
    char why[OKS_ERR_MSG_MAX];
    bool dead;
} oks_worker_ufail;
int oks_worker_rstate_user_failures(oks_db *db, const oks_worker_cfg *cfg, const char *tenant,
                                    const oks_worker_ufail *f, size_t n, oks_err *err);

/* ---- one round (oks_worker_reconcile_round.c) ---- */

typedef enum oks_worker_round_rc {
    OKS_WORKER_ROUND_IDLE,     /* nothing due after all */
    OKS_WORKER_ROUND_DONE,     /* applied */
    OKS_WORKER_ROUND_FAULT,    /* tenant fault recorded */
    OKS_WORKER_ROUND_INTERNAL, /* our side failed: retried later */
} oks_worker_round_rc;

/* A round in three phases, so its Okta reads need neither the database connection nor the
 * thread that holds the tenant's lock (docs/worker-reconcile.md "Reads in flight"):
 *   begin: on the thread's connection, under the tenant's lock (lock_gen: the connection's
 *          oks_db_reconnects when the lock was taken; a round whose connection was re-made
 *          since writes nothing): the tenant, its due marks and what to ask. NULL when the
 *          round ended there (*rc says how).
 *   read:  Okta only; any one thread at a time (the round owns its tenant's client meanwhile);
 *          counted in oktasync_worker_reconcile_reads_in_flight while it runs.
 *   end:   on the thread that began it: decide, apply, record faults; frees the round. */
oks_worker_round *oks_worker_round_begin(oks_worker_rthread *t, oks_db *db, const char *tenant,
                                         uint64_t lock_gen, oks_worker_round_rc *rc);
void oks_worker_round_read(oks_worker_round *r);
oks_worker_round_rc oks_worker_round_end(oks_worker_round *r);
const char *oks_worker_round_tenant(const oks_worker_round *r);
/* The round's owner thread (the one that began it). */
oks_worker_rthread *oks_worker_round_owner(const oks_worker_round *r);

/* ---- readers (oks_worker_reconcile_readers.c) ---- */

/* Start n reader threads with a queue for cap rounds. -1 (err) when they cannot start. */
int oks_worker_readers_start(struct oks_worker_reconciler *r, int n, int cap, oks_err *err);
/* Queue a begun round's reads; its owner gets it back from oks_worker_readers_done. */
void oks_worker_readers_submit(struct oks_worker_reconciler *r, oks_worker_round *round);
/* The owner thread: the next round whose reads are finished, waiting up to wait_ms for one
 * (< 0: as long as it takes); NULL when none came back in time. */
oks_worker_round *oks_worker_readers_done(oks_worker_rthread *t, int64_t wait_ms);
/* After every reconciler thread has been joined (none has a round out): stop and join them. */
void oks_worker_readers_stop(struct oks_worker_reconciler *r);

/* ---- dead-letter of marks (oks_worker_reconcile_dlq.c) ---- */

rd_kafka_t *oks_worker_rdlq_open(const oks_worker_cfg *cfg, oks_err *err);
/* {"v":1,"kind":"dirty_user","tenant","okta_id","reason","events","attempts","failed_at"} */
char *oks_worker_rdlq_value(const char *tenant, const oks_worker_mark *m, const char *reason,
                            int64_t now_ms);
/* Produce and wait for the acknowledgement (dead-letter-timeout). */
int oks_worker_rdlq_send(rd_kafka_t *rk, const oks_worker_cfg *cfg, const char *tenant,
                         const oks_worker_mark *m, const char *reason, oks_err *err);

/* ---- per-tenant metrics (oks_worker_reconcile_metrics.c) ---- */

void oks_worker_rmetrics_okta(const char *tenant, const oks_okta_stats *before,
                              const oks_okta_stats *after);
void oks_worker_rmetrics_round(const char *tenant, long events, long users_read);
/* capacity > 0: the rounds that can be out at once; delta: rounds sent out (+) or back (-). */
void oks_worker_rmetrics_reads(int capacity, int delta);
/* One due-tenant query made (oktasync_worker_reconcile_looks_total). */
void oks_worker_rmetrics_look(void);
/* Refresh the gauges that come from the database (dirty users, oldest change, faults). */
void oks_worker_rmetrics_refresh(oks_db *db);

#endif
