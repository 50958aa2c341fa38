/* Simulator API behaviour: determinism, pagination, limits, Link headers, filter/search,
 * error bodies, auth, System Log. Drives the real binary over HTTP. */
#include "simt.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const small_org[] = {"--users", "1500", "--seed", "42", NULL};

static void assert_error_body(const simt_resp *r, long status, const char *code)
{
    OKS_ASSERT_EQ_INT(r->status, status);
    OKS_ASSERT(json_is_object(r->json));
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r->json, "errorCode")), code);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r->json, "errorLink")), code);
    OKS_ASSERT(json_is_string(json_object_get(r->json, "errorSummary")));
    OKS_ASSERT(json_is_string(json_object_get(r->json, "errorId")));
    OKS_ASSERT(json_is_array(json_object_get(r->json, "errorCauses")));
}

OKS_TEST(same_seed_same_org_other_seed_differs)
{
    simt a, b, c;
    const char *const seed7[] = {"--users", "300", "--seed", "7", NULL};
    const char *const seed8[] = {"--users", "300", "--seed", "8", NULL};
    simt_start(&a, seed7);
    simt_start(&b, seed7);
    simt_start(&c, seed8);
    simt_resp ra, rb, rc;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/apps/%s/users?limit=200&expand=user", a.app_id);
    OKS_ASSERT_EQ_STR(a.app_id, b.app_id);
    simt_api(&ra, &a, path);
    simt_api(&rb, &b, path);
    OKS_ASSERT_EQ_INT(ra.status, 200);
    /* Bodies differ only in the base URL (different ports): compare after re-dumping with the
     * port-independent parts. */
    json_t *ua = json_array(), *ub = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(ra.json, i, it) json_array_append(
        ua, json_object_get(json_object_get(json_object_get(it, "_embedded"), "user"), "profile"));
    json_array_foreach(rb.json, i, it) json_array_append(
        ub, json_object_get(json_object_get(json_object_get(it, "_embedded"), "user"), "profile"));
    OKS_ASSERT(json_array_size(ua) == 200);
    OKS_ASSERT(json_equal(ua, ub));
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(ra.json, 5), "id")),
                      json_string_value(json_object_get(json_array_get(rb.json, 5), "id")));
    simt_api(&rc, &c, "/api/v1/users?limit=5");
    OKS_ASSERT_EQ_INT(rc.status, 200);
    OKS_ASSERT(strcmp(json_string_value(json_object_get(json_array_get(rc.json, 0), "id")),
                      json_string_value(json_object_get(json_array_get(ra.json, 0), "id"))) != 0);
    json_decref(ua);
    json_decref(ub);
    simt_resp_free(&ra);
    simt_resp_free(&rb);
    simt_resp_free(&rc);
    simt_stop(&a);
    simt_stop(&b);
    simt_stop(&c);
}

static bool all_unique(json_t *ids)
{
    json_t *seen = json_object();
    size_t i;
    json_t *id;
    bool ok = true;
    json_array_foreach(ids, i, id)
    {
        if (json_object_get(seen, json_string_value(id)))
            ok = false;
        json_object_set_new(seen, json_string_value(id), json_true());
    }
    json_decref(seen);
    return ok;
}

OKS_TEST(pagination_walks_every_user_exactly_once)
{
    simt s;
    simt_start(&s, small_org);
    json_t *ids = json_array(), *dep = json_array(), *app = json_array();
    int pages = 0, dpages = 0, apages = 0;
    int n = simt_walk(&s, "/api/v1/users?limit=37", ids, &pages);
    int d = simt_walk(&s, "/api/v1/users?limit=200&filter=status%20eq%20%22DEPROVISIONED%22", dep,
                      &dpages);
    OKS_ASSERT(d > 0);
    OKS_ASSERT_EQ_INT(n + d, 1500); /* no query leaves DEPROVISIONED out */
    OKS_ASSERT_EQ_INT(pages, (n + 36) / 37);
    OKS_ASSERT(all_unique(ids));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/apps/%s/users?limit=97", s.app_id);
    int a = simt_walk(&s, path, app, &apages);
    OKS_ASSERT(all_unique(app));
    simt_resp st;
    OKS_ASSERT_EQ_INT(simt_admin(&st, &s, "GET", "/__sim/state", NULL), 200);
    OKS_ASSERT_EQ_INT(a, json_array_size(json_object_get(st.json, "users")));
    OKS_ASSERT(a > 1000 && a < 1500); /* some users are not assigned to the app */
    simt_resp_free(&st);
    json_decref(ids);
    json_decref(dep);
    json_decref(app);
    simt_stop(&s);
}

OKS_TEST(limit_bounds_and_bad_cursor)
{
    simt s;
    simt_resp r;
    char path[256];
    simt_start(&s, small_org);
    simt_api(&r, &s, "/api/v1/users");
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 200); /* default 200 */
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?limit=1000");
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 200); /* max 200 */
    simt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/apps/%s/users", s.app_id);
    simt_api(&r, &s, path);
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 50); /* default 50 */
    simt_resp_free(&r);
    snprintf(path, sizeof path, "/api/v1/apps/%s/users?limit=100000", s.app_id);
    simt_api(&r, &s, path);
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 500); /* max 500 */
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?limit=0");
    assert_error_body(&r, 400, "E0000054");
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?limit=abc");
    assert_error_body(&r, 400, "E0000054");
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?after=00uNOSUCHCURSOR00000");
    assert_error_body(&r, 400, "E0000054");
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(link_headers_self_and_next_like_okta)
{
    simt s;
    simt_resp r;
    char self[2048], next[2048], want[2048];
    simt_start(&s, small_org);
    simt_api(&r, &s, "/api/v1/users?limit=200");
    OKS_ASSERT_EQ_INT(simt_links(&r, self, next, sizeof next), 2);
    snprintf(want, sizeof want, "%s/api/v1/users?limit=200", s.base);
    OKS_ASSERT_EQ_STR(self, want);
    /* next keeps the query and adds an opaque cursor (not the last user's id). */
    const char *last = json_string_value(json_object_get(json_array_get(r.json, 199), "id"));
    snprintf(want, sizeof want, "%s/api/v1/users?limit=200&after=", s.base);
    OKS_ASSERT(strncmp(next, want, strlen(want)) == 0);
    OKS_ASSERT(strlen(next) > strlen(want));
    OKS_ASSERT(strstr(next, last) == NULL);
    OKS_ASSERT_CONTAINS(r.headers, "\r\nLink: <");
    OKS_ASSERT_CONTAINS(r.headers, ">; rel=\"next\"\r\n");
    simt_resp_free(&r);
    /* Last page: self only. */
    simt_api(&r, &s, "/api/v1/users?limit=200&filter=id%20eq%20%2200uNOSUCH%22");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 0);
    OKS_ASSERT_EQ_INT(simt_links(&r, self, next, sizeof next), 1);
    OKS_ASSERT_EQ_STR(next, "");
    simt_resp_free(&r);
    simt_stop(&s);
}

static void each_user(const simt_resp *r, const char *field, const char *sub, const char *want,
                      int cmp_sign)
{
    size_t i;
    json_t *u;
    OKS_ASSERT(json_array_size(r->json) > 0);
    json_array_foreach(r->json, i, u)
    {
        json_t *o = sub ? json_object_get(u, sub) : u;
        const char *v = json_string_value(json_object_get(o, field));
        OKS_ASSERT(v != NULL);
        int c = strcmp(v, want);
        if (cmp_sign == 0)
            OKS_ASSERT_EQ_STR(v, want);
        else
            OKS_ASSERT(cmp_sign > 0 ? c > 0 : c < 0);
    }
}

OKS_TEST(filter_and_search)
{
    simt s;
    simt_resp r;
    simt_start(&s, small_org);
    simt_api(&r, &s, "/api/v1/users?filter=lastUpdated%20gt%20%222025-03-01T00:00:00.000Z%22");
    OKS_ASSERT_EQ_INT(r.status, 200);
    each_user(&r, "lastUpdated", NULL, "2025-03-01T00:00:00.000Z", 1);
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?filter=lastUpdated%20lt%20%222024-06-01T00:00:00.000Z%22");
    each_user(&r, "lastUpdated", NULL, "2024-06-01T00:00:00.000Z", -1);
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?filter=status%20eq%20%22DEPROVISIONED%22");
    each_user(&r, "status", NULL, "DEPROVISIONED", 0);
    simt_resp_free(&r);
    simt_api(&r, &s,
             "/api/v1/users?search=profile.department%20eq%20%22engineering%22%20and%20"
             "status%20eq%20%22ACTIVE%22");
    each_user(&r, "department", "profile", "Engineering", 0);
    each_user(&r, "status", NULL, "ACTIVE", 0);
    const char *login = json_string_value(
        json_object_get(json_object_get(json_array_get(r.json, 0), "profile"), "login"));
    char path[512];
    snprintf(path, sizeof path, "/api/v1/users?filter=profile.login%%20eq%%20%%22%s%%22", login);
    simt_resp one;
    simt_api(&one, &s, path);
    OKS_ASSERT_EQ_INT(json_array_size(one.json), 1);
    simt_resp_free(&one);
    simt_resp_free(&r);
    /* filter only allows Okta's filter attributes; gt only on lastUpdated. */
    simt_api(&r, &s, "/api/v1/users?filter=profile.department%20eq%20%22Sales%22");
    assert_error_body(&r, 400, "E0000031");
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?filter=status%20gt%20%22A%22");
    assert_error_body(&r, 400, "E0000031");
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?search=status%20eq");
    assert_error_body(&r, 400, "E0000031");
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(get_user_by_id_and_login_and_not_found_bodies)
{
    simt s;
    simt_resp r, one;
    char path[512];
    simt_start(&s, small_org);
    simt_api(&r, &s, "/api/v1/users?limit=1");
    json_t *u = json_array_get(r.json, 0);
    const char *id = json_string_value(json_object_get(u, "id"));
    const char *login = json_string_value(json_object_get(json_object_get(u, "profile"), "login"));
    snprintf(path, sizeof path, "/api/v1/users/%s", login);
    simt_api(&one, &s, path);
    OKS_ASSERT_EQ_INT(one.status, 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(one.json, "id")), id);
    /* A single user carries lifecycle links; a collection item only self. */
    OKS_ASSERT(json_object_size(json_object_get(one.json, "_links")) > 1);
    OKS_ASSERT_EQ_INT(json_object_size(json_object_get(u, "_links")), 1);
    simt_resp_free(&one);
    simt_api(&one, &s, "/api/v1/users/00uDOESNOTEXIST000000");
    assert_error_body(&one, 404, "E0000007");
    simt_resp_free(&one);
    snprintf(path, sizeof path, "/api/v1/users/%s/groups", id);
    simt_api(&one, &s, path);
    OKS_ASSERT_EQ_INT(one.status, 200);
    OKS_ASSERT(json_is_array(one.json));
    simt_resp_free(&one);
    simt_api(&one, &s, "/api/v1/apps/0oaWRONGAPP/users");
    assert_error_body(&one, 404, "E0000007");
    simt_resp_free(&one);
    snprintf(path, sizeof path, "/api/v1/apps/%s", s.app_id);
    simt_api(&one, &s, path);
    OKS_ASSERT_EQ_INT(one.status, 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(one.json, "id")), s.app_id);
    simt_resp_free(&one);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(bad_or_missing_token_is_401_E0000011)
{
    simt s;
    simt_resp r;
    char url[256];
    simt_start(&s, small_org);
    snprintf(url, sizeof url, "%s/api/v1/users?limit=1", s.base);
    const char *auths[] = {NULL, "SSWS wrong", "Bearer " SIMT_TOKEN, "SSWS"};
    for (size_t i = 0; i < 4; i++) {
        simt_request(&r, "GET", url, auths[i], NULL, 5000);
        assert_error_body(&r, 401, "E0000011");
        OKS_ASSERT(simt_header(&r, "X-Okta-Request-Id", (char[64]){0}, 64) != NULL);
        simt_resp_free(&r);
    }
    simt_request(&r, "GET", url, "SSWS " SIMT_TOKEN, NULL, 5000);
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(system_log_filters_and_always_links_next)
{
    simt s;
    simt_resp r, a;
    char self[2048], next[2048], path[512];
    simt_start(&s, small_org);
    simt_api(&r, &s, "/api/v1/users?limit=2&search=status%20eq%20%22ACTIVE%22");
    char u0[64], u1[64];
    snprintf(u0, sizeof u0, "%s",
             json_string_value(json_object_get(json_array_get(r.json, 0), "id")));
    snprintf(u1, sizeof u1, "%s",
             json_string_value(json_object_get(json_array_get(r.json, 1), "id")));
    snprintf(path, sizeof path, "/__sim/users/%s/profile", u0);
    OKS_ASSERT_EQ_INT(simt_admin(&a, &s, "POST", path, "{\"title\":\"CTO\"}"), 200);
    simt_resp_free(&a);
    snprintf(path, sizeof path, "/__sim/users/%s/suspend", u1);
    OKS_ASSERT_EQ_INT(simt_admin(&a, &s, "POST", path, NULL), 200);
    simt_resp_free(&a);
    simt_resp_free(&r);
    simt_api(&r, &s,
             "/api/v1/logs?filter=eventType%20eq%20%22user.lifecycle.suspend%22%20or%20"
             "eventType%20eq%20%22user.lifecycle.deactivate%22");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 1);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(r.json, 0), "eventType")),
                      "user.lifecycle.suspend");
    OKS_ASSERT_EQ_INT(simt_links(&r, self, next, sizeof next), 2);
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/logs");
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 2);
    simt_links(&r, self, next, sizeof next);
    simt_resp_free(&r);
    /* Polling the next link: empty now, the new event once it happens, still a next link. */
    simt_request(&r, "GET", next, "SSWS " SIMT_TOKEN, NULL, 5000);
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 0);
    OKS_ASSERT_EQ_INT(simt_links(&r, self, next, sizeof next), 2);
    simt_resp_free(&r);
    snprintf(path, sizeof path, "/__sim/users/%s/unsuspend", u1);
    OKS_ASSERT_EQ_INT(simt_admin(&a, &s, "POST", path, NULL), 200);
    simt_resp_free(&a);
    simt_request(&r, "GET", next, "SSWS " SIMT_TOKEN, NULL, 5000);
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 1);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(r.json, 0), "eventType")),
                      "user.lifecycle.unsuspend");
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(bad_flag_exits_2_with_one_line)
{
    char line[512];
    const char *const args[] = {"--users", "2000000", NULL};
    OKS_ASSERT_EQ_INT(simt_run_expect_exit(args, line, sizeof line), 2);
    OKS_ASSERT_CONTAINS(line, "--users");
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
