/*
 * Okta group -> team (docs/rules.md "Teams from groups"): for each user given, the sync's group
 * memberships (source okta_group, never primary) become exactly the teams mapped from the
 * user's groups in tenant_group_teams; unmapped groups add nothing; admin and department
 * memberships are never touched; deleted users are skipped (they left every team).
 *
 * The caller passes the user's complete set of groups (without the built-in Everyone group:
 * filter type BUILT_IN), so a user left out of a group loses that team. The reconciler reads
 * GET /api/v1/users/{id}/groups; the full sync lists the members of each mapped group, inverts
 * that into user -> groups and passes every listed user (an empty set for users in none).
 */
#ifndef OKS_WORKER_GROUP_TEAMS_H
#define OKS_WORKER_GROUP_TEAMS_H

#include "core/oks_err.h"
#include "db/oks_db.h"

#include <stddef.h>
#include <stdint.h>

typedef struct oks_worker_user_groups {
    const char *okta_id;
    const char *const *group_ids; /* Okta group ids (00g...) */
    size_t n_groups;
} oks_worker_user_groups;

/* One statement inside the caller's transaction. source "event" | "full_sync"; sync_run_id 0 =
 * none. *changed = memberships added or removed (one audit row each). */
int oks_worker_group_teams_apply_tx(oks_db *db, const char *tenant,
                                    const oks_worker_user_groups *ug, size_t n, const char *source,
                                    const char *actor, int64_t sync_run_id, long *changed,
                                    oks_err *err);

/* Does the tenant map any group? (the reconciler reads groups only then). -1 on error. */
int oks_worker_group_teams_mapped(oks_db *db, const char *tenant, oks_err *err);

#endif
