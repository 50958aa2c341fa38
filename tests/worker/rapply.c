/* The rules' batch apply from a test's side: one database for the test program, a tenant per
 * test, batches through oks_worker_apply_batch_run_tx as a reconciler round ("event") or a full
 * sync page ("full_sync") sends them, and reads of what the rules stored. */
#include "rapply.h"
#include "oks_test.h"
#include "wtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static oks_db *db;
static char *db_url;
static int64_t clock_ms = 1764547200000; /* Okta's Date of each read: strictly increasing */

int64_t ra_tick(void)
{
    return ++clock_ms;
}

const char *ra_db_url(void)
{
    ra_conn();
    return db_url;
}

void ra_close(void)
{
    if (db)
        oks_db_close(db);
    db = NULL;
    free(db_url);
    db_url = NULL;
}

oks_db *ra_conn(void)
{
    if (!db)
        db = wt_fresh_db(&db_url);
    return db;
}

char *ra_tenant(void)
{
    static int n;
    char dom[64];
    snprintf(dom, sizeof dom, "rules%d.okta.test", ++n);
    return wt_tenant(ra_conn(), dom, "tok", 0, NULL);
}

void ra_sql(const char *q, const char *t)
{
    const char *p[] = {t};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(ra_conn(), q, t ? 1 : 0, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", q, err.msg);
    PQclear(r);
}

char *ra_val(const char *q, const char *t, const char *a)
{
    const char *p[] = {t, a};
    return wt_scalar(ra_conn(), q, a ? 2 : t ? 1 : 0, p);
}

long ra_num(const char *q, const char *t, const char *a)
{
    char *v = ra_val(q, t, a);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

oks_worker_apply_result ra_apply_on(oks_db *d, const char *t, const ra_row *rows, size_t n,
                                    const char *source, int64_t run)
{
    oks_worker_state st[64];
    oks_okta_user u[64];
    OKS_ASSERT(n <= 64);
    memset(u, 0, sizeof u);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].profile) {
            u[i].id = (char *)rows[i].id;
            u[i].profile = json_loads(rows[i].profile, 0, NULL);
            OKS_ASSERT(u[i].profile != NULL);
        }
        st[i] = (oks_worker_state){.okta_id = rows[i].id,
                                   .status = rows[i].status,
                                   .user = rows[i].profile ? &u[i] : NULL,
                                   .app_assigned = 1,
                                   .as_of_ms = rows[i].as_of ? rows[i].as_of : ra_tick()};
    }
    oks_err err = {0};
    oks_worker_apply_result res;
    OKS_ASSERT(oks_db_begin(d, &err) == 0);
    int rc = oks_worker_apply_batch_run_tx(d, t, st, n, source, "test", run, &res, &err);
    if (rc != 0)
        oks_test_fail(__FILE__, __LINE__, "apply: %s", err.msg);
    OKS_ASSERT(oks_db_commit(d, &err) == 0);
    for (size_t i = 0; i < n; i++)
        json_decref(u[i].profile);
    return res;
}

oks_worker_apply_result ra_apply(const char *t, const ra_row *rows, size_t n)
{
    return ra_apply_on(ra_conn(), t, rows, n, "event", 0);
}

oks_worker_apply_result ra_one(const char *t, const char *id, const char *status,
                               const char *profile)
{
    ra_row r = {id, status, profile, 0};
    return ra_apply(t, &r, 1);
}

char *ra_col(const char *t, const char *id, const char *c)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT %s FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", c);
    return ra_val(q, t, id);
}

/* got (freed here) must be want, or absent when want is NULL */
static void assert_value(const char *id, const char *what, char *got, const char *want)
{
    if (!want) {
        if (got)
            oks_test_fail(__FILE__, __LINE__, "%s %s '%s', want none", id, what, got);
    } else if (!got || strcmp(got, want) != 0) {
        oks_test_fail(__FILE__, __LINE__, "%s %s '%s', want '%s'", id, what, got ? got : "(none)",
                      want);
    }
    free(got);
}

void ra_assert_col(const char *t, const char *id, const char *c, const char *want)
{
    assert_value(id, c, ra_col(t, id, c), want);
}

/* "team:primary:source" of a user's memberships, sorted, comma-joined */
char *ra_teams_of(const char *t, const char *id)
{
    return ra_val(
        "SELECT string_agg(tm.name || ':' || m.is_primary || ':' || m.source, ',' "
        "ORDER BY lower(tm.name)) FROM team_members m JOIN teams tm ON tm.id = m.team_id "
        "JOIN users u ON u.id = m.user_id WHERE u.tenant_id = $1::uuid AND u.okta_id = $2",
        t, id);
}

void ra_assert_teams(const char *t, const char *id, const char *want)
{
    assert_value(id, "teams", ra_teams_of(t, id), want);
}

char *ra_manager_of(const char *t, const char *id)
{
    return ra_val("SELECT m.okta_id || ':' || u.override_manager FROM users u JOIN users m "
                  "ON m.id = u.manager_user_id WHERE u.tenant_id = $1::uuid AND u.okta_id = $2",
                  t, id);
}

void ra_assert_manager(const char *t, const char *id, const char *want)
{
    assert_value(id, "manager", ra_manager_of(t, id), want);
}
