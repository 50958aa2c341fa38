/*
 * Per-tenant reconciler series (docs/worker-reconcile.md). Counters are this replica's;
 * gauges read from the database (dirty users, oldest change, faults) are fleet-wide: every
 * replica reports the same value, so aggregate them with max(), not sum().
 * The table is bounded (TENANT_SLOTS); tenants past it are not labelled.
 */
#include "oks_worker_reconcile_int.h"

#include "core/oks_metrics.h"
#include "okta/oks_okta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TENANT_SLOTS = 4096, N_FAULTS = 5 };

static const char *const faults[N_FAULTS] = {"credentials_invalid", "not_connected",
                                             "okta_unreachable", "okta_misconfigured",
                                             "okta_unavailable"};

typedef struct tslot {
    char tenant[40];
    oks_counter *requests[OKS_OKTA_BUCKETS];
    oks_counter *events, *users_read;
    oks_gauge *dirty, *oldest;
    oks_gauge *fault[N_FAULTS];
} tslot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static tslot *slots;
static int used;

static pthread_once_t looks_once = PTHREAD_ONCE_INIT;
static oks_counter *looks;

static void looks_register(void)
{
    looks = oks_metrics_counter("oktasync_worker_reconcile_looks_total",
                                "Due-tenant queries of this replica's reconcilers (one per wake "
                                "taken or poll-interval passed)",
                                NULL);
}

void oks_worker_rmetrics_look(void)
{
    pthread_once(&looks_once, looks_register); /* registered once; counting takes no lock */
    oks_counter_add(looks, 1);
}

static pthread_once_t reads_once = PTHREAD_ONCE_INIT;
static oks_gauge *reads_out, *reads_cap;

static void reads_register(void)
{
    reads_out =
        oks_metrics_gauge("oktasync_worker_reconcile_reads_in_flight",
                          "Reconcile rounds of this replica whose Okta reads are out now", NULL);
    reads_cap = oks_metrics_gauge("oktasync_worker_reconcile_reads_capacity",
                                  "Rounds this replica can have out at once (reconcile-threads x "
                                  "reconcile-inflight)",
                                  NULL);
}

void oks_worker_rmetrics_reads(int capacity, int delta)
{
    pthread_once(&reads_once, reads_register);
    if (capacity > 0)
        oks_gauge_set(reads_cap, capacity);
    if (delta)
        oks_gauge_add(reads_out, delta);
}

/* Under mu. */
static tslot *slot_for(const char *tenant)
{
    for (int i = 0; i < used; i++)
        if (strcmp(slots[i].tenant, tenant) == 0)
            return &slots[i];
    if (!slots && !(slots = calloc(TENANT_SLOTS, sizeof *slots)))
        return NULL;
    if (used == TENANT_SLOTS || strlen(tenant) >= sizeof slots[0].tenant)
        return NULL;
    tslot *s = &slots[used++];
    snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
    char l[160];
    snprintf(l, sizeof l, "tenant=\"%s\"", tenant);
    s->events = oks_metrics_counter("oktasync_worker_events_coalesced_total",
                                    "Events whose dirty marks a reconcile round resolved", l);
    s->users_read = oks_metrics_counter("oktasync_worker_users_read_total",
                                        "Dirty users read from Okta by reconcile rounds", l);
    s->dirty = oks_metrics_gauge("oktasync_worker_dirty_users",
                                 "Dirty users waiting for a reconcile round (fleet-wide)", l);
    s->oldest = oks_metrics_gauge("oktasync_worker_oldest_change_age_seconds",
                                  "Age of the oldest unapplied change (fleet-wide)", l);
    for (int f = 0; f < N_FAULTS; f++) {
        snprintf(l, sizeof l, "tenant=\"%s\",fault=\"%s\"", tenant, faults[f]);
        s->fault[f] = oks_metrics_gauge("oktasync_worker_tenant_fault",
                                        "1 while the tenant has this fault (fleet-wide)", l);
    }
    static const char *const buckets[OKS_OKTA_BUCKETS] = {
        "users", "user_get", "user_groups", "apps", "app_get", "logs", "groups", "other"};
    for (int b = 0; b < OKS_OKTA_BUCKETS; b++) {
        snprintf(l, sizeof l, "tenant=\"%s\",bucket=\"%s\"", tenant, buckets[b]);
        s->requests[b] = oks_metrics_counter("oktasync_worker_okta_requests_total",
                                             "Okta API requests by the reconcilers", l);
    }
    return s;
}

void oks_worker_rmetrics_okta(const char *tenant, const oks_okta_stats *before,
                              const oks_okta_stats *after)
{
    pthread_mutex_lock(&mu);
    tslot *s = slot_for(tenant);
    for (int b = 0; s && b < OKS_OKTA_BUCKETS; b++)
        if (after->buckets[b].calls > before->buckets[b].calls)
            oks_counter_add(s->requests[b], after->buckets[b].calls - before->buckets[b].calls);
    pthread_mutex_unlock(&mu);
}

void oks_worker_rmetrics_round(const char *tenant, long events, long users_read)
{
    pthread_mutex_lock(&mu);
    tslot *s = slot_for(tenant);
    if (s) {
        oks_counter_add(s->events, (uint64_t)(events > 0 ? events : 0));
        oks_counter_add(s->users_read, (uint64_t)(users_read > 0 ? users_read : 0));
    }
    pthread_mutex_unlock(&mu);
}

void oks_worker_rmetrics_refresh(oks_db *db)
{
    oks_err err = {0};
    PGresult *d = oks_db_exec_params(db,
                                     "SELECT tenant_id::text, count(*), "
                                     "extract(epoch FROM clock_timestamp() - min(first_marked_at)) "
                                     "FROM dirty_users GROUP BY tenant_id LIMIT 4096",
                                     0, NULL, &err);
    PGresult *f = d ? oks_db_exec_params(db,
                                         "SELECT tenant_id::text, fault FROM tenant_okta_state "
                                         "WHERE fault IS NOT NULL LIMIT 4096",
                                         0, NULL, &err)
                    : NULL;
    if (!d || !f) {
        PQclear(d);
        return; /* the database is down: gauges keep their last values */
    }
    pthread_mutex_lock(&mu);
    for (int i = 0; i < PQntuples(d); i++)
        slot_for(PQgetvalue(d, i, 0));
    for (int i = 0; i < PQntuples(f); i++)
        slot_for(PQgetvalue(f, i, 0));
    for (int k = 0; k < used; k++) {
        tslot *s = &slots[k];
        double dirty = 0, oldest = 0;
        for (int i = 0; i < PQntuples(d); i++) {
            if (strcmp(PQgetvalue(d, i, 0), s->tenant) == 0) {
                dirty = strtod(PQgetvalue(d, i, 1), NULL);
                oldest = strtod(PQgetvalue(d, i, 2), NULL);
                break;
            }
        }
        oks_gauge_set(s->dirty, dirty);
        oks_gauge_set(s->oldest, oldest);
        for (int x = 0; x < N_FAULTS; x++) {
            double on = 0;
            for (int i = 0; i < PQntuples(f); i++)
                if (strcmp(PQgetvalue(f, i, 0), s->tenant) == 0 &&
                    strcmp(PQgetvalue(f, i, 1), faults[x]) == 0)
                    on = 1;
            oks_gauge_set(s->fault[x], on);
        }
    }
    pthread_mutex_unlock(&mu);
    PQclear(d);
    PQclear(f);
}
