/*
 * Reconciler faults, in process against PostgreSQL, the dev broker and Okta simulators: every
 * tenant-level failure waits on the tenant's own clock, never deletes anything, and never
 * holds up another tenant; a poison user is dead-lettered without blocking its tenant.
 */
#include "core/oks_metrics.h"
#include "core/oks_time.h"
#include "oks_test.h"
#include "rfixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static double metric(const char *name, const char *labels)
{
    size_t len = 0;
    char *all = oks_metrics_render(&len), pat[256];
    snprintf(pat, sizeof pat, "%s{%s} ", name, labels);
    char *p = all ? strstr(all, pat) : NULL;
    double v = p ? strtod(p + strlen(pat), NULL) : -1;
    free(all);
    return v;
}

typedef struct {
    const char *name, *labels;
    double want;
} metric_wait;

static bool metric_is(void *arg)
{
    metric_wait *w = arg;
    return metric(w->name, w->labels) == w->want;
}

static bool wait_metric(const char *name, const char *labels, double want, int ms)
{
    metric_wait w = {name, labels, want};
    return oks_test_wait_until(metric_is, &w, oks_test_timeout_ms(ms));
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void exec_sql(rfx *f, const char *sql, const char *tenant, const char *arg)
{
    const char *p[] = {tenant, arg};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(f->db, sql, tenant ? (arg ? 2 : 1) : 0, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    PQclear(r);
}

static void store_user(rfx *f, const char *tenant, const char *okta_id)
{
    exec_sql(f,
             "INSERT INTO users (tenant_id, okta_id, status, app_assigned, okta_last_updated) "
             "VALUES ($1::uuid, $2, 'active', true, '2025-01-01')",
             tenant, okta_id);
}

static char *fault_of(rfx *f, const char *tenant)
{
    return rfx_q(f, "SELECT fault FROM tenant_okta_state WHERE tenant_id = $1::uuid", tenant, NULL);
}

typedef struct {
    rfx *f;
    const char *tenant, *want;
} fault_wait;

static bool fault_is(void *arg)
{
    fault_wait *w = arg;
    char *v = fault_of(w->f, w->tenant);
    bool ok = w->want ? (v && strcmp(v, w->want) == 0) : v == NULL;
    free(v);
    return ok;
}

static bool wait_fault(rfx *f, const char *tenant, const char *want, int ms)
{
    fault_wait w = {f, tenant, want};
    return oks_test_wait_until(fault_is, &w, oks_test_timeout_ms(ms));
}

/* A web server that answers every request with an HTML 404 (a wrong okta_domain). */
static pid_t html_404_server(char *url, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    OKS_ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    OKS_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    OKS_ASSERT(listen(fd, 16) == 0);
    socklen_t len = sizeof a;
    OKS_ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    snprintf(url, cap, "http://127.0.0.1:%d", ntohs(a.sin_port));
    pid_t pid = fork();
    OKS_ASSERT(pid >= 0);
    if (pid == 0) {
        static const char page[] = "<html><body><h1>404 Not Found</h1></body></html>";
        for (;;) {
            int c = accept(fd, NULL, NULL);
            if (c < 0)
                continue;
            char buf[8192];
            ssize_t got = read(c, buf, sizeof buf);
            (void)got;
            char resp[512];
            int n = snprintf(resp, sizeof resp,
                             "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             sizeof page - 1, page);
            ssize_t w = write(c, resp, (size_t)n);
            (void)w;
            close(c);
        }
    }
    close(fd);
    return pid;
}

OKS_TEST(html_404_is_a_tenant_fault_never_a_deletion)
{
    char url[128];
    pid_t web = html_404_server(url, sizeof url);
    rfx f;
    rfx_setup(&f);
    rsim dummy = {0};
    snprintf(dummy.url, sizeof dummy.url, "%s", url);
    char *t = rfx_tenant(&f, &dummy, false);
    store_user(&f, t, "00uhtml0000000000001");
    rfx_mark(&f, t, "00uhtml0000000000001", 1, true, NULL);
    rfx_start(&f);
    OKS_ASSERT(wait_fault(&f, t, "okta_misconfigured", 10000));
    rfx_stop(&f);
    char *v = rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid", t, NULL);
    OKS_ASSERT_EQ_STR(v, "active");
    free(v);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", t, NULL), 1);
    v = rfx_q(&f, "SELECT fault_reason FROM tenant_okta_state WHERE tenant_id = $1::uuid", t, NULL);
    OKS_ASSERT_CONTAINS(v, "404");
    free(v);
    kill(web, SIGKILL);
    waitpid(web, NULL, 0);
    free(t);
    rfx_teardown(&f);
}

OKS_TEST(unreachable_domain_is_a_tenant_fault)
{
    rfx f;
    rfx_setup(&f);
    rsim dummy = {0};
    snprintf(dummy.url, sizeof dummy.url, "http://127.0.0.1:9"); /* discard port: refused */
    char *t = rfx_tenant(&f, &dummy, false);
    store_user(&f, t, "00uunreach00000000001");
    rfx_mark(&f, t, "00uunreach00000000001", 1, false, NULL);
    rfx_start(&f);
    OKS_ASSERT(wait_fault(&f, t, "okta_unreachable", 10000));
    rfx_stop(&f);
    char *v = rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid", t, NULL);
    OKS_ASSERT_EQ_STR(v, "active");
    free(v);
    free(t);
    rfx_teardown(&f);
}

/* A wrong app id answers 404 E0000007 on the app-user GET, like "not assigned": the app check
 * (GET /apps/{id}) tells them apart, and nobody is deactivated. The listing path likewise. */
OKS_TEST(wrong_app_id_is_misconfigured_not_an_unassignment)
{
    rsim s;
    rsim_start(&s, 20, NULL);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    for (int listing = 0; listing < 2; listing++) {
        rfx f;
        rfx_setup(&f);
        char *t = rfx_tenant(&f, &s, false);
        exec_sql(&f, "UPDATE tenants SET okta_app_id = '0oaWRONGWRONGWRONG00' WHERE id = $1::uuid",
                 t, NULL);
        if (!listing) /* many stored members: the per-user GET is cheaper than a listing */
            exec_sql(&f,
                     "INSERT INTO users (tenant_id, okta_id, status, app_assigned) SELECT "
                     "$1::uuid, '00ufake' || g, 'active', true FROM generate_series(1, 700) g",
                     t, NULL);
        store_user(&f, t, ids[0]);
        rfx_mark(&f, t, ids[0], 1, true, NULL);
        long checks0 = rsim_calls(&s, "GET /api/v1/apps/{id}");
        rfx_start(&f);
        OKS_ASSERT(wait_fault(&f, t, "okta_misconfigured", 10000));
        rfx_stop(&f);
        if (!listing)
            OKS_ASSERT_EQ_INT(rsim_calls(&s, "GET /api/v1/apps/{id}") - checks0, 1);
        char *v = rfx_q(&f,
                        "SELECT status || '/' || app_assigned::text FROM users WHERE tenant_id "
                        "= $1::uuid AND okta_id = $2",
                        t, ids[0]);
        OKS_ASSERT_EQ_STR(v, "active/true");
        free(v);
        OKS_ASSERT_EQ_INT(
            rfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", t, NULL),
            1);
        free(t);
        rfx_teardown(&f);
    }
    free_ids(ids, n);
    rsim_stop(&s);
}

/* 401: parked as credentials_invalid with no hot loop; a change to the tenants row (new token)
 * un-parks it at once. */
OKS_TEST(revoked_token_parks_the_tenant_until_its_row_changes)
{
    rsim s;
    rsim_start(&s, 20, NULL);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    rfx f;
    rfx_setup(&f);
    char *t = rfx_tenant(&f, &s, false);
    OKS_ASSERT_EQ_INT(rsim_post(&s, "faults", "{\"bad_token\":true}"), 200);
    for (int i = 0; i < 5; i++)
        rfx_mark(&f, t, ids[i], 1, false, NULL);
    long r0 = rsim_requests(&s);
    rfx_start(&f);
    OKS_ASSERT(wait_fault(&f, t, "credentials_invalid", 10000));
    long r1 = rsim_requests(&s);
    OKS_ASSERT_EQ_INT(r1 - r0, 1);
    /* new events keep coming; the parked tenant is not asked again */
    oks_sleep_ms(1500);
    rfx_mark(&f, t, ids[6], 1, false, NULL);
    oks_worker_reconciler_wake(f.rec);
    oks_sleep_ms(1500);
    OKS_ASSERT_EQ_INT(rsim_requests(&s), r1);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", t, NULL), 6);
    /* the operator fixes the token: the tenants row changes */
    OKS_ASSERT_EQ_INT(rsim_post(&s, "faults", "{\"clear\":true}"), 200);
    exec_sql(&f, "UPDATE tenants SET okta_client_id = 'rotated' WHERE id = $1::uuid", t, NULL);
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    OKS_ASSERT(wait_fault(&f, t, NULL, 5000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t, NULL), 6);
    free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* The apps bucket runs out halfway through a round (10 per 2 s window here): what was fully
 * read is applied, the rest waits on the tenant's clock, and the dirty set drains instead of
 * failing the same round forever. */
OKS_TEST(a_round_that_hits_its_quota_still_makes_progress)
{
    const char *extra[] = {"--rate-apps", "10", "--rate-window", "2s", NULL};
    rsim s;
    rsim_start(&s, 60, extra);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    rfx f;
    rfx_setup(&f);
    char *t = rfx_tenant(&f, &s, true);
    /* many stored members: per-user assignment GETs are the cheaper plan */
    exec_sql(&f,
             "INSERT INTO users (tenant_id, okta_id, status, app_assigned) SELECT $1::uuid, "
             "'00ufake' || g, 'active', true FROM generate_series(1, 20000) g",
             t, NULL);
    for (int i = 0; i < 25; i++)
        rfx_mark(&f, t, ids[i], 1, true, NULL);
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 20000));
    OKS_ASSERT(wait_fault(&f, t, NULL, 5000));
    rfx_stop(&f);
    long members = 0;
    for (int i = 0; i < 25; i++)
        members += rfx_count(&f,
                             "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND okta_id = "
                             "$2 AND app_assigned",
                             t, ids[i]);
    OKS_ASSERT(members > 10 && members <= 25);
    free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* The database drops every reconciler session in the middle of rounds (a PostgreSQL restart,
 * a failover): the rounds in flight are abandoned, the locks go with the sessions, the threads
 * reconnect, and every user is applied exactly once (one row, one 'create' audit row). */
OKS_TEST(database_sessions_dropped_mid_round_lose_and_double_nothing)
{
    rsim s;
    rsim_start(&s, 60, NULL);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    rfx f;
    rfx_setup(&f);
    f.cfg.reconcile_batch = 10; /* several rounds, several in flight */
    char *t1 = rfx_tenant(&f, &s, false), *t2 = rfx_tenant(&f, &s, false);
    for (int i = 0; i < 40; i++) {
        rfx_mark(&f, t1, ids[i], 1, false, NULL);
        rfx_mark(&f, t2, ids[i], 1, false, NULL);
    }
    OKS_ASSERT_EQ_INT(rsim_post(&s, "faults", "{\"latency_ms\":400}"), 200);
    long l0 = rsim_calls(&s, "GET /api/v1/users");
    rfx_start(&f);
    int64_t end = oks_now_mono_ms() + 10000;
    while (rsim_calls(&s, "GET /api/v1/users") - l0 < 2 && oks_now_mono_ms() < end)
        oks_sleep_ms(20);
    /* reads are in flight: drop every other session of this database */
    for (int k = 0; k < 3; k++) {
        exec_sql(&f,
                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                 "current_database() AND pid <> pg_backend_pid()",
                 NULL, NULL);
        oks_sleep_ms(300);
    }
    OKS_ASSERT_EQ_INT(rsim_post(&s, "faults", "{\"clear\":true}"), 200);
    OKS_ASSERT(rfx_wait_clean(&f, t1, 20000));
    OKS_ASSERT(rfx_wait_clean(&f, t2, 20000));
    rfx_stop(&f);
    const char *ts[] = {t1, t2};
    for (int k = 0; k < 2; k++) {
        OKS_ASSERT_EQ_INT(
            rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", ts[k], NULL),
            40);
        OKS_ASSERT_EQ_INT(
            rfx_count(
                &f,
                "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid "
                "AND action = 'create'",
                ts[k], NULL),
            40);
        OKS_ASSERT_EQ_INT(rfx_count(&f,
                                    "SELECT count(DISTINCT entity_id) FROM audit_log WHERE "
                                    "entity = 'user' AND tenant_id = $1::uuid",
                                    ts[k], NULL),
                          40);
    }
    free_ids(ids, n);
    free(t1);
    free(t2);
    rfx_teardown(&f);
    rsim_stop(&s);
}

/* A parked tenant is asked again after parked-recheck, once, and parked again. */
OKS_TEST(parked_tenant_is_rechecked_after_the_interval)
{
    rsim s;
    rsim_start(&s, 10, NULL);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    rfx f;
    rfx_setup(&f);
    f.cfg.parked_recheck_ms = 1500;
    char *t = rfx_tenant(&f, &s, false);
    OKS_ASSERT_EQ_INT(rsim_post(&s, "faults", "{\"bad_token\":true}"), 200);
    rfx_mark(&f, t, ids[0], 1, false, NULL);
    long r0 = rsim_requests(&s);
    rfx_start(&f);
    OKS_ASSERT(wait_fault(&f, t, "credentials_invalid", 10000));
    oks_sleep_ms(2500); /* one recheck at ~1.5 s */
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(rsim_requests(&s) - r0, 2);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT attempts FROM tenant_okta_state WHERE tenant_id = $1::uuid", t, NULL),
        2);
    free_ids(ids, n);
    rfx_close(&s, &f, t);
}

/* A tenant without a token (not connected) is parked without asking Okta at all. */
OKS_TEST(tenant_without_token_is_parked_not_connected)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 10, false);
    exec_sql(&f, "UPDATE tenants SET api_token_enc = NULL WHERE id = $1::uuid", t, NULL);
    rfx_mark(&f, t, "00unotconnected000001", 1, false, NULL);
    rfx_start(&f);
    OKS_ASSERT(wait_fault(&f, t, "not_connected", 10000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(rsim_requests(&s), 0);
    rfx_close(&s, &f, t);
}

/* Tenant A's Okta answers 503 to everything; tenant B, reconciled by the same worker, keeps
 * flowing. A's calls are bounded by its backoff; after A recovers everything is applied. */
OKS_TEST(a_tenant_in_trouble_does_not_hold_up_another)
{
    rsim sa, sb;
    rsim_start(&sa, 30, NULL);
    rsim_start(&sb, 30, NULL);
    size_t na, nb;
    char **ia = rsim_user_ids(&sa, &na), **ib = rsim_user_ids(&sb, &nb);
    rfx f;
    rfx_setup(&f);
    f.cfg.reconcile_threads = 1; /* the same thread serves both */
    char *a = rfx_tenant(&f, &sa, false), *b = rfx_tenant(&f, &sb, false);
    OKS_ASSERT_EQ_INT(rsim_post(&sa, "faults", "{\"fail_next\":1000000,\"fail_status\":503}"), 200);
    for (int i = 0; i < 20; i++)
        rfx_mark(&f, a, ia[i], 1, false, NULL);
    long a0 = rsim_requests(&sa);
    rfx_start(&f);
    OKS_ASSERT(wait_fault(&f, a, "okta_unavailable", 10000));
    /* B's users, a few at a time, while A fails */
    for (int wave = 0; wave < 4; wave++) {
        int64_t t0 = oks_now_mono_ms();
        for (int i = wave * 5; i < wave * 5 + 5; i++)
            rfx_mark(&f, b, ib[i], 1, false, NULL);
        oks_worker_reconciler_wake(f.rec);
        OKS_ASSERT(rfx_wait_clean(&f, b, 5000));
        OKS_ASSERT(oks_now_mono_ms() - t0 < oks_test_timeout_ms(2000));
    }
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", b, NULL), 20);
    /* A waited on its own clock: backoff 300 ms doubling to 2 s, no hot loop */
    long a_calls = rsim_requests(&sa) - a0;
    OKS_ASSERT(a_calls >= 2 && a_calls <= 12);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", a, NULL), 20);
    /* the fault and the backlog show per tenant (gauges refreshed from the database) */
    char la[200], lb[200];
    snprintf(la, sizeof la, "tenant=\"%s\",fault=\"okta_unavailable\"", a);
    snprintf(lb, sizeof lb, "tenant=\"%s\",fault=\"okta_unavailable\"", b);
    OKS_ASSERT(wait_metric("oktasync_worker_tenant_fault", la, 1, 5000));
    OKS_ASSERT(metric("oktasync_worker_tenant_fault", lb) <= 0);
    snprintf(la, sizeof la, "tenant=\"%s\"", a);
    OKS_ASSERT(wait_metric("oktasync_worker_dirty_users", la, 20, 5000));
    OKS_ASSERT(metric("oktasync_worker_oldest_change_age_seconds", la) > 0.5);
    OKS_ASSERT_EQ_INT(rsim_post(&sa, "faults", "{\"clear\":true}"), 200);
    OKS_ASSERT(rfx_wait_clean(&f, a, 10000));
    OKS_ASSERT(wait_fault(&f, a, NULL, 5000));
    OKS_ASSERT(wait_metric("oktasync_worker_dirty_users", la, 0, 5000));
    snprintf(la, sizeof la, "tenant=\"%s\",fault=\"okta_unavailable\"", a);
    OKS_ASSERT(wait_metric("oktasync_worker_tenant_fault", la, 0, 5000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", a, NULL), 20);
    free_ids(ia, na);
    free_ids(ib, nb);
    free(a);
    free(b);
    rfx_teardown(&f);
    rsim_stop(&sa);
    rsim_stop(&sb);
}

/* A user the database refuses (a constraint on its row) is isolated: the tenant's other users
 * are applied, the poison mark is retried with backoff, then dead-lettered and deleted. */
OKS_TEST(poison_user_is_retried_then_dead_lettered_without_blocking_its_tenant)
{
    rsim s;
    rsim_start(&s, 20, NULL);
    size_t n;
    char **ids = rsim_user_ids(&s, &n);
    rfx f;
    rfx_setup(&f);
    char *t = rfx_tenant(&f, &s, false);
    char sql[512]; /* ids are alphanumeric */
    snprintf(sql, sizeof sql,
             "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "IF NEW.okta_id = '%s' THEN RAISE EXCEPTION 'poison row' USING ERRCODE = '23514'; "
             "END IF; RETURN NEW; END $$",
             ids[3]);
    exec_sql(&f, sql, NULL, NULL);
    exec_sql(&f,
             "CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE "
             "FUNCTION poison()",
             NULL, NULL);
    for (int i = 0; i < 10; i++)
        rfx_mark(&f, t, ids[i], 2, false, NULL);
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, t, 15000));
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", t, NULL), 9);
    json_t *all = wt_consume_all(f.dlq, 5000);
    OKS_ASSERT_EQ_INT(json_array_size(all), 1);
    json_t *rec =
        json_loads(json_string_value(json_object_get(json_array_get(all, 0), "value")), 0, NULL);
    OKS_ASSERT(rec != NULL);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(rec, "okta_id")), ids[3]);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(rec, "tenant")), t);
    OKS_ASSERT_CONTAINS(json_string_value(json_object_get(rec, "reason")), "poison row");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(rec, "attempts")), 3);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(rec, "events")), 2);
    json_decref(rec);
    json_decref(all);
    char *v = fault_of(&f, t);
    OKS_ASSERT(v == NULL); /* a user's trouble is not the tenant's */
    free(v);
    free_ids(ids, n);
    rfx_close(&s, &f, t);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
