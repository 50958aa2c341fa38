/* Admin changes → API reflects them → System Log → event hooks delivered like Okta; state dump. */
#include "simt.h"

#include "oks_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "Basic dGVzdDpzZWNyZXQ="

typedef struct hooked {
    simt s;
    simt_rx *rx;
} hooked;

static void start_hooked_window(hooked *h, const int *statuses, int n, int delay_ms,
                                const char *const *extra, const char *window)
{
    char url[128];
    const char *args[32] = {"--users",       "400",  "--seed",        "5",   "--hook-url", url,
                            "--hook-secret", SECRET, "--hook-window", window};
    int k = 10;
    h->rx = simt_rx_start(statuses, n, delay_ms);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/webhooks/okta", simt_rx_port(h->rx));
    for (int i = 0; extra && extra[i] && k < 30; i++)
        args[k++] = extra[i];
    args[k] = NULL;
    simt_start(&h->s, args);
}

static void start_hooked(hooked *h, const int *statuses, int n, int delay_ms,
                         const char *const *extra)
{
    start_hooked_window(h, statuses, n, delay_ms, extra, "200ms");
}

static void stop_hooked(hooked *h)
{
    simt_stop(&h->s);
    simt_rx_stop(h->rx);
}

/* First ACTIVE user assigned directly (scope USER). */
static void pick_user(const simt *s, const char *scope, char *id, size_t cap)
{
    simt_resp r;
    char path[256];
    size_t i;
    json_t *it;
    snprintf(path, sizeof path, "/api/v1/apps/%s/users?limit=500&expand=user", s->app_id);
    simt_api(&r, s, path);
    id[0] = '\0';
    json_array_foreach(r.json, i, it)
    {
        json_t *u = json_object_get(json_object_get(it, "_embedded"), "user");
        if (!strcmp(json_string_value(json_object_get(it, "scope")), scope) &&
            !strcmp(json_string_value(json_object_get(u, "status")), "ACTIVE")) {
            snprintf(id, cap, "%s", json_string_value(json_object_get(it, "id")));
            break;
        }
    }
    simt_resp_free(&r);
    OKS_ASSERT(id[0]);
}

static long admin(const simt *s, const char *method, const char *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static long admin(const simt *s, const char *method, const char *body, const char *fmt, ...)
{
    char path[512];
    simt_resp r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    long st = simt_admin(&r, s, method, path, body);
    simt_resp_free(&r);
    return st;
}

static json_t *rx_json(simt_rx *rx, int i)
{
    char *b = simt_rx_body(rx, i);
    json_t *j = b ? json_loads(b, 0, NULL) : NULL;
    free(b);
    OKS_ASSERT(j != NULL);
    return j;
}

static const char *target_id(json_t *ev, const char *type)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(ev, "target"), i, t)
    {
        if (!strcmp(json_string_value(json_object_get(t, "type")), type))
            return json_string_value(json_object_get(t, "id"));
    }
    return NULL;
}

static void flush(const simt *s)
{
    simt_resp r;
    OKS_ASSERT_EQ_INT(simt_admin(&r, s, "POST", "/__sim/hooks/flush", NULL), 200);
    simt_resp_free(&r);
}

static json_t *hook_stats(const simt *s)
{
    simt_resp r;
    OKS_ASSERT_EQ_INT(simt_admin(&r, s, "GET", "/__sim/hooks/stats", NULL), 200);
    json_t *j = json_incref(r.json);
    simt_resp_free(&r);
    return j;
}

static json_int_t stat(json_t *st, const char *k)
{
    return json_integer_value(json_object_get(st, k));
}

OKS_TEST(deactivate_shows_in_api_and_is_delivered_as_hook)
{
    hooked h;
    const int ok[] = {204};
    char uid[64], path[256];
    start_hooked(&h, ok, 1, 0, NULL);
    pick_user(&h.s, "USER", uid, sizeof uid);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/deactivate%s", uid, ""), 200);
    snprintf(path, sizeof path, "/api/v1/users/%s", uid);
    simt_resp r;
    simt_api(&r, &h.s, path);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "status")), "DEPROVISIONED");
    simt_resp_free(&r);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 1);
    char *auth = simt_rx_auth(h.rx, 0), *ct = simt_rx_ctype(h.rx, 0);
    OKS_ASSERT_EQ_STR(auth, SECRET);
    OKS_ASSERT_EQ_STR(ct, "application/json");
    free(auth);
    free(ct);
    json_t *body = rx_json(h.rx, 0);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(body, "eventType")), "com.okta.event_hook");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(body, "eventTypeVersion")), "1.0");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(body, "cloudEventsVersion")), "0.1");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(body, "contentType")), "application/json");
    OKS_ASSERT_CONTAINS(json_string_value(json_object_get(body, "source")), "/api/v1/eventHooks/");
    OKS_ASSERT(json_is_string(json_object_get(body, "eventId")));
    OKS_ASSERT(json_is_string(json_object_get(body, "eventTime")));
    json_t *events = json_object_get(json_object_get(body, "data"), "events");
    /* The deactivation, then the removal of its app assignment (default mode "remove"). */
    OKS_ASSERT_EQ_INT(json_array_size(events), 2);
    json_t *ev = json_array_get(events, 0);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(ev, "eventType")),
                      "user.lifecycle.deactivate");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(events, 1), "eventType")),
                      "application.user_membership.remove");
    OKS_ASSERT(json_is_string(json_object_get(ev, "uuid")));
    OKS_ASSERT(json_is_string(json_object_get(ev, "published")));
    OKS_ASSERT_EQ_STR(target_id(ev, "User"), uid);
    OKS_ASSERT(json_is_object(json_object_get(ev, "actor")));
    json_decref(body);
    json_t *st = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(st, "delivered"), 1);
    OKS_ASSERT_EQ_INT(stat(st, "retried"), 0);
    OKS_ASSERT_EQ_INT(stat(st, "last_status"), 204);
    json_decref(st);
    stop_hooked(&h);
}

OKS_TEST(events_within_window_are_batched_with_okta_targets)
{
    hooked h;
    const int ok[] = {200};
    char uid[64], gid[64];
    /* A long window so the three changes surely share one delivery on a loaded machine; the
     * flush below sends it at once. */
    start_hooked_window(&h, ok, 1, 0, NULL, "10s");
    pick_user(&h.s, "USER", uid, sizeof uid);
    simt_resp info;
    simt_admin(&info, &h.s, "GET", "/__sim/info", NULL);
    /* A group that is not assigned to the app: membership only. */
    snprintf(gid, sizeof gid, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(info.json, "groups"), 5), "id")));
    simt_resp_free(&info);
    OKS_ASSERT_EQ_INT(
        admin(&h.s, "POST", "{\"title\":\"VP\"}", "/__sim/users/%s/profile%s", uid, ""), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/groups/%s/members/%s", gid, uid), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/unassign%s", uid, ""), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 1);
    json_t *body = rx_json(h.rx, 0);
    json_t *events = json_object_get(json_object_get(body, "data"), "events");
    OKS_ASSERT_EQ_INT(json_array_size(events), 3);
    json_t *e0 = json_array_get(events, 0), *e1 = json_array_get(events, 1),
           *e2 = json_array_get(events, 2);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(e0, "eventType")),
                      "user.account.update_profile");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(e1, "eventType")),
                      "group.user_membership.add");
    OKS_ASSERT_EQ_STR(target_id(e1, "UserGroup"), gid);
    OKS_ASSERT_EQ_STR(target_id(e1, "User"), uid);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(e2, "eventType")),
                      "application.user_membership.remove");
    OKS_ASSERT_EQ_STR(target_id(e2, "AppInstance"), h.s.app_id);
    OKS_ASSERT_EQ_STR(target_id(e2, "User"), uid);
    OKS_ASSERT(target_id(e2, "AppUser") != NULL);
    json_decref(body);
    /* The API reflects the changes. */
    simt_resp r;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/apps/%s/users/%s", h.s.app_id, uid);
    simt_api(&r, &h.s, path);
    OKS_ASSERT_EQ_INT(r.status, 404);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "errorCode")), "E0000007");
    simt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/users/%s/groups", uid);
    simt_api(&r, &h.s, path);
    OKS_ASSERT_CONTAINS(r.body, gid);
    simt_resp_free(&r);
    stop_hooked(&h);
}

OKS_TEST(hook_retried_once_on_500)
{
    hooked h;
    const int st[] = {500, 200};
    char uid[64];
    start_hooked(&h, st, 2, 0, NULL);
    pick_user(&h.s, "USER", uid, sizeof uid);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend%s", uid, ""), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 2);
    char *a = simt_rx_body(h.rx, 0), *b = simt_rx_body(h.rx, 1);
    OKS_ASSERT_EQ_STR(a, b); /* the retry resends the same delivery */
    free(a);
    free(b);
    json_t *s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "retried"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "delivered"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "failed"), 0);
    json_decref(s);
    stop_hooked(&h);
}

OKS_TEST(hook_not_retried_on_400_and_at_most_once_on_5xx)
{
    hooked h;
    const int st[] = {400, 503};
    char uid[64];
    start_hooked(&h, st, 2, 0, NULL);
    pick_user(&h.s, "USER", uid, sizeof uid);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend%s", uid, ""), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 1); /* 400: no retry */
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/unsuspend%s", uid, ""), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 3); /* 503 twice: one retry, then given up */
    json_t *s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "failed"), 2);
    OKS_ASSERT_EQ_INT(stat(s, "retried"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "delivered"), 0);
    json_decref(s);
    stop_hooked(&h);
}

OKS_TEST(hook_timeout_is_retried_once)
{
    hooked h;
    const int st[] = {200};
    const char *const extra[] = {"--hook-timeout", "300ms", NULL};
    char uid[64];
    start_hooked(&h, st, 1, 700, extra);
    pick_user(&h.s, "USER", uid, sizeof uid);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend%s", uid, ""), 200);
    flush(&h.s);
    OKS_ASSERT(simt_rx_wait(h.rx, 2, 3000));
    json_t *s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "retried"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "failed"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "posts"), 2);
    json_decref(s);
    stop_hooked(&h);
}

OKS_TEST(duplicates_and_reordering_when_asked)
{
    hooked h;
    const int st[] = {200};
    const char *const extra[] = {"--hook-duplicate-permille", "1000", "--hook-reorder", NULL};
    char uid[64];
    start_hooked_window(&h, st, 1, 0, extra, "10s"); /* only the flush sends */
    pick_user(&h.s, "USER", uid, sizeof uid);
    /* One event per delivery, so the two changes make two deliveries. */
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"max_batch\":1}", "/__sim/hooks"), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend", uid), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/unsuspend%s", uid, ""), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 4); /* two deliveries, each sent twice */
    json_t *b0 = rx_json(h.rx, 0), *b1 = rx_json(h.rx, 1), *b2 = rx_json(h.rx, 2);
    json_t *e0 = json_array_get(json_object_get(json_object_get(b0, "data"), "events"), 0);
    json_t *e1 = json_array_get(json_object_get(json_object_get(b1, "data"), "events"), 0);
    json_t *e2 = json_array_get(json_object_get(json_object_get(b2, "data"), "events"), 0);
    /* Duplicate: same event uuid; reordering: the later event arrives first. */
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(e0, "uuid")),
                      json_string_value(json_object_get(e1, "uuid")));
    OKS_ASSERT(strcmp(json_string_value(json_object_get(b0, "eventId")),
                      json_string_value(json_object_get(b1, "eventId"))) != 0);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(e0, "eventType")),
                      "user.lifecycle.unsuspend");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(e2, "eventType")),
                      "user.lifecycle.suspend");
    json_decref(b0);
    json_decref(b1);
    json_decref(b2);
    stop_hooked(&h);
}

static json_t *state_user(json_t *state, const char *id)
{
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(state, "users"), i, u)
    {
        if (!strcmp(json_string_value(json_object_get(u, "id")), id))
            return u;
    }
    return NULL;
}

OKS_TEST(state_dump_follows_every_change)
{
    hooked h;
    const int st[] = {200};
    char direct[64], viagroup[64], app_group[64];
    start_hooked(&h, st, 1, 0, NULL);
    pick_user(&h.s, "USER", direct, sizeof direct);
    pick_user(&h.s, "GROUP", viagroup, sizeof viagroup);
    simt_resp r;
    simt_admin(&r, &h.s, "GET", "/__sim/info", NULL);
    snprintf(app_group, sizeof app_group, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(r.json, "groups"), 0), "id")));
    simt_resp_free(&r);
    /* Create a user, assign it through an app group, set a custom field. */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &h.s, "POST", "/__sim/users",
                                 "{\"profile\":{\"login\":\"new.hire@acme-learning.example\","
                                 "\"email\":\"new.hire@acme-learning.example\",\"firstName\":"
                                 "\"New\",\"lastName\":\"Hire\",\"department\":\"Sales\"}}"),
                      201);
    char newid[64];
    snprintf(newid, sizeof newid, "%s", json_string_value(json_object_get(r.json, "id")));
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/groups/%s/members/%s", app_group, newid),
                      200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"learningCohort\":\"2026-Q1\"}",
                            "/__sim/users/%s/profile%s", newid, ""),
                      200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "DELETE", NULL, "/__sim/users/%s%s", direct, ""), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/deactivate%s", viagroup, ""), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/deactivate%s", viagroup, ""), 409);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/assign%s", "00uNOPE", ""), 404);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{not json", "/__sim/users/%s/profile%s", newid, ""),
                      400);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &h.s, "GET", "/__sim/state", NULL), 200);
    json_t *u = state_user(r.json, newid);
    OKS_ASSERT(u != NULL);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u, "expected_status")), "active");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u, "scope")), "GROUP");
    OKS_ASSERT_EQ_STR(
        json_string_value(json_object_get(json_object_get(u, "profile"), "learningCohort")),
        "2026-Q1");
    OKS_ASSERT_EQ_STR(
        json_string_value(json_object_get(json_object_get(u, "profile"), "department")), "Sales");
    u = state_user(r.json, direct);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u, "expected_status")), "deleted");
    u = state_user(r.json, viagroup);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u, "expected_status")), "deactivated");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u, "okta_status")), "DEPROVISIONED");
    simt_resp_free(&r);
    /* Deleted: 404 in the API. */
    char path[128];
    snprintf(path, sizeof path, "/api/v1/users/%s", direct);
    simt_api(&r, &h.s, path);
    OKS_ASSERT_EQ_INT(r.status, 404);
    simt_resp_free(&r);
    /* Events: create, activate, group add, app add, profile, deactivate + app remove + delete,
     * deactivate + app remove (deactivation removes app assignments by default). */
    flush(&h.s);
    simt_api(&r, &h.s, "/api/v1/logs?limit=1000");
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 10);
    OKS_ASSERT_CONTAINS(r.body, "\"user.lifecycle.delete.initiated\"");
    OKS_ASSERT_CONTAINS(r.body, "\"application.user_membership.add\"");
    simt_resp_free(&r);
    json_t *s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "events_delivered"), 10);
    json_decref(s);
    stop_hooked(&h);
}

static const char *first_event_type(simt_rx *rx, int i)
{
    static char t[64];
    json_t *b = rx_json(rx, i);
    json_t *e = json_array_get(json_object_get(json_object_get(b, "data"), "events"), 0);
    snprintf(t, sizeof t, "%s", json_string_value(json_object_get(e, "eventType")));
    json_decref(b);
    return t;
}

OKS_TEST(dropped_deliveries_never_reach_the_receiver)
{
    hooked h;
    const int st[] = {200};
    char uid[64];
    start_hooked_window(&h, st, 1, 0, NULL, "10s"); /* only the flush sends */
    pick_user(&h.s, "USER", uid, sizeof uid);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"max_batch\":1,\"drop_next\":1}", "/__sim/hooks"),
                      200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend", uid), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/unsuspend", uid), 200);
    flush(&h.s);
    /* The first delivery was lost with its retry: the receiver saw only the second. */
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 1);
    OKS_ASSERT_EQ_STR(first_event_type(h.rx, 0), "user.lifecycle.unsuspend");
    json_t *s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "attempted"), 2);
    OKS_ASSERT_EQ_INT(stat(s, "dropped"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "events_dropped"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "delivered"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "posts"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "drop_next"), 0);
    json_decref(s);
    /* The System Log still has both: what a gap fill would find. */
    simt_resp r;
    simt_api(&r, &h.s, "/api/v1/logs");
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 2);
    simt_resp_free(&r);
    /* A share: 1000 per thousand loses everything. */
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"drop_permille\":1000}", "/__sim/hooks"), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend", uid), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/unsuspend", uid), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 1);
    s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "dropped"), 3);
    json_decref(s);
    /* And 0 loses nothing again. */
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"drop_permille\":0}", "/__sim/hooks"), 200);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend", uid), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 2);
    /* Bad values. */
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"drop_permille\":1001}", "/__sim/hooks"), 400);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"drop_next\":-1}", "/__sim/hooks"), 400);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"drop_permille\":\"all\"}", "/__sim/hooks"), 400);
    stop_hooked(&h);
}

OKS_TEST(drop_share_from_the_command_line)
{
    hooked h;
    const int st[] = {200};
    const char *const extra[] = {"--hook-drop-permille", "1000", NULL};
    char uid[64];
    start_hooked(&h, st, 1, 0, extra);
    pick_user(&h.s, "USER", uid, sizeof uid);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/suspend", uid), 200);
    flush(&h.s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 0);
    json_t *s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "drop_permille"), 1000);
    OKS_ASSERT_EQ_INT(stat(s, "dropped"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "attempted"), 1);
    json_decref(s);
    stop_hooked(&h);
}

OKS_TEST(delivery_counters_add_up_and_show_when_idle)
{
    hooked h;
    const int st[] = {200, 400, 200};
    char uid[64];
    start_hooked_window(&h, st, 3, 0, NULL, "10s");
    pick_user(&h.s, "USER", uid, sizeof uid);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"max_batch\":1,\"drop_next\":1}", "/__sim/hooks"),
                      200);
    const char *ops[] = {"suspend", "unsuspend", "suspend", "unsuspend"};
    for (int i = 0; i < 4; i++)
        OKS_ASSERT_EQ_INT(admin(&h.s, "POST", NULL, "/__sim/users/%s/%s", uid, ops[i]), 200);
    json_t *s = hook_stats(&h.s); /* waiting in the 10 s window */
    OKS_ASSERT(json_is_false(json_object_get(s, "idle")));
    OKS_ASSERT_EQ_INT(stat(s, "queued"), 4);
    OKS_ASSERT_EQ_INT(stat(s, "attempted"), 0);
    json_decref(s);
    flush(&h.s);
    /* dropped, 200, 400 (no retry), 200 */
    s = hook_stats(&h.s);
    OKS_ASSERT(json_is_true(json_object_get(s, "idle")));
    OKS_ASSERT_EQ_INT(stat(s, "attempted"), 4);
    OKS_ASSERT_EQ_INT(stat(s, "dropped"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "delivered"), 2);
    OKS_ASSERT_EQ_INT(stat(s, "failed"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "attempted"),
                      stat(s, "delivered") + stat(s, "failed") + stat(s, "dropped"));
    OKS_ASSERT_EQ_INT(stat(s, "events_attempted"), 4);
    OKS_ASSERT_EQ_INT(stat(s, "events_delivered"), 2);
    OKS_ASSERT_EQ_INT(stat(s, "events_failed"), 1);
    OKS_ASSERT_EQ_INT(stat(s, "events_dropped"), 1);
    json_decref(s);
    OKS_ASSERT_EQ_INT(simt_rx_count(h.rx), 3);
    OKS_ASSERT_EQ_INT(admin(&h.s, "POST", "{\"reset_stats\":true}", "/__sim/hooks"), 200);
    s = hook_stats(&h.s);
    OKS_ASSERT_EQ_INT(stat(s, "attempted") + stat(s, "dropped") + stat(s, "events_failed"), 0);
    json_decref(s);
    stop_hooked(&h);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
