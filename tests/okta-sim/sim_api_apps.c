/* GET /api/v1/apps/{appId}, /apps/{appId}/users (expand=user), /apps/{appId}/users/{userId}. */
#include "sim.h"

#include <stdio.h>
#include <string.h>

typedef struct app_ctx {
    bool expand;
} app_ctx;

static bool assigned(const sim_org *org, uint32_t idx, void *ctx)
{
    (void)ctx;
    return sim_user_assigned(org, &org->users[idx]);
}

static void app_item(const sim_org *org, uint32_t idx, const char *base, void *ctx, sim_buf *b)
{
    sim_render_app_user(org, idx, base, ((app_ctx *)ctx)->expand, b);
}

static bool want_expand(sim_req *r)
{
    const char *e = sim_req_arg(r, "expand");
    return e && strcmp(e, "user") == 0;
}

static void one_app_user(sim_req *r, sim_resp *resp, const char *uid)
{
    sim_org *org = r->srv->org;
    pthread_rwlock_rdlock(&org->lock);
    int64_t idx = sim_org_find_id(org, uid);
    if (idx < 0 || !sim_user_assigned(org, &org->users[idx])) {
        char msg[300];
        snprintf(msg, sizeof msg, "Not found: Resource not found: %.200s (AppUser)", uid);
        sim_resp_error(resp, 404, "E0000007", msg, r->request_id);
    } else {
        sim_render_app_user(org, (uint32_t)idx, r->base, want_expand(r), &resp->body);
    }
    pthread_rwlock_unlock(&org->lock);
}

/* rest: "{appId}", "{appId}/users" or "{appId}/users/{userId}". */
void sim_api_apps(sim_req *r, sim_resp *resp, const char *rest)
{
    sim_org *org = r->srv->org;
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n != strlen(org->app_id) || strncmp(rest, org->app_id, n) != 0) {
        sim_resp_error(resp, 404, "E0000007", "Not found: Resource not found (AppInstance)",
                       r->request_id);
        return;
    }
    if (!slash) {
        sim_render_app(org, r->base, &resp->body);
        return;
    }
    if (strncmp(slash, "/users/", 7) == 0 && slash[7] && !strchr(slash + 7, '/')) {
        one_app_user(r, resp, slash + 7);
        return;
    }
    if (strcmp(slash, "/users") != 0) {
        sim_resp_error(resp, 404, "E0000007", "Not found: Resource not found", r->request_id);
        return;
    }
    int64_t limit;
    if (!sim_parse_limit(r, resp, 50, 500, &limit))
        return;
    app_ctx ac = {want_expand(r)};
    sim_paginate(r, resp, limit, SIM_CUR_APP_USERS, assigned, app_item, &ac);
}
