/* Reconciler integration fixture: Okta simulators, a fresh database, tenants, dirty marks
 * inserted directly (as the intake would), and the reconciler running in this process. */
#ifndef RFIXTURE_H
#define RFIXTURE_H

#include "oks_worker_config.h"
#include "oks_worker_reconcile.h"
#include "wtest.h"

#define RFX_TOKEN "sim-rec-token"

typedef struct rsim {
    pid_t pid;
    char url[128];
    char app_id[64];
} rsim;

/* Simulator with n users; extra: more NULL-terminated args (may be NULL). */
void rsim_start(rsim *s, int users, const char *const *extra);
void rsim_stop(rsim *s);
/* per_endpoint count of /__sim/stats ("GET /api/v1/users" ...); 0 when absent. */
long rsim_calls(rsim *s, const char *endpoint);
/* Total Okta API requests served. */
long rsim_requests(rsim *s);
/* POST /__sim/<path>; a path starting "DELETE " is sent as DELETE. HTTP status. */
long rsim_post(rsim *s, const char *path, const char *body);
/* Every user id of the org (paged through the API with our own client), malloc'd array. */
char **rsim_user_ids(rsim *s, size_t *n);
/* GET /api/v1/apps/{app}/users/{id}: true when assigned. */
bool rsim_assigned(rsim *s, const char *id);
/* A user's JSON from the API, NULL on 404. */
json_t *rsim_user(rsim *s, const char *id);

typedef struct rfx {
    oks_db *db;
    char *db_url;
    oks_worker_cfg cfg;
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    oks_worker_reconciler *rec;
    char dlq[96];
} rfx;

void rfx_setup(rfx *f);
void rfx_teardown(rfx *f);
/* A tenant on sim s (with its app id when with_app). malloc'd id. */
char *rfx_tenant(rfx *f, rsim *s, bool with_app);
/* A test's usual start: a simulated org of `users` (s), the fixture (f) and a tenant (returned,
 * malloc'd; with_app: with the simulator's app id); rfx_close ends all three. */
char *rfx_open(rsim *s, rfx *f, int users, bool with_app);
void rfx_close(rsim *s, rfx *f, char *tenant);
/* Insert or bump a dirty mark as the intake does. max_published: SQL timestamptz or NULL. */
void rfx_mark(rfx *f, const char *tenant, const char *okta_id, int events, bool check_assignment,
              const char *max_published);
/* The mark the intake writes for one event of this type (flags from oks_worker_mark_for;
 * max_published NULL: no stale-read bound). */
void rfx_mark_event(rfx *f, const char *tenant, const char *okta_id, const char *event_type);
void rfx_start(rfx *f);
void rfx_stop(rfx *f);
/* Wait until the tenant has no dirty marks. */
bool rfx_wait_clean(rfx *f, const char *tenant, int ms);
/* A scalar query with $1 = tenant, $2 = arg (may be NULL): malloc'd text or NULL. */
char *rfx_q(rfx *f, const char *sql, const char *tenant, const char *arg);
long rfx_count(rfx *f, const char *sql, const char *tenant, const char *arg);
/* Dirty marks the tenant has left. */
long rfx_marks_left(rfx *f, const char *tenant);
/* Free an id array from rsim_user_ids. */
void rfx_free_ids(char **ids, size_t n);
/* An unlabelled series of this process's metrics (-1 when absent). */
double rfx_series(const char *name);

#endif
