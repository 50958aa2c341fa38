/*
 * The Okta client against the Okta simulator (tests/okta-sim) and the stack's Redis:
 * pagination, each error class, 429 with reset honoured, 5xx retried, permanent errors not
 * retried, malformed bodies, timeouts, proactive pacing, and the shared per-org budget across
 * processes. Request counts come from the simulator's /__sim/stats.
 */
#include "oks_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "okta/oks_okta.h"
#include "okta_sim_util.h"

#define APP_ID "0oatestapp0001"

static oks_okta_client *client(const okta_sim *s, oks_okta_client_opts o)
{
    o.base_url = s->base;
    if (!o.token)
        o.token = OKTA_SIM_TOKEN;
    oks_err err = {0};
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    if (!c)
        oks_test_fail(__FILE__, __LINE__, "client: %s", err.msg);
    return c;
}

static oks_okta_stats stats(const oks_okta_client *c)
{
    oks_okta_stats st;
    oks_okta_client_stats(c, &st);
    return st;
}

/* Ids of all app users, paging with `limit`; fails on duplicates. Returns a JSON object used
 * as a set, and the number of pages in *pages. */
static json_t *collect_app_users(oks_okta_client *c, int limit, int *pages)
{
    oks_err err = {0};
    oks_okta_pager *p = oks_okta_list_app_users(c, APP_ID, limit, &err);
    OKS_ASSERT(p != NULL);
    json_t *set = json_object();
    *pages = 0;
    json_t *items;
    int rc;
    while ((rc = oks_okta_pager_next(p, &items, &err)) == 1) {
        (*pages)++;
        OKS_ASSERT((int)json_array_size(items) <= limit);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            oks_okta_app_user au;
            if (oks_okta_app_user_parse(it, &au, &err) != 0)
                oks_test_fail(__FILE__, __LINE__, "app user: %s", err.msg);
            OKS_ASSERT(au.has_user); /* expand=user */
            if (json_object_get(set, au.id))
                oks_test_fail(__FILE__, __LINE__, "user %s seen twice", au.id);
            json_object_set_new(set, au.id, json_true());
            oks_okta_app_user_free(&au);
        }
        json_decref(items);
    }
    if (rc != 0)
        oks_test_fail(__FILE__, __LINE__, "pager: %s", err.msg);
    OKS_ASSERT(oks_okta_pager_next_url(p) == NULL);
    oks_okta_pager_free(p);
    return set;
}

OKS_TEST(pagination_visits_each_app_user_once)
{
    okta_sim s;
    const char *extra[] = {"--users", "1500", "--seed", "11", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){0});
    int pages_small = 0, pages_big = 0;
    json_t *small = collect_app_users(c, 37, &pages_small);
    json_t *big = collect_app_users(c, 500, &pages_big);
    size_t n = json_object_size(big);
    OKS_ASSERT(n > 500); /* a real multi-page list at both sizes */
    OKS_ASSERT_EQ_INT(json_object_size(small), n);
    OKS_ASSERT_EQ_INT(pages_small, (int)((n + 36) / 37));
    OKS_ASSERT(pages_big >= 2 && pages_big <= (int)((n + 499) / 500) + 1);
    const char *k;
    json_t *v;
    json_object_foreach(big, k, v) OKS_ASSERT(json_object_get(small, k) != NULL);
    /* Every page was one request: no retries, no errors. */
    oks_okta_stats st = stats(c);
    OKS_ASSERT_EQ_INT(st.calls, (uint64_t)(pages_small + pages_big));
    OKS_ASSERT_EQ_INT(st.retries, 0);
    OKS_ASSERT(st.buckets[3].limit > 0); /* apps bucket headers seen */
    json_decref(small);
    json_decref(big);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(list_users_search_and_user_groups)
{
    okta_sim s;
    const char *extra[] = {"--users", "300", "--seed", "5", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){0});
    oks_err err = {0};
    oks_okta_pager *p = oks_okta_list_users(c, "status eq \"ACTIVE\"", NULL, 50, &err);
    OKS_ASSERT(p != NULL);
    json_t *items;
    size_t total = 0;
    char first_id[64] = "";
    while (oks_okta_pager_next(p, &items, &err) == 1) {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            oks_okta_user u;
            OKS_ASSERT_EQ_INT(oks_okta_user_parse(it, &u, &err), 0);
            OKS_ASSERT_EQ_STR(u.status, "ACTIVE");
            if (!first_id[0])
                snprintf(first_id, sizeof first_id, "%s", u.id);
            oks_okta_user_free(&u);
            total++;
        }
        json_decref(items);
    }
    OKS_ASSERT_EQ_INT(err.code, OKS_OK);
    OKS_ASSERT(total > 50);
    oks_okta_pager_free(p);
    /* the user's groups list is an array (possibly empty) */
    p = oks_okta_list_user_groups(c, first_id, &err);
    OKS_ASSERT(p != NULL);
    int rc = oks_okta_pager_next(p, &items, &err);
    OKS_ASSERT_EQ_INT(rc, 1);
    OKS_ASSERT(json_is_array(items));
    /* each listed group's type, one GET each; Everyone is BUILT_IN */
    size_t gi;
    json_t *g;
    OKS_ASSERT(json_array_size(items) >= 1);
    json_array_foreach(items, gi, g)
    {
        char type[32];
        OKS_ASSERT_EQ_INT(oks_okta_get_group_type(c, json_string_value(json_object_get(g, "id")),
                                                  type, sizeof type, &err),
                          0);
        OKS_ASSERT_EQ_STR(type, json_string_value(json_object_get(g, "type")));
        if (gi == 0)
            OKS_ASSERT_EQ_STR(type, "BUILT_IN");
    }
    json_decref(items);
    oks_okta_pager_free(p);
    char type[32];
    OKS_ASSERT_EQ_INT(oks_okta_get_group_type(c, "00gNoSuchGroup", type, sizeof type, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_NOTFOUND);
    OKS_ASSERT_EQ_STR(type, "");
    /* get_user of a listed id round-trips */
    oks_okta_user u;
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, first_id, &u, &err), 0);
    OKS_ASSERT_EQ_STR(u.id, first_id);
    OKS_ASSERT(u.profile != NULL && u.email != NULL);
    oks_okta_user_free(&u);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

/* First app user's id, and the first listed user id that is NOT assigned to the app. */
static void pick_ids(oks_okta_client *c, char *assigned, char *unassigned, size_t cap)
{
    int pages;
    json_t *set = collect_app_users(c, 500, &pages);
    const char *k;
    json_t *v;
    assigned[0] = unassigned[0] = '\0';
    json_object_foreach(set, k, v)
    {
        snprintf(assigned, cap, "%s", k);
        break;
    }
    oks_err err = {0};
    oks_okta_pager *p = oks_okta_list_users(c, NULL, NULL, 200, &err);
    json_t *items;
    while (!unassigned[0] && oks_okta_pager_next(p, &items, &err) == 1) {
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            const char *id = json_string_value(json_object_get(it, "id"));
            if (id && !json_object_get(set, id) && !unassigned[0])
                snprintf(unassigned, cap, "%s", id);
        }
        json_decref(items);
    }
    oks_okta_pager_free(p);
    json_decref(set);
    OKS_ASSERT(assigned[0] && unassigned[0]);
}

OKS_TEST(not_found_classes_and_not_retried)
{
    okta_sim s;
    const char *extra[] = {"--users", "400", "--seed", "3", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){0});
    char assigned[64], unassigned[64];
    pick_ids(c, assigned, unassigned, sizeof assigned);
    oks_err err = {0};
    oks_okta_app_user au;
    OKS_ASSERT_EQ_INT(oks_okta_get_app_user(c, APP_ID, assigned, &au, &err), 0);
    OKS_ASSERT(au.has_user);
    OKS_ASSERT_EQ_STR(au.user.id, assigned);
    oks_okta_app_user_free(&au);

    long long before = okta_sim_api_requests(&s);
    OKS_ASSERT_EQ_INT(oks_okta_get_app_user(c, APP_ID, unassigned, &au, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_NOTFOUND);
    OKS_ASSERT_CONTAINS(err.msg, "E0000007");
    oks_okta_user u;
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "00uDOESNOTEXIST0001", &u, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_NOTFOUND);
    OKS_ASSERT(u.id == NULL);
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, "0oaWRONGAPP", &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_NOTFOUND);
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), 0);
    /* three 404s + one success = four requests: nothing was retried */
    OKS_ASSERT_EQ_INT(okta_sim_api_requests(&s) - before, 4);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(bad_token_is_auth_and_not_retried)
{
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){.token = "wrong-token"});
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_AUTH);
    OKS_ASSERT_CONTAINS(err.msg, "E0000011");
    OKS_ASSERT_EQ_INT(stats(c).calls, 1);
    OKS_ASSERT_EQ_INT(okta_sim_stat(&s, "unauthorized_401"), 1);
    oks_okta_client_free(c);
    /* the sim's bad_token fault: the same with the right token */
    c = client(&s, (oks_okta_client_opts){0});
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"bad_token\":true}"), 200);
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_AUTH);
    OKS_ASSERT_EQ_INT(stats(c).calls, 1);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(server_errors_retried_then_succeed)
{
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c =
        client(&s, (oks_okta_client_opts){.max_retries = 3, .max_backoff_ms = 400});
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"fail_next\":2,\"fail_status\":503}"),
                      200);
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), 0);
    oks_okta_stats st = stats(c);
    OKS_ASSERT_EQ_INT(st.calls, 3);
    OKS_ASSERT_EQ_INT(st.retries, 2);
    OKS_ASSERT_EQ_INT(st.server_errors, 2);
    OKS_ASSERT(st.wait_ms >= 150 + 200); /* two backoffs: 150..300 ms, then 200..400 ms (cap) */
    /* exhausted retries: the class of the last failure comes back */
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"fail_next\":10,\"fail_status\":500}"),
                      200);
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TRANSIENT);
    OKS_ASSERT_CONTAINS(err.msg, "HTTP 500");
    OKS_ASSERT_EQ_INT(stats(c).calls, 3 + 4);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(rate_limit_429_waits_for_reset)
{
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, "--rate-window", "2s", NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c =
        client(&s, (oks_okta_client_opts){.pace_below_fraction = -1, .max_backoff_ms = 10000});
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), 0); /* opens the window */
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"force_429_next\":1}"), 200);
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), 0);
    int64_t elapsed = oks_now_mono_ms() - t0;
    oks_okta_stats st = stats(c);
    OKS_ASSERT_EQ_INT(st.rate_limited, 1);
    OKS_ASSERT_EQ_INT(st.calls, 3);
    /* Reset - Date + 1 s: at least 1 s, and the window reset (whole seconds) has passed. */
    OKS_ASSERT(elapsed >= 1000);
    /* The retry landed in a fresh window: it is the only request counted there. */
    OKS_ASSERT_EQ_INT(okta_sim_stat(&s, "buckets.apps.used"), 1);
    OKS_ASSERT(elapsed < 2000 + 2000 + 1000 + 500); /* window + 1 s + jitter, not the cap */
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(rate_limit_exhausted_retries_is_ratelimit)
{
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(
        &s,
        (oks_okta_client_opts){.max_retries = 1, .max_backoff_ms = 200, .pace_below_fraction = -1});
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"force_429_next\":5}"), 200);
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_RATELIMIT);
    OKS_ASSERT_CONTAINS(err.msg, "E0000047");
    OKS_ASSERT_EQ_INT(stats(c).calls, 2);
    OKS_ASSERT_EQ_INT(stats(c).wait_ms >= 200, 1);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(proactive_pacing_avoids_429)
{
    okta_sim s;
    /* user_get quota 5 per 2 s window; 8 calls must spread over >= 2 windows, no 429 */
    const char *extra[] = {"--users",         "50", "--app-id", APP_ID, "--rate-window", "2s",
                           "--rate-user-get", "5",  NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){.pace_below_fraction = 0.5});
    char assigned[64], unassigned[64];
    pick_ids(c, assigned, unassigned, sizeof assigned);
    oks_err err = {0};
    int64_t t0 = oks_now_mono_ms();
    for (int i = 0; i < 8; i++) {
        oks_okta_user u;
        if (oks_okta_get_user(c, assigned, &u, &err) != 0)
            oks_test_fail(__FILE__, __LINE__, "get %d: %s", i, err.msg);
        oks_okta_user_free(&u);
    }
    OKS_ASSERT(oks_now_mono_ms() - t0 >= 2000);
    OKS_ASSERT_EQ_INT(stats(c).rate_limited, 0);
    OKS_ASSERT_EQ_INT(okta_sim_stat(&s, "served_429"), 0);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(malformed_and_truncated_bodies_rejected_cleanly)
{
    okta_sim s;
    const char *extra[] = {"--users", "300", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){.max_retries = -1});
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"malformed_next\":1}"), 200);
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TRANSIENT);
    OKS_ASSERT_CONTAINS(err.msg, "invalid JSON");
    /* a truncated page in the middle of a listing: error, then the same page again works */
    oks_okta_pager *p = oks_okta_list_app_users(c, APP_ID, 20, &err);
    json_t *items;
    OKS_ASSERT_EQ_INT(oks_okta_pager_next(p, &items, &err), 1);
    json_decref(items);
    char url_before[4096];
    snprintf(url_before, sizeof url_before, "%s", oks_okta_pager_next_url(p));
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"truncate_next\":1}"), 200);
    OKS_ASSERT_EQ_INT(oks_okta_pager_next(p, &items, &err), -1);
    OKS_ASSERT(err.code == OKS_E_TRANSIENT);
    OKS_ASSERT(items == NULL);
    OKS_ASSERT_EQ_STR(oks_okta_pager_next_url(p), url_before);
    OKS_ASSERT_EQ_INT(oks_okta_pager_next(p, &items, &err), 1);
    OKS_ASSERT_EQ_INT(json_array_size(items), 20);
    json_decref(items);
    oks_okta_pager_free(p);
    oks_okta_client_free(c);
    /* with retries on, a single malformed answer is retried transparently */
    c = client(&s, (oks_okta_client_opts){.max_backoff_ms = 100});
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"malformed_next\":1}"), 200);
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), 0);
    OKS_ASSERT_EQ_INT(stats(c).calls, 2);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

OKS_TEST(timeouts_honoured)
{
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c =
        client(&s, (oks_okta_client_opts){.request_timeout_ms = 300, .max_retries = -1});
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"latency_ms\":2000}"), 200);
    oks_err err = {0};
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), -1);
    int64_t elapsed = oks_now_mono_ms() - t0;
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TIMEOUT);
    OKS_ASSERT(elapsed >= 280 && elapsed < 1500);
    OKS_ASSERT_EQ_INT(stats(c).transport_errors, 1);
    /* a hang on one request, retried on a fresh connection, then success */
    oks_okta_client_free(c);
    c = client(&s, (oks_okta_client_opts){
                       .request_timeout_ms = 500, .max_retries = 2, .max_backoff_ms = 100});
    OKS_ASSERT_EQ_INT(
        okta_sim_post(&s, "/__sim/faults", "{\"latency_ms\":0,\"hang_next\":1,\"hang_ms\":5000}"),
        200);
    t0 = oks_now_mono_ms();
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), 0);
    OKS_ASSERT(oks_now_mono_ms() - t0 < 2500);
    OKS_ASSERT_EQ_INT(stats(c).calls, 2);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

/* Events of one page: count, and whether a User target with this id is present. */
static size_t log_page_events(oks_okta_pager *p, const char *user_id, bool *seen)
{
    size_t total = 0;
    json_t *items;
    oks_err err = {0};
    int rc;
    while ((rc = oks_okta_pager_next(p, &items, &err)) == 1) {
        size_t i, k;
        json_t *ev, *t;
        json_array_foreach(items, i, ev)
        {
            OKS_ASSERT_EQ_STR(json_string_value(json_object_get(ev, "eventType")),
                              "user.lifecycle.deactivate");
            json_array_foreach(json_object_get(ev, "target"), k, t)
            {
                const char *tid = json_string_value(json_object_get(t, "id"));
                if (user_id && tid && strcmp(tid, user_id) == 0)
                    *seen = true;
            }
            total++;
        }
        json_decref(items);
    }
    if (rc != 0)
        oks_test_fail(__FILE__, __LINE__, "log pager: %s", err.msg);
    return total;
}

OKS_TEST(system_log_since_time_and_resume)
{
    okta_sim s;
    const char *extra[] = {"--users", "200", "--seed", "9", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){0});
    /* two ACTIVE users (deactivating a DEPROVISIONED one is a 409) */
    char u1[64] = "", u2[64] = "";
    oks_err err = {0};
    oks_okta_pager *p = oks_okta_list_users(c, "status eq \"ACTIVE\"", NULL, 2, &err);
    json_t *items;
    OKS_ASSERT_EQ_INT(oks_okta_pager_next(p, &items, &err), 1);
    OKS_ASSERT_EQ_INT(json_array_size(items), 2);
    snprintf(u1, sizeof u1, "%s",
             json_string_value(json_object_get(json_array_get(items, 0), "id")));
    snprintf(u2, sizeof u2, "%s",
             json_string_value(json_object_get(json_array_get(items, 1), "id")));
    json_decref(items);
    oks_okta_pager_free(p);
    int64_t since = oks_now_wall_ms() - 1000;
    char path[160];
    snprintf(path, sizeof path, "/__sim/users/%s/deactivate", u1);
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, path, "{}"), 200);
    const char *types[] = {"user.lifecycle.deactivate"};
    p = oks_okta_list_log_events(c, since, types, 1, 0, &err);
    OKS_ASSERT(p != NULL);
    bool seen = false;
    OKS_ASSERT_EQ_INT(log_page_events(p, u1, &seen), 1);
    OKS_ASSERT(seen);
    /* The System Log always links to a next page: the empty page ends the poll and its link
     * is where the next poll resumes. */
    char resume[4096];
    OKS_ASSERT(oks_okta_pager_next_url(p) != NULL);
    snprintf(resume, sizeof resume, "%s", oks_okta_pager_next_url(p));
    oks_okta_pager_free(p);
    snprintf(path, sizeof path, "/__sim/users/%s/reactivate", u1);
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, path, "{}"), 200); /* filtered out */
    snprintf(path, sizeof path, "/__sim/users/%s/deactivate", u2);
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, path, "{}"), 200);
    p = oks_okta_resume_log_events(c, resume, &err);
    OKS_ASSERT(p != NULL);
    seen = false;
    OKS_ASSERT_EQ_INT(log_page_events(p, u2, &seen), 1);
    OKS_ASSERT(seen);
    oks_okta_pager_free(p);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

static void *request_shutdown_later(void *arg)
{
    (void)arg;
    oks_sleep_ms(300);
    oks_shutdown_request();
    return NULL;
}

OKS_TEST(shutdown_interrupts_backoff)
{
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, "--rate-window", "20s", NULL};
    okta_sim_start(&s, extra);
    OKS_ASSERT_EQ_INT(okta_sim_post(&s, "/__sim/faults", "{\"force_429_next\":3}"), 200);
    /* In a child: the shutdown flag is process-wide and permanent. */
    pid_t pid = fork();
    if (pid == 0) {
        oks_okta_client *c =
            client(&s, (oks_okta_client_opts){.max_backoff_ms = 30000, .pace_below_fraction = -1});
        pthread_t t;
        pthread_create(&t, NULL, request_shutdown_later, NULL);
        oks_err err = {0};
        int64_t t0 = oks_now_mono_ms();
        int rc = oks_okta_check_credentials(c, APP_ID, &err);
        int64_t elapsed = oks_now_mono_ms() - t0;
        pthread_join(t, NULL);
        oks_okta_client_free(c);
        /* 429 with a ~20 s reset: without the interrupt this waits ~20 s */
        _exit(rc == -1 && err.code == OKS_E_RATELIMIT && elapsed < 1500 ? 0 : 1);
    }
    int st;
    OKS_ASSERT(waitpid(pid, &st, 0) == pid);
    OKS_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    OKS_ASSERT_EQ_INT(okta_sim_api_requests(&s), 1);
    okta_sim_stop(&s);
}

/* ---- shared budget across processes ---- */

typedef struct budget_child {
    const okta_sim *s;
    const char *redis_url;
    const char *org;
    int max_in_flight;
    int calls;
    int64_t max_wait_ms;
    bool user_get; /* else check_credentials (apps bucket) */
    const char *user_id;
} budget_child;

/* In the child: make up to `calls` requests; exit status = number that succeeded. */
static void run_child(const budget_child *b)
{
    oks_okta_client_opts o = {.base_url = b->s->base,
                              .token = OKTA_SIM_TOKEN,
                              .redis_url = b->redis_url,
                              .org_key = b->org,
                              .max_in_flight = b->max_in_flight,
                              .budget_max_wait_ms = b->max_wait_ms,
                              .pace_below_fraction = -1,
                              .max_retries = -1};
    oks_err err = {0};
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    if (!c)
        _exit(255);
    int ok = 0;
    for (int i = 0; i < b->calls; i++) {
        int rc;
        if (b->user_get) {
            oks_okta_user u;
            rc = oks_okta_get_user(c, b->user_id, &u, &err);
            if (rc == 0)
                oks_okta_user_free(&u);
        } else {
            rc = oks_okta_check_credentials(c, APP_ID, &err);
        }
        if (rc == 0)
            ok++;
        else if (err.code != OKS_E_RATELIMIT)
            _exit(254);
    }
    oks_okta_client_free(c);
    _exit(ok);
}

static int run_children(const budget_child *b, int n)
{
    pid_t pids[8];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            run_child(b);
    }
    int total = 0;
    for (int i = 0; i < n; i++) {
        int st;
        OKS_ASSERT(waitpid(pids[i], &st, 0) == pids[i]);
        OKS_ASSERT(WIFEXITED(st));
        int code = WEXITSTATUS(st);
        if (code >= 254)
            oks_test_fail(__FILE__, __LINE__, "child %d failed (%d)", i, code);
        total += code;
    }
    return total;
}

OKS_TEST(budget_shared_by_two_processes_never_exceeded)
{
    okta_sim s;
    /* apps bucket: 20 per minute. Two processes want 15 each (30 > 20). */
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, "--rate-apps", "20", NULL};
    okta_sim_start(&s, extra);
    budget_child b = {.s = &s,
                      .redis_url = oks_test_service("OKTASYNC_REDIS_URL"),
                      .org = oks_test_unique("org"),
                      .max_in_flight = 10,
                      .calls = 15,
                      .max_wait_ms = 150};
    int ok = run_children(&b, 2);
    /* 90% of the observed limit is the fleet's share: 18 requests, and Okta saw no 429. */
    OKS_ASSERT_EQ_INT(ok, 18);
    OKS_ASSERT_EQ_INT(okta_sim_stat(&s, "served_429"), 0);
    OKS_ASSERT_EQ_INT(okta_sim_api_requests(&s), 18);
    okta_sim_stop(&s);
}

OKS_TEST(without_budget_two_processes_hit_429)
{
    /* The control for the test above: the same load with no shared budget overruns Okta. */
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, "--rate-apps", "20", NULL};
    okta_sim_start(&s, extra);
    budget_child b = {.s = &s,
                      .redis_url = NULL,
                      .org = "x",
                      .max_in_flight = 10,
                      .calls = 15,
                      .max_wait_ms = 150};
    int ok = run_children(&b, 2);
    OKS_ASSERT_EQ_INT(ok, 20);
    OKS_ASSERT_EQ_INT(okta_sim_stat(&s, "served_429"), 10);
    okta_sim_stop(&s);
}

OKS_TEST(in_flight_cap_shared_by_processes)
{
    okta_sim s;
    /* Every request takes 100 ms; four processes, cap 2 in flight for the org. */
    const char *extra[] = {
        "--users", "50", "--app-id", APP_ID, "--fault-latency", "100ms", "--concurrency-limit",
        "2",       NULL};
    okta_sim_start(&s, extra);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){0});
    char assigned[64], unassigned[64];
    pick_ids(c, assigned, unassigned, sizeof assigned);
    oks_okta_client_free(c);
    long long before = okta_sim_api_requests(&s);
    budget_child b = {.s = &s,
                      .redis_url = oks_test_service("OKTASYNC_REDIS_URL"),
                      .org = oks_test_unique("org"),
                      .max_in_flight = 2,
                      .calls = 5,
                      .max_wait_ms = 10000,
                      .user_get = true,
                      .user_id = assigned};
    int ok = run_children(&b, 4);
    OKS_ASSERT_EQ_INT(ok, 20);
    OKS_ASSERT_EQ_INT(okta_sim_api_requests(&s) - before, 20);
    OKS_ASSERT(okta_sim_stat(&s, "max_concurrency") <= 2);
    OKS_ASSERT_EQ_INT(okta_sim_stat(&s, "concurrency_429"), 0);
    okta_sim_stop(&s);
}

OKS_TEST(crashed_workers_lease_expires)
{
    okta_sim s;
    const char *extra[] = {"--users", "50", "--app-id", APP_ID, NULL};
    okta_sim_start(&s, extra);
    const char *org = oks_test_unique("org");
    /* A worker that died holding the only in-flight slot: its lease ends in 1.5 s. */
    char host[128] = "";
    int port = 0;
    OKS_ASSERT(
        sscanf(oks_test_service("OKTASYNC_REDIS_URL"), "redis://%127[^:/]:%d", host, &port) == 2);
    redisContext *rc = redisConnectWithTimeout(host, port, (struct timeval){2, 0});
    OKS_ASSERT(rc && !rc->err);
    char key[256];
    snprintf(key, sizeof key, "oktasync:okta:{%s}:inflight", org);
    redisReply *t = redisCommand(rc, "TIME");
    OKS_ASSERT(t && t->type == REDIS_REPLY_ARRAY && t->elements == 2);
    long long now_ms = atoll(t->element[0]->str) * 1000 + atoll(t->element[1]->str) / 1000;
    freeReplyObject(t);
    redisReply *r = redisCommand(rc, "ZADD %s %lld dead-worker", key, now_ms + 1500);
    OKS_ASSERT(r && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    oks_okta_client *c = client(&s, (oks_okta_client_opts){
                                        .redis_url = oks_test_service("OKTASYNC_REDIS_URL"),
                                        .org_key = org,
                                        .max_in_flight = 1,
                                        .budget_max_wait_ms = 5000,
                                    });
    oks_err err = {0};
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT_EQ_INT(oks_okta_check_credentials(c, APP_ID, &err), 0);
    int64_t waited = oks_now_mono_ms() - t0;
    OKS_ASSERT(waited >= 1200 && waited < 4000);
    /* our own lease was released, not left to expire */
    r = redisCommand(rc, "ZCARD %s", key);
    OKS_ASSERT(r && r->type == REDIS_REPLY_INTEGER);
    OKS_ASSERT_EQ_INT(r->integer, 0);
    freeReplyObject(r);
    redisFree(rc);
    oks_okta_client_free(c);
    okta_sim_stop(&s);
}

/* ---- a failing budget is retriable, whatever Redis said ---- */

/* host must hold 128 bytes */
static void stack_redis(char *host, int *port)
{
    OKS_ASSERT(sscanf(oks_test_service("OKTASYNC_REDIS_URL"), "redis://%127[^:/]:%d", host, port) ==
               2);
}

OKS_TEST(budget_auth_refused_is_unavailable)
{
    /* The stack's Redis has no password, so AUTH is refused: our own infrastructure failing,
     * never a reason to dead-letter an event (which a non-retriable code would cause). */
    char host[128] = "", url[256];
    int port = 0;
    stack_redis(host, &port);
    snprintf(url, sizeof url, "redis://:wrong@%s:%d/0", host, port);
    oks_okta_client_opts o = {.base_url = "http://127.0.0.1:1", .token = "t", .redis_url = url};
    oks_err err = {0};
    OKS_ASSERT(oks_okta_client_new(&o, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
}

OKS_TEST(budget_error_reply_is_unavailable_and_sends_nothing)
{
    const char *org = oks_test_unique("org");
    char host[128] = "", key[256];
    int port = 0;
    stack_redis(host, &port);
    redisContext *rc = redisConnectWithTimeout(host, port, (struct timeval){2, 0});
    OKS_ASSERT(rc && !rc->err);
    /* A string where the script expects a sorted set: EVAL answers WRONGTYPE. */
    snprintf(key, sizeof key, "oktasync:okta:{%s}:inflight", org);
    redisReply *r = redisCommand(rc, "SET %s not-a-zset EX 60", key);
    OKS_ASSERT(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    oks_okta_client_opts o = {.base_url = "http://127.0.0.1:1",
                              .token = "t",
                              .redis_url = oks_test_service("OKTASYNC_REDIS_URL"),
                              .org_key = org,
                              .max_retries = 2,
                              .max_backoff_ms = 50};
    oks_err err = {0};
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    OKS_ASSERT(c != NULL);
    oks_okta_user u;
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "00u1", &u, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    OKS_ASSERT(strstr(err.msg, "WRONGTYPE") != NULL);
    /* no request went out (it would fail on port 1) and a budget failure is not retried here */
    OKS_ASSERT_EQ_INT(stats(c).transport_errors, 0);
    OKS_ASSERT_EQ_INT(stats(c).retries, 0);
    oks_okta_client_free(c);
    r = redisCommand(rc, "DEL %s", key);
    freeReplyObject(r);
    redisFree(rc);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    int rc = oks_test_main(argc, argv);
    curl_global_cleanup();
    return rc;
}
