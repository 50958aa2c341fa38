/*
 * Org profiles applied after generation (--org-profile, --manager-cycle). "rich" and "demo"
 * replace the hierarchy with one over a seeded shuffle of the users, so about half of all
 * managers come AFTER their reports in index order (the order of every listing: a full sync
 * meets the report pages before its manager's), fix a chain of SIM_CHAIN_LEN ACTIVE, assigned
 * users (chain[k] reports to chain[k-1]) and turn on photoUrl (sim_profile.c). A manager cycle
 * of 2 or 3 ACTIVE, assigned users can be closed in any profile. Deterministic from the seed.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

enum { PROFILE_DEFAULT = 0, PROFILE_RICH, PROFILE_DEMO };
static const char *const profile_names[] = {"default", "rich", "demo"};

int sim_org_profile_parse(const char *s)
{
    for (int i = 0; i <= PROFILE_DEMO; i++)
        if (s && strcmp(s, profile_names[i]) == 0)
            return i;
    return -1;
}

/* A user the tests can rely on: ACTIVE and assigned to the app directly. */
static void force_active_assigned(sim_org *org, uint32_t idx)
{
    sim_user *u = &org->users[idx];
    u->status = SIM_ST_ACTIVE;
    if (u->activated_ms < 0)
        u->activated_ms = u->created_ms + 1000;
    u->status_changed_ms = u->last_updated_ms;
    u->last_login_ms = u->last_updated_ms + 3600000;
    u->direct = 1;
    u->apps_removed = 0;
    u->ever_assigned = 1;
}

static int shuffled_hierarchy(sim_org *org, oks_err *err)
{
    uint32_t n = org->n_users;
    uint32_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory for the org hierarchy");
    for (uint32_t k = 0; k < n; k++)
        perm[k] = k;
    for (uint32_t k = n; k > 1; k--) { /* Fisher-Yates, seeded */
        uint32_t j = (uint32_t)(sim_rand(org->seed, k, 60) % k);
        uint32_t t = perm[k - 1];
        perm[k - 1] = perm[j];
        perm[j] = t;
    }
    /* Rank k reports to a user of smaller rank: a tree, about six reports per manager. */
    for (uint32_t k = 0; k < n; k++) {
        sim_user *u = &org->users[perm[k]];
        if (k == 0)
            u->manager = -1;
        else if (k < SIM_CHAIN_LEN)
            u->manager = (int32_t)perm[k - 1];
        else if (sim_rand(org->seed, perm[k], 61) % 100 < 3)
            u->manager = -1;
        else
            u->manager = (int32_t)perm[sim_rand(org->seed, perm[k], 62) % ((k + 5) / 6)];
    }
    org->n_chain = n < SIM_CHAIN_LEN ? n : SIM_CHAIN_LEN;
    for (uint32_t k = 0; k < org->n_chain; k++) {
        org->chain[k] = perm[k];
        force_active_assigned(org, perm[k]);
    }
    /* The highest ranks have no reports: the cycle, when asked for, is made of them. */
    for (uint32_t k = 0; k < 3 && k < n; k++)
        org->cycle[k] = perm[n - 1 - k];
    free(perm);
    return 0;
}

int sim_org_shape(sim_org *org, const char *profile, int cycle, oks_err *err)
{
    int p = sim_org_profile_parse(profile);
    if (p < 0)
        return oks_err_set(err, OKS_E_INVALID, "invalid --org-profile (default, rich or demo)");
    if (cycle != 0 && cycle != 2 && cycle != 3)
        return oks_err_set(err, OKS_E_INVALID, "invalid --manager-cycle (0, 2 or 3)");
    uint32_t need = (p == PROFILE_DEFAULT ? 0 : SIM_CHAIN_LEN) + (uint32_t)cycle;
    if (org->n_users < need)
        return oks_err_set(err, OKS_E_INVALID, "--org-profile/--manager-cycle need %u users", need);
    org->rich = p != PROFILE_DEFAULT;
    if (org->rich && shuffled_hierarchy(org, err) != 0)
        return -1;
    if (!org->rich) /* default: managers have smaller indices, so the last users are leaves */
        for (uint32_t k = 0; k < 3 && k < org->n_users; k++)
            org->cycle[k] = org->n_users - 1 - k;
    org->n_cycle = (uint32_t)cycle;
    for (uint32_t k = 0; k < org->n_cycle; k++) {
        force_active_assigned(org, org->cycle[k]);
        org->users[org->cycle[k]].manager = (int32_t)org->cycle[(k + 1) % org->n_cycle];
    }
    return 0;
}
