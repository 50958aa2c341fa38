/* Shared between the oks_worker_fullsync*.c files (private). */
#ifndef OKS_WORKER_FULLSYNC_INT_H
#define OKS_WORKER_FULLSYNC_INT_H

#include "oks_worker_fullsync.h"
#include "oks_worker_reconcile_int.h"
#include "oks_worker_tenant.h"

#include <stdint.h>

enum { OKS_WORKER_FULLSYNC_PAGE = 500 };

/* The run a turn works on (a row of sync_runs, read under the tenant's lock). */
typedef struct oks_worker_frun {
    int64_t id;
    char id_s[24];
    char tenant[40];
    bool dry_run;
    long pages;
    long users_seen;
    char *cursor; /* next page URL; NULL before page one and after the last page */
    int64_t started_mono_ms;
} oks_worker_frun;

typedef enum oks_worker_fstep {
    OKS_WORKER_FSTEP_MORE,     /* a page applied, more to come */
    OKS_WORKER_FSTEP_LISTED,   /* the last page was applied: the end of the run is next */
    OKS_WORKER_FSTEP_WAIT,     /* out of Okta quota, or another turn moved the run: later */
    OKS_WORKER_FSTEP_DONE,     /* the run ended (succeeded, held) */
    OKS_WORKER_FSTEP_FAILED,   /* the run was marked failed */
    OKS_WORKER_FSTEP_INTERNAL, /* our side failed: nothing recorded, retried later */
} oks_worker_fstep;

/* This process's name in sync_runs.worker ("host:pid"). */
const char *oks_worker_fullsync_me(void);

/* Mark the run failed with the reason (errors + 1, finished_at, cursor kept for the record).
 * Outside a transaction. */
void oks_worker_fullsync_fail(oks_db *db, const oks_worker_frun *run, const char *why);

/* One page as Okta answered it. */
typedef struct oks_worker_fpage {
    int got; /* 1 = items; -1 = err */
    oks_err err;
    json_t *items;    /* owned */
    char *next;       /* rel="next" URL, NULL on the last page; owned */
    int64_t date_ms;  /* the response's Date (-1 absent) */
    long http_status; /* oks_okta_last.status: -1 = no request was sent (budget, Redis) */
    long calls;       /* Okta requests it took (retries included) */
    int64_t ms;
} oks_worker_fpage;

/* GET the page at cursor (NULL = the listing's first page). */
void oks_worker_fullsync_fetch(oks_okta_client *client, const char *app_id, const char *cursor,
                               oks_worker_fpage *out);
void oks_worker_fullsync_fpage_free(oks_worker_fpage *f);

/* Apply one page (oks_worker_fullsync_page.c): cur = the page at run->cursor already fetched
 * (consumed), or NULL to fetch it here. ahead != NULL: the next page is fetched while this one
 * is applied and left in *ahead (got = 0: nothing fetched) when the step is MORE. */
oks_worker_fstep oks_worker_fullsync_page(oks_db *db, oks_okta_client *client, const char *app_id,
                                          oks_worker_frun *run, oks_worker_fpage *cur,
                                          oks_worker_fpage *ahead);

/* The end of the listing: removals, guard, apply or hold (oks_worker_fullsync_end.c). */
oks_worker_fstep oks_worker_fullsync_end(oks_db *db, oks_okta_client *client, oks_worker_frun *run);

/* Groups → teams for every user the run saw (oks_worker_fullsync_groups.c). *changed =
 * memberships added or removed; *calls += Okta requests. -1: a group listing failed (no
 * membership changed); -2: the database failed (a chunk rolled back); err says why. */
int oks_worker_fullsync_groups(oks_db *db, oks_okta_client *client, const oks_worker_frun *run,
                               long *changed, long *calls, oks_err *err);

/* Metrics (oks_worker_fullsync_metrics.c): a run ended with this outcome
 * (succeeded, held, failed). */
void oks_worker_fullsync_metrics_outcome(const char *tenant, const char *outcome);

#endif
