/* The worker integration fixture: Okta simulator, fresh database with one tenant, unique
 * topics and group, and a running oktasync-worker. */
#ifndef WFIXTURE_H
#define WFIXTURE_H

#include "wtest.h"

typedef struct wfx {
    pid_t sim, worker;
    char sim_url[128];
    char *db_url;
    oks_db *db;
    char *tenant;
    char events[96], dlq[96], group[96];
    char jobs[96];         /* consumed too when set before wfx_start_worker */
    const char *redis_url; /* NULL = the stack's Redis */
    char admin[256];       /* http://host:port of the worker's admin listener */
    const char *extra[16]; /* more worker flags (NULL-terminated), e.g. "--reconcile-mode" */
    char ready[256], log[256];
} wfx;

#define WFX_TOKEN "sim-test-token"

/* Simulator, database, tenant, topics (partitions each). No worker yet. */
void wfx_setup(wfx *f, int partitions);
/* Stop whatever still runs and free the fixture. */
void wfx_teardown(wfx *f);
/* Start the worker with database_url (NULL = the fixture's); waits for its ready file. */
void wfx_start_worker(wfx *f, const char *database_url);
/* Another worker process with the fixture's settings (same group); admin URL into admin. */
pid_t wfx_spawn_worker(wfx *f, const char *database_url, char *admin, size_t cap);
/* Append flags (NULL-terminated) to f->extra. */
void wfx_args(wfx *f, ...);
/* SIGTERM the worker; asserts it exits 0. */
void wfx_stop_worker(wfx *f);

/* A user id of the simulated org whose status is `status` (the n-th such user). malloc'd. */
char *wfx_user_with_status(wfx *f, const char *status, int n);
/* GET /api/v1/users/{id} from the simulator as JSON (NULL on 404). */
json_t *wfx_okta_user(wfx *f, const char *id);
/* POST/DELETE to the simulator's admin API (/__sim/<path>); returns the HTTP status. */
long wfx_sim(wfx *f, const char *method, const char *path, const char *body);

/* Envelope v1 as ingest writes it. tenant NULL = the fixture's. malloc'd. */
char *wfx_envelope(wfx *f, const char *tenant, const char *event_uuid, const char *type,
                   const char *user_id);
/* The same, published at published_ms (wall clock) instead of now. */
char *wfx_envelope_at(wfx *f, const char *tenant, const char *event_uuid, const char *type,
                      const char *user_id, int64_t published_ms);
/* Produce an envelope for the fixture's tenant to the events topic. */
void wfx_send(wfx *f, const char *event_uuid, const char *type, const char *user_id);
/* The same, published at published_ms. */
void wfx_send_at(wfx *f, const char *event_uuid, const char *type, const char *user_id,
                 int64_t published_ms);

/* Produce an envelope for `tenant` (key = tenant). */
void wfx_send_for(wfx *f, const char *tenant, const char *event_uuid, const char *type,
                  const char *user_id);
/* Point the tenant's okta_domain where nothing answers: its dirty marks stay (the reconciler
 * backs the tenant off), so intake tests can count them. */
void wfx_park_tenant(wfx *f, const char *tenant);
/* Committed offset sum over the events topic's first n partitions (-1001 counts as 0). */
int64_t wfx_committed_sum(wfx *f, int partitions);

/* Column of the users row (malloc'd; NULL when no row or NULL). */
char *wfx_user_col(wfx *f, const char *okta_id, const char *col);
/* Wait until the users row's column equals want. */
bool wfx_wait_col(wfx *f, const char *okta_id, const char *col, const char *want, int ms);
/* Wait until metric (with labels) >= want. */
bool wfx_wait_metric(wfx *f, const char *name, const char *labels, double want, int ms);
/* count(*) of a query with $1 = tenant, as a number. */
long wfx_count(wfx *f, const char *sql);
/* Wait until wfx_count(sql) == want. */
bool wfx_wait_count(wfx *f, const char *sql, long want, int ms);

#endif
