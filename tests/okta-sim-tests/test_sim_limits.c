/* Simulator rate limits, concurrency limit and injected faults, against the real binary. */
#include "simt.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long header_int(const simt_resp *r, const char *name)
{
    char v[64];
    OKS_ASSERT(simt_header(r, name, v, sizeof v) != NULL);
    return atol(v);
}

static void assert_code(const simt_resp *r, long status, const char *code)
{
    OKS_ASSERT_EQ_INT(r->status, status);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r->json, "errorCode")), code);
}

OKS_TEST(quota_gives_429_E0000047_with_reset_then_recovers)
{
    simt s;
    simt_resp r;
    const char *const args[] = {"--users", "50", "--rate-user-get", "5", "--rate-window",
                                "3s",      NULL};
    simt_start(&s, args);
    simt_api(&r, &s, "/api/v1/users?limit=1");
    char path[128];
    snprintf(path, sizeof path, "/api/v1/users/%s",
             json_string_value(json_object_get(json_array_get(r.json, 0), "id")));
    /* The list bucket is separate from the get-user bucket. */
    OKS_ASSERT_EQ_INT(header_int(&r, "X-Rate-Limit-Limit"), 600);
    simt_resp_free(&r);
    for (int i = 0; i < 5; i++) {
        simt_api(&r, &s, path);
        OKS_ASSERT_EQ_INT(r.status, 200);
        OKS_ASSERT_EQ_INT(header_int(&r, "X-Rate-Limit-Limit"), 5);
        OKS_ASSERT_EQ_INT(header_int(&r, "X-Rate-Limit-Remaining"), 4 - i);
        simt_resp_free(&r);
    }
    simt_api(&r, &s, path);
    assert_code(&r, 429, "E0000047");
    OKS_ASSERT_EQ_INT(header_int(&r, "X-Rate-Limit-Remaining"), 0);
    long reset = header_int(&r, "X-Rate-Limit-Reset");
    long now = (long)time(NULL);
    OKS_ASSERT(reset >= now && reset <= now + 4);
    char date[64];
    OKS_ASSERT(simt_header(&r, "Date", date, sizeof date) != NULL);
    simt_resp_free(&r);
    /* Wait until the announced reset: the quota is back. */
    while ((long)time(NULL) < reset)
        usleep(50000);
    usleep(100000);
    simt_api(&r, &s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/stats", NULL), 200);
    OKS_ASSERT(json_integer_value(json_object_get(r.json, "served_429")) == 1);
    simt_resp_free(&r);
    simt_stop(&s);
}

typedef struct par {
    const simt *s;
    simt_resp r;
} par;

static void *par_get(void *arg)
{
    par *p = arg;
    simt_api(&p->r, p->s, "/api/v1/users?limit=1");
    return NULL;
}

OKS_TEST(concurrency_limit_gives_429_with_limit_zero)
{
    simt s;
    const char *const args[] = {"--users", "50", "--concurrency-limit", "2", "--fault-latency",
                                "800ms",   NULL};
    simt_start(&s, args);
    par p[6];
    pthread_t th[6];
    for (int i = 0; i < 6; i++) {
        p[i].s = &s;
        pthread_create(&th[i], NULL, par_get, &p[i]);
    }
    int ok = 0, limited = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        if (p[i].r.status == 200)
            ok++;
        if (p[i].r.status == 429) {
            limited++;
            assert_code(&p[i].r, 429, "E0000047");
            OKS_ASSERT_EQ_INT(header_int(&p[i].r, "X-Rate-Limit-Limit"), 0);
            OKS_ASSERT_EQ_INT(header_int(&p[i].r, "X-Rate-Limit-Remaining"), 0);
            OKS_ASSERT(header_int(&p[i].r, "X-Rate-Limit-Reset") >= (long)time(NULL) - 1);
        }
    }
    OKS_ASSERT(ok >= 1 && limited >= 1);
    OKS_ASSERT_EQ_INT(ok + limited, 6);
    simt_resp r;
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/stats", NULL), 200);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "concurrency_429")), limited);
    /* Only Okta API calls count as requests, not the admin calls. */
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "requests")), 6);
    OKS_ASSERT(json_integer_value(json_object_get(r.json, "max_concurrency")) >= 3);
    simt_resp_free(&r);
    for (int i = 0; i < 6; i++)
        simt_resp_free(&p[i].r);
    simt_stop(&s);
}

static void set_faults(const simt *s, const char *json)
{
    simt_resp r;
    OKS_ASSERT_EQ_INT(simt_admin(&r, s, "POST", "/__sim/faults", json), 200);
    simt_resp_free(&r);
}

OKS_TEST(fault_fail_next_and_error_rate)
{
    simt s;
    simt_resp r;
    const char *const args[] = {"--users", "50", "--fault-fail-next", "1", NULL};
    simt_start(&s, args);
    simt_api(&r, &s, "/api/v1/users?limit=1"); /* from the flag: 503 */
    assert_code(&r, 503, "E0000009");
    simt_resp_free(&r);
    set_faults(&s, "{\"fail_next\":2,\"fail_status\":500}");
    for (int i = 0; i < 2; i++) {
        simt_api(&r, &s, "/api/v1/users?limit=1");
        assert_code(&r, 500, "E0000009");
        simt_resp_free(&r);
    }
    simt_api(&r, &s, "/api/v1/users?limit=1");
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    set_faults(&s, "{\"error_permille\":1000}");
    for (int i = 0; i < 5; i++) {
        simt_api(&r, &s, "/api/v1/users?limit=1");
        OKS_ASSERT(r.status == 500 || r.status == 503);
        simt_resp_free(&r);
    }
    set_faults(&s, "{\"clear\":true}");
    simt_api(&r, &s, "/api/v1/users?limit=1");
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/faults", "{\"fail_next\":\"x\"}"), 400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/faults", "{\"nope\":1}"), 400);
    simt_resp_free(&r);
    simt_stop(&s);
}

/* "route" scopes every fault to one route template: other endpoints are untouched, the
 * counters are spent only by that route, and "clear" (or "route":"") lifts the scope. */
OKS_TEST(fault_scoped_to_one_route)
{
    simt s;
    simt_resp r;
    const char *const args[] = {"--users", "50", NULL};
    simt_start(&s, args);
    simt_api(&r, &s, "/api/v1/users?limit=1");
    char groups[128], user[128];
    const char *id = json_string_value(json_object_get(json_array_get(r.json, 0), "id"));
    snprintf(groups, sizeof groups, "/api/v1/users/%s/groups", id);
    snprintf(user, sizeof user, "/api/v1/users/%s", id);
    simt_resp_free(&r);
    set_faults(&s, "{\"route\":\"/api/v1/users/{id}/groups\",\"fail_next\":2,"
                   "\"malformed_next\":1}");
    simt_api(&r, &s, user); /* not that route: no fault, no counter spent */
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?limit=1");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(r.json != NULL);
    simt_resp_free(&r);
    for (int i = 0; i < 2; i++) {
        simt_api(&r, &s, groups);
        assert_code(&r, 503, "E0000009");
        simt_resp_free(&r);
    }
    simt_api(&r, &s, groups); /* then the body fault of that route */
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(r.json == NULL);
    simt_resp_free(&r);
    simt_api(&r, &s, groups);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(json_is_array(r.json));
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/faults", NULL), 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "route")),
                      "/api/v1/users/{id}/groups");
    simt_resp_free(&r);
    /* clear lifts the scope: a counter then hits whatever comes next */
    set_faults(&s, "{\"clear\":true,\"fail_next\":1}");
    simt_api(&r, &s, user);
    assert_code(&r, 503, "E0000009");
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/faults", NULL), 200);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r.json, "route")), "");
    simt_resp_free(&r);
    /* bad values */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/faults", "{\"route\":5}"), 400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/faults", "{\"route\":\"users\"}"), 400);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(fault_latency_and_hang)
{
    simt s;
    simt_resp r;
    char url[256];
    const char *const args[] = {"--users", "50", NULL};
    simt_start(&s, args);
    set_faults(&s, "{\"latency_ms\":300}");
    simt_api(&r, &s, "/api/v1/users?limit=1");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(r.ms >= 290);
    simt_resp_free(&r);
    set_faults(&s, "{\"latency_ms\":0,\"hang_next\":1,\"hang_ms\":3000}");
    snprintf(url, sizeof url, "%s/api/v1/users?limit=1", s.base);
    simt_request(&r, "GET", url, "SSWS " SIMT_TOKEN, NULL, 500);
    OKS_ASSERT_EQ_INT(r.rc, CURLE_OPERATION_TIMEDOUT);
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?limit=1"); /* only the next one hung */
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(r.ms < 1000);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(fault_truncated_and_malformed_json)
{
    simt s;
    simt_resp r;
    const char *const args[] = {"--users", "50", "--fault-truncate-next", "1", NULL};
    simt_start(&s, args);
    simt_api(&r, &s, "/api/v1/users?limit=5");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(r.body_len > 10);
    OKS_ASSERT(r.json == NULL);
    simt_resp_free(&r);
    set_faults(&s, "{\"malformed_next\":1}");
    simt_api(&r, &s, "/api/v1/users?limit=5");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(r.json == NULL);
    simt_resp_free(&r);
    simt_api(&r, &s, "/api/v1/users?limit=5");
    OKS_ASSERT(json_array_size(r.json) == 5);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(fault_bad_token_and_forced_429)
{
    simt s;
    simt_resp r;
    const char *const args[] = {"--users", "50", "--fault-bad-token", NULL};
    simt_start(&s, args);
    simt_api(&r, &s, "/api/v1/users?limit=1");
    assert_code(&r, 401, "E0000011");
    simt_resp_free(&r);
    set_faults(&s, "{\"bad_token\":false,\"force_429_next\":2}");
    for (int i = 0; i < 2; i++) {
        simt_api(&r, &s, "/api/v1/users?limit=1");
        assert_code(&r, 429, "E0000047");
        OKS_ASSERT(header_int(&r, "X-Rate-Limit-Reset") >= (long)time(NULL));
        simt_resp_free(&r);
    }
    simt_api(&r, &s, "/api/v1/users?limit=1");
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/faults", NULL), 200);
    OKS_ASSERT(json_is_false(json_object_get(r.json, "bad_token")));
    simt_resp_free(&r);
    /* Reset clears the counters. */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/reset", NULL), 200);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/stats", NULL), 200);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "served_429")), 0);
    simt_resp_free(&r);
    simt_stop(&s);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
