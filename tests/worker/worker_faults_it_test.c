/* oktasync-worker fault handling: dead-letter, and (reconcile-mode=naive, the per-event path)
 * Okta 5xx with recovery and the per-message retry bound. */
#include "oks_test.h"
#include "wfixture.h"

#include <stdlib.h>

static const char *header(json_t *msg, const char *name)
{
    return json_string_value(json_object_get(json_object_get(msg, "headers"), name));
}

OKS_TEST(bad_envelope_and_unknown_tenant_go_to_dead_letter_and_offset_moves_on)
{
    wfx f;
    wfx_setup(&f, 1);
    snprintf(f.jobs, sizeof f.jobs, "%s", oks_test_unique("jobs"));
    wt_create_topic(f.jobs, 1);
    wfx_start_worker(&f, NULL);
    char *id = wfx_user_with_status(&f, "ACTIVE", 0);
    wt_produce(f.events, f.tenant, "this is not json", 16);
    char *unknown = wfx_envelope(&f, "00000000-0000-4000-8000-000000000000", "ev-unknown",
                                 "user.account.update_profile", id);
    wt_produce(f.events, "00000000-0000-4000-8000-000000000000", unknown, strlen(unknown));
    free(unknown);
    /* a good event behind them on the same partition is still taken in */
    wfx_send(&f, "ev-after-bad", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_count(&f,
                              "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid "
                              "AND event_uuid = 'ev-after-bad'",
                              1, 20000));
    /* a job of a kind this build does not run is kept in the dead-letter topic (full_sync
     * jobs run: worker_fullsync_jobs_it_test) */
    char job[256];
    snprintf(job, sizeof job,
             "{\"v\":1,\"kind\":\"reindex\",\"tenant\":\"%s\",\"run_id\":7,"
             "\"scheduled_for\":\"2026-11-28T03:00:00.000Z\"}",
             f.tenant);
    wt_produce(f.jobs, f.tenant, job, strlen(job));
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 3, 15000));
    json_t *dead = wt_consume_all(f.dlq, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(dead), 3);
    json_t *m0 = json_array_get(dead, 0), *m1 = json_array_get(dead, 1);
    OKS_ASSERT_CONTAINS(header(json_array_get(dead, 2), "reason"), "not implemented");
    OKS_ASSERT_EQ_STR(header(json_array_get(dead, 2), "source_topic"), f.jobs);
    OKS_ASSERT_CONTAINS(header(m0, "reason"), "not a JSON object");
    OKS_ASSERT_EQ_STR(header(m0, "error_class"), "invalid");
    OKS_ASSERT_EQ_STR(header(m0, "source_topic"), f.events);
    OKS_ASSERT_EQ_STR(header(m0, "source_offset"), "0");
    json_t *v0 = json_loads(json_string_value(json_object_get(m0, "value")), 0, NULL);
    OKS_ASSERT(v0 != NULL);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(v0, "value")), "this is not json");
    OKS_ASSERT_CONTAINS(json_string_value(json_object_get(v0, "reason")), "not a JSON object");
    OKS_ASSERT_CONTAINS(header(m1, "reason"), "unknown tenant");
    OKS_ASSERT_EQ_STR(header(m1, "source_offset"), "1");
    json_decref(v0);
    json_decref(dead);
    wfx_stop_worker(&f);
    /* stopped cleanly: all offsets are committed */
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 3);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.jobs, 0), 1);
    free(id);
    wfx_teardown(&f);
}

OKS_TEST(okta_5xx_is_retried_until_applied_exactly_once_nothing_skipped)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_args(&f, "--reconcile-mode", "naive", NULL);
    wfx_start_worker(&f, NULL);
    char *a = wfx_user_with_status(&f, "ACTIVE", 0);
    char *b = wfx_user_with_status(&f, "ACTIVE", 1);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", "faults", "{\"fail_next\":3,\"fail_status\":500}"), 200);
    wfx_send(&f, "ev-5xx-a", "user.account.update_profile", a);
    wfx_send(&f, "ev-5xx-b", "user.account.update_profile", b);
    OKS_ASSERT(wfx_wait_col(&f, a, "status", "active", 20000));
    OKS_ASSERT(wfx_wait_col(&f, b, "status", "active", 20000));
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_retries_total", NULL) >= 3);
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_okta_calls_total", "result=\"error\"") >= 3);
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_dead_letter_total", NULL) == 0);
    OKS_ASSERT_EQ_INT(
        wfx_count(&f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid"),
        2);
    /* in partition order: b, behind a, was not applied while a was still failing */
    const char *p[] = {f.tenant};
    char *first =
        wt_scalar(f.db,
                  "SELECT event_uuid FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid "
                  "ORDER BY id LIMIT 1",
                  1, p);
    OKS_ASSERT_EQ_STR(first, "ev-5xx-a");
    free(first);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM processed_events WHERE tenant_id = "
                                    "$1::uuid"),
                      2);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 2);
    free(a);
    free(b);
    wfx_teardown(&f);
}

/* naive mode: one message whose tenant's Okta never answers is retried message-max-attempts
 * times, then dead-lettered; the other tenant's event behind it on the partition is applied. */
OKS_TEST(naive_mode_bounds_the_retries_of_one_message_so_others_on_the_partition_flow)
{
    wfx f;
    wfx_setup(&f, 1);
    char *dead = wt_tenant(f.db, "http://127.0.0.1:1", WFX_TOKEN, 60, NULL);
    char *id = wfx_user_with_status(&f, "ACTIVE", 0);
    wfx_args(&f, "--reconcile-mode", "naive", "--message-max-attempts", "3", NULL);
    wfx_start_worker(&f, NULL);
    wfx_send_for(&f, dead, "ev-stuck", "user.account.update_profile", id);
    wfx_send(&f, "ev-flows", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_col(&f, id, "status", "active", 30000));
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 1, 5000));
    OKS_ASSERT_EQ_INT(wt_metric(f.admin, "oktasync_worker_retries_total", NULL), 2);
    json_t *dl = wt_consume_all(f.dlq, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(dl), 1);
    OKS_ASSERT_CONTAINS(header(json_array_get(dl, 0), "reason"), "gave up after 3 attempts");
    json_decref(dl);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 2);
    free(id);
    free(dead);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
