/*
 * Apply one user change to PostgreSQL in ONE transaction: the processed_events row (durable
 * dedupe: a second apply of the same event finds it and does nothing), the users row (never
 * overwritten by older Okta state), and an audit_log row with before/after.
 */
#ifndef OKS_WORKER_APPLY_H
#define OKS_WORKER_APPLY_H

#include "db/oks_db.h"
#include "okta/oks_okta.h"

typedef struct oks_worker_change {
    const char *tenant;
    const char *okta_id;
    const char *event_uuid;
    const char *event_type;
    const char *status;        /* "active" | "deactivated" | "deleted" */
    int64_t watermark_ms;      /* Okta lastUpdated, or the time the state was observed */
    const oks_okta_user *user; /* full state to upsert; NULL = status-only change */
} oks_worker_change;

typedef enum oks_worker_outcome {
    OKS_WORKER_APPLIED,   /* the row changed */
    OKS_WORKER_UNCHANGED, /* state already stored (or nothing to change: no such user) */
    OKS_WORKER_STALE,     /* the stored row is newer than this state: left alone */
    OKS_WORKER_DUPLICATE, /* event already in processed_events: nothing done */
} oks_worker_outcome;

const char *oks_worker_outcome_name(oks_worker_outcome o);

/* Returns 0 with *outcome, or -1 with err (the transaction is rolled back). */
int oks_worker_apply(oks_db *db, const oks_worker_change *c, oks_worker_outcome *outcome,
                     oks_err *err);

#endif
