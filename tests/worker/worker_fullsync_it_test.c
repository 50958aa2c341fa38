/*
 * Full sync (docs/operations.md "Full sync") against PostgreSQL, the dev broker and the Okta
 * simulator, with the reconciler threads in process (a forked child for the SIGKILL case):
 * runs keyed by slot, cursor resume, the guard, approve/reject, dry run, and tenant isolation.
 * The rules under a full sync (racing events, group teams, managers) are in
 * worker_fullsync_rules_it_test.c.
 */
#include "core/oks_time.h"
#include "fsfixture.h"
#include "oks_test.h"
#include "oks_worker_fullsync.h"
#include "sync/oks_sync_removals.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A first full sync stores every assigned user, records the run, and a job redelivered for the
 * finished slot (or published twice) is the same run: nothing runs again. */
OKS_TEST(slot_published_twice_is_one_run_and_a_finished_run_does_nothing)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 1200);
    const char *slot = "2026-12-01T03:00:00Z";
    long run = fs_request(&f, t, slot);
    OKS_ASSERT_EQ_INT(fs_request(&f, t, slot), run); /* the scheduler published it twice */
    OKS_ASSERT_EQ_INT(
        fs_count_q(&f, "SELECT count(*) FROM sync_runs WHERE tenant_id = $1::uuid", t), 1);
    long pages0 = rsim_calls(&s, "GET /api/v1/apps/{id}/users");
    rfx_start(&f);
    char *st = fs_wait_end(&f, run, 30000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    long assigned = fs_sim_assigned(&s);
    OKS_ASSERT(assigned > 500);
    long pages = (assigned + 499) / 500;
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "pages"), pages);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_seen"), assigned);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_created"), assigned);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_deactivated"), 0);
    OKS_ASSERT(fs_run_num(&f, run, "okta_calls") >= pages);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND last_seen_run_id IS NOT NULL",
                                 t),
                      assigned);
    OKS_ASSERT_EQ_INT(
        fs_count_q(&f,
                   "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                   "AND entity = 'user' AND source = 'full_sync' AND action = 'create'",
                   t),
        assigned);
    char *dur = fs_run_col(&f, run, "(finished_at >= started_at)");
    OKS_ASSERT_EQ_STR(dur, "true");
    free(dur);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users") - pages0, pages);
    /* redelivered job of the finished slot: the same row, no new listing */
    OKS_ASSERT_EQ_INT(fs_request(&f, t, slot), run);
    oks_sleep_ms(800);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users") - pages0, pages);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "pages"), pages);
    rfx_close(&s, &f, t);
}

/* SIGKILL mid-sync: the run continues from its saved cursor (pages are not fetched again from
 * page one), after the dead worker's heartbeat is older than full-sync-takeover. */
OKS_TEST(killed_mid_sync_resumes_from_the_cursor)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 5000);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"latency_ms\":150}") == 200);
    f.cfg.full_sync_pages_per_turn = 1;
    long run = fs_request(&f, t, "2026-12-01T03:00:00Z");
    long calls0 = rsim_calls(&s, "GET /api/v1/apps/{id}/users");
    fflush(NULL);
    pid_t child = fork();
    OKS_ASSERT(child >= 0);
    if (child == 0) {
        rfx_start(&f); /* its own connections and threads */
        for (;;)
            pause();
    }
    fs_wait_pages(&f, run, 3, 30000);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    long at_kill = fs_run_num(&f, run, "pages");
    OKS_ASSERT(at_kill >= 3);
    char *st = fs_run_col(&f, run, "status");
    OKS_ASSERT_EQ_STR(st, "running");
    free(st);
    OKS_ASSERT(fs_run_num(&f, run, "(cursor IS NOT NULL)::int") == 1);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"clear\":true}") == 200);
    rfx_start(&f);
    st = fs_wait_end(&f, run, 60000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    long assigned = fs_sim_assigned(&s);
    long pages = (assigned + 499) / 500;
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "pages"), pages);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_seen"), assigned);
    /* fetched: every page once, plus at most the one in flight at the kill */
    long fetched = rsim_calls(&s, "GET /api/v1/apps/{id}/users") - calls0;
    OKS_ASSERT(fetched >= pages && fetched <= pages + 1);
    OKS_ASSERT_EQ_INT(fs_count_q(&f, fs_active_sql, t),
                      fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND last_seen_run_id IS NOT NULL AND status = 'active'",
                                 t));
    rfx_close(&s, &f, t);
}

/* Okta lists nobody while users are stored: failed, nothing deactivated. */
OKS_TEST(empty_listing_fails_and_deactivates_nobody)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 0);
    fs_fake_users(&f, t, 40, "00ugone");
    long run = fs_request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    char *st = fs_wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "failed");
    free(st);
    char *e = fs_run_col(&f, run, "error");
    OKS_ASSERT_CONTAINS(e, "empty listing");
    free(e);
    OKS_ASSERT_EQ_INT(fs_count_q(&f, fs_active_sql, t), 40);
    OKS_ASSERT_EQ_INT(
        fs_count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t), 0);
    rfx_close(&s, &f, t);
}

/* The simulator fails requests in the middle of the listing: the run fails with the error and
 * nobody the listing did not reach is deactivated. A wrong app id fails the same way. */
OKS_TEST(listing_cut_short_or_failed_fails_and_deactivates_nobody)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 3000);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"latency_ms\":150}") == 200);
    f.cfg.full_sync_pages_per_turn = 1;
    fs_fake_users(&f, t, 30, "00ugone");
    long run = fs_request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    fs_wait_pages(&f, run, 2, 30000);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"fail_next\":50,\"fail_status\":500}") == 200);
    char *st = fs_wait_end(&f, run, 30000);
    OKS_ASSERT_EQ_STR(st, "failed");
    free(st);
    char *e = fs_run_col(&f, run, "error");
    OKS_ASSERT_CONTAINS(e, "cut short");
    free(e);
    OKS_ASSERT(fs_run_num(&f, run, "users_seen") < fs_sim_assigned(&s));
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                                 "AND action = 'deactivated' AND sync_run_id IS NOT NULL",
                                 t),
                      0);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND okta_id LIKE '00ugone%' AND status = 'active'",
                                 t),
                      30);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"clear\":true}") == 200);
    /* a wrong app id: the listing fails at once */
    fs_exec_sql(&f, "UPDATE tenants SET okta_app_id = '0oaWRONG' WHERE id = $1::uuid", t, NULL);
    long run2 = fs_request(&f, t, "2026-12-02T03:00:00Z");
    st = fs_wait_end(&f, run2, 20000);
    OKS_ASSERT_EQ_STR(st, "failed");
    free(st);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND okta_id LIKE '00ugone%' AND status = 'active'",
                                 t),
                      30);
    rfx_close(&s, &f, t);
}

/* Half the stored users are gone from Okta: held with zero writes; approving applies them
 * (except one changed by an event since), audited with the run id; rejecting changes nothing. */
OKS_TEST(half_missing_is_held_then_approve_applies_and_reject_changes_nothing)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 300);
    long assigned = fs_sim_assigned(&s);
    fs_fake_users(&f, t, (int)assigned, "00ugone");
    long run = fs_request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    char *st = fs_wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "held");
    free(st);
    char *why = fs_run_col(&f, run, "held_reason");
    OKS_ASSERT_CONTAINS(why, "would be deactivated");
    free(why);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND okta_id LIKE '00ugone%' AND status = 'active'",
                                 t),
                      assigned);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM sync_run_removals r JOIN sync_runs s "
                                 "ON s.id = r.run_id WHERE s.tenant_id = $1::uuid",
                                 t),
                      assigned);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                                 "AND action = 'deactivated'",
                                 t),
                      0);
    rfx_stop(&f);
    /* an event re-assigned one of them since: approve leaves it */
    fs_exec_sql(&f, "UPDATE users SET title = 'back' WHERE tenant_id = $1::uuid AND okta_id = $2",
                t, "00ugone1");
    long applied = -1;
    oks_err err = {0};
    OKS_ASSERT(oks_sync_apply_removals(f.db, run, "ops@acme", &applied, &err) == 0);
    OKS_ASSERT_EQ_INT(applied, assigned - 1);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND okta_id LIKE '00ugone%' AND status = 'deactivated'",
                                 t),
                      assigned - 1);
    char *u1 = rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t,
                     "00ugone1");
    OKS_ASSERT_EQ_STR(u1, "active");
    free(u1);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM audit_log a JOIN sync_runs s "
                                 "ON s.id = a.sync_run_id WHERE a.tenant_id = $1::uuid "
                                 "AND a.source = 'full_sync' AND a.actor = 'ops@acme' "
                                 "AND a.action = 'deactivated'",
                                 t),
                      assigned - 1);
    st = fs_run_col(&f, run, "status || ' ' || approved_by || ' ' || users_deactivated");
    char want[96];
    snprintf(want, sizeof want, "succeeded ops@acme %ld", assigned - 1);
    OKS_ASSERT_EQ_STR(st, want);
    free(st);
    /* approving again: the run is no longer held */
    OKS_ASSERT(oks_sync_apply_removals(f.db, run, "ops@acme", &applied, &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_CONFLICT);
    OKS_ASSERT(oks_sync_apply_removals(f.db, 987654, "ops@acme", &applied, &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_NOTFOUND);

    /* reject: a second held run, rejected as `sync reject` does; nothing changes */
    fs_fake_users(&f, t, (int)assigned, "00ulost");
    long run2 = fs_request(&f, t, "2026-12-02T03:00:00Z");
    rfx_start(&f);
    st = fs_wait_end(&f, run2, 20000);
    OKS_ASSERT_EQ_STR(st, "held");
    free(st);
    rfx_stop(&f);
    char id2[24];
    snprintf(id2, sizeof id2, "%ld", run2);
    fs_exec_sql(
        &f,
        "UPDATE sync_runs SET status = 'rejected', rejected_by = 'ops', rejected_at = now() "
        "WHERE id = $1::bigint",
        id2, NULL);
    OKS_ASSERT(oks_sync_apply_removals(f.db, run2, "ops@acme", &applied, &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_CONFLICT);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND okta_id LIKE '00ulost%' AND status = 'active'",
                                 t),
                      assigned);
    rfx_close(&s, &f, t);
}

/* Under the guard (fewer than deactivation_threshold_min): applied at once, audited. A listed
 * user whose stored state is newer than the page (events applied a later read) is left alone
 * by the page's write and still counts as seen: never removed. */
OKS_TEST(under_the_threshold_removals_are_applied)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 300);
    fs_first_sync(&f, t, 20000);
    fs_exec_sql(&f,
                "UPDATE users SET okta_last_updated = now() + interval '1 day' WHERE id IN "
                "(SELECT id FROM users WHERE tenant_id = $1::uuid AND status = 'active' "
                "ORDER BY id LIMIT 3)",
                t, NULL);
    fs_fake_users(&f, t, 7, "00ugone");
    long run = fs_request(&f, t, "2026-12-02T03:00:00Z");
    char *st = fs_wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_deactivated"), 7);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                                 "AND okta_id LIKE '00ugone%' AND status = 'deactivated' "
                                 "AND app_assigned = false",
                                 t),
                      7);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                                 "AND action = 'deactivated' AND source = 'full_sync' "
                                 "AND sync_run_id IS NOT NULL",
                                 t),
                      7);
    OKS_ASSERT_EQ_INT(
        fs_count_q(&f,
                   "SELECT count(*) FROM sync_run_removals WHERE tenant_id = $1::uuid "
                   "AND applied_at IS NOT NULL",
                   t),
        7);
    OKS_ASSERT_EQ_INT(fs_count_q(&f, fs_active_sql, t), fs_sim_active(&s));
    char q[256];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND okta_last_updated > "
             "now() AND status = 'active' AND last_seen_run_id = %ld",
             run);
    OKS_ASSERT_EQ_INT(fs_count_q(&f, q, t), 3);
    rfx_close(&s, &f, t);
}

/* A dry run computes the removals and counts and writes no users. */
OKS_TEST(dry_run_writes_no_users)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 700);
    fs_fake_users(&f, t, 6, "00ugone");
    const char *p[] = {t};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f.db,
        "INSERT INTO sync_runs (tenant_id, kind, scheduled_for, trigger, dry_run) "
        "VALUES ($1::uuid, 'full_sync', now(), 'operator', true)",
        1, p, &err);
    OKS_ASSERT(r != NULL);
    PQclear(r);
    long run = fs_count_q(&f, "SELECT id FROM sync_runs WHERE tenant_id = $1::uuid", t);
    rfx_start(&f);
    char *st = fs_wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    long assigned = fs_sim_assigned(&s);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_seen"), assigned);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_created"), assigned);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "users_deactivated"), 6);
    OKS_ASSERT_EQ_INT(
        fs_count_q(&f,
                   "SELECT count(*) FROM sync_run_removals WHERE tenant_id = $1::uuid "
                   "AND applied_at IS NULL AND okta_id LIKE '00ugone%'",
                   t),
        6);
    OKS_ASSERT_EQ_INT(fs_count_q(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t),
                      6);
    OKS_ASSERT_EQ_INT(fs_count_q(&f, fs_active_sql, t), 6);
    OKS_ASSERT_EQ_INT(
        fs_count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t), 0);
    rfx_close(&s, &f, t);
}

/* After a real run, a dry run counts exactly the users a real run would update (the same apply,
 * rolled back), creates none, and writes nothing: no user changed, no audit row. */
OKS_TEST(dry_run_counts_the_users_a_real_run_would_update)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 700);
    fs_first_sync(&f, t, 20000);
    json_t *st0 = fs_sim_state(&s);
    json_t *users = json_object_get(st0, "users");
    int changed = 0;
    for (size_t i = 0; i < json_array_size(users) && changed < 5; i++) {
        json_t *u = json_array_get(users, i);
        if (!json_is_true(json_object_get(u, "assigned")) ||
            strcmp(fs_want_status(u), "active") != 0)
            continue;
        char path[160];
        snprintf(path, sizeof path, "users/%s/profile",
                 json_string_value(json_object_get(u, "id")));
        if (rsim_post(&s, path, "{\"title\":\"Dry\"}") == 200)
            changed++;
    }
    OKS_ASSERT_EQ_INT(changed, 5);
    long audit0 = fs_count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t);
    const char *p[] = {t};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f.db,
        "INSERT INTO sync_runs (tenant_id, kind, scheduled_for, trigger, dry_run) "
        "VALUES ($1::uuid, 'full_sync', now(), 'operator', true) RETURNING id",
        1, p, &err);
    OKS_ASSERT(r != NULL);
    long dry = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    char *st = fs_wait_end(&f, dry, 20000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, dry, "users_seen"), fs_sim_assigned(&s));
    OKS_ASSERT_EQ_INT(fs_run_num(&f, dry, "users_created"), 0);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, dry, "users_updated"), 5);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND "
                                 "title = 'Dry'",
                                 t),
                      0);
    OKS_ASSERT_EQ_INT(
        fs_count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t), audit0);
    rfx_stop(&f);
    json_decref(st0);
    rfx_close(&s, &f, t);
}

/* A long full sync of tenant A does not hold up tenant B's events. */
OKS_TEST(full_sync_of_one_tenant_does_not_delay_another_tenants_events)
{
    rsim a, b;
    rsim_start(&a, 6000, NULL);
    rsim_start(&b, 50, NULL);
    OKS_ASSERT(rsim_post(&a, "faults", "{\"latency_ms\":300}") == 200);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *ta = rfx_tenant(&f, &a, true), *tb = rfx_tenant(&f, &b, false);
    long run = fs_request(&f, ta, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    fs_wait_pages(&f, run, 1, 30000);
    size_t n;
    char **ids = rsim_user_ids(&b, &n);
    int64_t t0 = oks_now_mono_ms();
    for (size_t i = 0; i < 20 && i < n; i++)
        rfx_mark(&f, tb, ids[i], 1, false, NULL);
    OKS_ASSERT(rfx_wait_clean(&f, tb, 10000));
    int64_t took = oks_now_mono_ms() - t0;
    char *st = fs_run_col(&f, run, "status");
    OKS_ASSERT_EQ_STR(st, "running"); /* A is still listing (≥ 12 pages at 300 ms) */
    free(st);
    OKS_ASSERT(took < oks_test_timeout_ms(2500));
    OKS_ASSERT_EQ_INT(fs_count_q(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", tb),
                      20);
    rfx_stop(&f);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(ta);
    free(tb);
    rfx_teardown(&f);
    rsim_stop(&a);
    rsim_stop(&b);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
