/* Shared by the full-sync integration tests (worker_fullsync_it_test.c,
 * worker_fullsync_rules_it_test.c): see fsfixture.h. */
#include "fsfixture.h"

#include "core/oks_time.h"
#include "oks_test.h"
#include "oks_worker_fullsync.h"
#include "wtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fs_cfg(rfx *f)
{
    f->cfg.full_sync_takeover_ms = 1000;
    f->cfg.full_sync_pages_per_turn = 2;
}

char *fs_open(rsim *s, rfx *f, int users)
{
    char *t = rfx_open(s, f, users, true);
    fs_cfg(f);
    return t;
}

void fs_exec_sql(rfx *f, const char *sql, const char *a, const char *b)
{
    const char *p[] = {a, b};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(f->db, sql, b ? 2 : (a ? 1 : 0), p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    PQclear(r);
}

/* A run for the tenant's slot at `when` (as the intake records a job). Returns its id. */
long fs_request(rfx *f, const char *tenant, const char *when)
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

char *fs_run_col(rfx *f, long run, const char *col)
{
    char sql[160], id[24];
    snprintf(sql, sizeof sql, "SELECT %s::text FROM sync_runs WHERE id = $1::bigint", col);
    snprintf(id, sizeof id, "%ld", run);
    const char *p[] = {id};
    return wt_scalar(f->db, sql, 1, p);
}

long fs_run_num(rfx *f, long run, const char *col)
{
    char *v = fs_run_col(f, run, col);
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
        return fs_run_num(w->f, w->run, "pages") >= w->pages;
    char *s = fs_run_col(w->f, w->run, "status");
    bool ok = s && (w->status ? strcmp(s, w->status) == 0
                              : strcmp(s, "queued") != 0 && strcmp(s, "running") != 0);
    free(s);
    return ok;
}

char *fs_wait_end(rfx *f, long run, int ms)
{
    run_wait w = {f, run, NULL, 0};
    if (!oks_test_wait_until(run_is, &w, oks_test_timeout_ms(ms)))
        oks_test_fail(__FILE__, __LINE__, "run %ld did not end", run);
    return fs_run_col(f, run, "status");
}

/* Starts the worker on a first full sync of t and waits until it succeeded; the run's id. */
long fs_first_sync(rfx *f, const char *t, int ms)
{
    long run = fs_request(f, t, "2026-12-01T03:00:00Z");
    rfx_start(f);
    char *st = fs_wait_end(f, run, ms);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    return run;
}

void fs_wait_pages(rfx *f, long run, long pages, int ms)
{
    run_wait w = {f, run, NULL, pages};
    if (!oks_test_wait_until(run_is, &w, oks_test_timeout_ms(ms)))
        oks_test_fail(__FILE__, __LINE__, "run %ld did not reach %ld pages", run, pages);
}

/* The simulator's expected end state: id → expected_status of users the app has seen. */
json_t *fs_sim_state(rsim *s)
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
const char *fs_want_status(const json_t *u)
{
    const char *want = json_string_value(json_object_get(u, "expected_status"));
    const char *okta = json_string_value(json_object_get(u, "okta_status"));
    if (strcmp(want, "active") == 0 && okta &&
        (strcmp(okta, "SUSPENDED") == 0 || strcmp(okta, "STAGED") == 0 ||
         strcmp(okta, "DEPROVISIONED") == 0))
        return "deactivated";
    return want;
}

/* Users assigned to the app in the simulator's state; only those stored active if asked. */
static long count_assigned(rsim *s, bool active_only)
{
    json_t *st = fs_sim_state(s);
    long n = 0;
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(st, "users"), i, u) n +=
        json_is_true(json_object_get(u, "assigned")) &&
        (!active_only || strcmp(fs_want_status(u), "active") == 0);
    json_decref(st);
    return n;
}

long fs_sim_active(rsim *s)
{
    return count_assigned(s, true);
}

long fs_sim_assigned(rsim *s)
{
    return count_assigned(s, false);
}

/* Users the platform has that Okta does not list (inserted as if stored long ago). */
void fs_fake_users(rfx *f, const char *tenant, int n, const char *prefix)
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

long fs_count_q(rfx *f, const char *sql, const char *tenant)
{
    return rfx_count(f, sql, tenant, NULL);
}

const char fs_active_sql[] =
    "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND status = 'active'";
