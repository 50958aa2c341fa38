/*
 * Managers (docs/rules.md "Managers"): the manager named by the profile's manager attribute is
 * resolved to a user of the same tenant (tenants.manager_match: okta_id, login, email,
 * employee_number) and set with override_manager = true; no manager in Okta -> NULL and
 * override_manager = false; a manager not synced yet -> a pending reference, resolved when that
 * user arrives. An edge that would close a cycle (any length) is refused: not written, logged,
 * counted. The walk is a recursive CTE with a path check and a depth bound: it always ends.
 */
#ifndef OKS_WORKER_APPLY_MANAGERS_H
#define OKS_WORKER_APPLY_MANAGERS_H

#include "core/oks_err.h"
#include "db/oks_db.h"

/* One statement in the caller's transaction for a batch (the jsonb of oks_worker_apply_batch
 * with "mref"): the batch's users and the pending references that name one of them. match:
 * the tenant's manager_match, as the caller read it with the batch's field map. */
int oks_worker_apply_managers_tx(oks_db *db, const char *tenant, const char *batch_json,
                                 const char *source, const char *actor, const char *run_id,
                                 const char *match, long *changed, long *refused, oks_err *err);

/* Every pending reference of the tenant that resolves now (the full sync's end-of-run pass).
 * One statement (atomic on its own, or inside the caller's transaction). *resolved = pending
 * references resolved. Source full_sync. */
int oks_worker_managers_resolve_pending(oks_db *db, const char *tenant, long *resolved,
                                        oks_err *err);

#endif
