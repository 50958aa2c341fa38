/*
 * Reconciler threads: each has its own PostgreSQL connection and Okta clients, picks a due
 * tenant, claims it with an advisory lock on its own session (one reconciler per tenant across
 * the fleet; a crashed holder's session ends and frees it), runs one round, releases it, and
 * looks again. Idle threads sleep until oks_worker_reconciler_wake or poll-interval.
 *
 * A wake asks ONE idle thread to look (a token): the intake wakes after every batch, and when
 * every idle thread answered each one, a backlog cost four due-tenant queries per batch, most
 * of them finding nothing. A thread that finds more than one due tenant passes a token on, so
 * as many threads join as there are tenants to take. A token nobody was idle to take is taken
 * by the next thread that goes idle: marks that arrived during its round are looked at.
 */
#include "oks_worker_reconcile_int.h"

#include "oks_worker_fullsync.h"

#include "core/oks_log.h"
#include "core/oks_thread.h"
#include "core/oks_time.h"
#include "kafka/oks_kafka_close.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { DUE_CAP = 16, METRICS_EVERY_MS = 2000, BUDGET_WAIT_MS = 2000 };

/* Sleep until stopped or ms passed, or (wakeable) a wake token is there to take. */
static void idle(oks_worker_reconciler *r, int64_t ms, bool wakeable)
{
    struct timespec ts = oks_time_after_ms(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&r->mu);
    while ((!wakeable || r->wake_tokens == 0) && !atomic_load(&r->stop)) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT)
            break;
    }
    if (wakeable && r->wake_tokens > 0)
        r->wake_tokens--;
    pthread_mutex_unlock(&r->mu);
}

/* One more idle thread looks (all: every thread, e.g. to stop). */
static void wake(oks_worker_reconciler *r, bool all)
{
    pthread_mutex_lock(&r->mu);
    if (all) {
        r->wake_tokens = r->n_alloc;
        pthread_cond_broadcast(&r->cv);
    } else {
        if (r->wake_tokens < r->n_alloc)
            r->wake_tokens++;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
}

/* The tenants this thread has rounds out for: their locks are held on its session, where
 * advisory locks stack, so they are never claimed again until their round has ended. */
typedef struct outset {
    char id[OKS_WORKER_INFLIGHT_MAX][40];
    int n;
} outset;

static bool is_out(const outset *o, const char *tenant)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->id[i], tenant) == 0)
            return true;
    return false;
}

/* A round back, on its thread: apply, unlock, count. */
static void end_round(oks_worker_round *round, oks_db *db, outset *o, int *rounds, bool *internal)
{
    char tenant[40];
    snprintf(tenant, sizeof tenant, "%s", oks_worker_round_tenant(round));
    oks_worker_round_rc rc = oks_worker_round_end(round);
    oks_worker_rstate_unlock(db, tenant);
    for (int i = 0; i < o->n; i++) {
        if (strcmp(o->id[i], tenant) == 0) {
            memmove(o->id[i], o->id[o->n - 1], sizeof o->id[i]);
            o->n--;
            break;
        }
    }
    if (rc == OKS_WORKER_ROUND_INTERNAL)
        *internal = true;
    if (rc == OKS_WORKER_ROUND_DONE)
        (*rounds)++;
}

/* Due tenants into ids, -1 when the database failed. */
static int look(oks_worker_reconciler *r, oks_db *db, char (*ids)[40], bool *behind)
{
    oks_err err = {0};
    *behind = oks_now_mono_ms() < atomic_load(&r->behind_until_ms);
    int n = oks_worker_rstate_due(db, r->cfg, *behind, ids, DUE_CAP, &err);
    oks_worker_rmetrics_look();
    if (n < 0)
        OKS_LOG_WARN("reconcile: looking for due tenants: %s", err.msg);
    return n;
}

/* One pass: every due tenant this thread can claim gets a round. With reconcile-inflight > 1 a
 * round's Okta reads go to the readers and the thread claims and begins the next tenant's;
 * each round is applied when its reads come back (a slow org holds only its own round). When
 * the list is used up while rounds are out, the thread applies them as they come back and, every
 * poll-interval that some are still out, looks again, so its free places are filled while a
 * slow org's round is out; the pass ends when no round is out. Returns rounds run, -1 when the
 * database failed. */
static int pass(oks_worker_rthread *t, oks_db *db, bool *internal)
{
    oks_worker_reconciler *r = t->r;
    char ids[DUE_CAP][40];
    oks_err err = {0};
    bool behind;
    int n = look(r, db, ids, &behind);
    if (n < 0)
        return -1;
    if (n > 1) /* another thread can take one of the others */
        wake(r, false);
    int rounds = 0;
    outset out = {.n = 0};
    int64_t looked_ms = oks_now_mono_ms();
    bool failed = false;
    for (;;) {
        /* Threads start at different offsets so they spread over the due tenants. */
        for (int k = 0; k < n && !failed && !atomic_load(&r->stop); k++) {
            const char *tenant = ids[(k + t->index) % n];
            if (is_out(&out, tenant))
                continue;
            int got = oks_worker_rstate_lock(db, tenant, &err);
            if (got < 0) {
                failed = true;
                break;
            }
            if (got == 0)
                continue;
            uint64_t lock_gen = oks_db_reconnects(db); /* the session that holds the lock */
            int still = oks_worker_rstate_still_due(db, r->cfg, behind, tenant, &err);
            if (still <= 0) {
                oks_worker_rstate_unlock(db, tenant);
                failed = still < 0;
                continue;
            }
            oks_worker_round_rc rc;
            oks_worker_round *round = oks_worker_round_begin(t, db, tenant, lock_gen, &rc);
            if (!round) {
                oks_worker_rstate_unlock(db, tenant);
                *internal |= rc == OKS_WORKER_ROUND_INTERNAL;
                continue;
            }
            if (r->inflight == 1) { /* no readers: read here */
                oks_worker_round_read(round);
                end_round(round, db, &out, &rounds, internal);
                continue;
            }
            oks_worker_readers_submit(r, round);
            snprintf(out.id[out.n++], sizeof out.id[0], "%s", tenant);
            if (out.n == r->inflight)
                end_round(oks_worker_readers_done(t, -1), db, &out, &rounds, internal);
        }
        if (out.n == 0 || failed || atomic_load(&r->stop))
            break;
        /* The list is used up and rounds are out: apply them as they come back; once
         * poll-interval has passed since the last look with some still out (a slow org), look
         * again so the thread's free places are filled meanwhile. Only then: in a backlog, the
         * due-tenant query is the pass's dearest statement, and a look per round back cost
         * scenario 3 a tenth of its rate. */
        int64_t wait_ms = looked_ms + r->cfg->poll_interval_ms - oks_now_mono_ms();
        oks_worker_round *back = oks_worker_readers_done(t, wait_ms > 0 ? wait_ms : 0);
        n = 0;
        if (back) {
            end_round(back, db, &out, &rounds, internal);
            continue;
        }
        if ((n = look(r, db, ids, &behind)) < 0)
            failed = true;
        looked_ms = oks_now_mono_ms();
    }
    while (out.n > 0)
        end_round(oks_worker_readers_done(t, -1), db, &out, &rounds, internal);
    return failed ? -1 : rounds;
}

static void *thread_main(void *arg)
{
    oks_worker_rthread *t = arg;
    oks_worker_reconciler *r = t->r;
    int64_t backoff = 0;
    char name[16];
    snprintf(name, sizeof name, "reconcile-%d", t->index);
    oks_thread_name(name);
    while (!atomic_load(&r->stop)) {
        oks_err err = {0};
        oks_db *db = oks_worker_pg_get(&t->pg, &err);
        bool internal = false;
        int rounds = -1;
        if (db) {
            if (t->index == 0 && oks_now_mono_ms() - t->metrics_at_ms >= METRICS_EVERY_MS) {
                oks_worker_rmetrics_refresh(db);
                t->metrics_at_ms = oks_now_mono_ms();
            }
            rounds = pass(t, db, &internal);
            if (rounds >= 0) { /* full sync pages: one more kind of per-tenant turn */
                int turns = oks_worker_fullsync_pass(t, db, &internal);
                rounds = turns < 0 ? -1 : rounds + turns;
            }
        } else {
            OKS_LOG_WARN("reconcile: database unavailable: %s", err.msg);
        }
        if (rounds < 0 || internal) {
            /* our side is failing: back off on this thread, the marks stay */
            backoff = backoff ? backoff * 2 : r->cfg->tenant_backoff_min_ms;
            if (backoff > r->cfg->tenant_backoff_max_ms)
                backoff = r->cfg->tenant_backoff_max_ms;
            idle(r, backoff, false); /* new marks do not cut the backoff short */
            continue;
        }
        backoff = 0;
        if (rounds == 0)
            idle(r, r->cfg->poll_interval_ms, true);
    }
    return NULL;
}

static void thread_free(oks_worker_rthread *t)
{
    oks_worker_okta_cache_free(&t->okta);
    oks_worker_pg_close(&t->pg);
    pthread_mutex_destroy(&t->done_mu);
    pthread_cond_destroy(&t->done_cv);
}

oks_worker_reconciler *oks_worker_reconciler_start(const oks_worker_cfg *cfg,
                                                   const uint8_t key[OKS_CRYPTO_KEY_LEN],
                                                   oks_err *err)
{
    oks_worker_reconciler *r = calloc(1, sizeof *r);
    int n = cfg->reconcile_threads > 0 ? (int)cfg->reconcile_threads : 1;
    if (!r || !(r->threads = calloc((size_t)n, sizeof *r->threads))) {
        free(r);
        oks_err_set(err, OKS_E_NOMEM, "reconciler: out of memory");
        return NULL;
    }
    r->cfg = cfg;
    memcpy(r->key, key, OKS_CRYPTO_KEY_LEN);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    atomic_init(&r->stop, false);
    atomic_init(&r->behind_until_ms, 0);
    pthread_mutex_init(&r->slot_mu, NULL);
    pthread_cond_init(&r->slot_cv, NULL);
    r->slots_free = cfg->apply_concurrency > 0 ? (int)cfg->apply_concurrency : 1;
    if (cfg->dead_letter_topic && *cfg->dead_letter_topic) {
        r->dlq = oks_worker_rdlq_open(cfg, err);
        if (!r->dlq)
            goto fail;
    }
    for (int i = 0; i < n; i++) {
        oks_worker_rthread *t = &r->threads[i];
        t->r = r;
        t->index = i;
        pthread_mutex_init(&t->done_mu, NULL);
        pthread_cond_init(&t->done_cv, NULL);
        if (oks_worker_pg_init(&t->pg, cfg->database_url, cfg->db_statement_timeout_ms, err) != 0)
            goto fail;
        t->okta.base.connect_timeout_ms = cfg->okta_timeout_ms < 5000 ? cfg->okta_timeout_ms : 5000;
        t->okta.base.request_timeout_ms = cfg->okta_timeout_ms;
        t->okta.base.max_retries = cfg->okta_max_retries == 0 ? -1 : (int)cfg->okta_max_retries;
        t->okta.base.max_backoff_ms = cfg->retry_backoff_max_ms;
        t->okta.base.redis_url = cfg->redis_url;
        /* A tenant out of quota gives the thread back soon: what was read is applied and the
         * tenant waits on its own clock (a long budget wait would hold a thread for it). */
        t->okta.base.budget_max_wait_ms = BUDGET_WAIT_MS;
    }
    r->n_alloc = n;
    pthread_mutex_init(&r->read_mu, NULL);
    pthread_cond_init(&r->read_cv, NULL);
    int inflight = cfg->reconcile_inflight > 1 ? (int)cfg->reconcile_inflight : 1;
    if (inflight > OKS_WORKER_INFLIGHT_MAX) /* an owner's ring holds this many */
        inflight = OKS_WORKER_INFLIGHT_MAX;
    r->inflight = inflight;
    if (inflight > 1 && oks_worker_readers_start(r, n * inflight, n * inflight, err) != 0) {
        oks_worker_reconciler_stop(r, oks_now_mono_ms());
        return NULL;
    }
    oks_worker_rmetrics_reads(n * inflight, 0);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&r->threads[i].tid, NULL, thread_main, &r->threads[i]) != 0) {
            oks_err_set(err, OKS_E_NOMEM, "reconciler: cannot start thread %d", i);
            oks_worker_reconciler_stop(r, oks_now_mono_ms());
            return NULL;
        }
        r->n = i + 1;
    }
    OKS_LOG_INFO("reconciler: %d threads, %d tenants' reads in flight each, batch %lld, "
                 "coalesce window %lld ms",
                 n, inflight, (long long)cfg->reconcile_batch, (long long)cfg->coalesce_window_ms);
    return r;
fail:
    for (int i = 0; i < n; i++)
        thread_free(&r->threads[i]);
    if (r->dlq)
        rd_kafka_destroy(r->dlq);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->slot_mu);
    pthread_cond_destroy(&r->slot_cv);
    free(r->threads);
    memset(r->key, 0, sizeof r->key);
    free(r);
    return NULL;
}

void oks_worker_reconciler_wake(oks_worker_reconciler *r)
{
    if (r)
        wake(r, false);
}

void oks_worker_apply_slot_take(oks_worker_reconciler *r)
{
    pthread_mutex_lock(&r->slot_mu);
    while (r->slots_free == 0)
        pthread_cond_wait(&r->slot_cv, &r->slot_mu);
    r->slots_free--;
    pthread_mutex_unlock(&r->slot_mu);
}

void oks_worker_apply_slot_give(oks_worker_reconciler *r)
{
    pthread_mutex_lock(&r->slot_mu);
    r->slots_free++;
    pthread_cond_signal(&r->slot_cv);
    pthread_mutex_unlock(&r->slot_mu);
}

void oks_worker_reconciler_backlog(oks_worker_reconciler *r, bool behind)
{
    if (!r)
        return;
    /* lapses by itself: an intake that stopped reading (a failing database) holds no round */
    int64_t was = atomic_exchange(&r->behind_until_ms,
                                  behind ? oks_now_mono_ms() + r->cfg->backlog_linger_ms : 0);
    if (!behind && was > oks_now_mono_ms()) /* caught up: the held rounds are due now */
        wake(r, false);
}

void oks_worker_reconciler_request_stop(oks_worker_reconciler *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, true);
    wake(r, true);
}

void oks_worker_reconciler_stop(oks_worker_reconciler *r, int64_t deadline_ms)
{
    if (!r)
        return;
    oks_worker_reconciler_request_stop(r);
    for (int i = 0; i < r->n; i++)
        pthread_join(r->threads[i].tid, NULL);
    oks_worker_readers_stop(r); /* the threads brought every round they had out back */
    pthread_mutex_destroy(&r->read_mu);
    pthread_cond_destroy(&r->read_cv);
    for (int i = 0; i < r->n_alloc; i++)
        thread_free(&r->threads[i]);
    if (r->dlq) {
        int64_t left = deadline_ms - oks_now_mono_ms();
        oks_kafka_producer_stop(r->dlq, left > 0 ? left : 0, "reconciler dead-letter producer");
    }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->slot_mu);
    pthread_cond_destroy(&r->slot_cv);
    free(r->threads);
    memset(r->key, 0, sizeof r->key);
    free(r);
}
