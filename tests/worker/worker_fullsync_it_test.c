/*
 * Full sync (docs/operations.md "Full sync") against PostgreSQL, the dev broker and the Okta
 * simulator, with the reconciler threads in process (a forked child for the SIGKILL case):
 * runs keyed by slot, cursor resume, the guard, approve/reject, dry run, convergence with live
 * events, and tenant isolation.
 */
#include "core/oks_time.h"
#include "oks_test.h"
#include "oks_worker_fullsync.h"
#include "rfixture.h"
#include "sync/oks_sync_removals.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void fs_cfg(rfx *f)
{
    f->cfg.full_sync_takeover_ms = 1000;
    f->cfg.full_sync_pages_per_turn = 2;
}

static void exec_sql(rfx *f, const char *sql, const char *a, const char *b)
{
    const char *p[] = {a, b};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(f->db, sql, b ? 2 : (a ? 1 : 0), p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    PQclear(r);
}

/* A run for the tenant's slot at `when` (as the intake records a job). Returns its id. */
static long request(rfx *f, const char *tenant, const char *when)
{
    oks_worker_job j = {.kind = "full_sync", .run_id = 99};
    snprintf(j.tenant, sizeof j.tenant, "%s", tenant);
    OKS_ASSERT(oks_time_parse_iso8601(when, &j.scheduled_for_ms));
    oks_err err = {0};
    OKS_ASSERT(oks_worker_fullsync_request(f->db, &j, &err) == 0);
    return rfx_count(f,
                     "SELECT id FROM sync_runs WHERE tenant_id = $1::uuid AND scheduled_for = "
                     "$2::timestamptz",
                     tenant, when);
}

static char *run_col(rfx *f, long run, const char *col)
{
    char sql[160], id[24];
    snprintf(sql, sizeof sql, "SELECT %s::text FROM sync_runs WHERE id = $1::bigint", col);
    snprintf(id, sizeof id, "%ld", run);
    const char *p[] = {id};
    return wt_scalar(f->db, sql, 1, p);
}

static long run_num(rfx *f, long run, const char *col)
{
    char *v = run_col(f, run, col);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

typedef struct {
    rfx *f;
    long run;
    const char *status; /* NULL: any terminal status */
    long pages;         /* > 0: wait for at least this many pages instead */
} run_wait;

static bool run_is(void *arg)
{
    run_wait *w = arg;
    if (w->pages > 0)
        return run_num(w->f, w->run, "pages") >= w->pages;
    char *s = run_col(w->f, w->run, "status");
    bool ok = s && (w->status ? strcmp(s, w->status) == 0
                              : strcmp(s, "queued") != 0 && strcmp(s, "running") != 0);
    free(s);
    return ok;
}

static char *wait_end(rfx *f, long run, int ms)
{
    run_wait w = {f, run, NULL, 0};
    if (!oks_test_wait_until(run_is, &w, oks_test_timeout_ms(ms)))
        oks_test_fail(__FILE__, __LINE__, "run %ld did not end", run);
    return run_col(f, run, "status");
}

/* Starts the worker on a first full sync of t and waits until it succeeded; the run's id. */
static long first_sync(rfx *f, const char *t, int ms)
{
    long run = request(f, t, "2026-12-01T03:00:00Z");
    rfx_start(f);
    char *st = wait_end(f, run, ms);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    return run;
}

static void wait_pages(rfx *f, long run, long pages, int ms)
{
    run_wait w = {f, run, NULL, pages};
    if (!oks_test_wait_until(run_is, &w, oks_test_timeout_ms(ms)))
        oks_test_fail(__FILE__, __LINE__, "run %ld did not reach %ld pages", run, pages);
}

/* The simulator's expected end state: id → expected_status of users the app has seen. */
static json_t *sim_state(rsim *s)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/state", s->url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(j != NULL);
    return j;
}

/* What the platform stores for a user of the state dump: Okta's expected status, with the
 * status mapping of oks_worker_rules.c for users still assigned (SUSPENDED, STAGED and
 * DEPROVISIONED are stored deactivated). */
static const char *want_status(const json_t *u)
{
    const char *want = json_string_value(json_object_get(u, "expected_status"));
    const char *okta = json_string_value(json_object_get(u, "okta_status"));
    if (strcmp(want, "active") == 0 && okta &&
        (strcmp(okta, "SUSPENDED") == 0 || strcmp(okta, "STAGED") == 0 ||
         strcmp(okta, "DEPROVISIONED") == 0))
        return "deactivated";
    return want;
}

static long sim_active(rsim *s)
{
    json_t *st = sim_state(s);
    long n = 0;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(st, "users"), i, u) n +=
        json_is_true(json_object_get(u, "assigned")) && strcmp(want_status(u), "active") == 0;
    json_decref(st);
    return n;
}

static long sim_assigned(rsim *s)
{
    json_t *st = sim_state(s);
    long n = 0;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(st, "users"), i, u) n +=
        json_is_true(json_object_get(u, "assigned"));
    json_decref(st);
    return n;
}

/* Users the platform has that Okta does not list (inserted as if stored long ago). */
static void fake_users(rfx *f, const char *tenant, int n, const char *prefix)
{
    char cnt[16];
    snprintf(cnt, sizeof cnt, "%d", n);
    const char *p[] = {tenant, cnt, prefix};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f->db,
        "INSERT INTO users (tenant_id, okta_id, email, status, app_assigned, updated_at) "
        "SELECT $1::uuid, $3 || g, $3 || g || '@gone.example', 'active', true, "
        "  now() - interval '1 day' FROM generate_series(1, $2::int) g",
        3, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "fake users: %s", err.msg);
    PQclear(r);
}

static long count_q(rfx *f, const char *sql, const char *tenant)
{
    return rfx_count(f, sql, tenant, NULL);
}

static const char active_sql[] =
    "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND status = 'active'";

/* A first full sync stores every assigned user, records the run, and a job redelivered for the
 * finished slot (or published twice) is the same run: nothing runs again. */
OKS_TEST(slot_published_twice_is_one_run_and_a_finished_run_does_nothing)
{
    rsim s;
    rsim_start(&s, 1200, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    const char *slot = "2026-12-01T03:00:00Z";
    long run = request(&f, t, slot);
    OKS_ASSERT_EQ_INT(request(&f, t, slot), run); /* the scheduler published it twice */
    OKS_ASSERT_EQ_INT(count_q(&f, "SELECT count(*) FROM sync_runs WHERE tenant_id = $1::uuid", t),
                      1);
    long pages0 = rsim_calls(&s, "GET /api/v1/apps/{id}/users");
    rfx_start(&f);
    char *st = wait_end(&f, run, 30000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    long assigned = sim_assigned(&s);
    OKS_ASSERT(assigned > 500);
    long pages = (assigned + 499) / 500;
    OKS_ASSERT_EQ_INT(run_num(&f, run, "pages"), pages);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_seen"), assigned);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_created"), assigned);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_deactivated"), 0);
    OKS_ASSERT(run_num(&f, run, "okta_calls") >= pages);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND last_seen_run_id IS NOT NULL",
                              t),
                      assigned);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                              "AND entity = 'user' AND source = 'full_sync' AND action = 'create'",
                              t),
                      assigned);
    char *dur = run_col(&f, run, "(finished_at >= started_at)");
    OKS_ASSERT_EQ_STR(dur, "true");
    free(dur);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users") - pages0, pages);
    /* redelivered job of the finished slot: the same row, no new listing */
    OKS_ASSERT_EQ_INT(request(&f, t, slot), run);
    oks_sleep_ms(800);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}/users") - pages0, pages);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "pages"), pages);
    rfx_stop(&f);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* SIGKILL mid-sync: the run continues from its saved cursor (pages are not fetched again from
 * page one), after the dead worker's heartbeat is older than full-sync-takeover. */
OKS_TEST(killed_mid_sync_resumes_from_the_cursor)
{
    rsim s;
    rsim_start(&s, 5000, NULL);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"latency_ms\":150}") == 200);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    f.cfg.full_sync_pages_per_turn = 1;
    char *t = rfx_tenant(&f, &s, true);
    long run = request(&f, t, "2026-12-01T03:00:00Z");
    long calls0 = rsim_calls(&s, "GET /api/v1/apps/{id}/users");
    fflush(NULL);
    pid_t child = fork();
    OKS_ASSERT(child >= 0);
    if (child == 0) {
        rfx_start(&f); /* its own connections and threads */
        for (;;)
            pause();
    }
    wait_pages(&f, run, 3, 30000);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    long at_kill = run_num(&f, run, "pages");
    OKS_ASSERT(at_kill >= 3);
    char *st = run_col(&f, run, "status");
    OKS_ASSERT_EQ_STR(st, "running");
    free(st);
    OKS_ASSERT(run_num(&f, run, "(cursor IS NOT NULL)::int") == 1);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"clear\":true}") == 200);
    rfx_start(&f);
    st = wait_end(&f, run, 60000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    long assigned = sim_assigned(&s);
    long pages = (assigned + 499) / 500;
    OKS_ASSERT_EQ_INT(run_num(&f, run, "pages"), pages);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_seen"), assigned);
    /* fetched: every page once, plus at most the one in flight at the kill */
    long fetched = rsim_calls(&s, "GET /api/v1/apps/{id}/users") - calls0;
    OKS_ASSERT(fetched >= pages && fetched <= pages + 1);
    OKS_ASSERT_EQ_INT(count_q(&f, active_sql, t),
                      count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND last_seen_run_id IS NOT NULL AND status = 'active'",
                              t));
    rfx_stop(&f);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* Okta lists nobody while users are stored: failed, nothing deactivated. */
OKS_TEST(empty_listing_fails_and_deactivates_nobody)
{
    rsim s;
    rsim_start(&s, 0, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    fake_users(&f, t, 40, "00ugone");
    long run = request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    char *st = wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "failed");
    free(st);
    char *e = run_col(&f, run, "error");
    OKS_ASSERT_CONTAINS(e, "empty listing");
    free(e);
    OKS_ASSERT_EQ_INT(count_q(&f, active_sql, t), 40);
    OKS_ASSERT_EQ_INT(count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t),
                      0);
    rfx_stop(&f);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* The simulator fails requests in the middle of the listing: the run fails with the error and
 * nobody the listing did not reach is deactivated. A wrong app id fails the same way. */
OKS_TEST(listing_cut_short_or_failed_fails_and_deactivates_nobody)
{
    rsim s;
    rsim_start(&s, 3000, NULL);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"latency_ms\":150}") == 200);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    f.cfg.full_sync_pages_per_turn = 1;
    char *t = rfx_tenant(&f, &s, true);
    fake_users(&f, t, 30, "00ugone");
    long run = request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    wait_pages(&f, run, 2, 30000);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"fail_next\":50,\"fail_status\":500}") == 200);
    char *st = wait_end(&f, run, 30000);
    OKS_ASSERT_EQ_STR(st, "failed");
    free(st);
    char *e = run_col(&f, run, "error");
    OKS_ASSERT_CONTAINS(e, "cut short");
    free(e);
    OKS_ASSERT(run_num(&f, run, "users_seen") < sim_assigned(&s));
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                              "AND action = 'deactivated' AND sync_run_id IS NOT NULL",
                              t),
                      0);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND okta_id LIKE '00ugone%' AND status = 'active'",
                              t),
                      30);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"clear\":true}") == 200);
    /* a wrong app id: the listing fails at once */
    exec_sql(&f, "UPDATE tenants SET okta_app_id = '0oaWRONG' WHERE id = $1::uuid", t, NULL);
    long run2 = request(&f, t, "2026-12-02T03:00:00Z");
    st = wait_end(&f, run2, 20000);
    OKS_ASSERT_EQ_STR(st, "failed");
    free(st);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND okta_id LIKE '00ugone%' AND status = 'active'",
                              t),
                      30);
    rfx_stop(&f);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* Half the stored users are gone from Okta: held with zero writes; approving applies them
 * (except one changed by an event since), audited with the run id; rejecting changes nothing. */
OKS_TEST(half_missing_is_held_then_approve_applies_and_reject_changes_nothing)
{
    rsim s;
    rsim_start(&s, 300, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    long assigned = sim_assigned(&s);
    fake_users(&f, t, (int)assigned, "00ugone");
    long run = request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    char *st = wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "held");
    free(st);
    char *why = run_col(&f, run, "held_reason");
    OKS_ASSERT_CONTAINS(why, "would be deactivated");
    free(why);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND okta_id LIKE '00ugone%' AND status = 'active'",
                              t),
                      assigned);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM sync_run_removals r JOIN sync_runs s "
                              "ON s.id = r.run_id WHERE s.tenant_id = $1::uuid",
                              t),
                      assigned);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                              "AND action = 'deactivated'",
                              t),
                      0);
    rfx_stop(&f);
    /* an event re-assigned one of them since: approve leaves it */
    exec_sql(&f, "UPDATE users SET title = 'back' WHERE tenant_id = $1::uuid AND okta_id = $2", t,
             "00ugone1");
    long applied = -1;
    oks_err err = {0};
    OKS_ASSERT(oks_sync_apply_removals(f.db, run, "ops@acme", &applied, &err) == 0);
    OKS_ASSERT_EQ_INT(applied, assigned - 1);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND okta_id LIKE '00ugone%' AND status = 'deactivated'",
                              t),
                      assigned - 1);
    char *u1 = rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t,
                     "00ugone1");
    OKS_ASSERT_EQ_STR(u1, "active");
    free(u1);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM audit_log a JOIN sync_runs s "
                              "ON s.id = a.sync_run_id WHERE a.tenant_id = $1::uuid "
                              "AND a.source = 'full_sync' AND a.actor = 'ops@acme' "
                              "AND a.action = 'deactivated'",
                              t),
                      assigned - 1);
    st = run_col(&f, run, "status || ' ' || approved_by || ' ' || users_deactivated");
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
    fake_users(&f, t, (int)assigned, "00ulost");
    long run2 = request(&f, t, "2026-12-02T03:00:00Z");
    rfx_start(&f);
    st = wait_end(&f, run2, 20000);
    OKS_ASSERT_EQ_STR(st, "held");
    free(st);
    rfx_stop(&f);
    char id2[24];
    snprintf(id2, sizeof id2, "%ld", run2);
    exec_sql(&f,
             "UPDATE sync_runs SET status = 'rejected', rejected_by = 'ops', rejected_at = now() "
             "WHERE id = $1::bigint",
             id2, NULL);
    OKS_ASSERT(oks_sync_apply_removals(f.db, run2, "ops@acme", &applied, &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_CONFLICT);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND okta_id LIKE '00ulost%' AND status = 'active'",
                              t),
                      assigned);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* Under the guard (fewer than deactivation_threshold_min): applied at once, audited. */
OKS_TEST(under_the_threshold_removals_are_applied)
{
    rsim s;
    rsim_start(&s, 300, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    fake_users(&f, t, 7, "00ugone");
    long run = request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    char *st = wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_deactivated"), 7);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                              "AND okta_id LIKE '00ugone%' AND status = 'deactivated' "
                              "AND app_assigned = false",
                              t),
                      7);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid "
                              "AND action = 'deactivated' AND source = 'full_sync' "
                              "AND sync_run_id IS NOT NULL",
                              t),
                      7);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM sync_run_removals WHERE tenant_id = $1::uuid "
                              "AND applied_at IS NOT NULL",
                              t),
                      7);
    OKS_ASSERT_EQ_INT(count_q(&f, active_sql, t), sim_active(&s));
    rfx_stop(&f);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* A dry run computes the removals and counts and writes no users. */
OKS_TEST(dry_run_writes_no_users)
{
    rsim s;
    rsim_start(&s, 700, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    fake_users(&f, t, 6, "00ugone");
    const char *p[] = {t};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f.db,
        "INSERT INTO sync_runs (tenant_id, kind, scheduled_for, trigger, dry_run) "
        "VALUES ($1::uuid, 'full_sync', now(), 'operator', true)",
        1, p, &err);
    OKS_ASSERT(r != NULL);
    PQclear(r);
    long run = count_q(&f, "SELECT id FROM sync_runs WHERE tenant_id = $1::uuid", t);
    rfx_start(&f);
    char *st = wait_end(&f, run, 20000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    long assigned = sim_assigned(&s);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_seen"), assigned);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_created"), assigned);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "users_deactivated"), 6);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM sync_run_removals WHERE tenant_id = $1::uuid "
                              "AND applied_at IS NULL AND okta_id LIKE '00ugone%'",
                              t),
                      6);
    OKS_ASSERT_EQ_INT(count_q(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t), 6);
    OKS_ASSERT_EQ_INT(count_q(&f, active_sql, t), 6);
    OKS_ASSERT_EQ_INT(count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t),
                      0);
    rfx_stop(&f);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* After a real run, a dry run counts exactly the users a real run would update (the same apply,
 * rolled back), creates none, and writes nothing: no user changed, no audit row. */
OKS_TEST(dry_run_counts_the_users_a_real_run_would_update)
{
    rsim s;
    rsim_start(&s, 700, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    first_sync(&f, t, 20000);
    json_t *st0 = sim_state(&s);
    json_t *users = json_object_get(st0, "users");
    int changed = 0;
    for (size_t i = 0; i < json_array_size(users) && changed < 5; i++) {
        json_t *u = json_array_get(users, i);
        if (!json_is_true(json_object_get(u, "assigned")) || strcmp(want_status(u), "active") != 0)
            continue;
        char path[160];
        snprintf(path, sizeof path, "users/%s/profile",
                 json_string_value(json_object_get(u, "id")));
        if (rsim_post(&s, path, "{\"title\":\"Dry\"}") == 200)
            changed++;
    }
    OKS_ASSERT_EQ_INT(changed, 5);
    long audit0 = count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t);
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
    char *st = wait_end(&f, dry, 20000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    OKS_ASSERT_EQ_INT(run_num(&f, dry, "users_seen"), sim_assigned(&s));
    OKS_ASSERT_EQ_INT(run_num(&f, dry, "users_created"), 0);
    OKS_ASSERT_EQ_INT(run_num(&f, dry, "users_updated"), 5);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND "
                              "title = 'Dry'",
                              t),
                      0);
    OKS_ASSERT_EQ_INT(count_q(&f, "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid", t),
                      audit0);
    rfx_stop(&f);
    json_decref(st0);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* Changes made in Okta while the full sync runs (marked dirty as the intake would) end in the
 * simulator's end state: statuses, and the rules' primary teams and managers (issue 10's "a
 * full sync racing events"). */
OKS_TEST(full_sync_racing_live_events_converges_to_okta)
{
    rsim s;
    rsim_start(&s, 3000, NULL);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"latency_ms\":100}") == 200);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    f.cfg.full_sync_pages_per_turn = 1;
    char *t = rfx_tenant(&f, &s, true);
    json_t *st0 = sim_state(&s);
    long run = request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    wait_pages(&f, run, 1, 30000);
    /* change users spread over the listing, early and late pages alike */
    json_t *users = json_object_get(st0, "users");
    size_t n = json_array_size(users), changed = 0;
    /* a new manager without a manager of its own cannot close a cycle */
    const char *root = NULL;
    for (size_t i = 0; i < n && !root; i++) {
        json_t *u = json_array_get(users, i);
        if (json_is_true(json_object_get(u, "assigned")) &&
            !json_is_string(json_object_get(json_object_get(u, "profile"), "managerId")))
            root = json_string_value(json_object_get(u, "id"));
    }
    OKS_ASSERT(root != NULL);
    char manager_body[96];
    snprintf(manager_body, sizeof manager_body, "{\"managerId\":\"%s\"}", root);
    for (size_t i = 0; i < n; i += n / 40) {
        json_t *u = json_array_get(users, i);
        const char *id = json_string_value(json_object_get(u, "id"));
        if (!json_is_true(json_object_get(u, "assigned")) || strcmp(id, root) == 0)
            continue;
        char path[160];
        /* lifecycle, assignment, department (a primary team move) and manager changes */
        static const char *const ops[] = {"deactivate", "unassign", "profile", "profile"};
        static const char *const bodies[] = {
            NULL, NULL, "{\"title\":\"Raced\",\"department\":\"Raced Dept\"}", NULL};
        size_t k = changed % 4;
        snprintf(path, sizeof path, "users/%s/%s", id, ops[k]);
        long code = rsim_post(&s, path, k == 3 ? manager_body : bodies[k]);
        if (code == 200) {
            rfx_mark(&f, t, id, 1, k < 2, NULL);
            changed++;
        }
    }
    OKS_ASSERT(changed >= 20);
    char *done = wait_end(&f, run, 60000);
    OKS_ASSERT_EQ_STR(done, "succeeded");
    free(done);
    OKS_ASSERT(rfx_wait_clean(&f, t, 30000));
    rfx_stop(&f);
    json_t *end = sim_state(&s);
    size_t i;
    json_t *u;
    long checked = 0;
    json_array_foreach(json_object_get(end, "users"), i, u)
    {
        const char *id = json_string_value(json_object_get(u, "id"));
        const char *want = want_status(u);
        char *got = rfx_q(
            &f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, id);
        if (!got) { /* never stored: only users never active on the app */
            OKS_ASSERT(strcmp(want, "active") != 0);
            continue;
        }
        if (strcmp(got, want) != 0)
            oks_test_fail(__FILE__, __LINE__, "user %s: %s, Okta expects %s", id, got, want);
        free(got);
        checked++;
    }
    OKS_ASSERT(checked > 1000);
    /* the rules converge too: primary team = Okta's department, manager = Okta's managerId */
    long teams_checked = 0, managers_checked = 0;
    json_array_foreach(json_object_get(end, "users"), i, u)
    {
        const char *id = json_string_value(json_object_get(u, "id"));
        if (strcmp(want_status(u), "active") != 0 || !json_is_true(json_object_get(u, "assigned")))
            continue;
        json_t *prof = json_object_get(u, "profile");
        const char *dep = json_string_value(json_object_get(prof, "department"));
        char *team = rfx_q(&f,
                           "SELECT lower(t.name) FROM users u JOIN team_members m ON m.user_id = "
                           "u.id AND m.is_primary JOIN teams t ON t.id = m.team_id WHERE "
                           "u.tenant_id = $1::uuid AND u.okta_id = $2",
                           t, id);
        if (dep && *dep) {
            char want[128];
            size_t k = 0;
            for (const char *c = dep; *c && k + 1 < sizeof want; c++)
                want[k++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            want[k] = '\0';
            if (!team || strcmp(team, want) != 0)
                oks_test_fail(__FILE__, __LINE__, "user %s: primary team %s, Okta department %s",
                              id, team ? team : "(none)", dep);
            teams_checked++;
        }
        free(team);
        const char *mid = json_string_value(json_object_get(prof, "managerId"));
        char *mgr =
            rfx_q(&f,
                  "SELECT coalesce(m.okta_id, '-') || ':' || u.override_manager FROM users u "
                  "LEFT JOIN users m ON m.id = u.manager_user_id WHERE u.tenant_id = "
                  "$1::uuid AND u.okta_id = $2",
                  t, id);
        char *stored_mgr =
            mid ? rfx_q(&f, "SELECT okta_id FROM users WHERE tenant_id = $1::uuid AND okta_id = $2",
                        t, mid)
                : NULL;
        if (!mid || stored_mgr) {
            char want[64];
            snprintf(want, sizeof want, "%s:%s", mid ? mid : "-", mid ? "true" : "false");
            if (!mgr || strcmp(mgr, want) != 0)
                oks_test_fail(__FILE__, __LINE__, "user %s: manager %s, Okta says %s", id,
                              mgr ? mgr : "(none)", want);
            managers_checked += mid != NULL;
        }
        free(stored_mgr);
        free(mgr);
    }
    OKS_ASSERT(teams_checked > 1000);
    OKS_ASSERT(managers_checked > 1000);
    json_decref(end);
    json_decref(st0);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
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
    long run = request(&f, ta, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    wait_pages(&f, run, 1, 30000);
    size_t n;
    char **ids = rsim_user_ids(&b, &n);
    int64_t t0 = oks_now_mono_ms();
    for (size_t i = 0; i < 20 && i < n; i++)
        rfx_mark(&f, tb, ids[i], 1, false, NULL);
    OKS_ASSERT(rfx_wait_clean(&f, tb, 10000));
    int64_t took = oks_now_mono_ms() - t0;
    char *st = run_col(&f, run, "status");
    OKS_ASSERT_EQ_STR(st, "running"); /* A is still listing (≥ 12 pages at 300 ms) */
    free(st);
    OKS_ASSERT(took < oks_test_timeout_ms(2500));
    OKS_ASSERT_EQ_INT(count_q(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", tb), 20);
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

/* Members of a group listed through the API (the simulator's token). */
static json_t *group_members(rsim *s, const char *gid)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/api/v1/groups/%s/users?limit=1000", s->url, gid);
    OKS_ASSERT_EQ_INT(wt_http_hdr("GET", url, "Authorization: SSWS " RFX_TOKEN, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(json_is_array(j));
    return j;
}

/* At the end of the listing: members of the mapped groups get the groups' teams (only users the
 * run saw; never the built-in Everyone group's), and manager references to users listed on
 * later pages are resolved. */
OKS_TEST(end_of_run_applies_group_teams_and_resolves_pending_managers)
{
    rsim s;
    rsim_start(&s, 1500, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/info", s.url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *info = json_loads(body, 0, NULL);
    free(body);
    const char *gid = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(info, "groups"), i, g)
    {
        const char *type = json_string_value(json_object_get(g, "type"));
        if (!type || strcmp(type, "BUILT_IN") != 0) {
            gid = json_string_value(json_object_get(g, "id"));
            break;
        }
    }
    OKS_ASSERT(gid != NULL);
    exec_sql(&f,
             "INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Guild', 'okta_group')",
             t, NULL);
    exec_sql(&f,
             "INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) "
             "SELECT $1::uuid, $2, id FROM teams WHERE tenant_id = $1::uuid AND name = 'Guild'",
             t, gid);
    /* Everyone mapped by mistake: ignored, as on the event path */
    exec_sql(&f,
             "INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'All', 'okta_group')",
             t, NULL);
    exec_sql(&f,
             "INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) "
             "SELECT $1::uuid, $2, id FROM teams WHERE tenant_id = $1::uuid AND name = 'All'",
             t, json_string_value(json_object_get(info, "everyone_group_id")));
    long run = request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    char *st = wait_end(&f, run, 30000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM team_members tm JOIN teams x ON x.id = "
                              "tm.team_id WHERE x.tenant_id = $1::uuid AND x.name = 'All'",
                              t),
                      0);
    OKS_ASSERT_EQ_INT(run_num(&f, run, "errors"), 0);
    /* expected: members of the group that the app assigns (the run saw them) */
    json_t *state = sim_state(&s), *mem = group_members(&s, gid);
    long want = 0;
    json_t *m;
    json_array_foreach(mem, i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        size_t k;
        json_t *u;
        json_array_foreach(json_object_get(state, "users"), k, u)
        {
            if (strcmp(json_string_value(json_object_get(u, "id")), id) == 0 &&
                json_is_true(json_object_get(u, "assigned")))
                want++;
        }
    }
    OKS_ASSERT(want > 0);
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM team_members tm JOIN teams x ON x.id = "
                              "tm.team_id WHERE x.tenant_id = $1::uuid AND x.name = 'Guild' "
                              "AND tm.source = 'okta_group'",
                              t),
                      want);
    /* no reference is left pending whose manager the run stored */
    OKS_ASSERT_EQ_INT(count_q(&f,
                              "SELECT count(*) FROM pending_manager_refs p JOIN users u ON "
                              "u.tenant_id = p.tenant_id AND u.okta_id = p.manager_ref "
                              "WHERE p.tenant_id = $1::uuid AND u.status = 'active'",
                              t),
                      0);
    OKS_ASSERT(count_q(&f,
                       "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                       "AND manager_user_id IS NOT NULL",
                       t) > 100);
    OKS_ASSERT(run_num(&f, run, "okta_calls") >= run_num(&f, run, "pages") + 1);
    json_decref(mem);
    json_decref(state);
    json_decref(info);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

static char *manager_of(rfx *f, const char *t, const char *report)
{
    return rfx_q(f,
                 "SELECT m.okta_id || ':' || m.status || ':' || r.override_manager FROM users r "
                 "JOIN users m ON m.id = r.manager_user_id WHERE r.tenant_id = $1::uuid AND "
                 "r.okta_id = $2",
                 t, report);
}

static void assert_manager(rfx *f, const char *t, const char *report, const char *mgr,
                           const char *status)
{
    char want[200], *got = manager_of(f, t, report);
    snprintf(want, sizeof want, "%s:%s:true", mgr, status);
    if (!got || strcmp(got, want) != 0)
        oks_test_fail(__FILE__, __LINE__, "manager of %s: '%s', want '%s'", report,
                      got ? got : "(none)", want);
    free(got);
    /* the one manager audit row is the first full sync's 'set': nothing changed since */
    OKS_ASSERT_EQ_INT(rfx_count(f,
                                "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND "
                                "entity = 'manager' AND entity_id = $2",
                                t, report),
                      1);
}

/* "A manager who is deactivated or deleted stays referenced (Okta decides)": Okta keeps the
 * report's managerId, so the report keeps manager_user_id and override_manager = true whether
 * the manager's row is deactivated or deleted by an event, or deactivated by a full sync (which
 * sees a deleted user as gone from the listing); the report re-read by an event or listed by
 * the full sync changes nothing. */
OKS_TEST(a_deactivated_or_deleted_manager_stays_referenced)
{
    rsim s;
    rsim_start(&s, 300, NULL);
    rfx f;
    rfx_setup(&f);
    fs_cfg(&f);
    char *t = rfx_tenant(&f, &s, true);
    first_sync(&f, t, 30000);
    /* four active managers, each with an active report who manages nobody */
    char *pairs = rfx_q(&f,
                        "SELECT string_agg(mo || ',' || ro, ';') FROM (SELECT DISTINCT ON (m.id) "
                        "m.okta_id AS mo, r.okta_id AS ro FROM users r JOIN users m ON m.id = "
                        "r.manager_user_id WHERE r.tenant_id = $1::uuid AND r.status = 'active' "
                        "AND m.status = 'active' AND r.override_manager AND NOT EXISTS (SELECT 1 "
                        "FROM users x WHERE x.manager_user_id = r.id) ORDER BY m.id, r.id "
                        "LIMIT 4) q",
                        t, NULL);
    OKS_ASSERT(pairs != NULL);
    char mgr[4][64], rep[4][64];
    int n = 0;
    for (char *save = NULL, *p = strtok_r(pairs, ";", &save); p && n < 4;
         p = strtok_r(NULL, ";", &save), n++)
        OKS_ASSERT(sscanf(p, "%63[^,],%63s", mgr[n], rep[n]) == 2);
    OKS_ASSERT_EQ_INT(n, 4);
    free(pairs);
    char path[160];

    /* by events: M0 deactivated, M1 deleted; both reports re-read */
    snprintf(path, sizeof path, "users/%s/deactivate", mgr[0]);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
    snprintf(path, sizeof path, "DELETE users/%s", mgr[1]);
    OKS_ASSERT(rsim_post(&s, path, NULL) / 100 == 2);
    rfx_mark_event(&f, t, mgr[0], "user.lifecycle.deactivate");
    rfx_mark_event(&f, t, mgr[1], "user.lifecycle.delete.initiated");
    rfx_mark_event(&f, t, rep[0], "user.account.update_profile");
    rfx_mark_event(&f, t, rep[1], "user.account.update_profile");
    OKS_ASSERT(rfx_wait_clean(&f, t, 15000));
    assert_manager(&f, t, rep[0], mgr[0], "deactivated");
    assert_manager(&f, t, rep[1], mgr[1], "deleted");

    /* by a full sync: M2 deactivated, M3 deleted in Okta, no event; the next run lists
     * neither and deactivates both; their reports are listed again */
    snprintf(path, sizeof path, "users/%s/deactivate", mgr[2]);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
    snprintf(path, sizeof path, "DELETE users/%s", mgr[3]);
    OKS_ASSERT(rsim_post(&s, path, NULL) / 100 == 2);
    long run2 = request(&f, t, "2026-12-02T03:00:00Z");
    char *st = wait_end(&f, run2, 30000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    OKS_ASSERT_EQ_INT(run_num(&f, run2, "users_deactivated"), 2);
    for (int i = 0; i < 4; i++) {
        OKS_ASSERT_EQ_INT(rfx_count(&f,
                                    "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND "
                                    "okta_id = $2 AND last_seen_run_id IS NOT NULL",
                                    t, rep[i]),
                          1);
    }
    assert_manager(&f, t, rep[2], mgr[2], "deactivated");
    assert_manager(&f, t, rep[3], mgr[3], "deactivated");
    assert_manager(&f, t, rep[0], mgr[0], "deactivated");
    assert_manager(&f, t, rep[1], mgr[1], "deleted");
    for (int i = 0; i < 4; i++) /* resolved, not waiting for a manager to "arrive" */
        OKS_ASSERT_EQ_INT(rfx_count(&f,
                                    "SELECT count(*) FROM pending_manager_refs WHERE tenant_id = "
                                    "$1::uuid AND user_okta_id = $2",
                                    t, rep[i]),
                          0);
    rfx_stop(&f);
    free(t);
    rfx_teardown(&f);
    rsim_stop(&s);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
