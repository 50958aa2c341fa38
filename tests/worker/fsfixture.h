/*
 * Helpers of the full-sync integration tests: runs requested and awaited in sync_runs, the
 * simulator's expected state, and users Okta no longer lists. Built on rfixture.h.
 */
#ifndef OKS_TEST_FSFIXTURE_H
#define OKS_TEST_FSFIXTURE_H

#include "rfixture.h"

#include <jansson.h>

/* Full-sync settings the tests use: takeover after 1 s, 2 pages a turn. */
void fs_cfg(rfx *f);

/* rfx_open with the app id and fs_cfg: a full-sync test's start (end it with rfx_close). */
char *fs_open(rsim *s, rfx *f, int users);

/* Runs sql with up to two parameters; fails the test on an error. */
void fs_exec_sql(rfx *f, const char *sql, const char *a, const char *b);

/* A run for the tenant's slot at `when` (as the intake records a job). Returns its id. */
long fs_request(rfx *f, const char *tenant, const char *when);

/* A sync_runs column of the run as text (NULL if absent); the caller frees it. */
char *fs_run_col(rfx *f, long run, const char *col);

/* The same as a number (-1 if absent). */
long fs_run_num(rfx *f, long run, const char *col);

/* Waits up to ms for the run to end; its status (caller frees), NULL on timeout. */
char *fs_wait_end(rfx *f, long run, int ms);

/* Starts the worker on a first full sync of t and waits until it succeeded; the run's id. */
long fs_first_sync(rfx *f, const char *t, int ms);

/* Waits up to ms until the run has committed at least `pages` pages; fails otherwise. */
void fs_wait_pages(rfx *f, long run, long pages, int ms);

/* The simulator's expected end state: id → expected_status of users the app has seen. */
json_t *fs_sim_state(rsim *s);

/* What the platform stores for a user of the state dump: Okta's expected status, with the
 * status mapping of oks_worker_rules.c for users still assigned (SUSPENDED, STAGED and
 * DEPROVISIONED are stored deactivated). */
const char *fs_want_status(const json_t *u);

/* Users the simulator expects stored active. */
long fs_sim_active(rsim *s);

/* Users assigned to the app in the simulator. */
long fs_sim_assigned(rsim *s);

/* Users the platform has that Okta does not list (inserted as if stored long ago). */
void fs_fake_users(rfx *f, const char *tenant, int n, const char *prefix);

/* A count query with the tenant as $1. */
long fs_count_q(rfx *f, const char *sql, const char *tenant);

/* the tenant's active users, counted */
extern const char fs_active_sql[];

#endif
