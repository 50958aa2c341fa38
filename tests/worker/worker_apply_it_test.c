/* oktasync-worker against the real stack and the Okta simulator: the per-event apply path
 * (reconcile-mode=naive, the benchmark baseline; the coalescing path has its own tests). One
 * fixture (simulator, database, topics, worker) is shared; every test uses its own users. */
#include "oks_test.h"
#include "redis/oks_redis.h"
#include "wfixture.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>

static wfx fx;
static bool fx_up;

static wfx *fixture(void)
{
    if (!fx_up) {
        wfx_setup(&fx, 2);
        wfx_args(&fx, "--reconcile-mode", "naive", NULL);
        wfx_start_worker(&fx, NULL);
        fx_up = true;
    }
    return &fx;
}

static const char *prof(json_t *u, const char *k)
{
    return json_string_value(json_object_get(json_object_get(u, "profile"), k));
}

static void assert_col(wfx *f, const char *id, const char *col, const char *want)
{
    char *v = wfx_user_col(f, id, col);
    if (!want)
        OKS_ASSERT(v == NULL);
    else
        OKS_ASSERT_EQ_STR(v, want);
    free(v);
}

OKS_TEST(event_is_applied_and_row_matches_okta)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 0);
    wfx_send(f, "ev-apply-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    json_t *u = wfx_okta_user(f, id);
    OKS_ASSERT(u != NULL);
    assert_col(f, id, "email", prof(u, "email"));
    assert_col(f, id, "first_name", prof(u, "firstName"));
    assert_col(f, id, "last_name", prof(u, "lastName"));
    assert_col(f, id, "title", prof(u, "title"));
    assert_col(f, id, "department", prof(u, "department"));
    assert_col(f, id, "location", prof(u, "city"));
    assert_col(f, id, "picture_url", NULL); /* profileUrl is a page link, not a picture */
    assert_col(f, id, "language",
               prof(u, "preferredLanguage") ? prof(u, "preferredLanguage") : prof(u, "locale"));
    /* the watermark is Okta's lastUpdated, to the millisecond */
    char *lu = wfx_user_col(f, id,
                            "to_char(okta_last_updated AT TIME ZONE 'UTC', "
                            "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')");
    OKS_ASSERT_EQ_STR(lu, json_string_value(json_object_get(u, "lastUpdated")));
    free(lu);
    OKS_ASSERT_EQ_INT(
        wfx_count(f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid "
                  "AND event_uuid = 'ev-apply-1' AND action = 'create' "
                  "AND before IS NULL AND after IS NOT NULL"),
        1);
    OKS_ASSERT_EQ_INT(wfx_count(f, "SELECT count(*) FROM processed_events WHERE tenant_id = "
                                   "$1::uuid AND event_uuid = 'ev-apply-1'"),
                      1);
    OKS_ASSERT(wt_metric(f->admin, "oktasync_worker_events_applied_total", NULL) >= 1);
    OKS_ASSERT(wt_metric(f->admin, "oktasync_worker_okta_calls_total", "result=\"ok\"") >= 1);
    /* rate-limit headroom of the org, from Okta's X-Rate-Limit-* headers */
    char labels[200];
    snprintf(labels, sizeof labels, "tenant=\"%s\",bucket=\"user_get\"", f->tenant);
    double limit = wt_metric(f->admin, "oktasync_worker_okta_rate_limit_limit", labels);
    double left = wt_metric(f->admin, "oktasync_worker_okta_rate_limit_remaining", labels);
    OKS_ASSERT(limit > 0);
    OKS_ASSERT(left >= 0 && left < limit);
    json_decref(u);
    free(id);
}

/* Delete a key on the stack's Redis (its address from the stack, never a fixed port). */
static void redis_del(const char *key)
{
    oks_err err = {0};
    oks_redis *r = oks_redis_new(oks_test_service("OKTASYNC_REDIS_URL"), 2000, 2000, &err);
    OKS_ASSERT(r != NULL);
    OKS_ASSERT_EQ_INT(oks_redis_connect(r, &err), 0);
    redisReply *reply = oks_redis_command(r, &err, "DEL %s", key);
    OKS_ASSERT(reply != NULL);
    OKS_ASSERT_EQ_INT(reply->integer, 1);
    freeReplyObject(reply);
    oks_redis_free(r);
}

OKS_TEST(same_event_twice_is_applied_once)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 1);
    double dup0 =
        wt_metric(f->admin, "oktasync_worker_duplicates_dropped_total", "layer=\"redis\"");
    double dupdb0 = wt_metric(f->admin, "oktasync_worker_duplicates_dropped_total", "layer=\"db\"");
    wfx_send(f, "ev-dup-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    /* Okta re-sends: the Redis fast path drops it */
    wfx_send(f, "ev-dup-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_metric(f, "oktasync_worker_duplicates_dropped_total", "layer=\"redis\"",
                               dup0 + 1, 15000));
    /* Redis forgot it (TTL, flush): processed_events, in the apply transaction, still knows */
    char key[300];
    snprintf(key, sizeof key, "oks:dedupe:%s:ev-dup-1", f->tenant);
    redis_del(key);
    wfx_send(f, "ev-dup-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_metric(f, "oktasync_worker_duplicates_dropped_total", "layer=\"db\"",
                               dupdb0 + 1, 15000));
    OKS_ASSERT_EQ_INT(
        wfx_count(f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid "
                  "AND event_uuid = 'ev-dup-1'"),
        1);
    free(id);
}

OKS_TEST(older_okta_state_never_overwrites_newer_row)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 2);
    wfx_send(f, "ev-old-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    /* a newer state is already stored (say from a full sync a moment ago) */
    const char *p[] = {f->tenant, id};
    free(wt_scalar(f->db,
                   "UPDATE users SET first_name = 'Newer', okta_last_updated = now() + "
                   "interval '1 day' WHERE tenant_id = $1::uuid AND okta_id = $2 RETURNING 1",
                   2, p));
    double stale0 = wt_metric(f->admin, "oktasync_worker_events_stale_total", NULL);
    wfx_send(f, "ev-old-2", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_metric(f, "oktasync_worker_events_stale_total", NULL, stale0 + 1, 15000));
    assert_col(f, id, "first_name", "Newer");
    /* the event still counts as processed (it must not be retried forever) */
    OKS_ASSERT_EQ_INT(wfx_count(f, "SELECT count(*) FROM processed_events WHERE tenant_id = "
                                   "$1::uuid AND event_uuid = 'ev-old-2'"),
                      1);
    free(id);
}

OKS_TEST(user_deleted_in_okta_is_marked_deleted)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 3);
    wfx_send(f, "ev-del-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    char path[128];
    snprintf(path, sizeof path, "users/%s", id);
    OKS_ASSERT_EQ_INT(wfx_sim(f, "DELETE", path, NULL), 200);
    OKS_ASSERT(wfx_okta_user(f, id) == NULL);
    /* any event for the user now finds a 404 */
    wfx_send(f, "ev-del-2", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "deleted", 15000));
    OKS_ASSERT(wt_metric(f->admin, "oktasync_worker_okta_calls_total", "result=\"not_found\"") >=
               1);
    OKS_ASSERT_EQ_INT(
        wfx_count(f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid "
                  "AND event_uuid = 'ev-del-2' AND action = 'deleted' "
                  "AND before->>'status' = 'active'"),
        1);
    free(id);
}

OKS_TEST(delete_event_marks_deleted_without_fetch)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 4);
    wfx_send(f, "ev-deli-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    wfx_send(f, "ev-deli-2", "user.lifecycle.delete.initiated", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "deleted", 15000));
    free(id);
}

OKS_TEST(deactivate_event_deactivates)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 5);
    wfx_send(f, "ev-deact-1", "application.user_membership.add", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    char path[128];
    snprintf(path, sizeof path, "users/%s/deactivate", id);
    OKS_ASSERT_EQ_INT(wfx_sim(f, "POST", path, ""), 200);
    wfx_send(f, "ev-deact-2", "user.lifecycle.deactivate", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "deactivated", 15000));
    /* reactivated in Okta → active again */
    snprintf(path, sizeof path, "users/%s/activate", id);
    OKS_ASSERT_EQ_INT(wfx_sim(f, "POST", path, ""), 200);
    wfx_send(f, "ev-deact-3", "user.lifecycle.activate", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    free(id);
}

OKS_TEST(unassigned_from_app_is_deactivated)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 6);
    wfx_send(f, "ev-unas-1", "application.user_membership.add", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    wfx_send(f, "ev-unas-2", "application.user_membership.remove", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "deactivated", 15000));
    free(id);
}

/* Unassign is a status-only change stamped with the event's `published` time, while a fetched
 * state carries the user's Okta lastUpdated, which an app assignment does not move. The
 * re-assignment event must still win over the older unassignment. */
OKS_TEST(reassigned_after_unassign_is_active_again)
{
    wfx *f = fixture();
    char *id = wfx_user_with_status(f, "ACTIVE", 7);
    wfx_send(f, "ev-reas-1", "application.user_membership.add", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    wfx_send(f, "ev-reas-2", "application.user_membership.remove", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "deactivated", 15000));
    wfx_send(f, "ev-reas-3", "application.user_membership.add", id);
    OKS_ASSERT(wfx_wait_col(f, id, "status", "active", 15000));
    free(id);
}

typedef struct {
    wfx *f;
    const char *tenant, *okta_id, *want;
} status_wait;

static bool tenant_status_is(void *arg)
{
    status_wait *w = arg;
    const char *p[] = {w->tenant, w->okta_id};
    char *v = wt_scalar(
        w->f->db, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", 2, p);
    bool ok = v && strcmp(v, w->want) == 0;
    free(v);
    return ok;
}

static void send_for(wfx *f, const char *tenant, const char *uuid, const char *type, const char *id)
{
    char *v = wfx_envelope(f, tenant, uuid, type, id);
    wt_produce(f->events, tenant, v, strlen(v));
    free(v);
}

OKS_TEST(active_user_not_assigned_to_the_app_is_deactivated)
{
    wfx *f = fixture();
    char url[2048], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/info", f->sim_url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *info = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(info != NULL);
    char app_group[64] = "";
    size_t gi;
    json_t *g;
    json_array_foreach(json_object_get(info, "groups"), gi, g)
    {
        if (!app_group[0] && json_is_true(json_object_get(g, "app_assigned")))
            snprintf(app_group, sizeof app_group, "%s",
                     json_string_value(json_object_get(g, "id")));
    }
    OKS_ASSERT(app_group[0] != '\0');
    /* a second tenant on the same org, this one with its app id configured */
    char *tenant = wt_tenant(f->db, f->sim_url, WFX_TOKEN, 86400, NULL);
    const char *p[] = {tenant, json_string_value(json_object_get(info, "app_id"))};
    free(wt_scalar(f->db, "UPDATE tenants SET okta_app_id = $2 WHERE id = $1::uuid RETURNING 1", 2,
                   p));
    json_decref(info);
    /* a user assigned to the app directly and to no group */
    snprintf(url, sizeof url, "%s/__sim/users", f->sim_url);
    OKS_ASSERT_EQ_INT(wt_http("POST", url,
                              "{\"profile\":{\"login\":\"assign.test@example.com\",\"email\":"
                              "\"assign.test@example.com\",\"firstName\":\"As\",\"lastName\":"
                              "\"Signed\"},\"status\":\"ACTIVE\",\"assign\":true}",
                              &body),
                      201);
    json_t *u = json_loads(body, 0, NULL);
    free(body);
    char *id = strdup(json_string_value(json_object_get(u, "id")));
    json_decref(u);
    send_for(f, tenant, "ev-asg-1", "application.user_membership.add", id);
    status_wait w = {f, tenant, id, "active"};
    OKS_ASSERT(oks_test_wait_until(tenant_status_is, &w, 15000));
    char path[128];
    snprintf(path, sizeof path, "users/%s/unassign", id);
    OKS_ASSERT_EQ_INT(wfx_sim(f, "POST", path, ""), 200);
    /* still ACTIVE in Okta, but no longer assigned: a profile event must not keep it active */
    send_for(f, tenant, "ev-asg-2", "user.account.update_profile", id);
    w.want = "deactivated";
    OKS_ASSERT(oks_test_wait_until(tenant_status_is, &w, 15000));
    snprintf(path, sizeof path, "users/%s/assign", id);
    OKS_ASSERT_EQ_INT(wfx_sim(f, "POST", path, ""), 200);
    send_for(f, tenant, "ev-asg-3", "application.user_membership.add", id);
    w.want = "active";
    OKS_ASSERT(oks_test_wait_until(tenant_status_is, &w, 15000));
    /* unassigned again (seen by a fetch), then assigned through an app group: the group event's
     * fetch must win although the user's lastUpdated never moved */
    snprintf(path, sizeof path, "users/%s/unassign", id);
    OKS_ASSERT_EQ_INT(wfx_sim(f, "POST", path, ""), 200);
    send_for(f, tenant, "ev-asg-4", "user.account.update_profile", id);
    w.want = "deactivated";
    OKS_ASSERT(oks_test_wait_until(tenant_status_is, &w, 15000));
    snprintf(path, sizeof path, "groups/%s/members/%s", app_group, id);
    OKS_ASSERT_EQ_INT(wfx_sim(f, "POST", path, ""), 200);
    send_for(f, tenant, "ev-asg-5", "group.user_membership.add", id);
    w.want = "active";
    OKS_ASSERT(oks_test_wait_until(tenant_status_is, &w, 15000));
    free(id);
    free(tenant);
}

OKS_TEST(ignored_event_type_is_skipped_not_dead_lettered)
{
    wfx *f = fixture();
    double ign0 = wt_metric(f->admin, "oktasync_worker_events_ignored_total", NULL);
    double dlq0 = wt_metric(f->admin, "oktasync_worker_dead_letter_total", NULL);
    wfx_send(f, "ev-ign-1", "user.session.start", "00uwhatever");
    OKS_ASSERT(wfx_wait_metric(f, "oktasync_worker_events_ignored_total", NULL, ign0 + 1, 15000));
    OKS_ASSERT(wt_metric(f->admin, "oktasync_worker_dead_letter_total", NULL) == dlq0);
}

OKS_TEST(metrics_health_and_lag_are_served)
{
    wfx *f = fixture();
    char url[1200];
    snprintf(url, sizeof url, "%s/healthz", f->admin);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, NULL), 200);
    snprintf(url, sizeof url, "%s/readyz", f->admin);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, NULL), 200);
    char labels[1200];
    snprintf(labels, sizeof labels, "topic=\"%.96s\",partition=\"0\"", f->events);
    /* everything is consumed by now: the lag gauge exists and reads 0 */
    OKS_ASSERT(wfx_wait_metric(f, "oktasync_worker_consumer_lag", labels, 0, 10000));
    OKS_ASSERT(wt_metric(f->admin, "oktasync_worker_db_seconds_count", NULL) >= 1);
}

OKS_TEST(sigterm_exits_cleanly)
{
    wfx *f = fixture();
    wfx_stop_worker(f);
    wfx_teardown(f);
    fx_up = false;
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
