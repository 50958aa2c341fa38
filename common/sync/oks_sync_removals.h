/*
 * Applying a full sync run's removals (sync_run_removals): the users the platform has that the
 * run's listing no longer showed as assigned in Okta. Shared by the worker (a run under the
 * tenant's guard applies them at once) and `oktasyncctl sync approve` (a held run).
 *
 * One transaction: each removal whose user is still "gone" is deactivated (status 'deactivated',
 * deactivated_reason 'unassigned'), audited (source 'full_sync', sync_run_id), and its row gets
 * applied_at; the run is marked succeeded. A removal is skipped (left with applied_at NULL)
 * when, since the run, the user was seen by a later run (last_seen_run_id > run_id) or was
 * changed by an event (users.updated_at after the run's listing ended) — see docs/operations.md
 * "Full sync". Returns 0 and *applied = the number deactivated; -1 with err set otherwise
 * (OKS_E_NOT_FOUND: no such run; OKS_E_CONFLICT: the run is not 'held' or 'running').
 */
#ifndef OKS_SYNC_REMOVALS_H
#define OKS_SYNC_REMOVALS_H

#include <stdint.h>

#include "core/oks_err.h"
#include "db/oks_db.h"

int oks_sync_apply_removals(oks_db *db, int64_t run_id, const char *actor, long *applied,
                            oks_err *err);

#endif
