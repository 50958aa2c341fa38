/*
 * Teams (docs/rules.md "Teams"): department -> a team of that name (trimmed, compared
 * case-insensitively, created on demand with source okta_department) and that team is the
 * user's primary team; a department change moves the primary and removes the old department
 * membership the sync made; admin teams and admin memberships are never removed. Deleted users
 * leave every team (admin memberships too); deactivated users keep theirs. manager_mode = team:
 * a team without a manager takes the manager of the first member the sync adds (who has one);
 * an admin-set or already-set team manager is never overwritten.
 */
#ifndef OKS_WORKER_APPLY_TEAMS_H
#define OKS_WORKER_APPLY_TEAMS_H

#include "core/oks_err.h"
#include "db/oks_db.h"

/* Two statements in the caller's transaction (removals first, so the one-primary index never
 * sees two primaries): for the batch's users whose stored state is this read. */
int oks_worker_apply_teams_tx(oks_db *db, const char *tenant, const char *batch_json,
                              const char *source, const char *actor, const char *run_id,
                              long *changed, oks_err *err);

#endif
