/*
 * Readers: threads that run reconcile rounds' Okta reads. A reconciler thread begins a round
 * (database, under the tenant's lock), hands it here, begins the next tenant's, and applies
 * each round as its reads come back, so one thread and one database connection keep
 * reconcile-inflight tenants' reads in flight at once. A reader touches only the round it
 * holds (its marks, reads and its tenant's Okta client), never a database connection.
 *
 * The queue is a ring with room for every round that can be out (threads × inflight), so a
 * submit never waits; each owner has a ring of its own for the rounds that came back.
 */
#include "oks_worker_reconcile_int.h"

#include "core/oks_thread.h"
#include "core/oks_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *reader_main(void *arg)
{
    oks_worker_reconciler *r = arg;
    oks_thread_name("okta-reader");
    for (;;) {
        pthread_mutex_lock(&r->read_mu);
        while (r->read_n == 0 && !r->readers_stop)
            pthread_cond_wait(&r->read_cv, &r->read_mu);
        if (r->read_n == 0) { /* stopping, and nothing is left to read */
            pthread_mutex_unlock(&r->read_mu);
            return NULL;
        }
        oks_worker_round *round = r->read_q[r->read_head];
        r->read_head = (r->read_head + 1) % r->read_cap;
        r->read_n--;
        pthread_mutex_unlock(&r->read_mu);

        oks_worker_round_read(round);

        oks_worker_rthread *t = oks_worker_round_owner(round);
        pthread_mutex_lock(&t->done_mu);
        t->done[(t->done_head + t->done_n) % OKS_WORKER_INFLIGHT_MAX] = round;
        t->done_n++;
        pthread_cond_signal(&t->done_cv);
        pthread_mutex_unlock(&t->done_mu);
    }
}

int oks_worker_readers_start(oks_worker_reconciler *r, int n, int cap, oks_err *err)
{
    r->read_q = calloc((size_t)cap, sizeof *r->read_q);
    r->readers = calloc((size_t)n, sizeof *r->readers);
    if (!r->read_q || !r->readers) {
        oks_err_set(err, OKS_E_NOMEM, "reconciler: out of memory");
        return -1;
    }
    r->read_cap = cap;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&r->readers[i], NULL, reader_main, r) != 0) {
            oks_err_set(err, OKS_E_NOMEM, "reconciler: cannot start Okta reader %d", i);
            return -1;
        }
        r->n_readers = i + 1;
    }
    return 0;
}

void oks_worker_readers_submit(oks_worker_reconciler *r, oks_worker_round *round)
{
    pthread_mutex_lock(&r->read_mu);
    r->read_q[(r->read_head + r->read_n) % r->read_cap] = round;
    r->read_n++;
    pthread_cond_signal(&r->read_cv);
    pthread_mutex_unlock(&r->read_mu);
}

oks_worker_round *oks_worker_readers_done(oks_worker_rthread *t, int64_t wait_ms)
{
    struct timespec until = oks_time_after_ms(CLOCK_REALTIME, wait_ms > 0 ? wait_ms : 0);
    pthread_mutex_lock(&t->done_mu);
    while (t->done_n == 0) {
        if (wait_ms < 0)
            pthread_cond_wait(&t->done_cv, &t->done_mu);
        else if (pthread_cond_timedwait(&t->done_cv, &t->done_mu, &until) == ETIMEDOUT)
            break;
    }
    oks_worker_round *round = NULL;
    if (t->done_n > 0) {
        round = t->done[t->done_head];
        t->done_head = (t->done_head + 1) % OKS_WORKER_INFLIGHT_MAX;
        t->done_n--;
    }
    pthread_mutex_unlock(&t->done_mu);
    return round;
}

void oks_worker_readers_stop(oks_worker_reconciler *r)
{
    pthread_mutex_lock(&r->read_mu);
    r->readers_stop = true;
    pthread_cond_broadcast(&r->read_cv);
    pthread_mutex_unlock(&r->read_mu);
    for (int i = 0; i < r->n_readers; i++)
        pthread_join(r->readers[i], NULL);
    r->n_readers = 0;
    free(r->readers);
    free(r->read_q);
    r->readers = NULL;
    r->read_q = NULL;
}
