/*
 * Reconciler against PostgreSQL and the Okta simulator, in process: dirty marks are inserted
 * as the intake writes them and oks_worker_reconciler_start runs the rounds. Okta calls are
 * counted by the simulator.
 */
#include "core/oks_metrics.h"
#include "core/oks_time.h"
#include "core/oks_json_arena.h"
#include "oks_test.h"
#include "oks_worker_fetch.h"
#include "rfixture.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void store_all(rfx *f, const char *tenant, char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rfx_mark(f, tenant, ids[i], 1, false, NULL);
}

static double metric(const char *name, const char *tenant)
{
    size_t len = 0;
    char *all = oks_metrics_render(&len), pat[256];
    snprintf(pat, sizeof pat, "%s{tenant=\"%s\"} ", name, tenant);
    char *p = all ? strstr(all, pat) : NULL;
    double v = p ? strtod(p + strlen(pat), NULL) : -1;
    free(all);
    return v;
}

/* 50 users, 20 events each: one round, ≤ 2 list requests, no per-user reads. */
OKS_TEST(coalesces_fifty_dirty_users_into_one_bulk_read)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 60, false);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    OKS_ASSERT(n >= 50);
    for (size_t i = 0; i < 50; i++)
        rfx_mark(&f, t, ids[i], 20, false, NULL);
    /* Let every mark age past the coalescing window before the reconciler starts: otherwise a
     * slow insert loop (a loaded machine) leaves the last marks for a second round. */
    oks_sleep_ms(f.cfg.coalesce_window_ms + 50);
    long before = rsim_requests(&s), lists0 = rsim_calls(&s, "GET /api/v1/users");
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    rfx_stop(&f);
    long lists = rsim_calls(&s, "GET /api/v1/users") - lists0;
    OKS_ASSERT(lists >= 1 && lists <= 2);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users/{id}"), 0);
    OKS_ASSERT(rsim_requests(&s) - before <= 2);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t, NULL), 50);
    /* rows are Okta's state */
    json_t *u = rsim_user(&s, ids[7]);
    char *email =
        rfx_q(&f, "SELECT email FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, ids[7]);
    OKS_ASSERT_EQ_STR(email,
                      json_string_value(json_object_get(json_object_get(u, "profile"), "email")));
    free(email);
    json_decref(u);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid "
                  "AND action = 'create' AND actor = 'reconcile'",
                  t, NULL),
        50);
    OKS_ASSERT(metric("oktasync_worker_events_coalesced_total", t) == 1000);
    OKS_ASSERT(metric("oktasync_worker_users_read_total", t) == 50);
    char lbl[160];
    snprintf(lbl, sizeof lbl, "%s\",bucket=\"users", t);
    OKS_ASSERT(metric("oktasync_worker_okta_requests_total", lbl) == (double)lists);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* okta-max-url-bytes bounds every filter URL: a small limit means more, shorter requests,
 * each under the limit, and every user still read once. */
OKS_TEST(filter_urls_stay_under_okta_max_url_bytes)
{
    rsim s;
    rsim_start(&s, 60, NULL);
    rfx f;
    rfx_setup(&f);
    f.cfg.okta_max_url_bytes = 400;
    /* Every mark exists before the reconciler starts: no window, so one round takes all 50
     * (with the 50 ms window, marks younger than it at start-up wait for a second round, and
     * the request count depends on how the insert loop raced the clock). */
    f.cfg.coalesce_window_ms = 0;
    char *t = rfx_tenant(&f, &s, false);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    for (size_t i = 0; i < 50; i++)
        rfx_mark(&f, t, ids[i], 1, false, NULL);
    long lists0 = rsim_calls(&s, "GET /api/v1/users");
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    rfx_stop(&f);
    /* base URL + "/api/v1/users?limit=200&filter=" leaves ~345 bytes: 7 ids of 44 bytes */
    const char *idp[50];
    for (int i = 0; i < 50; i++)
        idp[i] = ids[i];
    char buf[4096];
    size_t per = oks_worker_fetch_pack_filter(idp, 50, 400 - strlen(s.url) - 31, buf, sizeof buf);
    OKS_ASSERT(per >= 5 && per <= 8);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users") - lists0, (50 + per - 1) / per);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users/{id}"), 0);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t, NULL), 50);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* 2,000 dirty users of a tenant with an app id and no stored rows: listing the app
 * (ceil(assigned / 500) pages) beats 2,000 per-user app GETs; one round; non-members are not
 * stored. */
OKS_TEST(large_dirty_set_lists_the_app_as_the_cost_model_says)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 2000, true);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    OKS_ASSERT_EQ_INT(n, 2000);
    for (size_t i = 0; i < n; i++)
        rfx_mark(&f, t, ids[i], 1, true, NULL);
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/state", s.url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *st = json_loads(body, 0, NULL);
    free(body);
    long assigned = 0;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(st, "users"), i, u) assigned +=
        json_is_true(json_object_get(u, "assigned"));
    json_decref(st);
    OKS_ASSERT(assigned > 1000 && assigned < 2000);
    long before_apps = rsim_calls(&s, "GET /api/v1/apps/{id}/users");
    f.cfg.reconcile_threads = 1;
    f.cfg.coalesce_window_ms = 0; /* every mark is due in the first round */
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 30000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users") - before_apps,
                      (assigned + 499) / 500);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users/{userId}"), 0);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users/{id}"), 0);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t, NULL), assigned);
    OKS_ASSERT_EQ_INT(rfx_count(&f,
                                "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                "AND app_assigned IS NOT TRUE",
                                t, NULL),
                      0);
    /* a user that is not assigned has no row (no personal data of non-members) */
    for (size_t k = 0; k < 40; k++) {
        bool a = rsim_assigned(&s, ids[k]);
        OKS_ASSERT_EQ_INT(rfx_count(&f,
                                    "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                    "AND okta_id = $2",
                                    t, ids[k]),
                          a ? 1 : 0);
    }
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* A few dirty users of a tenant with an app id: per-user app GETs (cheaper than listing). A
 * member's later profile change costs no apps call at all (app_assigned is stored). */
OKS_TEST(few_dirty_users_ask_assignment_per_user_then_trust_the_stored_answer)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 1200, true);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    /* 700 stored assigned users make the listing (2 pages) dearer than 1 GET */
    const char *p[] = {t};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f.db,
        "INSERT INTO users (tenant_id, okta_id, status, app_assigned) SELECT $1::uuid, "
        "'00ufake' || g, 'active', true FROM generate_series(1, 700) g",
        1, p, &err);
    OKS_ASSERT(r != NULL);
    PQclear(r);
    size_t member = 0;
    while (!rsim_assigned(&s, ids[member]))
        member++;
    long gets0 = rsim_calls(&s, "GET /api/v1/apps/{id}/users/{userId}");
    rfx_mark(&f, t, ids[member], 3, true, NULL);
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users/{userId}") - gets0, 1);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users"), 0);
    char *v = rfx_q(&f,
                    "SELECT app_assigned::text FROM users WHERE tenant_id = $1::uuid "
                    "AND okta_id = $2",
                    t, ids[member]);
    OKS_ASSERT_EQ_STR(v, "true");
    free(v);
    /* a profile update of the stored member: users bucket only */
    char path[128];
    snprintf(path, sizeof path, "users/%s/profile", ids[member]);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, "{\"title\":\"Chief Reconciler\"}"), 200);
    rfx_mark(&f, t, ids[member], 1, false, NULL);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users/{userId}") - gets0, 1);
    v = rfx_q(&f, "SELECT title FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t,
              ids[member]);
    OKS_ASSERT_EQ_STR(v, "Chief Reconciler");
    free(v);
    /* the audit row has the before image and the change */
    v = rfx_q(&f,
              "SELECT action || '|' || (before->>'title') || '|' || (after->>'title') FROM "
              "audit_log WHERE tenant_id = $1::uuid AND entity = 'user' AND entity_id = $2 "
              "ORDER BY id DESC LIMIT 1",
              t, ids[member]);
    OKS_ASSERT(v != NULL && strncmp(v, "active|", 7) == 0);
    OKS_ASSERT(strstr(v, "|Chief Reconciler") != NULL);
    OKS_ASSERT(strstr(v + 7, "Chief Reconciler|") == NULL); /* before is the old title */
    free(v);
    /* read again a second later with nothing changed in Okta: a new Date stamp, no audit row */
    oks_sleep_ms(1100);
    long audits = rfx_count(
        &f, "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid", t,
        NULL);
    rfx_start(&f);
    rfx_mark(&f, t, ids[member], 1, false, NULL);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid",
                  t, NULL),
        audits);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* A mark bumped while its Okta read is in flight is not deleted by that round: read again. */
OKS_TEST(mark_bumped_during_the_read_is_read_again)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 20, false);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    long l0 = rsim_calls(&s, "GET /api/v1/users");
    OKS_ASSERT_EQ_INT(rsim_post(&s, "faults", "{\"latency_ms\":1200}"), 200);
    rfx_mark(&f, t, ids[0], 1, false, NULL);
    rfx_start(&f);
    int64_t end = oks_now_mono_ms() + 10000;
    while (rsim_calls(&s, "GET /api/v1/users") - l0 < 1 && oks_now_mono_ms() < end)
        oks_sleep_ms(20);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users") - l0, 1);
    /* the read is in flight (1.2 s of latency): its answer has not been applied */
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t, NULL), 0);
    rfx_mark(&f, t, ids[0], 1, false, NULL); /* an event arrives while Okta is asked */
    OKS_ASSERT_EQ_INT(rsim_post(&s, "faults", "{\"clear\":true}"), 200);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users") - l0, 2);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* A bulk read older than the mark's newest event (the filter is eventually consistent) is
 * re-read with GET /users/{id}; a user missing from the filter (deleted) too, and 404
 * E0000007 marks it deleted as of Okta's Date. */
OKS_TEST(stale_or_missing_bulk_reads_fall_back_to_get_user)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 30, false);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    store_all(&f, t, ids, 10);
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    long gets0 = rsim_calls(&s, "GET /api/v1/users/{id}");
    OKS_ASSERT_EQ_INT(gets0, 0);
    /* two marks whose events are newer than anything the org says (stale filter answer) */
    rfx_mark(&f, t, ids[1], 1, false, "now()");
    rfx_mark(&f, t, ids[2], 1, false, "now()");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users/{id}"), 2);
    /* a real change and its event (published a moment after lastUpdated): the bulk read is
     * fresh, no GET */
    char prof[128];
    snprintf(prof, sizeof prof, "users/%s/profile", ids[4]);
    OKS_ASSERT_EQ_INT(rsim_post(&s, prof, "{\"title\":\"Fresh\"}"), 200);
    rfx_mark(&f, t, ids[4], 1, false, "now()");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users/{id}"), 2);
    char *title =
        rfx_q(&f, "SELECT title FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, ids[4]);
    OKS_ASSERT_EQ_STR(title, "Fresh");
    free(title);
    /* deleted in Okta */
    char path[128];
    snprintf(path, sizeof path, "DELETE users/%s", ids[3]);
    char url[256];
    snprintf(url, sizeof url, "%s/__sim/users/%s", s.url, ids[3]);
    OKS_ASSERT_EQ_INT(wt_http("DELETE", url, NULL, NULL), 200);
    int64_t asked_s = oks_now_wall_ms() / 1000;
    rfx_mark(&f, t, ids[3], 2, false, NULL);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users/{id}"), 3);
    char *v = rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t,
                    ids[3]);
    OKS_ASSERT_EQ_STR(v, "deleted");
    free(v);
    /* "as of" = the simulator's Date header: whole seconds, at or after we deleted */
    v = rfx_q(&f,
              "SELECT (extract(epoch FROM okta_last_updated) * 1000)::bigint::text FROM users "
              "WHERE tenant_id = $1::uuid AND okta_id = $2",
              t, ids[3]);
    long long ms = strtoll(v, NULL, 10);
    free(v);
    OKS_ASSERT_EQ_INT(ms % 1000, 0);
    OKS_ASSERT(ms / 1000 >= asked_s && ms / 1000 <= oks_now_wall_ms() / 1000);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* Watermarks are Okta's Date, not lastUpdated: a stored row's stamp is a whole second at or
 * after the read, although the user's lastUpdated lies in 2024-2025. */
OKS_TEST(as_of_stamp_is_the_response_date)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 10, false);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    int64_t t0 = oks_now_wall_ms() / 1000;
    rfx_mark(&f, t, ids[0], 1, false, NULL);
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    rfx_stop(&f);
    int64_t t1 = oks_now_wall_ms() / 1000;
    char *v = rfx_q(&f,
                    "SELECT (extract(epoch FROM okta_last_updated) * 1000)::bigint::text FROM "
                    "users WHERE tenant_id = $1::uuid AND okta_id = $2",
                    t, ids[0]);
    long long ms = strtoll(v, NULL, 10);
    free(v);
    OKS_ASSERT_EQ_INT(ms % 1000, 0);
    OKS_ASSERT(ms / 1000 >= t0 && ms / 1000 <= t1);
    json_t *u = rsim_user(&s, ids[0]);
    OKS_ASSERT_CONTAINS(json_string_value(json_object_get(u, "lastUpdated")), "202");
    OKS_ASSERT(strncmp(json_string_value(json_object_get(u, "lastUpdated")), "2026", 4) != 0);
    json_decref(u);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* Unassign then re-assign within the same second (events in any order): Okta's end state
 * wins, also when both reads carry the same Date second. */
OKS_TEST(unassign_reassign_in_one_second_converges_to_okta)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 40, true);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    /* a directly assigned ACTIVE user */
    char *u = NULL;
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/state", s.url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *st = json_loads(body, 0, NULL);
    free(body);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(st, "users"), i, x)
    {
        const char *scope = json_string_value(json_object_get(x, "scope"));
        if (!u && scope && strcmp(scope, "USER") == 0 &&
            strcmp(json_string_value(json_object_get(x, "okta_status")), "ACTIVE") == 0)
            u = strdup(json_string_value(json_object_get(x, "id")));
    }
    json_decref(st);
    OKS_ASSERT(u != NULL);
    rfx_mark(&f, t, u, 1, true, NULL);
    f.cfg.coalesce_window_ms = 0;
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    char *v =
        rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);
    OKS_ASSERT_EQ_STR(v, "active");
    free(v);
    char path[128];
    for (int round = 0; round < 3; round++) {
        /* unassign, reconcile, re-assign, reconcile: all inside about one second */
        snprintf(path, sizeof path, "users/%s/unassign", u);
        OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
        rfx_mark(&f, t, u, 1, true, NULL);
        OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
        v = rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);
        OKS_ASSERT_EQ_STR(v, "deactivated");
        free(v);
        snprintf(path, sizeof path, "users/%s/assign", u);
        OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
        /* two events for the pair, delivered reversed: one mark either way */
        rfx_mark(&f, t, u, 1, true, NULL);
        rfx_mark(&f, t, u, 1, true, NULL);
        OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
        v = rfx_q(&f,
                  "SELECT status || '/' || app_assigned::text FROM users WHERE tenant_id = "
                  "$1::uuid AND okta_id = $2",
                  t, u);
        OKS_ASSERT_EQ_STR(v, "active/true");
        free(v);
    }
    rfx_stop(&f);
    free(u);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

int main(int argc, char **argv)
{
    /* as the worker's main does: jansson allocates from thread arenas while pages are read and
     * batches built (core/oks_json_arena.h); the other worker tests run without */
    oks_json_arena_install();
    return oks_test_main(argc, argv);
}

/* While the intake is behind Kafka a tenant's round waits for reconcile-batch due users or for
 * the backlog linger; once the intake has caught up, a mark goes after the coalescing window
 * as before. Each wait is checked at a fraction of the linger, so a slow machine cannot make a
 * held round look released. */
OKS_TEST(rounds_wait_for_a_full_batch_or_the_linger_while_the_intake_is_behind)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 30, false);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    OKS_ASSERT(n >= 12);
    f.cfg.reconcile_batch = 5;
    f.cfg.backlog_linger_ms = 6000;
    rfx_start(&f);

    /* behind, 4 due users of a batch of 5: held (without the rule: done within a window) */
    int64_t t0 = oks_now_mono_ms();
    oks_worker_reconciler_backlog(f.rec, true);
    for (int i = 0; i < 4; i++)
        rfx_mark(&f, t, ids[i], 1, false, NULL);
    oks_worker_reconciler_wake(f.rec);
    oks_sleep_ms(1000);
    OKS_ASSERT_EQ_INT(rfx_marks_left(&f, t), 4);
    /* a fifth makes a full round: it goes at once, in one read, long before the linger */
    long lists0 = rsim_calls(&s, "GET /api/v1/users");
    rfx_mark(&f, t, ids[4], 1, false, NULL);
    oks_worker_reconciler_wake(f.rec);
    OKS_ASSERT(rfx_wait_clean(&f, t, 4000));
    OKS_ASSERT(oks_now_mono_ms() - t0 < 6000);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/users") - lists0, 1);

    /* behind, 2 due users: they wait out the linger, then go */
    oks_worker_reconciler_backlog(f.rec, true);
    t0 = oks_now_mono_ms();
    rfx_mark(&f, t, ids[5], 1, false, NULL);
    rfx_mark(&f, t, ids[6], 1, false, NULL);
    oks_worker_reconciler_wake(f.rec);
    oks_sleep_ms(1500);
    OKS_ASSERT_EQ_INT(rfx_marks_left(&f, t), 2);
    OKS_ASSERT(rfx_wait_clean(&f, t, 15000));
    OKS_ASSERT(oks_now_mono_ms() - t0 >= 6000 - 100);

    /* caught up: one mark goes after the coalescing window, well within the linger */
    oks_worker_reconciler_backlog(f.rec, false);
    t0 = oks_now_mono_ms();
    rfx_mark(&f, t, ids[7], 1, false, NULL);
    oks_worker_reconciler_wake(f.rec);
    OKS_ASSERT(rfx_wait_clean(&f, t, 4000));
    OKS_ASSERT(oks_now_mono_ms() - t0 < 6000);
    rfx_stop(&f);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* Tenants a (returned) and b on one simulator of 10 users, and three reconciler threads. */
static char *open_two(rsim *s, rfx *f, char **b, char ***ids, size_t *n)
{
    char *a = rfx_open(s, f, 10, false);
    *b = rfx_tenant(f, s, false);
    *ids = rsim_user_ids(s, n);
    OKS_ASSERT(*n >= 2);
    f->cfg.reconcile_threads = 3;
    return a;
}

/* Every users row of tenant locked (FOR UPDATE) in a transaction on a connection of its own,
 * so a round's apply waits; COMMIT it on the returned handle to let it go. */
static oks_db *lock_users(rfx *f, const char *tenant)
{
    oks_err err = {0};
    oks_db_opts o = {.url = f->db_url, .connect_timeout_s = 5, .statement_timeout_ms = 60000};
    oks_db *lk = oks_db_connect(&o, &err);
    OKS_ASSERT(lk != NULL);
    free(wt_scalar(lk, "BEGIN", 0, NULL));
    const char *p[] = {tenant};
    char *locked = wt_scalar(lk, "SELECT 1 FROM users WHERE tenant_id = $1::uuid FOR UPDATE", 1, p);
    OKS_ASSERT(locked != NULL); /* a row to hold */
    free(locked);
    return lk;
}

static double looks(void)
{
    return rfx_series("oktasync_worker_reconcile_looks_total");
}

/* Looks counted after they stop moving: equal for 500 ms. */
static double settled_looks(void)
{
    double v = looks();
    for (int i = 0; i < 100; i++) {
        oks_sleep_ms(500);
        double w = looks();
        if (w == v)
            return v;
        v = w;
    }
    return v;
}

/* How many of this process's threads are named exactly NAME (/proc/self/task/N/comm). */
static int threads_named(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    OKS_ASSERT(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread ended meanwhile */
        if (fgets(comm, sizeof comm, f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        n += strcmp(comm, name) == 0;
    }
    closedir(d);
    return n;
}

/* reconcile-0 .. reconcile-(*n - 1), one thread each (a thread names itself as it starts) */
static bool reconcilers_named(void *n)
{
    for (int i = 0; i < *(int *)n; i++) {
        char name[32];
        snprintf(name, sizeof name, "reconcile-%d", i);
        if (threads_named(name) != 1)
            return false;
    }
    return true;
}

/* A wake sends one idle thread to look for due tenants, not all of them (the intake wakes
 * after every batch); a thread that finds more than one due tenant brings another, so a
 * tenant whose round is stuck does not hold the others (poll-interval is out of reach here). */
OKS_TEST(a_wake_sends_one_idle_thread_and_it_brings_another_when_more_tenants_are_due)
{
    rsim s;
    rfx f;
    char *b, **ids;
    size_t n;
    char *a = open_two(&s, &f, &b, &ids, &n);
    f.cfg.poll_interval_ms = 60000;
    /* one round per thread: with more in flight the woken thread claims b too, and b's apply
     * waits behind a's on that thread (docs/worker-reconcile.md "Reads in flight") */
    f.cfg.reconcile_inflight = 1;
    rfx_mark(&f, a, ids[0], 1, false, NULL); /* a's user stored, so its next apply updates it */
    oks_sleep_ms(200);                       /* past the coalescing window: due at the start */
    rfx_start(&f);
    /* each reconciler thread says which it is in top -H, ps -L and perf */
    OKS_ASSERT(f.cfg.reconcile_threads >= 2);
    int threads = (int)f.cfg.reconcile_threads;
    OKS_ASSERT(oks_test_wait_until(reconcilers_named, &threads, 5000));
    OKS_ASSERT(rfx_wait_clean(&f, a, 10000));
    double before = settled_looks();
    oks_worker_reconciler_wake(f.rec);
    OKS_ASSERT_EQ_INT((long)(settled_looks() - before), 1);

    /* a's apply waits on a row lock held here; a then b due, one wake. Which idle thread the
     * wake reaches is the system's choice, and one that starts at b would take b itself: three
     * times, so a missing hand-over shows with a chance of at least 1 - (1/3)^3. */
    for (int i = 0; i < 3; i++) {
        oks_db *lk = lock_users(&f, a);
        rfx_mark(&f, a, ids[0], 1, false, NULL);
        oks_sleep_ms(20); /* a's change is the older: it comes first in the due list */
        rfx_mark(&f, b, ids[1 + i % (n - 1)], 1, false, NULL);
        oks_sleep_ms(200); /* past the coalescing window */
        oks_worker_reconciler_wake(f.rec);
        OKS_ASSERT(rfx_wait_clean(&f, b, 10000));
        free(wt_scalar(lk, "COMMIT", 0, NULL));
        oks_db_close(lk);
        OKS_ASSERT(rfx_wait_clean(&f, a, 10000));
    }
    rfx_stop(&f);
    free(b);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, a);
}

/* apply-concurrency bounds the reconcilers' apply transactions, not their Okta reads: with one
 * slot, a round whose apply waits on a row lock held here keeps another tenant's round from
 * applying; with two, that round goes through. */
static void one_slot_or_two(int slots, bool other_waits)
{
    rsim s;
    rfx f;
    char *b, **ids;
    size_t n;
    char *a = open_two(&s, &f, &b, &ids, &n);
    f.cfg.apply_concurrency = slots;
    /* a's user stored first, so its next apply updates that row */
    rfx_mark(&f, a, ids[0], 1, false, NULL);
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, a, 10000));
    rfx_stop(&f);
    /* the lock is held on a connection of its own: the fixture's marks must commit */
    oks_db *lk = lock_users(&f, a);
    rfx_mark(&f, a, ids[0], 1, false, NULL);
    rfx_start(&f);
    /* a's round is inside its apply, waiting for the lock */
    bool waiting = false;
    for (int i = 0; i < 100 && !waiting; i++) {
        oks_sleep_ms(100);
        char *w = wt_scalar(f.db,
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()",
                            0, NULL);
        waiting = w && strcmp(w, "0") != 0;
        free(w);
    }
    OKS_ASSERT(waiting);
    rfx_mark(&f, b, ids[1], 1, false, NULL);
    oks_worker_reconciler_wake(f.rec);
    if (other_waits) {
        oks_sleep_ms(1500);
        OKS_ASSERT_EQ_INT(rfx_marks_left(&f, b), 1);
    } else {
        OKS_ASSERT(rfx_wait_clean(&f, b, 10000));
    }
    free(wt_scalar(lk, "COMMIT", 0, NULL));
    oks_db_close(lk);
    OKS_ASSERT(rfx_wait_clean(&f, a, 10000));
    OKS_ASSERT(rfx_wait_clean(&f, b, 10000));
    rfx_stop(&f);
    free(b);
    rfx_free_ids(ids, n);
    rfx_close(&s, &f, a);
}

OKS_TEST(one_apply_slot_holds_other_tenants_applies_not_their_reads)
{
    one_slot_or_two(1, true);
}

OKS_TEST(two_apply_slots_let_another_tenant_apply_past_a_blocked_one)
{
    one_slot_or_two(2, false);
}
