/*
 * The generated org: compact per-user records (profiles are derived from the seed on demand,
 * see sim_profile.c), an id index, groups, and app assignment. Deterministic from the seed.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 2024-01-01T00:00:00Z: generated timestamps fall in 2024..2025, always in the past. */
#define SIM_EPOCH_BASE_MS 1704067200000LL
#define DAY_MS 86400000LL

static const char *const status_names[SIM_ST__COUNT] = {
    "ACTIVE",        "PROVISIONED", "STAGED",   "SUSPENDED",
    "DEPROVISIONED", "LOCKED_OUT",  "RECOVERY", "PASSWORD_EXPIRED",
};

const char *sim_status_name(int st)
{
    return st >= 0 && st < SIM_ST__COUNT ? status_names[st] : "ACTIVE";
}

int sim_status_parse(const char *s)
{
    for (int i = 0; i < SIM_ST__COUNT; i++)
        if (strcasecmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

static int id_map_insert(uint32_t *map, uint32_t cap, const char *id, uint32_t idx,
                         const sim_user *users)
{
    uint32_t mask = cap - 1;
    for (uint32_t i = hash_id(id) & mask;; i = (i + 1) & mask) {
        if (map[i] == 0) {
            map[i] = idx + 1;
            return 0;
        }
        if (strcmp(users[map[i] - 1].id, id) == 0)
            return -1; /* duplicate id */
    }
}

static int id_map_grow(sim_org *org, uint32_t want_users)
{
    uint32_t cap = 1024;
    while (cap < want_users * 2u)
        cap *= 2;
    if (cap <= org->id_map_cap)
        return 0;
    uint32_t *map = calloc(cap, sizeof *map);
    if (!map)
        return -1;
    for (uint32_t i = 0; i < org->n_users; i++)
        (void)id_map_insert(map, cap, org->users[i].id, i, org->users);
    free(org->id_map);
    org->id_map = map;
    org->id_map_cap = cap;
    return 0;
}

static void gen_status(sim_user *u, uint64_t r)
{
    unsigned p = (unsigned)(r % 1000);
    u->status = p < 40   ? SIM_ST_DEPROVISIONED
                : p < 60 ? SIM_ST_STAGED
                : p < 75 ? SIM_ST_SUSPENDED
                : p < 90 ? SIM_ST_PROVISIONED
                : p < 95 ? SIM_ST_LOCKED_OUT
                         : SIM_ST_ACTIVE;
}

/* App groups are the first quarter of the groups (at least one when there are groups). */
static uint32_t n_app_groups(const sim_org *org)
{
    return org->n_groups == 0 ? 0 : (org->n_groups + 3) / 4;
}

static void gen_membership(sim_org *org, sim_user *u, uint32_t i)
{
    uint64_t seed = org->seed;
    uint32_t napp = n_app_groups(org), nother = org->n_groups - napp;
    unsigned how = (unsigned)(sim_rand(seed, i, 3) % 100);
    unsigned extra = (unsigned)(sim_rand(seed, i, 4) % 3);
    for (unsigned k = 0; k < extra && nother > 0; k++)
        u->groups |= 1ULL << (napp + sim_rand(seed, i, 10 + k) % nother);
    if (how < 55) {
        u->direct = 1; /* scope USER; sometimes also in an app group */
        if (napp && sim_rand(seed, i, 5) % 4 == 0)
            u->groups |= 1ULL << (sim_rand(seed, i, 6) % napp);
    } else if (how < 88) {
        if (napp)
            u->groups |= 1ULL << (sim_rand(seed, i, 6) % napp); /* scope GROUP */
        else
            u->direct = 1;
    } /* else: not assigned to the app at all */
}

static void gen_user(sim_org *org, uint32_t i)
{
    sim_user *u = &org->users[i];
    uint64_t seed = org->seed;
    memset(u, 0, sizeof *u);
    sim_make_id(u->id, "00u", seed, i, 0);
    gen_status(u, sim_rand(seed, i, 1));
    gen_membership(org, u, i);
    /* A tree: each manager has about six reports; about 3% have no manager recorded. */
    u->manager = -1;
    if (i > 0 && sim_rand(seed, i, 7) % 100 >= 3)
        u->manager = (int32_t)(sim_rand(seed, i, 8) % ((i + 5) / 6));
    u->created_ms = SIM_EPOCH_BASE_MS + (int64_t)(sim_rand(seed, i, 20) % (365 * DAY_MS));
    u->activated_ms = u->status == SIM_ST_STAGED ? -1 : u->created_ms + 1000;
    u->last_updated_ms = u->created_ms + (int64_t)(sim_rand(seed, i, 21) % (300 * DAY_MS));
    u->status_changed_ms = u->status == SIM_ST_STAGED ? -1 : u->last_updated_ms;
    u->last_login_ms = u->status == SIM_ST_ACTIVE ? u->last_updated_ms + 3600000 : -1;
    u->assign_created_ms = u->created_ms + 60000;
    u->assign_updated_ms = u->assign_created_ms;
    if (u->status == SIM_ST_DEPROVISIONED && org->deact_apps != SIM_DEACT_KEEP) {
        /* Deactivated before the org was generated: its assignments went with it. */
        u->saved_direct = u->direct;
        u->direct = 0;
        u->apps_removed = 1;
    }
    u->ever_assigned = sim_user_assigned(org, u);
}

/* Okta's built-in group: the org's oldest, holding every user; type BUILT_IN. */
static void gen_everyone(sim_org *org)
{
    sim_group *e = &org->everyone;
    sim_make_id(e->id, "00g", org->seed, 0, 8);
    snprintf(e->name, sizeof e->name, "Everyone");
    e->type = SIM_GT_BUILT_IN;
    e->created_ms = SIM_EPOCH_BASE_MS - 60 * DAY_MS;
    e->last_updated_ms = e->created_ms;
    e->last_membership_updated_ms = SIM_EPOCH_BASE_MS + 400 * DAY_MS;
}

static void gen_groups(sim_org *org)
{
    static const char *const names[] = {
        "Learners",   "All Staff",  "Sales EMEA",  "Sales AMER", "Engineering",
        "Support",    "Managers",   "Contractors", "Finance",    "Marketing",
        "Operations", "Leadership", "Interns",     "Legal",      "Product",
    };
    uint32_t napp = n_app_groups(org);
    for (uint32_t g = 0; g < org->n_groups; g++) {
        sim_group *gr = &org->groups[g];
        sim_make_id(gr->id, "00g", org->seed, g, 7);
        if (g < sizeof names / sizeof names[0])
            snprintf(gr->name, sizeof gr->name, "%s", names[g]);
        else
            snprintf(gr->name, sizeof gr->name, "Group %u", g + 1);
        gr->app_assigned = g < napp;
        /* Every fourth group outside the app's is imported from a directory (APP_GROUP). */
        gr->type = g >= napp && (g - napp) % 4 == 3 ? SIM_GT_APP : SIM_GT_OKTA;
        gr->created_ms = SIM_EPOCH_BASE_MS - 30 * DAY_MS + (int64_t)g * 1000;
        gr->last_updated_ms = gr->created_ms;
        gr->last_membership_updated_ms = gr->created_ms + 400 * DAY_MS;
    }
}

sim_org *sim_org_new(uint32_t n_users, uint32_t n_groups, uint64_t seed, const char *domain,
                     const char *app_id, const char *app_label, int deact_apps, oks_err *err)
{
    sim_org *org = calloc(1, sizeof *org);
    if (!org) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_rwlock_init(&org->lock, NULL);
    org->seed = seed;
    org->deact_apps = deact_apps;
    org->n_groups = n_groups > SIM_MAX_GROUPS ? SIM_MAX_GROUPS : n_groups;
    snprintf(org->domain, sizeof org->domain, "%s", domain);
    if (app_id && *app_id)
        snprintf(org->app_id, sizeof org->app_id, "%s", app_id);
    else
        sim_make_id(org->app_id, "0oa", seed, 0, 9);
    snprintf(org->app_label, sizeof org->app_label, "%s", app_label);
    gen_groups(org);
    gen_everyone(org);
    org->cap_users = n_users + 1024;
    org->users = calloc(org->cap_users, sizeof *org->users);
    if (!org->users || id_map_grow(org, org->cap_users) != 0)
        goto oom;
    for (uint32_t i = 0; i < n_users; i++) {
        gen_user(org, i);
        while (id_map_insert(org->id_map, org->id_map_cap, org->users[i].id, i, org->users))
            sim_make_id(org->users[i].id, "00u", seed, i, 1 + org->users[i].id[5] % 50);
        org->n_users = i + 1;
    }
    return org;
oom:
    sim_org_free(org);
    oks_err_set(err, OKS_E_NOMEM, "out of memory for %u users", n_users);
    return NULL;
}

void sim_org_free(sim_org *org)
{
    if (!org)
        return;
    for (uint32_t i = 0; i < org->n_users; i++)
        json_decref(org->users[i].override);
    free(org->users);
    free(org->id_map);
    free(org->overridden);
    pthread_rwlock_destroy(&org->lock);
    free(org);
}

int64_t sim_org_find_id(const sim_org *org, const char *id)
{
    if (!org->id_map_cap)
        return -1;
    uint32_t mask = org->id_map_cap - 1;
    for (uint32_t i = hash_id(id) & mask; org->id_map[i]; i = (i + 1) & mask)
        if (strcmp(org->users[org->id_map[i] - 1].id, id) == 0)
            return org->id_map[i] - 1;
    return -1;
}

static bool login_matches(const sim_org *org, uint32_t idx, const char *login)
{
    char buf[256];
    const char *l = sim_profile_get(org, idx, "login", buf, sizeof buf);
    return l && strcasecmp(l, login) == 0;
}

int64_t sim_org_find_login(const sim_org *org, const char *login)
{
    /* Generated logins end in the user index ("jane.doe42@domain"): parse it back. */
    const char *at = strchr(login, '@');
    if (at && at > login) {
        const char *p = at;
        while (p > login && p[-1] >= '0' && p[-1] <= '9')
            p--;
        if (p < at && at - p < 10) {
            uint32_t idx = (uint32_t)strtoul(p, NULL, 10);
            if (idx < org->n_users && login_matches(org, idx, login))
                return idx;
        }
    }
    for (uint32_t k = 0; k < org->n_overridden; k++)
        if (login_matches(org, org->overridden[k], login))
            return org->overridden[k];
    return -1;
}

int64_t sim_org_find_user(const sim_org *org, const char *id_or_login)
{
    int64_t idx = sim_org_find_id(org, id_or_login);
    return idx >= 0 ? idx : sim_org_find_login(org, id_or_login);
}

int sim_org_find_group(const sim_org *org, const char *id)
{
    if (strcmp(org->everyone.id, id) == 0)
        return SIM_G_EVERYONE;
    for (uint32_t g = 0; g < org->n_groups; g++)
        if (strcmp(org->groups[g].id, id) == 0)
            return (int)g;
    return -1;
}

const sim_group *sim_org_group(const sim_org *org, int g)
{
    return g == SIM_G_EVERYONE ? &org->everyone : &org->groups[g];
}

bool sim_user_in_group(const sim_user *u, int g)
{
    return g == SIM_G_EVERYONE ? !u->deleted : ((u->groups >> g) & 1) != 0;
}

static uint64_t app_group_mask(const sim_org *org)
{
    uint64_t m = 0;
    for (uint32_t g = 0; g < org->n_groups; g++)
        if (org->groups[g].app_assigned)
            m |= 1ULL << g;
    return m;
}

bool sim_user_assigned(const sim_org *org, const sim_user *u)
{
    if (u->deleted)
        return false;
    if (u->direct)
        return true;
    return !u->apps_removed && (u->groups & app_group_mask(org)) != 0;
}

const char *sim_user_scope(const sim_org *org, const sim_user *u)
{
    (void)org;
    return u->direct ? "USER" : "GROUP";
}

static const char *const deact_names[] = {"remove", "restore", "keep"};

const char *sim_deact_apps_name(int mode)
{
    return mode >= 0 && mode <= SIM_DEACT_KEEP ? deact_names[mode] : "remove";
}

int sim_deact_apps_parse(const char *s)
{
    for (int i = 0; i <= SIM_DEACT_KEEP; i++)
        if (s && strcmp(s, deact_names[i]) == 0)
            return i;
    return -1;
}

int64_t sim_org_add_user(sim_org *org, oks_err *err)
{
    if (org->n_users == org->cap_users) {
        uint32_t cap = org->cap_users * 2;
        sim_user *nu = realloc(org->users, (size_t)cap * sizeof *nu);
        if (!nu)
            return oks_err_set(err, OKS_E_NOMEM, "out of memory");
        org->users = nu;
        org->cap_users = cap;
    }
    if (id_map_grow(org, org->n_users + 1) != 0)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    uint32_t i = org->n_users;
    sim_user *u = &org->users[i];
    memset(u, 0, sizeof *u);
    u->manager = -1;
    u->custom = 1;
    sim_make_id(u->id, "00u", org->seed, i, 0);
    while (id_map_insert(org->id_map, org->id_map_cap, u->id, i, org->users))
        sim_make_id(u->id, "00u", org->seed, i, 1 + (uint8_t)u->id[7] % 50);
    org->n_users = i + 1;
    return i;
}

void sim_org_note_override(sim_org *org, uint32_t idx)
{
    for (uint32_t k = 0; k < org->n_overridden; k++)
        if (org->overridden[k] == idx)
            return;
    if (org->n_overridden == org->cap_overridden) {
        uint32_t cap = org->cap_overridden ? org->cap_overridden * 2 : 64;
        uint32_t *p = realloc(org->overridden, cap * sizeof *p);
        if (!p)
            return;
        org->overridden = p;
        org->cap_overridden = cap;
    }
    org->overridden[org->n_overridden++] = idx;
}
