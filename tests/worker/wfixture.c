#include "wfixture.h"

#include "core/oks_time.h"
#include "oks_test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wfx_setup(wfx *f, int partitions)
{
    memset(f, 0, sizeof *f);
    const char *sim_ready = oks_test_tmp_path("sim.ready");
    const char *sim_args[] = {
        "--listen", "127.0.0.1:0", "--ready-file", sim_ready,     "--users", "30", "--seed",
        "11",       "--token",     WFX_TOKEN,      "--log-level", "warn",    NULL};
    f->sim = wt_spawn("oktasync-okta-sim", sim_args, oks_test_tmp_path("sim.log"));
    OKS_ASSERT(wt_wait_file(sim_ready, 10000));
    snprintf(f->sim_url, sizeof f->sim_url, "%s", wt_ready_url(sim_ready, "http"));
    f->db = wt_fresh_db(&f->db_url);
    f->tenant = wt_tenant(f->db, f->sim_url, WFX_TOKEN, 86400, NULL);
    snprintf(f->events, sizeof f->events, "%s", oks_test_unique("events"));
    snprintf(f->dlq, sizeof f->dlq, "%s", oks_test_unique("dlq"));
    snprintf(f->group, sizeof f->group, "%s", oks_test_unique("workers"));
    wt_create_topic(f->events, partitions);
    wt_create_topic(f->dlq, 1);
}

pid_t wfx_spawn_worker(wfx *f, const char *database_url, char *admin, size_t cap)
{
    snprintf(f->ready, sizeof f->ready, "%s", oks_test_tmp_path("worker.ready"));
    snprintf(f->log, sizeof f->log, "%s", oks_test_tmp_path("worker.log"));
    const char *args[] = {
        "--database-url",
        database_url ? database_url : f->db_url,
        "--redis-url",
        f->redis_url ? f->redis_url : oks_test_service("OKTASYNC_REDIS_URL"),
        "--kafka-brokers",
        wt_brokers(),
        "--kafka-config",
        "session.timeout.ms=6000;heartbeat.interval.ms=500;partition.assignment.strategy=range",
        "--group-id",
        f->group,
        "--events-topic",
        f->events,
        "--dead-letter-topic",
        f->dlq,
        "--secret-key",
        wt_secret_hex,
        "--admin-listen",
        "127.0.0.1:0",
        "--ready-file",
        f->ready,
        "--okta-max-retries",
        "0",
        "--retry-backoff-min",
        "100ms",
        "--retry-backoff-max",
        "500ms",
        "--lag-interval",
        "200ms",
        "--log-level",
        "debug",
        NULL, /* room for --jobs-topic NAME and f->extra */
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        NULL};
    size_t at = 0;
    while (args[at])
        at++;
    if (f->jobs[0]) {
        args[at++] = "--jobs-topic";
        args[at++] = f->jobs;
    }
    for (size_t i = 0; f->extra[i]; i++) {
        OKS_ASSERT(at + 1 < sizeof args / sizeof args[0]);
        args[at++] = f->extra[i];
    }
    pid_t pid = wt_spawn("oktasync-worker", args, f->log);
    OKS_ASSERT(wt_wait_file(f->ready, 15000));
    snprintf(admin, cap, "%s", wt_ready_url(f->ready, "admin"));
    return pid;
}

void wfx_args(wfx *f, ...)
{
    size_t at = 0;
    while (f->extra[at])
        at++;
    va_list ap;
    va_start(ap, f);
    for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) {
        OKS_ASSERT(at + 1 < sizeof f->extra / sizeof f->extra[0]);
        f->extra[at++] = a;
    }
    va_end(ap);
}

void wfx_start_worker(wfx *f, const char *database_url)
{
    f->worker = wfx_spawn_worker(f, database_url, f->admin, sizeof f->admin);
}

void wfx_teardown(wfx *f)
{
    if (f->worker)
        wfx_stop_worker(f);
    if (f->sim)
        wt_stop(f->sim, 10000);
    f->sim = 0;
    oks_db_close(f->db);
    free(f->db_url);
    free(f->tenant);
    memset(f, 0, sizeof *f);
}

void wfx_stop_worker(wfx *f)
{
    OKS_ASSERT_EQ_INT(wt_stop(f->worker, 20000), 0);
    f->worker = 0;
}

long wfx_sim(wfx *f, const char *method, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s/__sim/%s", f->sim_url, path);
    return wt_http(method, url, body, NULL);
}

json_t *wfx_okta_user(wfx *f, const char *id)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/api/v1/users/%s", f->sim_url, id);
    long st = wt_http_hdr("GET", url, "Authorization: SSWS " WFX_TOKEN, NULL, &body);
    json_t *j = st == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

char *wfx_user_with_status(wfx *f, const char *status, int n)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/api/v1/users?limit=200", f->sim_url);
    OKS_ASSERT_EQ_INT(wt_http_hdr("GET", url, "Authorization: SSWS " WFX_TOKEN, NULL, &body), 200);
    json_t *arr = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(json_is_array(arr));
    size_t i;
    json_t *u;
    char *id = NULL;
    json_array_foreach(arr, i, u)
    {
        if (strcmp(json_string_value(json_object_get(u, "status")), status) == 0 && n-- == 0) {
            id = strdup(json_string_value(json_object_get(u, "id")));
            break;
        }
    }
    json_decref(arr);
    OKS_ASSERT(id != NULL);
    return id;
}

char *wfx_envelope(wfx *f, const char *tenant, const char *event_uuid, const char *type,
                   const char *user_id)
{
    return wfx_envelope_at(f, tenant, event_uuid, type, user_id, oks_now_wall_ms());
}

char *wfx_envelope_at(wfx *f, const char *tenant, const char *event_uuid, const char *type,
                      const char *user_id, int64_t published_ms)
{
    char published[32], now[32];
    oks_time_format_iso8601(published_ms, published, sizeof published);
    oks_time_format_iso8601(oks_now_wall_ms(), now, sizeof now);
    json_t *j =
        json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:s, s:{s:s, s:s}}", "v", 1, "tenant",
                  tenant ? tenant : f->tenant, "event_uuid", event_uuid, "event_type", type,
                  "published", published, "okta_user_id", user_id, "group_id", "app_id",
                  "received_at", now, "event", "uuid", event_uuid, "eventType", type);
    OKS_ASSERT(j != NULL);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

void wfx_send(wfx *f, const char *event_uuid, const char *type, const char *user_id)
{
    wfx_send_at(f, event_uuid, type, user_id, oks_now_wall_ms());
}

void wfx_send_at(wfx *f, const char *event_uuid, const char *type, const char *user_id,
                 int64_t published_ms)
{
    char *v = wfx_envelope_at(f, NULL, event_uuid, type, user_id, published_ms);
    wt_produce(f->events, f->tenant, v, strlen(v));
    free(v);
}

char *wfx_user_col(wfx *f, const char *okta_id, const char *col)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT %s::text FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", col);
    const char *p[] = {f->tenant, okta_id};
    return wt_scalar(f->db, sql, 2, p);
}

typedef struct {
    wfx *f;
    const char *okta_id, *col, *want;
} col_wait;

static bool col_is(void *arg)
{
    col_wait *w = arg;
    char *v = wfx_user_col(w->f, w->okta_id, w->col);
    bool ok = v && strcmp(v, w->want) == 0;
    free(v);
    return ok;
}

bool wfx_wait_col(wfx *f, const char *okta_id, const char *col, const char *want, int ms)
{
    col_wait w = {f, okta_id, col, want};
    return oks_test_wait_until(col_is, &w, ms);
}

typedef struct {
    wfx *f;
    const char *name, *labels;
    double want;
} metric_wait;

static bool metric_reached(void *arg)
{
    metric_wait *w = arg;
    return wt_metric(w->f->admin, w->name, w->labels) >= w->want;
}

bool wfx_wait_metric(wfx *f, const char *name, const char *labels, double want, int ms)
{
    metric_wait w = {f, name, labels, want};
    return oks_test_wait_until(metric_reached, &w, ms);
}

long wfx_count(wfx *f, const char *sql)
{
    const char *p[] = {f->tenant};
    char *v = wt_scalar(f->db, sql, 1, p);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

typedef struct {
    wfx *f;
    const char *sql;
    long want;
} count_wait;

static bool count_is(void *arg)
{
    count_wait *w = arg;
    return wfx_count(w->f, w->sql) == w->want;
}

bool wfx_wait_count(wfx *f, const char *sql, long want, int ms)
{
    count_wait w = {f, sql, want};
    return oks_test_wait_until(count_is, &w, ms);
}

void wfx_send_for(wfx *f, const char *tenant, const char *event_uuid, const char *type,
                  const char *user_id)
{
    char *v = wfx_envelope(f, tenant, event_uuid, type, user_id);
    wt_produce(f->events, tenant, v, strlen(v));
    free(v);
}

void wfx_park_tenant(wfx *f, const char *tenant)
{
    const char *p[] = {tenant};
    free(wt_scalar(f->db,
                   "UPDATE tenants SET okta_domain = 'http://127.0.0.1:1' WHERE id = $1::uuid "
                   "RETURNING id",
                   1, p));
}

int64_t wfx_committed_sum(wfx *f, int partitions)
{
    int64_t sum = 0;
    for (int i = 0; i < partitions; i++) {
        int64_t c = wt_committed(f->group, f->events, i);
        sum += c > 0 ? c : 0;
    }
    return sum;
}
