/*
 * Okta group -> team (docs/rules.md "Teams from groups"): for each user given, the sync's group
 * memberships (source okta_group, never primary) become exactly the teams mapped from the
 * user's groups in tenant_group_teams; unmapped groups add nothing; admin and department
 * memberships are never touched; deleted users are skipped (they left every team).
 *
 * The caller passes the user's complete set of groups (without the built-in Everyone group:
 * filter type BUILT_IN), so a user left out of a group loses that team; groups the tenant does
 * not map may be left out too (they add nothing). The reconciler reads
 * GET /api/v1/users/{id}/groups; the full sync lists the members of each mapped group, inverts
 * that into user -> groups and passes every listed user (an empty set for users in none).
 *
 * manager_mode = team (docs/rules.md "Managers"): a team that gets its first sync-added
 * membership here while it has no manager (manager_user_id and manager_source NULL) takes the
 * manager of that member (the first such member who has one, by user id), manager_source
 * first_member; later members do not change it; an admin-set manager is never overwritten. The
 * update re-checks manager_source IS NULL under the team row's lock, so of two transactions
 * adding first members at once exactly one sets it (as the department path does).
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
 * none. *changed = memberships added or removed, team managers set (one audit row each). */
int oks_worker_group_teams_apply_tx(oks_db *db, const char *tenant,
                                    const oks_worker_user_groups *ug, size_t n, const char *source,
                                    const char *actor, int64_t sync_run_id, long *changed,
                                    oks_err *err);

/* Does the tenant map any group? (the reconciler reads groups only then). -1 on error. */
int oks_worker_group_teams_mapped(oks_db *db, const char *tenant, oks_err *err);

/* The Okta group ids a tenant maps to teams (tenant_group_teams), sorted (strcmp) for lookups:
 * what a reconcile round keeps of a user's groups (the others would be ignored anyway), so its
 * memory is bounded by the tenant's map, not by how many groups a user is in. */
typedef struct oks_worker_group_set {
    char **ids;
    size_t n;
} oks_worker_group_set;

int oks_worker_group_set_load(oks_db *db, const char *tenant, oks_worker_group_set *set,
                              oks_err *err);
/* The set's own copy of id, or NULL when the tenant does not map it. */
const char *oks_worker_group_set_find(const oks_worker_group_set *set, const char *id);
void oks_worker_group_set_free(oks_worker_group_set *set);

#endif
