/* The coalescing intake against the real stack: events become dirty marks and processed_events
 * rows in one transaction, duplicates count once (inside a batch, across batches, in Redis and
 * in the database), poison messages go to the dead-letter topic without holding up anyone,
 * and processed_events is pruned. The tenants' Okta does not answer (wfx_park_tenant), so the
 * marks stay for the test to read. The intake's reading of Kafka itself (lag, backlogs) is
 * worker_intake_kafka_it_test. */
#include "core/oks_time.h"
#include "db/oks_db.h"
#include "core/oks_json_arena.h"
#include "oks_test.h"
#include "oks_worker_prune.h"
#include "redis/oks_redis.h"
#include "wfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char PROFILE[] = "user.account.update_profile";

static long dirty_events(wfx *f, const char *okta_id)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT events FROM dirty_users WHERE tenant_id = $1::uuid AND okta_id = '%s'",
             okta_id);
    return wfx_count(f, sql);
}

static const char *header(json_t *msg, const char *name)
{
    return json_string_value(json_object_get(json_object_get(msg, "headers"), name));
}

OKS_TEST(duplicates_count_once_inside_a_batch_across_batches_in_redis_and_in_the_database)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    /* one batch (a long linger): A three times, B and C for the same user, D then E for u3 */
    wfx_send(&f, "ev-A", PROFILE, "00u-one");
    wfx_send(&f, "ev-A", PROFILE, "00u-one");
    wfx_send(&f, "ev-B", PROFILE, "00u-two");
    wfx_send(&f, "ev-C", "group.user_membership.add", "00u-two");
    wfx_send(&f, "ev-A", PROFILE, "00u-one");
    wfx_send(&f, "ev-D", PROFILE, "00u-three");
    wfx_send(&f, "ev-E", "application.user_membership.remove", "00u-three");
    wfx_args(&f, "--intake-linger", "1500ms", NULL);
    wfx_start_worker(&f, NULL);
    const char *pe = "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid";
    OKS_ASSERT(wfx_wait_count(&f, pe, 5, 20000));
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_events_recorded_total", NULL, 5, 5000));
    OKS_ASSERT_EQ_INT(dirty_events(&f, "00u-one"), 1);
    OKS_ASSERT_EQ_INT(dirty_events(&f, "00u-two"), 2);
    OKS_ASSERT_EQ_INT(dirty_events(&f, "00u-three"), 2);
    OKS_ASSERT_EQ_INT(
        wt_metric(f.admin, "oktasync_worker_duplicates_dropped_total", "layer=\"db\""), 2);
    /* the flags: a membership event asks for the assignment, a profile event sets the stale
     * read bound; a membership-only mark has none */
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid "
                                    "AND check_assignment AND max_published IS NOT NULL"),
                      2);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid "
                                    "AND okta_id = '00u-one' AND NOT check_assignment"),
                      1);
    /* a group membership event (and only that) asks for the user's groups, kept by the mark
     * the profile event of the same user made */
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid "
                                    "AND check_groups"),
                      1);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid "
                                    "AND okta_id = '00u-two' AND check_groups"),
                      1);

    /* across batches, Redis layer: A and B again are dropped before the database */
    wfx_send(&f, "ev-A", PROFILE, "00u-one");
    wfx_send(&f, "ev-B", PROFILE, "00u-two");
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_duplicates_dropped_total", "layer=\"redis\"", 2,
                               20000));
    OKS_ASSERT_EQ_INT(wfx_count(&f, pe), 5);
    OKS_ASSERT_EQ_INT(dirty_events(&f, "00u-one"), 1);
    OKS_ASSERT_EQ_INT(dirty_events(&f, "00u-two"), 2);

    /* across batches, database layer: Redis forgot A; processed_events still knows it */
    oks_err err = {0};
    oks_redis *r = oks_redis_new(oks_test_service("OKTASYNC_REDIS_URL"), 2000, 2000, &err);
    OKS_ASSERT(r != NULL);
    char key[300];
    snprintf(key, sizeof key, "oks:dedupe:%s:ev-A", f.tenant);
    redisReply *rep = oks_redis_command(r, &err, "DEL %s", key);
    OKS_ASSERT(rep != NULL && rep->integer == 1);
    freeReplyObject(rep);
    wfx_send(&f, "ev-A", PROFILE, "00u-one");
    OKS_ASSERT(
        wfx_wait_metric(&f, "oktasync_worker_duplicates_dropped_total", "layer=\"db\"", 3, 20000));
    OKS_ASSERT_EQ_INT(wfx_count(&f, pe), 5);
    OKS_ASSERT_EQ_INT(dirty_events(&f, "00u-one"), 1);
    /* ... and the fast path knows it again */
    rep = oks_redis_command(r, &err, "EXISTS %s", key);
    OKS_ASSERT(rep != NULL && rep->integer == 1);
    freeReplyObject(rep);
    oks_redis_free(r);
    /* later batches: a profile event keeps the mark's check_groups, a group event sets it on a
     * mark that had none */
    wfx_send(&f, "ev-F", PROFILE, "00u-two");
    wfx_send(&f, "ev-G", "group.user_membership.remove", "00u-one");
    OKS_ASSERT(wfx_wait_count(&f, pe, 7, 20000));
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid "
                                    "AND check_groups AND okta_id IN ('00u-one', '00u-two')"),
                      2);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 12);
    wfx_teardown(&f);
}

OKS_TEST(poison_messages_go_to_dead_letter_and_other_tenants_on_the_partition_keep_flowing)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    char *other = wt_tenant(f.db, "http://127.0.0.1:1", WFX_TOKEN, 60, NULL);
    wfx_start_worker(&f, NULL);
    wfx_send(&f, "ev-p1", PROFILE, "00u-p1");
    wt_produce(f.events, f.tenant, "this is not json", 16); /* offset 1 */
    wfx_send_for(&f, "00000000-0000-4000-8000-000000000000", "ev-ghost", PROFILE, "00u-p1");
    size_t big = 700 * 1024; /* offset 3: over dead-letter-max-bytes (512KiB) */
    char *junk = malloc(big);
    OKS_ASSERT(junk != NULL);
    memset(junk, 'x', big);
    wt_produce(f.events, f.tenant, junk, big);
    free(junk);
    wfx_send_for(&f, other, "ev-p2", PROFILE, "00u-p2");
    wfx_send(&f, "ev-p3", PROFILE, "00u-p3");
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE $1::uuid IS NOT NULL", 3, 20000));
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 3, 15000));
    json_t *dead = wt_consume_all(f.dlq, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(dead), 3);
    OKS_ASSERT_CONTAINS(header(json_array_get(dead, 0), "reason"), "not a JSON object");
    OKS_ASSERT_EQ_STR(header(json_array_get(dead, 0), "source_offset"), "1");
    OKS_ASSERT_CONTAINS(header(json_array_get(dead, 1), "reason"), "unknown tenant");
    OKS_ASSERT_EQ_STR(header(json_array_get(dead, 1), "error_class"), "not_found");
    json_t *v3 =
        json_loads(json_string_value(json_object_get(json_array_get(dead, 2), "value")), 0, NULL);
    OKS_ASSERT(v3 != NULL);
    OKS_ASSERT(json_is_true(json_object_get(v3, "value_truncated")));
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(v3, "value_length")), (long long)big);
    OKS_ASSERT(json_string_length(json_object_get(v3, "value")) < 512 * 1024);
    json_decref(v3);
    json_decref(dead);
    char url[300];
    snprintf(url, sizeof url, "%s/readyz", f.admin);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, NULL), 200); /* poison is not a failure */
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 6);
    free(other);
    wfx_teardown(&f);
}

/* A tenant deleted after the intake cached it: the batch's insert fails its foreign key, the
 * events are recorded one by one, the guilty one is dead-lettered, the others are taken in. */
OKS_TEST(an_event_of_a_tenant_deleted_meanwhile_is_dead_lettered_and_the_batch_goes_on)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    char *gone = wt_tenant(f.db, "http://127.0.0.1:1", WFX_TOKEN, 60, NULL);
    wfx_start_worker(&f, NULL);
    wfx_send_for(&f, gone, "ev-g1", PROFILE, "00u-g");
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_events_recorded_total", NULL, 1, 20000));
    const char *p[] = {gone};
    free(wt_scalar(f.db, "DELETE FROM tenants WHERE id = $1::uuid RETURNING id", 1, p));
    wfx_send(&f, "ev-g2", PROFILE, "00u-g");
    wfx_send_for(&f, gone, "ev-g3", PROFILE, "00u-g");
    wfx_send(&f, "ev-g4", PROFILE, "00u-g");
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 1, 20000));
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid", 2, 20000));
    json_t *dead = wt_consume_all(f.dlq, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(dead), 1);
    const char *reason = header(json_array_get(dead, 0), "reason");
    OKS_ASSERT(strstr(reason, "unknown tenant") || strstr(reason, "foreign key"));
    OKS_ASSERT_EQ_STR(header(json_array_get(dead, 0), "source_offset"), "2");
    json_decref(dead);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 4);
    free(gone);
    wfx_teardown(&f);
}

/* A user row as a reconciler leaves it: okta_last_updated is the Date of its last applied read. */
static void stored_read(wfx *f, const char *okta_id, const char *read_ago)
{
    const char *p[] = {f->tenant, okta_id, read_ago};
    free(wt_scalar(f->db,
                   "INSERT INTO users (tenant_id, okta_id, email, status, okta_last_updated, "
                   "app_assigned) VALUES ($1::uuid, $2, $2 || '@example.com', 'active', "
                   "now() - $3::interval, true) RETURNING 1",
                   3, p));
}

/* Marked users among the given ones, as a string of 0/1 in order. */
static void marked(wfx *f, const char *const *ids, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid AND okta_id = '%s'",
                 ids[i]);
        out[i] = wfx_count(f, sql) ? '1' : '0';
    }
    out[n] = 0;
}

/* docs/worker-reconcile.md "Events a read already covers": a profile update published at least
 * cover-slack before the user's last applied read is recorded (a duplicate later is still
 * dropped) and marks nothing; anything the read may not have seen still marks. */
OKS_TEST(a_profile_update_a_stored_read_already_covers_is_recorded_and_marks_nothing)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    int64_t now = oks_now_wall_ms(), minute_ago = now - 60000;
    static const char *const users[] = {"00uCovered", "00uRecent", "00uOldRead", "00uNoRow",
                                        "00uGroups",  "00uApp",    "00uLife"};
    stored_read(&f, "00uCovered", "0 s");
    stored_read(&f, "00uRecent", "0 s");
    stored_read(&f, "00uOldRead", "1 hour");
    stored_read(&f, "00uGroups", "0 s");
    stored_read(&f, "00uApp", "0 s");
    stored_read(&f, "00uLife", "0 s");
    wfx_send_at(&f, "ev-covered", PROFILE, "00uCovered", minute_ago);  /* read a minute after */
    wfx_send_at(&f, "ev-recent", PROFILE, "00uRecent", now - 1000);    /* inside the slack */
    wfx_send_at(&f, "ev-old-read", PROFILE, "00uOldRead", minute_ago); /* changed after the read */
    wfx_send_at(&f, "ev-no-row", PROFILE, "00uNoRow", minute_ago);     /* never read */
    /* a read of the user says nothing of groups or the app assignment */
    wfx_send_at(&f, "ev-groups", "group.user_membership.add", "00uGroups", minute_ago);
    wfx_send_at(&f, "ev-app", "application.user_membership.add", "00uApp", minute_ago);
    wfx_send_at(&f, "ev-life", "user.lifecycle.deactivate", "00uLife", minute_ago);
    wfx_args(&f, "--intake-linger", "1s", "--cover-slack", "5s", NULL);
    wfx_start_worker(&f, NULL);
    const char *pe = "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid";
    OKS_ASSERT(wfx_wait_count(&f, pe, 7, 20000));
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_events_covered_total", NULL, 1, 5000));
    char got[8];
    marked(&f, users, 7, got);
    OKS_ASSERT_EQ_STR(got, "0111111");
    OKS_ASSERT_EQ_INT(wt_metric(f.admin, "oktasync_worker_events_recorded_total", NULL), 7);
    /* covered once, a duplicate still: dropped, nothing marked */
    wfx_send_at(&f, "ev-covered", PROFILE, "00uCovered", minute_ago);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_duplicates_dropped_total", "layer=\"redis\"", 1,
                               20000));
    marked(&f, users, 1, got);
    OKS_ASSERT_EQ_STR(got, "0");
    OKS_ASSERT_EQ_INT(wt_metric(f.admin, "oktasync_worker_events_covered_total", NULL), 1);
    wfx_stop_worker(&f);

    /* cover-slack 0: every event marks its user */
    memset(f.extra, 0, sizeof f.extra);
    wfx_args(&f, "--intake-linger", "1s", "--cover-slack", "0", NULL);
    wfx_start_worker(&f, NULL);
    wfx_send_at(&f, "ev-covered-2", PROFILE, "00uCovered", minute_ago);
    OKS_ASSERT(wfx_wait_count(&f, pe, 8, 20000));
    OKS_ASSERT(wfx_wait_count(&f,
                              "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid "
                              "AND okta_id = '00uCovered'",
                              1, 5000));
    wfx_stop_worker(&f);
    wfx_teardown(&f);
}

/* event/oks_event.h "Routing headers": when ingest's headers are all there and pass, they route
 * the event and the value is not parsed; a missing or failing one leaves it to the value. The
 * value names another user than the headers, so a mark shows which was read. */
static void send_routed(wfx *f, const char *value_user, const char *const *headers)
{
    char uuid[64];
    snprintf(uuid, sizeof uuid, "ev-value-%s", value_user);
    char *v = wfx_envelope_at(f, NULL, uuid, PROFILE, value_user, 1741083329877LL);
    wt_produce_headers(f->events, f->tenant, v, strlen(v), headers);
    free(v);
}

OKS_TEST(routing_headers_route_an_event_without_its_value_and_the_value_decides_otherwise)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
#define ROUTE(tenant, uuid, user, published)                                                       \
    (const char *const[]){                                                                         \
        "tenant",    tenant,         "type", PROFILE,       "event_uuid",                          \
        uuid,        "okta_user_id", user,   "received_at", "2026-01-02T03:04:05.000Z",            \
        "published", published,      NULL}
    send_routed(&f, "00uValue1",
                ROUTE(f.tenant, "ev-h1", "00uHeader1", "2026-01-02T03:04:00.500Z"));
    send_routed(&f, "00uValue2", ROUTE("not-a-uuid", "ev-h2", "00uHeader2", "2026-01-02T03:04Z"));
    send_routed(&f, "00uValue3", ROUTE(f.tenant, "ev-h3", "00uHeader3", "yesterday"));
    send_routed(&f, "00uValue4", ROUTE(f.tenant, "ev-h4", "", "2026-01-02T03:04:00Z"));
    /* tenant and type only, as `oktasyncctl dlq replay` sends */
    send_routed(&f, "00uValue5", (const char *const[]){"tenant", f.tenant, "type", PROFILE, NULL});
    /* no published header: received_at orders it, as in the value */
    send_routed(&f, "00uValue6",
                (const char *const[]){"tenant", f.tenant, "type", PROFILE, "event_uuid", "ev-h6",
                                      "okta_user_id", "00uHeader6", "received_at",
                                      "2026-01-02T03:04:05.000Z", NULL});
#undef ROUTE
    wfx_args(&f, "--intake-linger", "1s", NULL);
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid", 6, 20000));
    static const char *const users[] = {"00uHeader1", "00uValue1", "00uValue2",  "00uValue3",
                                        "00uValue4",  "00uValue5", "00uHeader6", "00uValue6"};
    char got[9];
    marked(&f, users, 8, got);
    OKS_ASSERT_EQ_STR(got, "10111110");
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM processed_events WHERE tenant_id = "
                                    "$1::uuid AND event_uuid IN ('ev-h1', 'ev-h6', "
                                    "'ev-value-00uValue2', 'ev-value-00uValue3', "
                                    "'ev-value-00uValue4', 'ev-value-00uValue5')"),
                      6);
    /* the headers' times, not the value's (2025-03-04) */
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid "
                                    "AND ((okta_id = '00uHeader1' AND max_published = "
                                    "'2026-01-02T03:04:00.5Z') OR (okta_id = '00uHeader6' AND "
                                    "max_published = '2026-01-02T03:04:05Z'))"),
                      2);
    wfx_stop_worker(&f);
    wfx_teardown(&f);
}

static void insert_processed(oks_db *db, const char *tenant, const char *prefix, int n,
                             const char *age)
{
    char sql[512], count[16];
    snprintf(count, sizeof count, "%d", n);
    snprintf(sql, sizeof sql,
             "INSERT INTO processed_events (tenant_id, event_uuid, processed_at) "
             "SELECT $1::uuid, $2 || g, now() - $3::interval FROM generate_series(1, $4::int) g");
    const char *p[] = {tenant, prefix, age, count};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(db, sql, 4, p, &err);
    OKS_ASSERT(r != NULL);
    PQclear(r);
}

OKS_TEST(prune_deletes_only_rows_older_than_the_ttl_in_batches_one_pruner_at_a_time)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char *t = wt_tenant(db, "http://127.0.0.1:1", WFX_TOKEN, 60, NULL);
    insert_processed(db, t, "old-", 12, "2 hours");
    insert_processed(db, t, "new-", 3, "10 minutes");
    oks_err err = {0};
    /* another replica holds the pruner's lock: this one does nothing */
    oks_db_opts o = {.url = url, .connect_timeout_s = 5};
    oks_db *other = oks_db_connect(&o, &err);
    OKS_ASSERT(other != NULL);
    bool got = false;
    OKS_ASSERT_EQ_INT(oks_worker_prune_lock(other, &got, &err), 0);
    OKS_ASSERT(got);
    OKS_ASSERT_EQ_INT(oks_worker_prune_lock(db, &got, &err), 0);
    OKS_ASSERT(!got);
    oks_worker_prune_unlock(other);
    OKS_ASSERT_EQ_INT(oks_worker_prune_lock(db, &got, &err), 0);
    OKS_ASSERT(got);
    oks_worker_prune_unlock(db);
    /* batches of 5 with a 1h TTL: 5, 5, 2, then nothing; the 3 recent rows stay */
    int64_t del = 0;
    const int64_t want[] = {5, 5, 2, 0};
    for (int i = 0; i < 4; i++) {
        OKS_ASSERT_EQ_INT(oks_worker_prune_batch(db, 3600 * 1000, 5, &del, &err), 0);
        OKS_ASSERT_EQ_INT(del, want[i]);
    }
    char *n = wt_scalar(db, "SELECT count(*) FROM processed_events WHERE event_uuid LIKE 'new-%'",
                        0, NULL);
    OKS_ASSERT_EQ_STR(n, "3");
    free(n);
    n = wt_scalar(db, "SELECT count(*) FROM processed_events", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "3");
    free(n);
    oks_db_close(other);
    oks_db_close(db);
    free(t);
    free(url);
}

OKS_TEST(the_worker_prunes_processed_events_after_dedupe_ttl)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    insert_processed(f.db, f.tenant, "stale-", 7, "3 minutes");
    insert_processed(f.db, f.tenant, "fresh-", 2, "10 seconds");
    wfx_args(&f, "--prune-interval", "1s", "--dedupe-ttl", "1m", "--prune-batch", "3", NULL);
    wfx_start_worker(&f, NULL);
    const char *all = "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid";
    OKS_ASSERT(wfx_wait_count(&f, all, 2, 20000));
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM processed_events WHERE tenant_id = "
                                    "$1::uuid AND event_uuid LIKE 'fresh-%'"),
                      2);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_processed_events_pruned_total", NULL, 7, 5000));
    wfx_stop_worker(&f);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    /* as the worker's main does: jansson allocates from thread arenas while pages are read and
     * batches built (core/oks_json_arena.h); the other worker tests run without */
    oks_json_arena_install();
    return oks_test_main(argc, argv);
}
