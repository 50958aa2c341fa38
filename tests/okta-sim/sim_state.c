/*
 * GET /__sim/state: what the platform should hold once it has processed everything — every
 * user the app has ever seen, with its expected platform status and the synced fields — and
 * GET /__sim/stats: request counters.
 */
#include "sim.h"

#include "core/oks_time.h"

#include <stdio.h>
#include <string.h>

static const char *const synced[] = {
    "login",          "email",       "firstName",      "lastName",
    "title",          "department",  "locale",         "preferredLanguage",
    "city",           "countryCode", "managerId",      "profileUrl",
    "learningCohort", "costCenter",  "employeeNumber", "photoUrl",
};

/* deleted > deactivated (unassigned or DEPROVISIONED) > active. */
static const char *expected_status(const sim_org *org, const sim_user *u)
{
    if (u->deleted)
        return "deleted";
    if (!sim_user_assigned(org, u) || u->status == SIM_ST_DEPROVISIONED)
        return "deactivated";
    return "active";
}

static void render_one(const sim_org *org, uint32_t i, sim_buf *b)
{
    const sim_user *u = &org->users[i];
    bool assigned = sim_user_assigned(org, u);
    sim_buf_printf(b,
                   "{\"id\":\"%s\",\"expected_status\":\"%s\",\"okta_status\":\"%s\","
                   "\"assigned\":%s,\"scope\":",
                   u->id, expected_status(org, u), sim_status_name(u->status),
                   assigned ? "true" : "false");
    sim_buf_jstr(b, assigned ? sim_user_scope(org, u) : NULL);
    sim_buf_adds(b, ",\"lastUpdated\":");
    sim_buf_jtime(b, u->last_updated_ms);
    sim_buf_adds(b, ",\"profile\":{");
    for (size_t k = 0; k < sizeof synced / sizeof synced[0]; k++) {
        char buf[512];
        const char *v = sim_profile_get(org, i, synced[k], buf, sizeof buf);
        sim_buf_printf(b, "%s\"%s\":", k ? "," : "", synced[k]);
        sim_buf_jstr(b, v);
    }
    /* Group memberships (ids; Everyone left out: every user is in it). */
    sim_buf_adds(b, "},\"groups\":[");
    for (uint32_t g = 0, n = 0; g < org->n_groups; g++)
        if (sim_user_in_group(u, (int)g)) {
            sim_buf_printf(b, "%s\"%s\"", n++ ? "," : "", org->groups[g].id);
        }
    sim_buf_adds(b, "]}");
}

void sim_state_render(sim_server *srv, sim_buf *b)
{
    sim_org *org = srv->org;
    pthread_rwlock_rdlock(&org->lock);
    char now[32];
    oks_time_format_iso8601(oks_now_wall_ms(), now, sizeof now);
    sim_buf_printf(b, "{\"app_id\":\"%s\",\"generated_at\":\"%s\",\"users\":[", org->app_id, now);
    uint32_t n = 0, counts[3] = {0};
    for (uint32_t i = 0; i < org->n_users; i++) {
        const sim_user *u = &org->users[i];
        if (!u->ever_assigned)
            continue;
        if (n++)
            sim_buf_add(b, ",", 1);
        render_one(org, i, b);
        const char *st = expected_status(org, u);
        counts[st[0] == 'a' ? 0 : st[1] == 'e' && st[2] == 'l' ? 2 : 1]++;
    }
    sim_buf_printf(b,
                   "],\"counts\":{\"total\":%u,\"active\":%u,\"deactivated\":%u,\"deleted\":%u}}",
                   n, counts[0], counts[1], counts[2]);
    pthread_rwlock_unlock(&org->lock);
}

void sim_stats_count(sim_server *srv, const char *method, const char *route)
{
    char key[128];
    snprintf(key, sizeof key, "%s %s", method, route);
    pthread_mutex_lock(&srv->stats_mu);
    json_t *v = json_object_get(srv->per_endpoint, key);
    json_object_set_new(srv->per_endpoint, key, json_integer((v ? json_integer_value(v) : 0) + 1));
    pthread_mutex_unlock(&srv->stats_mu);
}

json_t *sim_stats_json(sim_server *srv)
{
    pthread_mutex_lock(&srv->stats_mu);
    json_t *per = json_deep_copy(srv->per_endpoint);
    pthread_mutex_unlock(&srv->stats_mu);
    unsigned long long n429 = atomic_load(&srv->n_429), c429 = atomic_load(&srv->n_concurrency_429);
    return json_pack("{s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:i,s:o}", "requests",
                     (json_int_t)atomic_load(&srv->n_requests), "per_endpoint", per, "served_429",
                     (json_int_t)(n429 + c429), "rate_limited_429", (json_int_t)n429,
                     "concurrency_429", (json_int_t)c429, "unauthorized_401",
                     (json_int_t)atomic_load(&srv->n_401), "injected_5xx",
                     (json_int_t)atomic_load(&srv->n_5xx_injected), "max_concurrency",
                     atomic_load(&srv->max_inflight), "buckets", sim_rl_stats(&srv->rl));
}
