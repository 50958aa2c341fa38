/*
 * Admin API under /__sim/ (no SSWS auth): change the org, set faults, read stats, dump the
 * expected end state, configure and flush event-hook delivery. JSON in, JSON out.
 */
#include "sim_admin.h"

#include "core/oks_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reply_json(sim_resp *resp, unsigned status, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    resp->status = status;
    resp->body.len = 0;
    sim_buf_adds(&resp->body, s ? s : "{}");
    free(s);
    json_decref(obj);
}

static void reply_err(sim_req *r, sim_resp *resp, const oks_err *err)
{
    unsigned st = err->code == OKS_E_NOTFOUND   ? 404
                  : err->code == OKS_E_CONFLICT ? 409
                  : err->code == OKS_E_NOMEM    ? 500
                                                : 400;
    const char *code = st == 404 ? "E0000007" : st == 409 ? "E0000038" : "E0000001";
    sim_resp_error(resp, st, code, err->msg, r->request_id);
}

static json_t *parse_body(sim_req *r, sim_resp *resp, bool required)
{
    json_error_t je;
    if (!r->body_len && !required)
        return json_object();
    json_t *j = r->body_len ? json_loadb(r->body, r->body_len, 0, &je) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        sim_resp_error(resp, 400, "E0000003", "The request body was not well-formed.",
                       r->request_id);
        return NULL;
    }
    return j;
}

static bool is(const sim_req *r, const char *method)
{
    return strcmp(r->method, method) == 0;
}

static void render_user_reply(sim_req *r, sim_resp *resp, uint32_t idx)
{
    resp->body.len = 0;
    sim_render_user(r->srv->org, idx, r->base, true, &resp->body);
}

/* users/{id}[/op] */
static void admin_user(sim_req *r, sim_resp *resp, const char *rest)
{
    sim_server *srv = r->srv;
    char key[256];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *op = slash ? slash + 1 : "";
    oks_err err = {0};
    json_t *body = NULL;
    if (n == 0 || n >= sizeof key) {
        sim_resp_error(resp, 404, "E0000007", "Not found", r->request_id);
        return;
    }
    memcpy(key, rest, n);
    key[n] = '\0';
    if (strcmp(op, "profile") == 0 && !(body = parse_body(r, resp, true)))
        return;
    pthread_rwlock_wrlock(&srv->org->lock);
    int64_t idx = sim_org_find_user(srv->org, key);
    int rc = -1;
    if (idx < 0 || srv->org->users[idx].deleted)
        oks_err_set(&err, OKS_E_NOTFOUND, "Not found: Resource not found: %s (User)", key);
    else if (!*op && is(r, "DELETE"))
        rc = sim_op_delete(srv, (uint32_t)idx, r->path, &err);
    else if (!*op && is(r, "GET"))
        rc = 0;
    else if (strncmp(op, "profile/", 8) == 0 && is(r, "DELETE"))
        rc = sim_op_unset_profile(srv, (uint32_t)idx, op + 8, r->path, &err);
    else if (!is(r, "POST"))
        oks_err_set(&err, OKS_E_NOTFOUND, "no such admin operation");
    else if (strcmp(op, "profile") == 0)
        rc = sim_op_update_profile(srv, (uint32_t)idx, body, r->path, &err);
    else if (strcmp(op, "assign") == 0 || strcmp(op, "unassign") == 0)
        rc = sim_op_assign(srv, (uint32_t)idx, op[0] == 'a', r->path, &err);
    else
        rc = sim_op_lifecycle(srv, (uint32_t)idx, op, r->path, &err);
    if (rc == 0 && srv->org->users[idx].deleted)
        reply_json(resp, 200, json_pack("{s:s,s:b}", "id", srv->org->users[idx].id, "deleted", 1));
    else if (rc == 0)
        render_user_reply(r, resp, (uint32_t)idx);
    else
        reply_err(r, resp, &err);
    pthread_rwlock_unlock(&srv->org->lock);
    json_decref(body);
}

/* POST profiles {"changes":[{"id":"00u…","profile":{…}}, …]}: many profile changes in one
 * request, each as POST users/{id}/profile would make it (its System Log event included), in
 * the order given, under one write lock — a load generator's thousands of changes a second
 * without a request each. Every entry is checked (shape, user) before anything changes; a login
 * conflict found while applying stops there, with the changes before it made (the error says
 * which). Answers {"users":[{"id","lastUpdated"}, …]} in request order. */
#define PROFILES_MAX 1000

static int64_t profiles_user(const sim_org *org, json_t *change, size_t i, oks_err *err)
{
    json_t *id = json_object_get(change, "id"), *p = json_object_get(change, "profile");
    if (!json_is_string(id) || !json_is_object(p) || json_object_size(p) == 0) {
        oks_err_set(err, OKS_E_INVALID,
                    "changes[%zu] must be {\"id\": string, \"profile\": non-empty object}", i);
        return -1;
    }
    int64_t idx = sim_org_find_user(org, json_string_value(id));
    if (idx < 0 || org->users[idx].deleted)
        oks_err_set(err, OKS_E_NOTFOUND, "Not found: Resource not found: %s (User), changes[%zu]",
                    json_string_value(id), i);
    return idx;
}

static void admin_profiles(sim_req *r, sim_resp *resp)
{
    oks_err err = {0};
    json_t *body = parse_body(r, resp, true);
    if (!body)
        return;
    json_t *changes = json_object_get(body, "changes"), *out = json_array(), *c;
    size_t n = json_array_size(changes), i;
    if (!json_is_array(changes) || n == 0 || n > PROFILES_MAX) {
        oks_err_set(&err, OKS_E_INVALID, "changes must be an array of 1 to %d entries",
                    PROFILES_MAX);
        reply_err(r, resp, &err);
        json_decref(out);
        json_decref(body);
        return;
    }
    sim_org *org = r->srv->org;
    pthread_rwlock_wrlock(&org->lock);
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++)
        if (profiles_user(org, json_array_get(changes, i), i, &err) < 0)
            rc = -1;
    for (i = 0; i < n && rc == 0; i++) {
        c = json_array_get(changes, i);
        uint32_t idx = (uint32_t)profiles_user(org, c, i, &err);
        rc = sim_op_update_profile(r->srv, idx, json_object_get(c, "profile"), r->path, &err);
        if (rc != 0) {
            char why[sizeof err.msg];
            snprintf(why, sizeof why, "%s", err.msg);
            oks_err_set(&err, err.code, "changes[%zu]: %s (changes before it were made)", i, why);
            break;
        }
        char when[SIM_ISO8601_CAP];
        sim_iso8601(org->users[idx].last_updated_ms, when);
        json_array_append_new(
            out, json_pack("{s:s,s:s}", "id", org->users[idx].id, "lastUpdated", when));
    }
    pthread_rwlock_unlock(&org->lock);
    if (rc == 0)
        reply_json(resp, 200, json_pack("{s:o}", "users", out));
    else {
        reply_err(r, resp, &err);
        json_decref(out);
    }
    json_decref(body);
}

static void admin_create(sim_req *r, sim_resp *resp)
{
    oks_err err = {0};
    json_t *body = parse_body(r, resp, true);
    if (!body)
        return;
    pthread_rwlock_wrlock(&r->srv->org->lock);
    int64_t idx = sim_op_create(r->srv, body, r->path, &err);
    if (idx < 0)
        reply_err(r, resp, &err);
    else
        render_user_reply(r, resp, (uint32_t)idx);
    if (idx >= 0)
        resp->status = 201;
    pthread_rwlock_unlock(&r->srv->org->lock);
    json_decref(body);
}

/* groups/{gid}/members/{uid} (POST add, DELETE remove) */
static void admin_group(sim_req *r, sim_resp *resp, const char *rest)
{
    char gid[64], uid[256];
    oks_err err = {0};
    if (sscanf(rest, "%63[^/]/members/%255[^/]", gid, uid) != 2 ||
        !(is(r, "POST") || is(r, "DELETE"))) {
        sim_resp_error(resp, 404, "E0000007", "Not found", r->request_id);
        return;
    }
    sim_org *org = r->srv->org;
    pthread_rwlock_wrlock(&org->lock);
    int g = sim_org_find_group(org, gid);
    int64_t idx = sim_org_find_user(org, uid);
    int rc = -1;
    if (g < 0 || idx < 0 || org->users[idx].deleted)
        oks_err_set(&err, OKS_E_NOTFOUND, "Not found: group or user");
    else
        rc = sim_op_membership(r->srv, (uint32_t)idx, g, is(r, "POST"), r->path, &err);
    if (rc == 0)
        reply_json(resp, 200,
                   json_pack("{s:s,s:s,s:b}", "group", gid, "user", org->users[idx].id, "member",
                             is(r, "POST")));
    else
        reply_err(r, resp, &err);
    pthread_rwlock_unlock(&org->lock);
}

static const char *group_type_name(int t)
{
    return t == SIM_GT_APP ? "APP_GROUP" : t == SIM_GT_BUILT_IN ? "BUILT_IN" : "OKTA_GROUP";
}

static void admin_info(sim_req *r, sim_resp *resp)
{
    sim_org *org = r->srv->org;
    json_t *groups = json_array();
    pthread_rwlock_rdlock(&org->lock);
    for (uint32_t g = 0; g < org->n_groups; g++)
        json_array_append_new(groups, json_pack("{s:s,s:s,s:b,s:s}", "id", org->groups[g].id,
                                                "name", org->groups[g].name, "app_assigned",
                                                org->groups[g].app_assigned, "type",
                                                group_type_name(org->groups[g].type)));
    json_t *chain = json_array(), *cycle = json_array();
    for (uint32_t k = 0; k < org->n_chain; k++)
        json_array_append_new(chain, json_string(org->users[org->chain[k]].id));
    for (uint32_t k = 0; k < org->n_cycle; k++)
        json_array_append_new(cycle, json_string(org->users[org->cycle[k]].id));
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:I,s:o,s:s,s:s,s:s,s:o,s:o}", "base_url", r->base, "app_id",
                  org->app_id, "domain", org->domain, "users", (json_int_t)org->n_users, "groups",
                  groups, "everyone_group_id", org->everyone.id, "deactivate_apps",
                  sim_deact_apps_name(org->deact_apps), "org_profile", r->srv->cfg->org_profile,
                  "manager_chain", chain, "manager_cycle", cycle);
    pthread_rwlock_unlock(&org->lock);
    reply_json(resp, 200, o);
}

static void admin_faults(sim_req *r, sim_resp *resp)
{
    oks_err err = {0};
    if (is(r, "POST")) {
        json_t *body = parse_body(r, resp, true);
        if (!body)
            return;
        int rc = sim_faults_set(&r->srv->faults, body, &err);
        json_decref(body);
        if (rc != 0) {
            reply_err(r, resp, &err);
            return;
        }
    }
    reply_json(resp, 200, sim_faults_json(&r->srv->faults));
}

static void admin_hooks(sim_req *r, sim_resp *resp, const char *rest)
{
    oks_err err = {0};
    sim_hooks *h = r->srv->hooks;
    if (strcmp(rest, "flush") == 0 && is(r, "POST")) {
        const char *t = sim_req_arg(r, "timeout_ms");
        bool done = sim_hooks_flush(h, t ? atoll(t) : 15000);
        json_t *st = sim_hooks_stats(h);
        json_object_set_new(st, "flushed", json_boolean(done));
        reply_json(resp, done ? 200 : 504, st);
        return;
    }
    if (strcmp(rest, "stats") == 0 || (!*rest && is(r, "GET"))) {
        reply_json(resp, 200, sim_hooks_stats(h));
        return;
    }
    if (!*rest && is(r, "POST")) {
        json_t *body = parse_body(r, resp, true);
        if (!body)
            return;
        int rc = sim_hooks_configure(h, body, &err);
        json_decref(body);
        if (rc != 0)
            reply_err(r, resp, &err);
        else
            reply_json(resp, 200, sim_hooks_stats(h));
        return;
    }
    sim_resp_error(resp, 404, "E0000007", "Not found", r->request_id);
}

/* GET/POST settings: {"deactivate_apps":"remove|restore|keep"}. A new mode applies to
 * deactivations and reactivations from now on; users already deactivated keep their state. */
static void admin_settings(sim_req *r, sim_resp *resp)
{
    sim_org *org = r->srv->org;
    if (is(r, "POST")) {
        json_t *body = parse_body(r, resp, true);
        if (!body)
            return;
        const char *key;
        json_t *val;
        json_object_foreach(body, key, val)
        {
            if (strcmp(key, "deactivate_apps") != 0) {
                sim_resp_error(resp, 400, "E0000001", "unknown setting", r->request_id);
                json_decref(body);
                return;
            }
        }
        json_t *mode = json_object_get(body, "deactivate_apps");
        int m = mode ? sim_deact_apps_parse(json_string_value(mode)) : -2;
        json_decref(body);
        if (m == -1) {
            sim_resp_error(resp, 400, "E0000001",
                           "deactivate_apps must be \"remove\", \"restore\" or \"keep\"",
                           r->request_id);
            return;
        }
        pthread_rwlock_wrlock(&org->lock);
        if (m >= 0)
            org->deact_apps = m;
        pthread_rwlock_unlock(&org->lock);
    } else if (!is(r, "GET")) {
        sim_resp_error(resp, 404, "E0000007", "Not found", r->request_id);
        return;
    }
    pthread_rwlock_rdlock(&org->lock);
    json_t *o = json_pack("{s:s}", "deactivate_apps", sim_deact_apps_name(org->deact_apps));
    pthread_rwlock_unlock(&org->lock);
    reply_json(resp, 200, o);
}

/* GET/POST oidc: the org's OIDC client (client_id, client_secret, grant_types), the status of
 * the token endpoint's invalid_client answers (invalid_client_status 401 or 400) and token
 * endpoint counters. */
static void admin_oidc(sim_req *r, sim_resp *resp)
{
    oks_err err = {0};
    if (is(r, "POST")) {
        json_t *body = parse_body(r, resp, true);
        if (!body)
            return;
        int rc = sim_oidc_configure(r->srv->oidc, body, &err);
        json_decref(body);
        if (rc != 0) {
            reply_err(r, resp, &err);
            return;
        }
    } else if (!is(r, "GET")) {
        sim_resp_error(resp, 404, "E0000007", "Not found", r->request_id);
        return;
    }
    reply_json(resp, 200, sim_oidc_json(r->srv->oidc));
}

static void admin_reset(sim_req *r, sim_resp *resp)
{
    sim_server *srv = r->srv;
    sim_rl_reset(&srv->rl);
    atomic_store(&srv->n_requests, 0);
    atomic_store(&srv->n_429, 0);
    atomic_store(&srv->n_concurrency_429, 0);
    atomic_store(&srv->n_401, 0);
    atomic_store(&srv->n_5xx_injected, 0);
    atomic_store(&srv->max_inflight, 0);
    pthread_mutex_lock(&srv->stats_mu);
    json_object_clear(srv->per_endpoint);
    pthread_mutex_unlock(&srv->stats_mu);
    reply_json(resp, 200, json_pack("{s:b}", "reset", 1));
}

void sim_admin(sim_req *r, sim_resp *resp, const char *rest)
{
    if (strncmp(rest, "users/", 6) == 0) {
        admin_user(r, resp, rest + 6);
    } else if (strcmp(rest, "users") == 0 && is(r, "POST")) {
        admin_create(r, resp);
    } else if (strcmp(rest, "profiles") == 0 && is(r, "POST")) {
        admin_profiles(r, resp);
    } else if (strncmp(rest, "groups/", 7) == 0) {
        admin_group(r, resp, rest + 7);
    } else if (strcmp(rest, "faults") == 0) {
        admin_faults(r, resp);
    } else if (strcmp(rest, "hooks") == 0) {
        admin_hooks(r, resp, "");
    } else if (strncmp(rest, "hooks/", 6) == 0) {
        admin_hooks(r, resp, rest + 6);
    } else if (strcmp(rest, "settings") == 0) {
        admin_settings(r, resp);
    } else if (strcmp(rest, "oidc") == 0) {
        admin_oidc(r, resp);
    } else if (strcmp(rest, "reset") == 0 && is(r, "POST")) {
        admin_reset(r, resp);
    } else if (strcmp(rest, "stats") == 0) {
        reply_json(resp, 200, sim_stats_json(r->srv));
    } else if (strcmp(rest, "state") == 0) {
        sim_state_render(r->srv, &resp->body);
    } else if (strcmp(rest, "info") == 0) {
        admin_info(r, resp);
    } else {
        sim_resp_error(resp, 404, "E0000007", "Not found: no such admin endpoint", r->request_id);
    }
}
