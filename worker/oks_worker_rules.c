#include "oks_worker_rules.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    const char *type;
    oks_worker_action action;
} action_rule;

/* The event hook subscriptions of the product brief plus the related lifecycle types the Okta
 * reference recommends (activate/create/suspend/unsuspend, app membership update). Group
 * membership changes re-fetch the user and, when the tenant maps groups to teams, the user's
 * groups (oks_worker_mark_for: check_groups). */
static const action_rule rules[] = {
    {"application.user_membership.add", OKS_WORKER_FETCH},
    {"application.user_membership.update", OKS_WORKER_FETCH},
    {"application.user_membership.remove", OKS_WORKER_DEACTIVATE},
    {"group.user_membership.add", OKS_WORKER_FETCH},
    {"group.user_membership.remove", OKS_WORKER_FETCH},
    {"user.account.update_profile", OKS_WORKER_FETCH},
    {"user.lifecycle.create", OKS_WORKER_FETCH},
    {"user.lifecycle.activate", OKS_WORKER_FETCH},
    {"user.lifecycle.reactivate", OKS_WORKER_FETCH},
    {"user.lifecycle.deactivate", OKS_WORKER_FETCH},
    {"user.lifecycle.suspend", OKS_WORKER_FETCH},
    {"user.lifecycle.unsuspend", OKS_WORKER_FETCH},
    {"user.lifecycle.delete.initiated", OKS_WORKER_DELETE},
};

oks_worker_action oks_worker_action_for(const char *event_type)
{
    if (!event_type)
        return OKS_WORKER_IGNORE;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (strcmp(rules[i].type, event_type) == 0)
            return rules[i].action;
    }
    return OKS_WORKER_IGNORE;
}

const char *oks_worker_action_name(oks_worker_action a)
{
    switch (a) {
    case OKS_WORKER_FETCH:
        return "fetch";
    case OKS_WORKER_DEACTIVATE:
        return "deactivate";
    case OKS_WORKER_DELETE:
        return "delete";
    case OKS_WORKER_IGNORE:
        break;
    }
    return "ignore";
}

void oks_worker_mark_for(const char *event_type, bool *check_assignment, bool *check_groups,
                         bool *moves_last_updated)
{
    bool lifecycle = strncmp(event_type, "user.lifecycle.", 15) == 0;
    *check_groups = strncmp(event_type, "group.user_membership.", 22) == 0;
    *check_assignment =
        lifecycle || strncmp(event_type, "application.user_membership.", 28) == 0 || *check_groups;
    *moves_last_updated = lifecycle || strcmp(event_type, "user.account.update_profile") == 0;
}

const char *oks_worker_status_from_okta(const char *okta_status)
{
    static const char *const active[] = {"ACTIVE", "PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED",
                                         "LOCKED_OUT"};
    /* STAGED: created in Okta but never activated, so it cannot sign in yet. */
    static const char *const deactivated[] = {"DEPROVISIONED", "SUSPENDED", "STAGED"};
    if (!okta_status)
        return NULL;
    for (size_t i = 0; i < sizeof active / sizeof active[0]; i++) {
        if (strcmp(okta_status, active[i]) == 0)
            return "active";
    }
    for (size_t i = 0; i < sizeof deactivated / sizeof deactivated[0]; i++) {
        if (strcmp(okta_status, deactivated[i]) == 0)
            return "deactivated";
    }
    return NULL;
}
