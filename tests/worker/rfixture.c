#include "rfixture.h"

#include "core/oks_log.h"
#include "core/oks_metrics.h"
#include "core/oks_time.h"
#include "oks_test.h"
#include "okta/oks_okta.h"
#include "oks_worker_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsim_start(rsim *s, int users, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    const char *ready = oks_test_tmp_path("rsim.ready");
    char nusers[16];
    snprintf(nusers, sizeof nusers, "%d", users);
    const char *args[40] = {"--listen", "127.0.0.1:0", "--ready-file", ready,
                            "--users",  nusers,        "--seed",       "7",
                            "--token",  RFX_TOKEN,     "--log-level",  "warn"};
    size_t n = 12;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    s->pid = wt_spawn("oktasync-okta-sim", args, oks_test_tmp_path("rsim.log"));
    OKS_ASSERT(wt_wait_file(ready, 10000));
    snprintf(s->url, sizeof s->url, "%s", wt_ready_url(ready, "http"));
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/info", s->url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(j != NULL);
    snprintf(s->app_id, sizeof s->app_id, "%s", json_string_value(json_object_get(j, "app_id")));
    json_decref(j);
}

void rsim_stop(rsim *s)
{
    if (s->pid)
        wt_stop(s->pid, 10000);
    s->pid = 0;
}

static json_t *stats(rsim *s)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/stats", s->url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(j != NULL);
    return j;
}

long rsim_calls(rsim *s, const char *endpoint)
{
    json_t *j = stats(s);
    long v =
        (long)json_integer_value(json_object_get(json_object_get(j, "per_endpoint"), endpoint));
    json_decref(j);
    return v;
}

long rsim_requests(rsim *s)
{
    json_t *j = stats(s);
    long v = (long)json_integer_value(json_object_get(j, "requests"));
    json_decref(j);
    return v;
}

long rsim_post(rsim *s, const char *path, const char *body)
{
    char url[512];
    bool del = strncmp(path, "DELETE ", 7) == 0;
    snprintf(url, sizeof url, "%s/__sim/%s", s->url, del ? path + 7 : path);
    return wt_http(del ? "DELETE" : "POST", url, body, NULL);
}

static oks_okta_client *client(rsim *s)
{
    oks_okta_client_opts o = {.base_url = s->url, .token = RFX_TOKEN, .max_retries = 2};
    oks_err err = {0};
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    OKS_ASSERT(c != NULL);
    return c;
}

char **rsim_user_ids(rsim *s, size_t *n)
{
    oks_okta_client *c = client(s);
    oks_err err = {0};
    /* a filter includes DEPROVISIONED users */
    oks_okta_pager *p = oks_okta_list_users(c, NULL,
                                            "status eq \"ACTIVE\" or status eq "
                                            "\"DEPROVISIONED\" or status eq \"STAGED\" "
                                            "or status eq \"SUSPENDED\" or status eq "
                                            "\"PROVISIONED\" or status eq \"LOCKED_OUT\"",
                                            200, &err);
    OKS_ASSERT(p != NULL);
    size_t cap = 256, k = 0;
    char **ids = malloc(cap * sizeof *ids);
    json_t *items;
    int rc;
    while ((rc = oks_okta_pager_next(p, &items, &err)) == 1) {
        size_t i;
        json_t *u;
        json_array_foreach(items, i, u)
        {
            if (k == cap)
                ids = realloc(ids, (cap *= 2) * sizeof *ids);
            ids[k++] = strdup(json_string_value(json_object_get(u, "id")));
        }
        json_decref(items);
    }
    OKS_ASSERT_EQ_INT(rc, 0);
    oks_okta_pager_free(p);
    oks_okta_client_free(c);
    *n = k;
    return ids;
}

bool rsim_assigned(rsim *s, const char *id)
{
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/apps/%s/users/%s", s->url, s->app_id, id);
    long st = wt_http_hdr("GET", url, "Authorization: SSWS " RFX_TOKEN, NULL, NULL);
    OKS_ASSERT(st == 200 || st == 404);
    return st == 200;
}

json_t *rsim_user(rsim *s, const char *id)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/api/v1/users/%s", s->url, id);
    long st = wt_http_hdr("GET", url, "Authorization: SSWS " RFX_TOKEN, NULL, &body);
    json_t *j = st == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

void rfx_setup(rfx *f)
{
    memset(f, 0, sizeof *f);
    f->db = wt_fresh_db(&f->db_url);
    oks_err err = {0};
    OKS_ASSERT(oks_crypto_key_parse(wt_secret_hex, f->key, &err) == 0);
    snprintf(f->dlq, sizeof f->dlq, "%s", oks_test_unique("rdlq"));
    wt_create_topic(f->dlq, 1);
    oks_worker_cfg *c = &f->cfg;
    c->log_level = 1;
    c->database_url = f->db_url;
    c->redis_url = NULL; /* no shared budget: two simulators share the host 127.0.0.1 */
    c->kafka_brokers = (char *)oks_test_service("OKTASYNC_KAFKA_BROKERS");
    c->kafka_config = NULL;
    c->dead_letter_topic = f->dlq;
    c->okta_timeout_ms = 3000;
    c->okta_max_retries = 0;
    c->retry_backoff_min_ms = 100;
    c->retry_backoff_max_ms = 500;
    c->db_statement_timeout_ms = 10000;
    c->dead_letter_timeout_ms = 10000;
    c->reconcile_threads = 2;
    c->reconcile_inflight = 4;
    c->reconcile_batch = 200;
    c->apply_concurrency = 2;
    c->coalesce_window_ms = 50;
    c->backlog_linger_ms = 1000;
    c->okta_max_url_bytes = 4096;
    c->tenant_backoff_min_ms = 300;
    c->tenant_backoff_max_ms = 2000;
    c->parked_recheck_ms = 600000;
    c->user_max_attempts = 3;
    c->poll_interval_ms = 100;
}

void rfx_teardown(rfx *f)
{
    rfx_stop(f);
    oks_db_close(f->db);
    free(f->db_url);
    memset(f, 0, sizeof *f);
}

char *rfx_open(rsim *s, rfx *f, int users, bool with_app)
{
    rsim_start(s, users, NULL);
    rfx_setup(f);
    return rfx_tenant(f, s, with_app);
}

void rfx_close(rsim *s, rfx *f, char *tenant)
{
    free(tenant);
    rfx_teardown(f);
    rsim_stop(s);
}

char *rfx_tenant(rfx *f, rsim *s, bool with_app)
{
    char *t = wt_tenant(f->db, s->url, RFX_TOKEN, 86400, NULL);
    if (with_app) {
        const char *p[] = {t, s->app_id};
        oks_err err = {0};
        PGresult *r = oks_db_exec_params(
            f->db, "UPDATE tenants SET okta_app_id = $2 WHERE id = $1::uuid", 2, p, &err);
        OKS_ASSERT(r != NULL);
        PQclear(r);
    }
    return t;
}

void rfx_mark(rfx *f, const char *tenant, const char *okta_id, int events, bool check_assignment,
              const char *max_published)
{
    char ev[16];
    snprintf(ev, sizeof ev, "%d", events);
    const char *p[] = {tenant, okta_id, ev, check_assignment ? "true" : "false", max_published};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f->db,
        "INSERT INTO dirty_users (tenant_id, okta_id, events, check_assignment, max_published) "
        "VALUES ($1::uuid, $2, $3::int, $4::bool, $5::timestamptz) "
        "ON CONFLICT (tenant_id, okta_id) DO UPDATE SET seq = dirty_users.seq + 1, "
        "events = dirty_users.events + EXCLUDED.events, "
        "check_assignment = dirty_users.check_assignment OR EXCLUDED.check_assignment, "
        "max_published = GREATEST(dirty_users.max_published, EXCLUDED.max_published), "
        "next_attempt_at = LEAST(dirty_users.next_attempt_at, now()), attempts = 0",
        5, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "mark: %s", err.msg);
    PQclear(r);
}

void rfx_mark_event(rfx *f, const char *tenant, const char *okta_id, const char *event_type)
{
    bool chk, grp, moves;
    oks_worker_mark_for(event_type, &chk, &grp, &moves);
    const char *p[] = {tenant, okta_id, chk ? "true" : "false", grp ? "true" : "false"};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        f->db,
        "INSERT INTO dirty_users (tenant_id, okta_id, events, check_assignment, check_groups) "
        "VALUES ($1::uuid, $2, 1, $3::bool, $4::bool) "
        "ON CONFLICT (tenant_id, okta_id) DO UPDATE SET seq = dirty_users.seq + 1, "
        "events = dirty_users.events + 1, "
        "check_assignment = dirty_users.check_assignment OR EXCLUDED.check_assignment, "
        "check_groups = dirty_users.check_groups OR EXCLUDED.check_groups, "
        "next_attempt_at = LEAST(dirty_users.next_attempt_at, now()), attempts = 0",
        4, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "mark: %s", err.msg);
    PQclear(r);
}

void rfx_start(rfx *f)
{
    oks_err err = {0};
    if (getenv("RFX_DEBUG"))
        oks_log_threshold = OKS_LOG_DEBUG;
    f->rec = oks_worker_reconciler_start(&f->cfg, f->key, &err);
    if (!f->rec)
        oks_test_fail(__FILE__, __LINE__, "reconciler start: %s", err.msg);
}

void rfx_stop(rfx *f)
{
    oks_worker_reconciler_stop(f->rec, oks_now_mono_ms() + 5000);
    f->rec = NULL;
}

char *rfx_q(rfx *f, const char *sql, const char *tenant, const char *arg)
{
    const char *p[] = {tenant, arg};
    return wt_scalar(f->db, sql, arg ? 2 : 1, p);
}

long rfx_count(rfx *f, const char *sql, const char *tenant, const char *arg)
{
    char *v = rfx_q(f, sql, tenant, arg);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

typedef struct {
    rfx *f;
    const char *tenant;
} clean_wait;

static bool is_clean(void *arg)
{
    clean_wait *w = arg;
    return rfx_count(w->f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", w->tenant,
                     NULL) == 0;
}

bool rfx_wait_clean(rfx *f, const char *tenant, int ms)
{
    clean_wait w = {f, tenant};
    return oks_test_wait_until(is_clean, &w, oks_test_timeout_ms(ms));
}

long rfx_marks_left(rfx *f, const char *tenant)
{
    return rfx_count(f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", tenant,
                     NULL);
}

void rfx_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

double rfx_series(const char *name)
{
    size_t len = 0;
    char *all = oks_metrics_render(&len), pat[256];
    snprintf(pat, sizeof pat, "\n%s ", name);
    char *p = all ? strstr(all, pat) : NULL;
    double v = p ? strtod(p + strlen(pat), NULL) : -1;
    free(all);
    return v;
}
