/*
 * Full sync series: oktasync_worker_full_sync_runs_total{outcome} (this replica's runs ended by
 * outcome), and per tenant the last run this replica ended: its time
 * (oktasync_worker_full_sync_last_timestamp_seconds{tenant}) and outcome
 * (oktasync_worker_full_sync_last_outcome{tenant,outcome} = 1 for the last one, 0 others).
 * The tenant table is bounded (TENANT_SLOTS); tenants past it count in runs_total only.
 */
#include "oks_worker_fullsync_int.h"

#include "core/oks_metrics.h"
#include "core/oks_time.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TENANT_SLOTS = 4096, N_OUTCOMES = 3 };

static const char *const outcomes[N_OUTCOMES] = {"succeeded", "held", "failed"};

typedef struct fslot {
    char tenant[40];
    oks_gauge *at;
    oks_gauge *outcome[N_OUTCOMES];
} fslot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static fslot *slots;
static int used;
static oks_counter *runs[N_OUTCOMES];

static fslot *slot_for(const char *tenant)
{
    for (int i = 0; i < used; i++)
        if (strcmp(slots[i].tenant, tenant) == 0)
            return &slots[i];
    if (!slots && !(slots = calloc(TENANT_SLOTS, sizeof *slots)))
        return NULL;
    if (used == TENANT_SLOTS || strlen(tenant) >= sizeof slots[0].tenant)
        return NULL;
    fslot *s = &slots[used++];
    snprintf(s->tenant, sizeof s->tenant, "%s", tenant);
    char l[160];
    snprintf(l, sizeof l, "tenant=\"%s\"", tenant);
    s->at =
        oks_metrics_gauge("oktasync_worker_full_sync_last_timestamp_seconds",
                          "When this replica last ended a full sync of the tenant (unix time)", l);
    for (int o = 0; o < N_OUTCOMES; o++) {
        snprintf(l, sizeof l, "tenant=\"%s\",outcome=\"%s\"", tenant, outcomes[o]);
        s->outcome[o] = oks_metrics_gauge("oktasync_worker_full_sync_last_outcome",
                                          "1 for the outcome of the tenant's last full sync", l);
    }
    return s;
}

void oks_worker_fullsync_metrics_outcome(const char *tenant, const char *outcome)
{
    int k = -1;
    for (int o = 0; o < N_OUTCOMES; o++)
        if (strcmp(outcomes[o], outcome) == 0)
            k = o;
    if (k < 0)
        return;
    pthread_mutex_lock(&mu);
    if (!runs[k]) {
        char l[64];
        snprintf(l, sizeof l, "outcome=\"%s\"", outcome);
        runs[k] = oks_metrics_counter("oktasync_worker_full_sync_runs_total",
                                      "Full sync runs this replica ended, by outcome", l);
    }
    oks_counter_add(runs[k], 1);
    fslot *s = slot_for(tenant);
    if (s) {
        oks_gauge_set(s->at, (double)oks_now_wall_ms() / 1000.0);
        for (int o = 0; o < N_OUTCOMES; o++)
            oks_gauge_set(s->outcome[o], o == k ? 1.0 : 0.0);
    }
    pthread_mutex_unlock(&mu);
}
