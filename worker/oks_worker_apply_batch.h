/*
 * Batch apply: the Okta state of many users written in ONE statement inside the caller's
 * transaction (a jsonb recordset, not a round trip per user). Used by the reconciler for a
 * round's dirty users and shaped for the full sync's pages of 500 (mark_seq 0, source
 * "full_sync").
 *
 * Per user: before image (the statement's snapshot), upsert guarded by okta_last_updated <= as_of
 * (an older read never overwrites a newer one), app_assigned, an audit_log row with before/after
 * when something besides updated_at and the watermark changed, and the dirty mark deleted WHERE seq
 * = the seq read (an event that arrived meanwhile bumped seq, so the user is read again).
 */
#ifndef OKS_WORKER_APPLY_BATCH_H
#define OKS_WORKER_APPLY_BATCH_H

#include "db/oks_db.h"
#include "okta/oks_okta.h"
#include "oks_worker_apply_fields.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oks_worker_state {
    const char *okta_id;
    const char *status;        /* "active" | "deactivated" | "deleted"; NULL = write no row
                                  (a non-member without a row: no personal data is stored) */
    const oks_okta_user *user; /* profile to upsert (may create the row); NULL = status-only
                                  update of an existing row */
    int app_assigned;          /* -1 leave as stored, 0, 1 */
    int64_t as_of_ms;          /* watermark: Okta's Date of the read (Okta's clock) */
    int64_t mark_seq;          /* > 0: delete the dirty mark if its seq is still this */
} oks_worker_state;

typedef struct oks_worker_apply_result {
    long written;       /* rows inserted or updated */
    long created;       /* of those, users that had no row before */
    long audited;       /* rows that really changed (audit rows) */
    long stale;         /* rows the watermark guard left alone (newer state stored) */
    long marks_cleared; /* dirty marks deleted (seq unchanged) */
    /* the product's rules (docs/rules.md), counted by their audit rows */
    long custom_values;  /* custom field values written */
    long managers;       /* manager edges / pending references changed */
    long cycles_refused; /* manager edges refused because they would close a cycle */
    long memberships;    /* team memberships added, moved or removed */
    long invitations;    /* invitation outbox rows created */
    int rules_run;       /* rule statements sent (fields, managers, teams, invitations): one
                            that cannot act on the batch is skipped */
} oks_worker_apply_result;

/* Inside an open transaction. source: "event" | "full_sync"; actor: audit actor. -1 with err
 * (the caller rolls back; OKS_E_CONFLICT / OKS_E_INVALID point at a row: retry users alone). */
int oks_worker_apply_batch_tx(oks_db *db, const char *tenant, const oks_worker_state *s, size_t n,
                              const char *source, const char *actor, oks_worker_apply_result *res,
                              oks_err *err);

/* As above, for a full sync page: audit rows carry sync_run_id (0 = none). Then the rules run
 * on the rows this batch stored: custom fields, managers, teams, invitations (docs/rules.md). */
int oks_worker_apply_batch_run_tx(oks_db *db, const char *tenant, const oks_worker_state *s,
                                  size_t n, const char *source, const char *actor,
                                  int64_t sync_run_id, oks_worker_apply_result *res, oks_err *err);

/* A reconcile round's batch, made ready before its transaction: the tenant's field map read
 * and the statement's jsonb built, so an apply slot is held for the writes alone
 * (docs/worker-reconcile.md "Apply slots"). Read outside the transaction, the field map is what
 * the transaction's own first statement would have read a moment later (READ COMMITTED). */
typedef struct oks_worker_apply_batch {
    char *js;        /* the jsonb recordset; NULL for an empty batch */
    char match[16];  /* the tenant's manager match (oks_worker_fieldmap.manager_match) */
    bool any_fields; /* the tenant has an active custom field: the fields rule may act */
} oks_worker_apply_batch;

/* -1 with err (nothing left to free); 0: free b with oks_worker_apply_batch_free. */
int oks_worker_apply_batch_prepare(oks_db *db, const char *tenant, const oks_worker_state *s,
                                   size_t n, oks_worker_apply_batch *b, oks_err *err);
void oks_worker_apply_batch_free(oks_worker_apply_batch *b);

/* As oks_worker_apply_batch_tx for a prepared reconcile round (source "event", actor
 * "reconcile"): the apply statement runs from a generic plan kept on db's connection and made
 * again after plan_uses rounds or OKS_WORKER_PLAN_AGE_MS (oks_db_exec_generic); plan_uses 0 plans
 * it on every call. Full-sync pages do not use it: a first full sync is when `users` grows from
 * nothing, and a plan made before that growth would stay (docs/worker-reconcile.md "Cost of a
 * round"). */
int oks_worker_apply_batch_round_tx(oks_db *db, const char *tenant, const oks_worker_apply_batch *b,
                                    int64_t plan_uses, oks_worker_apply_result *res, oks_err *err);

/* The jsonb recordset of a batch (malloc'd) with the default attribute map / a given one.
 * Exposed for tests. */
char *oks_worker_apply_batch_json(const oks_worker_state *s, size_t n);
char *oks_worker_apply_batch_json_map(const oks_worker_state *s, size_t n,
                                      const oks_worker_fieldmap *m);

#endif
