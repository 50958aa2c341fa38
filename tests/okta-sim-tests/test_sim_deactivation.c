/* What deactivating a user does to its app assignment, in each of the simulator's modes
 * (--deactivate-apps / POST /__sim/settings): remove (default), restore, keep. */
#include "simt.h"

#include "oks_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long call(const simt *s, const char *method, const char *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static long call(const simt *s, const char *method, const char *body, const char *fmt, ...)
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

/* First ACTIVE app user with this scope. */
static void pick(const simt *s, const char *scope, char *id, size_t cap)
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

/* GET /apps/{app}/users/{id}: status code; AppUser status/scope copied when 200. */
static long app_user(const simt *s, const char *id, char *status, char *scope)
{
    simt_resp r;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/apps/%s/users/%s", s->app_id, id);
    simt_api(&r, s, path);
    long st = r.status;
    if (st == 404)
        OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "errorCode")), "E0000007");
    if (st == 200) {
        snprintf(status, 32, "%s", json_string_value(json_object_get(r.json, "status")));
        snprintf(scope, 32, "%s", json_string_value(json_object_get(r.json, "scope")));
    }
    simt_resp_free(&r);
    return st;
}

/* Whether id is in the app's listing; also counts listed users whose Okta status is st. */
static bool listed(const simt *s, const char *id, const char *st, int *with_status)
{
    char url[4096], self[4096], next[4096];
    bool found = false;
    *with_status = 0;
    snprintf(url, sizeof url, "%s/api/v1/apps/%s/users?limit=500&expand=user", s->base, s->app_id);
    while (url[0]) {
        simt_resp r;
        size_t i;
        json_t *it;
        simt_request(&r, "GET", url, "SSWS " SIMT_TOKEN, NULL, 10000);
        OKS_ASSERT_EQ_INT(r.status, 200);
        json_array_foreach(r.json, i, it)
        {
            json_t *u = json_object_get(json_object_get(it, "_embedded"), "user");
            found = found || !strcmp(json_string_value(json_object_get(it, "id")), id);
            *with_status += !strcmp(json_string_value(json_object_get(u, "status")), st);
        }
        simt_links(&r, self, next, sizeof next);
        snprintf(url, sizeof url, "%s", next);
        simt_resp_free(&r);
    }
    return found;
}

/* eventTypes of the System Log events naming this user, in order, joined by ','. */
static void events_of(const simt *s, const char *id, char *out, size_t cap)
{
    simt_resp r;
    char path[256];
    size_t i;
    json_t *ev;
    snprintf(path, sizeof path, "/api/v1/logs?limit=1000&filter=target.id%%20eq%%20%%22%s%%22", id);
    simt_api(&r, s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    out[0] = '\0';
    json_array_foreach(r.json, i, ev)
    {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? "," : "",
                 json_string_value(json_object_get(ev, "eventType")));
    }
    simt_resp_free(&r);
}

static const char *state_of(json_t *state, const char *id, const char *field)
{
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(state, "users"), i, u)
    {
        if (!strcmp(json_string_value(json_object_get(u, "id")), id))
            return json_string_value(json_object_get(u, field));
    }
    return NULL;
}

OKS_TEST(default_remove_unassigns_on_deactivation_and_not_back_on_reactivation)
{
    simt s;
    simt_resp r;
    char direct[64], viagroup[64], st[32], scope[32], evs[2048];
    const char *const args[] = {"--users", "400", "--seed", "3", NULL};
    simt_start(&s, args);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/settings", NULL), 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "deactivate_apps")), "remove");
    simt_resp_free(&r);
    int deprov;
    /* Users generated as DEPROVISIONED are not assigned either. */
    pick(&s, "USER", direct, sizeof direct);
    pick(&s, "GROUP", viagroup, sizeof viagroup);
    OKS_ASSERT(listed(&s, direct, "DEPROVISIONED", &deprov));
    OKS_ASSERT_EQ_INT(deprov, 0);
    const char *ids[] = {direct, viagroup};
    for (int k = 0; k < 2; k++) {
        OKS_ASSERT_EQ_INT(app_user(&s, ids[k], st, scope), 200);
        OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/deactivate", ids[k]), 200);
        OKS_ASSERT_EQ_INT(app_user(&s, ids[k], st, scope), 404);
        OKS_ASSERT(!listed(&s, ids[k], "DEPROVISIONED", &deprov));
        OKS_ASSERT_EQ_INT(deprov, 0);
        OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/activate", ids[k]), 200);
        OKS_ASSERT_EQ_INT(app_user(&s, ids[k], st, scope), 404); /* must be re-added */
        OKS_ASSERT(!listed(&s, ids[k], "X", &deprov));
        events_of(&s, ids[k], evs, sizeof evs);
        OKS_ASSERT_EQ_STR(evs, "user.lifecycle.deactivate,application.user_membership.remove,"
                               "user.lifecycle.activate");
    }
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/state", NULL), 200);
    OKS_ASSERT_EQ_STR(state_of(r.json, direct, "expected_status"), "deactivated");
    OKS_ASSERT_EQ_STR(state_of(r.json, direct, "okta_status"), "ACTIVE");
    simt_resp_free(&r);
    /* Re-added by hand: assigned again. */
    OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/assign", direct), 200);
    OKS_ASSERT_EQ_INT(app_user(&s, direct, st, scope), 200);
    OKS_ASSERT_EQ_STR(st, "ACTIVE");
    simt_stop(&s);
}

OKS_TEST(restore_brings_assignments_back_on_reactivation)
{
    simt s;
    char direct[64], viagroup[64], st[32], scope[32], evs[2048];
    const char *const args[] = {"--users",           "400",     "--seed", "3",
                                "--deactivate-apps", "restore", NULL};
    simt_start(&s, args);
    pick(&s, "USER", direct, sizeof direct);
    pick(&s, "GROUP", viagroup, sizeof viagroup);
    const char *ids[] = {direct, viagroup}, *scopes[] = {"USER", "GROUP"};
    for (int k = 0; k < 2; k++) {
        OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/deactivate", ids[k]), 200);
        OKS_ASSERT_EQ_INT(app_user(&s, ids[k], st, scope), 404);
        OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/activate", ids[k]), 200);
        OKS_ASSERT_EQ_INT(app_user(&s, ids[k], st, scope), 200);
        OKS_ASSERT_EQ_STR(st, "ACTIVE");
        OKS_ASSERT_EQ_STR(scope, scopes[k]);
        events_of(&s, ids[k], evs, sizeof evs);
        OKS_ASSERT_EQ_STR(evs, "user.lifecycle.deactivate,application.user_membership.remove,"
                               "user.lifecycle.activate,application.user_membership.add");
    }
    simt_stop(&s);
}

OKS_TEST(keep_lists_deactivated_users_as_inactive)
{
    simt s;
    char direct[64], st[32], scope[32], evs[2048];
    int deprov;
    const char *const args[] = {"--users", "400", "--seed", "3", "--deactivate-apps", "keep", NULL};
    simt_start(&s, args);
    pick(&s, "USER", direct, sizeof direct);
    OKS_ASSERT(listed(&s, direct, "DEPROVISIONED", &deprov));
    OKS_ASSERT(deprov > 0); /* generated DEPROVISIONED users stay assigned */
    OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/deactivate", direct), 200);
    OKS_ASSERT_EQ_INT(app_user(&s, direct, st, scope), 200);
    OKS_ASSERT_EQ_STR(st, "INACTIVE");
    OKS_ASSERT(listed(&s, direct, "X", &deprov));
    events_of(&s, direct, evs, sizeof evs);
    OKS_ASSERT_EQ_STR(evs, "user.lifecycle.deactivate");
    simt_stop(&s);
}

OKS_TEST(admin_switch_changes_the_mode_at_run_time)
{
    simt s;
    simt_resp r;
    char a[64], st[32], scope[32];
    const char *const args[] = {"--users", "400", "--seed", "3", NULL};
    simt_start(&s, args);
    OKS_ASSERT_EQ_INT(
        simt_admin(&r, &s, "POST", "/__sim/settings", "{\"deactivate_apps\":\"keep\"}"), 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "deactivate_apps")), "keep");
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/info", NULL), 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "deactivate_apps")), "keep");
    simt_resp_free(&r);
    pick(&s, "USER", a, sizeof a);
    OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/deactivate", a), 200);
    OKS_ASSERT_EQ_INT(app_user(&s, a, st, scope), 200);
    OKS_ASSERT_EQ_STR(st, "INACTIVE");
    OKS_ASSERT_EQ_INT(call(&s, "POST", "{\"deactivate_apps\":\"restore\"}", "/__sim/settings"),
                      200);
    OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/activate", a), 200);
    OKS_ASSERT_EQ_INT(app_user(&s, a, st, scope), 200); /* kept, so still there */
    OKS_ASSERT_EQ_INT(call(&s, "POST", NULL, "/__sim/users/%s/deactivate", a), 200);
    OKS_ASSERT_EQ_INT(app_user(&s, a, st, scope), 404);
    /* Bad input. */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/settings", "{\"deactivate_apps\":\"x\"}"),
                      400);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "errorCode")), "E0000001");
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(call(&s, "POST", "{\"deactivate_apps\":1}", "/__sim/settings"), 400);
    OKS_ASSERT_EQ_INT(call(&s, "POST", "{\"nope\":\"keep\"}", "/__sim/settings"), 400);
    OKS_ASSERT_EQ_INT(call(&s, "POST", "not json", "/__sim/settings"), 400);
    OKS_ASSERT_EQ_INT(call(&s, "DELETE", NULL, "/__sim/settings"), 404);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/settings", NULL), 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "deactivate_apps")), "restore");
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(bad_deactivate_apps_flag_exits_2)
{
    char line[512];
    const char *const args[] = {"--deactivate-apps", "sometimes", NULL};
    OKS_ASSERT_EQ_INT(simt_run_expect_exit(args, line, sizeof line), 2);
    OKS_ASSERT_CONTAINS(line, "--deactivate-apps");
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
