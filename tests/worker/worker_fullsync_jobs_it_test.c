/* oktasync-worker takes full_sync jobs from the jobs topic (real broker, simulator): a slot
 * published twice is one run, a finished slot's redelivered job does nothing, and a job of a
 * tenant that does not exist is dropped without a run. */
#include "core/oks_time.h"
#include "oks_test.h"
#include "wfixture.h"

#include <stdio.h>
#include <stdlib.h>

static long listing_calls(wfx *f)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/stats", f->sim_url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    long n = (long)json_integer_value(
        json_object_get(json_object_get(j, "per_endpoint"), "GET /api/v1/apps/{id}/users"));
    json_decref(j);
    return n;
}

static void job(wfx *f, const char *tenant, int run_id, const char *slot)
{
    char v[256];
    snprintf(v, sizeof v,
             "{\"v\":1,\"kind\":\"full_sync\",\"tenant\":\"%s\",\"run_id\":%d,"
             "\"scheduled_for\":\"%s\"}",
             tenant, run_id, slot);
    wt_produce(f->jobs, tenant, v, strlen(v));
}

OKS_TEST(two_jobs_for_one_slot_are_one_run_and_a_finished_slot_is_not_run_again)
{
    wfx f;
    wfx_setup(&f, 1);
    snprintf(f.jobs, sizeof f.jobs, "%s", oks_test_unique("jobs"));
    wt_create_topic(f.jobs, 1);
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/info", f.sim_url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *info = json_loads(body, 0, NULL);
    free(body);
    const char *p[] = {f.tenant, json_string_value(json_object_get(info, "app_id"))};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f.db, "UPDATE tenants SET okta_app_id = $2 WHERE id = $1::uuid", 2, p, &err);
    OKS_ASSERT(r != NULL);
    PQclear(r);
    json_decref(info);
    wfx_start_worker(&f, NULL);
    long calls0 = listing_calls(&f);
    const char *slot = "2026-12-01T03:00:00.000Z";
    job(&f, f.tenant, 7, slot);
    job(&f, f.tenant, 8, slot); /* "acknowledged, then COMMIT failed": published again */
    OKS_ASSERT(wfx_wait_count(&f,
                              "SELECT count(*) FROM sync_runs WHERE tenant_id = $1::uuid "
                              "AND status = 'succeeded'",
                              1, 30000));
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM sync_runs WHERE tenant_id = $1::uuid"),
                      1);
    OKS_ASSERT(wfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid") > 10);
    OKS_ASSERT_EQ_INT(listing_calls(&f) - calls0, 1); /* 30 users: one page */
    /* redelivered after the run finished, and a job of an unknown tenant */
    job(&f, f.tenant, 7, slot);
    job(&f, "00000000-0000-4000-8000-000000000000", 9, slot);
    for (int i = 0; i < 200 && wt_committed(f.group, f.jobs, 0) < 4; i++)
        oks_sleep_ms(100);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.jobs, 0), 4);
    OKS_ASSERT_EQ_INT(listing_calls(&f) - calls0, 1);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM sync_runs WHERE $1::uuid IS NOT NULL"),
                      1);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM sync_runs WHERE tenant_id = $1::uuid "
                                    "AND pages = 1 AND status = 'succeeded'"),
                      1);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
