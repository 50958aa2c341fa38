/* GET /api/v1/users, /api/v1/users/{id|login}, /api/v1/users/{id}/groups, /api/v1/groups. */
#include "sim.h"

#include "core/oks_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct user_item {
    const sim_org *org;
    uint32_t idx;
} user_item;

static const char *user_attr(void *p, const char *attr, int nth, char *buf, size_t cap)
{
    user_item *it = p;
    const sim_user *u = &it->org->users[it->idx];
    int64_t t = -2;
    if (nth > 0)
        return NULL;
    if (strcmp(attr, "status") == 0)
        return sim_status_name(u->status);
    if (strcmp(attr, "id") == 0)
        return u->id;
    if (strcmp(attr, "type.id") == 0)
        return "otydefault000000001";
    if (strncmp(attr, "profile.", 8) == 0)
        return sim_profile_get(it->org, it->idx, attr + 8, buf, cap);
    if (strcmp(attr, "lastUpdated") == 0)
        t = u->last_updated_ms;
    else if (strcmp(attr, "created") == 0)
        t = u->created_ms;
    else if (strcmp(attr, "statusChanged") == 0)
        t = u->status_changed_ms;
    else if (strcmp(attr, "activated") == 0)
        t = u->activated_ms;
    if (t < 0 || cap < 25)
        return NULL;
    oks_time_format_iso8601(t, buf, cap);
    return buf;
}

typedef struct list_ctx {
    sim_expr *expr; /* NULL: no query, DEPROVISIONED users are left out */
} list_ctx;

static bool list_match(const sim_org *org, uint32_t idx, void *ctx)
{
    list_ctx *lc = ctx;
    if (!lc->expr)
        return org->users[idx].status != SIM_ST_DEPROVISIONED;
    user_item it = {org, idx};
    return sim_expr_eval(lc->expr, user_attr, &it);
}

static void list_item(const sim_org *org, uint32_t idx, const char *base, void *ctx, sim_buf *b)
{
    (void)ctx;
    sim_render_user(org, idx, base, false, b);
}

/* filter: Okta's seven attributes, eq only (lastUpdated also ranges), values case-sensitive.
 * search: any attribute, eq/sw/gt/ge/lt/le/pr, co only on four profile attributes, values
 * case-insensitive (spec listUsers). */
static const char *const filter_attrs[] = {
    "status",           "lastUpdated", "id", "profile.login", "profile.email", "profile.firstName",
    "profile.lastName", NULL};
static const char *const filter_ranged[] = {"lastUpdated", NULL};
static const char *const search_contains[] = {"profile.firstName", "profile.lastName",
                                              "profile.email", "profile.login", NULL};
static const sim_expr_rules filter_rules = {
    .attrs = filter_attrs, .ops = SIM_OP_EQ | SIM_OP_RANGE, .ranged = filter_ranged, .exact = true};
static const sim_expr_rules search_rules = {.ops = SIM_OP_EQ | SIM_OP_RANGE | SIM_OP_SW |
                                                   SIM_OP_CO | SIM_OP_PR,
                                            .contains = search_contains};

static void list_users(sim_req *r, sim_resp *resp)
{
    int64_t limit;
    oks_err err = {0};
    list_ctx lc = {0};
    if (!sim_parse_limit(r, resp, 200, 200, &limit))
        return;
    const char *search = sim_req_arg(r, "search"), *filter = sim_req_arg(r, "filter");
    if (search)
        lc.expr = sim_expr_parse(search, &search_rules, &err);
    else if (filter)
        lc.expr = sim_expr_parse(filter, &filter_rules, &err);
    if ((search || filter) && !lc.expr) {
        sim_resp_error(resp, 400, "E0000031", "Invalid search criteria.", r->request_id);
        return;
    }
    const char **ids;
    size_t n_ids;
    /* The worker's batch read (`id eq "a" or id eq "b" …`): look the ids up, same pages. */
    if (filter && !search && sim_expr_eq_list(lc.expr, "id", &ids, &n_ids)) {
        sim_paginate_ids(r, resp, limit, SIM_CUR_USERS, ids, n_ids, list_item, NULL);
        free(ids);
    } else {
        sim_paginate(r, resp, limit, SIM_CUR_USERS, list_match, list_item, &lc);
    }
    sim_expr_free(lc.expr);
}

/* Every group the user belongs to, Everyone first (no pagination: spec listUserGroups). */
static void user_groups(sim_req *r, sim_resp *resp, uint32_t idx)
{
    sim_org *org = r->srv->org;
    const sim_user *u = &org->users[idx];
    sim_buf_add(&resp->body, "[", 1);
    sim_render_group(org, SIM_G_EVERYONE, r->base, &resp->body);
    for (uint32_t g = 0; g < org->n_groups; g++) {
        if (!sim_user_in_group(u, (int)g))
            continue;
        sim_buf_add(&resp->body, ",", 1);
        sim_render_group(org, (int)g, r->base, &resp->body);
    }
    sim_buf_add(&resp->body, "]", 1);
}

/* rest: "" (list), "/{id}" or "/{id}/groups". */
void sim_api_users(sim_req *r, sim_resp *resp, const char *rest)
{
    if (!*rest) {
        list_users(r, resp);
        return;
    }
    char key[512];
    const char *slash = strchr(rest + 1, '/');
    size_t klen = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
    sim_org *org = r->srv->org;
    if (klen == 0 || klen >= sizeof key || (slash && strcmp(slash, "/groups") != 0)) {
        sim_resp_error(resp, 404, "E0000007", "Not found: Resource not found", r->request_id);
        return;
    }
    memcpy(key, rest + 1, klen);
    key[klen] = '\0';
    pthread_rwlock_rdlock(&org->lock);
    int64_t idx = sim_org_find_user(org, key);
    if (idx < 0 || org->users[idx].deleted) {
        char msg[600];
        snprintf(msg, sizeof msg, "Not found: Resource not found: %s (User)", key);
        sim_resp_error(resp, 404, "E0000007", msg, r->request_id);
    } else if (slash) {
        user_groups(r, resp, (uint32_t)idx);
    } else {
        sim_render_user(org, (uint32_t)idx, r->base, true, &resp->body);
        sim_user_etag(org, (uint32_t)idx, resp->etag, sizeof resp->etag);
    }
    pthread_rwlock_unlock(&org->lock);
}

typedef struct member_ctx {
    int group;
} member_ctx;

static bool member_match(const sim_org *org, uint32_t idx, void *ctx)
{
    return sim_user_in_group(&org->users[idx], ((member_ctx *)ctx)->group);
}

/* Position p in the group listing: 0 is Everyone (Okta's oldest group), then groups in order. */
static int group_at(uint32_t p)
{
    return p == 0 ? SIM_G_EVERYONE : (int)p - 1;
}

/* GET /groups: `limit` (default and max 10000, spec listGroups) and an opaque `after`. */
static void list_groups(sim_req *r, sim_resp *resp)
{
    sim_org *org = r->srv->org;
    const char *after = sim_req_arg(r, "after");
    int64_t limit;
    uint32_t start = 0, total;
    if (!sim_parse_limit(r, resp, 10000, 10000, &limit))
        return;
    pthread_rwlock_rdlock(&org->lock);
    total = org->n_groups + 1;
    if (after) {
        uint32_t pos;
        if (!sim_cursor_decode(org, SIM_CUR_GROUPS, after, &pos) || pos >= total) {
            sim_resp_error(resp, 400, "E0000054", "Invalid paging request.", r->request_id);
            pthread_rwlock_unlock(&org->lock);
            return;
        }
        start = pos + 1;
    }
    uint32_t end = start + (uint32_t)(limit < (int64_t)total ? limit : total);
    if (end > total)
        end = total;
    sim_buf_add(&resp->body, "[", 1);
    for (uint32_t p = start; p < end; p++) {
        if (p > start)
            sim_buf_add(&resp->body, ",", 1);
        sim_render_group(org, group_at(p), r->base, &resp->body);
    }
    sim_buf_add(&resp->body, "]", 1);
    resp->link_self = sim_link(r, after);
    if (end < total && end > start) {
        char cur[SIM_CURSOR_LEN];
        sim_cursor_encode(org, SIM_CUR_GROUPS, end - 1, cur);
        resp->link_next = sim_link(r, cur);
    }
    pthread_rwlock_unlock(&org->lock);
}

/* rest: "" (list groups) or "{groupId}/users" or "{groupId}". */
void sim_api_groups(sim_req *r, sim_resp *resp, const char *rest)
{
    char gid[64];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    int64_t limit;
    if (!*rest) {
        list_groups(r, resp);
        return;
    }
    sim_org *org = r->srv->org;
    snprintf(gid, sizeof gid, "%.*s", (int)(n < sizeof gid ? n : sizeof gid - 1), rest);
    pthread_rwlock_rdlock(&org->lock);
    int g = sim_org_find_group(org, gid);
    if (g >= 0 && !slash)
        sim_render_group(org, g, r->base, &resp->body);
    pthread_rwlock_unlock(&org->lock);
    if (g < 0 || (slash && strcmp(slash, "/users") != 0)) {
        sim_resp_error(resp, 404, "E0000007", "Not found: Resource not found", r->request_id);
        return;
    }
    if (!slash)
        return;
    if (!sim_parse_limit(r, resp, 1000, 10000, &limit))
        return;
    member_ctx mc = {g};
    sim_paginate(r, resp, limit, SIM_CUR_GROUP_MEMBERS + g, member_match, list_item, &mc);
}
