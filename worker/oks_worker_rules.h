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

/* Okta user status → "active" | "deactivated"; NULL for a status we do not know (the caller
 * treats that as a permanent failure so it lands in the dead-letter topic, replayable once
 * the rule is extended). */
const char *oks_worker_status_from_okta(const char *okta_status);

#endif
