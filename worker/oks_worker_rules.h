/*
 * Pure decision rules of the worker: what an event type asks for, and how an Okta user status
 * maps to the platform's user status. No I/O; unit-tested.
 */
#ifndef OKS_WORKER_RULES_H
#define OKS_WORKER_RULES_H

#include <stdbool.h>

typedef enum oks_worker_action {
    OKS_WORKER_IGNORE = 0, /* event type the worker does not act on */
    OKS_WORKER_FETCH,      /* re-read the user from Okta and apply that state */
    OKS_WORKER_DEACTIVATE, /* unassigned from the app: deactivate, no fetch needed */
    OKS_WORKER_DELETE,     /* deleted in Okta: mark deleted, no fetch needed */
} oks_worker_action;

oks_worker_action oks_worker_action_for(const char *event_type);
const char *oks_worker_action_name(oks_worker_action a);

/* What an event asks of the reconciler (coalesce mode; every type the worker acts on marks its
 * user dirty). *check_assignment: the event may change the user's app assignment (app or group
 * membership, lifecycle), so the stored assignment cannot answer. *check_groups: the event
 * changes the user's Okta groups (group.user_membership.*), so the group-mapped teams must be
 * read again (GET /users/{id}/groups, only when the tenant maps a group). *moves_last_updated:
 * the event moves the user's lastUpdated (profile, lifecycle), so a read older than it is
 * stale. */
void oks_worker_mark_for(const char *event_type, bool *check_assignment, bool *check_groups,
                         bool *moves_last_updated);

/* Okta user status → "active" | "deactivated"; NULL for a status we do not know (the caller
 * treats that as a permanent failure so it lands in the dead-letter topic, replayable once
 * the rule is extended). */
const char *oks_worker_status_from_okta(const char *okta_status);

#endif
