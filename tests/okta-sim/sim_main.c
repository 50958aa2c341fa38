/*
 * oktasync-okta-sim: serves a generated Okta org over HTTP (the /api/v1 endpoints sync code
 * uses) plus an admin API under /__sim/. See docs/okta-simulator.md.
 */
#include "sim.h"

#include "core/oks_config.h"
#include "core/oks_log.h"
#include "core/oks_net.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_RL(name, field, def, doc) OKS_CFG_INT(name, sim_cfg, field, def, 0, 100000000, doc)

static const oks_cfg_entry entries[] = {
    OKS_CFG_STR("log-level", sim_cfg, log_level, "info", 0, "debug|info|warn|error"),
    OKS_CFG_STR("listen", sim_cfg, listen, "127.0.0.1:0", 0,
                "HOST:PORT for the Okta API and /__sim/ admin API (port 0 = pick a free port)"),
    OKS_CFG_STR("ready-file", sim_cfg, ready_file, "", 0,
                "written once listening: lines http=HOST:PORT and admin=HOST:PORT"),
    OKS_CFG_INT("users", sim_cfg, users, "1000", 0, 1000000, "number of generated users"),
    OKS_CFG_INT("seed", sim_cfg, seed, "1", 0, INT64_MAX, "seed of the generated org"),
    OKS_CFG_INT("groups", sim_cfg, groups, "12", 0, SIM_MAX_GROUPS,
                "number of groups; the first quarter are assigned to the app"),
    OKS_CFG_STR("token", sim_cfg, token, "sim-token", OKS_CFG_SECRET,
                "API token clients must send as 'Authorization: SSWS <token>'"),
    OKS_CFG_STR("domain", sim_cfg, domain, "acme-learning.example", 0,
                "email domain of generated users and org name in event-hook `source`"),
    OKS_CFG_STR("app-id", sim_cfg, app_id, "", 0, "app id (0oa...); empty = derived from seed"),
    OKS_CFG_STR("app-label", sim_cfg, app_label, "Acme Learning", 0, "app label"),
    OKS_CFG_STR("deactivate-apps", sim_cfg, deactivate_apps, "remove", 0,
                "what deactivation does to app assignments: remove (gone, also after "
                "reactivation), restore (gone, back on reactivation) or keep (listed INACTIVE)"),
    ENTRY_RL("rate-users-list", rl_users_list, "600", "per-window quota: GET /api/v1/users"),
    ENTRY_RL("rate-user-get", rl_user_get, "2000", "per-window quota: GET /api/v1/users/{id}"),
    ENTRY_RL("rate-apps", rl_apps, "100", "per-window quota: /api/v1/apps/{id}/users*"),
    ENTRY_RL("rate-app-get", rl_app_get, "500", "per-window quota: /api/v1/apps/{id}"),
    ENTRY_RL("rate-groups", rl_groups, "500",
             "per-window quota: /api/v1/groups and /api/v1/groups/{id}/users"),
    ENTRY_RL("rate-group-get", rl_group_get, "1000", "per-window quota: /api/v1/groups/{id}"),
    ENTRY_RL("rate-logs", rl_logs, "120", "per-window quota: /api/v1/logs"),
    ENTRY_RL("rate-other", rl_other, "1200", "per-window quota: other /api/v1 (users/{id}/groups)"),
    OKS_CFG_DURATION("rate-window", sim_cfg, rl_window_ms, "60s", 100, 3600000,
                     "length of a rate-limit window (Okta: one minute)"),
    OKS_CFG_INT("concurrency-limit", sim_cfg, concurrency, "75", 1, 100000,
                "API requests in flight at once before 429 with X-Rate-Limit-Limit: 0"),
    OKS_CFG_INT("max-connections", sim_cfg, max_connections, "1024", 4, 65536,
                "open connections (one thread each)"),
    OKS_CFG_INT("log-max-events", sim_cfg, log_max_events, "100000", 1, 10000000,
                "System Log events kept (oldest dropped)"),
    OKS_CFG_DURATION("fault-latency", sim_cfg, latency_ms, "0", 0, 600000,
                     "added latency on every API request"),
    OKS_CFG_DURATION("fault-jitter", sim_cfg, jitter_ms, "0", 0, 600000,
                     "random extra latency 0..jitter"),
    OKS_CFG_INT("fault-fail-next", sim_cfg, fail_next, "0", 0, 1000000,
                "fail the next N API requests with --fault-fail-status"),
    OKS_CFG_INT("fault-fail-status", sim_cfg, fail_status, "503", 500, 599,
                "status used by fault-fail-next"),
    OKS_CFG_INT("fault-error-permille", sim_cfg, error_permille, "0", 0, 1000,
                "random 500/503 on this many API requests per thousand"),
    OKS_CFG_INT("fault-hang-next", sim_cfg, hang_next, "0", 0, 1000000,
                "the next N API requests stall for --fault-hang before answering"),
    OKS_CFG_DURATION("fault-hang", sim_cfg, hang_ms, "30s", 0, 3600000,
                     "how long a hung request stalls"),
    OKS_CFG_INT("fault-truncate-next", sim_cfg, truncate_next, "0", 0, 1000000,
                "the next N successful API responses carry half their JSON body"),
    OKS_CFG_INT("fault-malformed-next", sim_cfg, malformed_next, "0", 0, 1000000,
                "the next N successful API responses carry invalid JSON"),
    OKS_CFG_INT("fault-429-next", sim_cfg, force_429_next, "0", 0, 1000000,
                "the next N API requests get 429 E0000047 regardless of quota"),
    OKS_CFG_BOOL("fault-bad-token", sim_cfg, bad_token, "false",
                 "answer every API request with 401 E0000011"),
    OKS_CFG_STR("hook-url", sim_cfg, hook_url, "", 0,
                "event hook endpoint (empty = events only go to /api/v1/logs)"),
    OKS_CFG_STR("hook-secret", sim_cfg, hook_secret, "", OKS_CFG_SECRET,
                "value of the Authorization header on deliveries"),
    OKS_CFG_STR("hook-id", sim_cfg, hook_id, "whoSIMhook0000000001", 0,
                "event hook id used in the envelope's `source`"),
    OKS_CFG_DURATION("hook-window", sim_cfg, hook_window_ms, "500ms", 0, 60000,
                     "events within this window after the first go out in one POST"),
    OKS_CFG_DURATION("hook-timeout", sim_cfg, hook_timeout_ms, "3s", 100, 60000,
                     "delivery timeout (Okta: 3 s)"),
    OKS_CFG_INT("hook-max-batch", sim_cfg, hook_max_batch, "100", 1, 10000,
                "most events in one delivery"),
    OKS_CFG_INT("hook-duplicate-permille", sim_cfg, hook_duplicate_permille, "0", 0, 1000,
                "deliveries sent twice (new eventId, same events) per thousand"),
    OKS_CFG_INT("hook-drop-permille", sim_cfg, hook_drop_permille, "0", 0, 1000,
                "deliveries lost per thousand: never sent, retry included (counted as dropped)"),
    OKS_CFG_BOOL("hook-reorder", sim_cfg, hook_reorder, "false",
                 "reverse events inside a delivery and send each delivery after the next one"),
    OKS_CFG_STR("org-profile", sim_cfg, org_profile, "default", 0,
                "org shape: default, rich (departments, shuffled managers listed after their "
                "reports, a manager chain, photoUrl) or demo (rich with 2000 users)"),
    OKS_CFG_INT("manager-cycle", sim_cfg, manager_cycle, "0", 0, 3,
                "close a manager cycle of this many users (0 = none, 2 or 3)"),
    OKS_CFG_STR("oidc-client-id", sim_cfg, oidc_client_id, "", 0,
                "client_id of the org's OIDC client (empty = the app id, as in Okta)"),
    OKS_CFG_STR("oidc-client-secret", sim_cfg, oidc_client_secret, "sim-client-secret",
                OKS_CFG_SECRET, "client secret the token endpoint accepts for that client"),
    OKS_CFG_STR("oidc-grant-types", sim_cfg, oidc_grant_types, "authorization_code", 0,
                "grant types the client may use (comma list of authorization_code, "
                "refresh_token, client_credentials, implicit, password)"),
    OKS_CFG_INT("oidc-invalid-client-status", sim_cfg, oidc_invalid_client_status, "401", 400, 401,
                "HTTP status of the token endpoint's invalid_client answers: 401 (Okta's, per its "
                "spec and observed) or 400 (RFC 6749 5.2 allows it without an Authorization "
                "header; a what-if for clients)"),
};
static const oks_cfg_program program = OKS_CFG_PROGRAM(
    "oktasync-okta-sim", "Okta org simulator for tests and benchmarks", NULL, entries);

static int init_server(sim_server *srv, sim_cfg *cfg, oks_err *err)
{
    srv->cfg = cfg;
    pthread_mutex_init(&srv->stats_mu, NULL);
    pthread_mutex_init(&srv->rl.mu, NULL);
    srv->per_endpoint = json_object();
    srv->rl.window_ms = cfg->rl_window_ms;
    int64_t limits[SIM_B__COUNT] = {cfg->rl_users_list, cfg->rl_user_get, cfg->rl_apps,
                                    cfg->rl_app_get,    cfg->rl_groups,   cfg->rl_group_get,
                                    cfg->rl_logs,       cfg->rl_other};
    for (int i = 0; i < SIM_B__COUNT; i++)
        srv->rl.b[i].limit = limits[i];
    sim_faults_init(&srv->faults, cfg);
    int64_t t0 = oks_now_mono_ms();
    int deact = sim_deact_apps_parse(cfg->deactivate_apps);
    if (sim_org_profile_parse(cfg->org_profile) == 2) /* demo: the quickstart's org size */
        cfg->users = 2000;
    srv->org = sim_org_new((uint32_t)cfg->users, (uint32_t)cfg->groups, (uint64_t)cfg->seed,
                           cfg->domain, cfg->app_id, cfg->app_label, deact, err);
    if (!srv->org || sim_org_shape(srv->org, cfg->org_profile, (int)cfg->manager_cycle, err) != 0)
        return -1;
    OKS_LOG_INFO("generated org: %lld users, %lld groups, app %s in %lld ms", (long long)cfg->users,
                 (long long)cfg->groups, srv->org->app_id, (long long)(oks_now_mono_ms() - t0));
    srv->oidc = sim_oidc_new(cfg, srv->org->app_id, err);
    if (!srv->oidc)
        return -1;
    srv->logs = sim_logs_new((size_t)cfg->log_max_events);
    srv->hooks = sim_hooks_new(cfg, cfg->domain);
    if (!srv->logs || !srv->hooks || !srv->per_endpoint)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    return 0;
}

static int write_ready(const sim_server *srv, oks_err *err)
{
    char host[128], content[400];
    const char *colon = strrchr(srv->cfg->listen, ':');
    size_t n = colon ? (size_t)(colon - srv->cfg->listen) : 0;
    snprintf(host, sizeof host, "%.*s", (int)n, srv->cfg->listen);
    if (!host[0] || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    snprintf(content, sizeof content, "http=%s:%d\nadmin=%s:%d\n", host, srv->port, host,
             srv->port);
    if (!srv->cfg->ready_file[0])
        return 0;
    return oks_write_file_atomic(srv->cfg->ready_file, content, err);
}

static void free_server(sim_server *srv)
{
    sim_http_stop(srv);
    sim_hooks_free(srv->hooks);
    sim_logs_free(srv->logs);
    sim_org_free(srv->org);
    sim_oidc_free(srv->oidc);
    json_decref(srv->per_endpoint);
}

int main(int argc, char **argv)
{
    sim_cfg cfg = {0};
    sim_server srv = {0};
    oks_err err = {0};
    oks_log_level level = OKS_LOG_INFO;
    int rc = 1;
    oks_cfg_result cr = oks_cfg_load(&program, &cfg, argc, argv, NULL, NULL, &err);
    if (cr == OKS_CFG_EXIT)
        return 0;
    if (cr == OKS_CFG_ERROR || !oks_log_level_parse(cfg.log_level, &level) ||
        sim_deact_apps_parse(cfg.deactivate_apps) < 0) {
        fprintf(stderr, "oktasync-okta-sim: %s\n",
                cr == OKS_CFG_ERROR ? err.msg
                : sim_deact_apps_parse(cfg.deactivate_apps) < 0
                    ? "invalid value for --deactivate-apps (remove, restore or keep)"
                    : "invalid value for --log-level");
        oks_cfg_free(&program, &cfg);
        return 2;
    }
    oks_log_init("okta-sim", level);
    oks_signal_install();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (init_server(&srv, &cfg, &err) != 0 || sim_http_start(&srv, &err) != 0 ||
        write_ready(&srv, &err) != 0) {
        OKS_LOG_ERROR("start-up failed: %s", err.msg);
        goto out;
    }
    OKS_LOG_INFO("okta-sim listening on port %d (app %s)", srv.port, srv.org->app_id);
    while (!oks_shutdown_requested())
        oks_sleep_ms(100);
    OKS_LOG_INFO("shutting down");
    rc = 0;
out:
    free_server(&srv);
    curl_global_cleanup();
    oks_cfg_free(&program, &cfg);
    return rc;
}
