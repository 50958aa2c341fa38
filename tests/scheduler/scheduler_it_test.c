/* The scheduler binary against the real stack: replicas, catch-up, produce failure, shape. */
#include "core/oks_time.h"
#include "oks_sched_slot.h"
#include "oks_test.h"
#include "wtest.h"

#include <stdio.h>
#include <stdlib.h>

#define DAY_MS 86400000LL

static pid_t spawn_once(const char *db_url, const char *brokers, const char *topic, const char *log)
{
    const char *args[] = {"--once", "--database-url", db_url,  "--kafka-brokers",
                          brokers,  "--jobs-topic",   topic,   "--produce-timeout",
                          "3s",     "--log-level",    "debug", NULL};
    return wt_spawn("oktasync-scheduler", args, log);
}

/* "HH:MM:SS" of now + delta (UTC) and the epoch ms of the slot the scheduler should pick. */
static void time_of_day(int64_t delta_ms, char out[9])
{
    int64_t t = oks_now_wall_ms() + delta_ms;
    int64_t s = ((t / 1000) % 86400 + 86400) % 86400;
    snprintf(out, 9, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
}

/* A tenant with credentials, connected to Okta when it was created (as `tenant add --connect`
 * leaves it): only connected tenants are scheduled (OKS_SYNC_TENANT_CONNECTED). */
static char *connected_tenant(oks_db *db, const char *okta_domain, const char *token,
                              long created_ago_s, const char *full_sync_time)
{
    char *id = wt_tenant(db, okta_domain, token, created_ago_s, full_sync_time);
    const char *p[] = {id};
    free(wt_scalar(db,
                   "UPDATE tenants SET connected_at = created_at WHERE id = $1::uuid "
                   "RETURNING 1",
                   1, p));
    return id;
}

static size_t count_for_tenant(json_t *msgs, const char *tenant)
{
    size_t n = 0, i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "key")), tenant) == 0)
            n++;
    }
    return n;
}

OKS_TEST(two_replicas_publish_exactly_one_job_per_tenant)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    const char *brokers = oks_test_service("OKTASYNC_KAFKA_BROKERS");
    char topic[96];
    snprintf(topic, sizeof topic, "%s", oks_test_unique("jobs"));
    wt_create_topic(topic, 3);
    char *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    /* no Okta credentials: no job */
    char *idle = wt_scalar(db,
                           "INSERT INTO tenants (subdomain, webhook_secret_hash, created_at) "
                           "VALUES ('not-connected', sha256('x'), now() - interval '3 days') "
                           "RETURNING id::text",
                           0, NULL);
    /* credentials stored, but `tenant connect` never succeeded: no job either */
    char *added = wt_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    pid_t a = spawn_once(url, brokers, topic, oks_test_tmp_path("sched-a.log"));
    pid_t b = spawn_once(url, brokers, topic, oks_test_tmp_path("sched-b.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(a, 20000), 0);
    OKS_ASSERT_EQ_INT(wt_wait_exit(b, 20000), 0);
    /* a later pass finds every slot taken */
    pid_t c = spawn_once(url, brokers, topic, oks_test_tmp_path("sched-c.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(c, 20000), 0);
    json_t *msgs = wt_consume_all(topic, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(msgs), 3);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, idle), 0);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, added), 0);
    free(idle);
    free(added);
    for (int i = 0; i < 3; i++) {
        OKS_ASSERT_EQ_INT(count_for_tenant(msgs, t[i]), 1);
        const char *p[] = {t[i]};
        char *n = wt_scalar(db,
                            "SELECT count(*) FROM sync_runs WHERE tenant_id = $1::uuid AND "
                            "kind = 'full_sync' AND status = 'queued'",
                            1, p);
        OKS_ASSERT_EQ_STR(n, "1");
        free(n);
        free(t[i]);
    }
    json_decref(msgs);
    oks_db_close(db);
    free(url);
}

OKS_TEST(job_message_shape_matches_run_row)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char topic[96];
    snprintf(topic, sizeof topic, "%s", oks_test_unique("jobs"));
    wt_create_topic(topic, 1);
    char *tenant = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    pid_t a = spawn_once(url, oks_test_service("OKTASYNC_KAFKA_BROKERS"), topic,
                         oks_test_tmp_path("sched.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(a, 20000), 0);
    json_t *msgs = wt_consume_all(topic, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(msgs), 1);
    json_t *m = json_array_get(msgs, 0);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(m, "key")), tenant);
    json_error_t je;
    json_t *v = json_loads(json_string_value(json_object_get(m, "value")), 0, &je);
    OKS_ASSERT(v != NULL);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(v, "v")), 1);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(v, "kind")), "full_sync");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(v, "tenant")), tenant);
    const char *p[] = {tenant};
    char *run_id = wt_scalar(db, "SELECT id FROM sync_runs WHERE tenant_id = $1::uuid", 1, p);
    char *when = wt_scalar(db,
                           "SELECT to_char(scheduled_for AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM sync_runs "
                           "WHERE tenant_id = $1::uuid",
                           1, p);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(v, "run_id")), strtoll(run_id, NULL, 10));
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(v, "scheduled_for")), when);
    /* default full_sync_time 03:00 UTC */
    OKS_ASSERT_CONTAINS(when, "T03:00:00.000Z");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_object_get(m, "headers"), "tenant")),
                      tenant);
    json_decref(v);
    json_decref(msgs);
    free(run_id);
    free(when);
    free(tenant);
    oks_db_close(db);
    free(url);
}

OKS_TEST(catches_up_missed_slot_and_skips_slots_before_the_tenant)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char topic[96];
    snprintf(topic, sizeof topic, "%s", oks_test_unique("jobs"));
    wt_create_topic(topic, 1);
    char later[9], earlier[9];
    time_of_day(2 * 3600000LL, later);    /* not due today yet: yesterday's slot was missed */
    time_of_day(-2 * 3600000LL, earlier); /* due two hours ago */
    char *missed = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, later);
    char *fresh =
        connected_tenant(db, "acme.okta.com", "tok", 60, earlier); /* connected after its slot */
    pid_t a = spawn_once(url, oks_test_service("OKTASYNC_KAFKA_BROKERS"), topic,
                         oks_test_tmp_path("sched.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(a, 20000), 0);
    json_t *msgs = wt_consume_all(topic, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(msgs), 1);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, missed), 1);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, fresh), 0);
    /* the caught-up slot is yesterday's, at the tenant's own time */
    const char *p[] = {missed};
    char *age = wt_scalar(db,
                          "SELECT extract(epoch FROM now() - scheduled_for)::int / 3600 "
                          "FROM sync_runs WHERE tenant_id = $1::uuid",
                          1, p);
    OKS_ASSERT_EQ_STR(age, "22"); /* 24 h - 2 h (+ the seconds the test took) */
    free(age);
    json_decref(msgs);
    free(missed);
    free(fresh);
    oks_db_close(db);
    free(url);
}

/* full_sync_time NULL (migration 0002) means the fleet default: --default-time decides the slot;
 * a tenant with its own time keeps it. */
OKS_TEST(null_full_sync_time_follows_default_time)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char topic[96];
    snprintf(topic, sizeof topic, "%s", oks_test_unique("jobs"));
    wt_create_topic(topic, 1);
    char fleet[9], own[9];
    time_of_day(-3 * 3600000LL, fleet); /* the fleet default: due three hours ago */
    time_of_day(-5 * 3600000LL, own);   /* the tenant's own time: due five hours ago */
    char *follows = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    const char *p[] = {follows};
    free(wt_scalar(db, "UPDATE tenants SET full_sync_time = NULL WHERE id = $1::uuid RETURNING 1",
                   1, p));
    char *keeps = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, own);
    const char *args[] = {"--once",
                          "--database-url",
                          url,
                          "--kafka-brokers",
                          oks_test_service("OKTASYNC_KAFKA_BROKERS"),
                          "--jobs-topic",
                          topic,
                          "--default-time",
                          fleet,
                          NULL};
    pid_t a = wt_spawn("oktasync-scheduler", args, oks_test_tmp_path("sched-default.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(a, 20000), 0);
    const char *sql = "SELECT extract(epoch FROM now() - scheduled_for)::int / 3600 "
                      "FROM sync_runs WHERE tenant_id = $1::uuid";
    char *age = wt_scalar(db, sql, 1, p);
    OKS_ASSERT_EQ_STR(age, "3"); /* at default-time, not at 03:00 */
    free(age);
    const char *q[] = {keeps};
    age = wt_scalar(db, sql, 1, q);
    OKS_ASSERT_EQ_STR(age, "5");
    free(age);
    free(follows);
    free(keeps);
    oks_db_close(db);
    free(url);
}

OKS_TEST(produce_failure_leaves_no_row_and_next_pass_publishes)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char topic[96];
    snprintf(topic, sizeof topic, "%s", oks_test_unique("jobs"));
    wt_create_topic(topic, 1);
    char *tenant = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    /* nothing listens on port 1: the job is never acknowledged */
    const char *args[] = {"--once",      "--database-url",
                          url,           "--kafka-brokers",
                          "127.0.0.1:1", "--jobs-topic",
                          topic,         "--produce-timeout",
                          "1s",          NULL};
    pid_t a = wt_spawn("oktasync-scheduler", args, oks_test_tmp_path("sched-fail.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(a, 20000), 1);
    char *n = wt_scalar(db, "SELECT count(*) FROM sync_runs", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "0");
    free(n);
    pid_t b = spawn_once(url, oks_test_service("OKTASYNC_KAFKA_BROKERS"), topic,
                         oks_test_tmp_path("sched.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(b, 20000), 0);
    n = wt_scalar(db, "SELECT count(*) FROM sync_runs WHERE status = 'queued'", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "1");
    free(n);
    json_t *msgs = wt_consume_all(topic, 15000);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, tenant), 1);
    json_decref(msgs);
    free(tenant);
    oks_db_close(db);
    free(url);
}

typedef struct {
    const char *admin, *name, *labels;
    double want;
} metric_wait;

static bool metric_reached(void *arg)
{
    metric_wait *w = arg;
    return wt_metric(w->admin, w->name, w->labels) >= w->want;
}

OKS_TEST(daemon_ticks_serves_metrics_and_stops_on_sigterm)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char topic[96];
    snprintf(topic, sizeof topic, "%s", oks_test_unique("jobs"));
    wt_create_topic(topic, 1);
    const char *ready = oks_test_tmp_path("sched.ready");
    const char *args[] = {"--database-url",
                          url,
                          "--kafka-brokers",
                          oks_test_service("OKTASYNC_KAFKA_BROKERS"),
                          "--jobs-topic",
                          topic,
                          "--tick-interval",
                          "200ms",
                          "--admin-listen",
                          "127.0.0.1:0",
                          "--ready-file",
                          ready,
                          NULL};
    pid_t s = wt_spawn("oktasync-scheduler", args, oks_test_tmp_path("sched-daemon.log"));
    OKS_ASSERT(wt_wait_file(ready, 10000));
    char admin[256];
    snprintf(admin, sizeof admin, "%s", wt_ready_url(ready, "admin"));
    /* a tenant that appears while the daemon runs is picked up by a later tick */
    char *tenant = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    metric_wait w = {admin, "oktasync_scheduler_jobs_published_total", NULL, 1};
    OKS_ASSERT(oks_test_wait_until(metric_reached, &w, 15000));
    char labels[128];
    snprintf(labels, sizeof labels, "tenant=\"%s\"", tenant);
    double last = wt_metric(admin, "oktasync_scheduler_last_run_timestamp_seconds", labels);
    const char *p[] = {tenant};
    char *want = wt_scalar(db,
                           "SELECT extract(epoch FROM scheduled_for)::bigint FROM sync_runs "
                           "WHERE tenant_id = $1::uuid",
                           1, p);
    OKS_ASSERT_EQ_INT((long long)last, strtoll(want, NULL, 10));
    free(want);
    char rurl[300];
    snprintf(rurl, sizeof rurl, "%s/readyz", admin);
    OKS_ASSERT_EQ_INT(wt_http("GET", rurl, NULL, NULL), 200);
    OKS_ASSERT_EQ_INT(wt_stop(s, 10000), 0);
    /* more ticks did not publish the slot again */
    json_t *msgs = wt_consume_all(topic, 15000);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, tenant), 1);
    json_decref(msgs);
    free(tenant);
    oks_db_close(db);
    free(url);
}

/* A fatal idempotent-producer error (the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER) can never
 * clear: the daemon exits 1 so its supervisor starts a fresh producer. A private dev broker, so
 * the injected error never reaches another test's producer. */
OKS_TEST(fatal_producer_error_exits_nonzero)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    pid_t broker = wt_private_broker();
    wt_create_topic("jobs", 1);
    char brokers[256];
    snprintf(brokers, sizeof brokers, "%s", wt_brokers());
    const char *ready = oks_test_tmp_path("sched-fatal.ready");
    const char *args[] = {"--database-url",
                          url,
                          "--kafka-brokers",
                          brokers,
                          "--tick-interval",
                          "200ms",
                          "--admin-listen",
                          "127.0.0.1:0",
                          "--ready-file",
                          ready,
                          NULL};
    pid_t s = wt_spawn("oktasync-scheduler", args, oks_test_tmp_path("sched-fatal.log"));
    OKS_ASSERT(wt_wait_file(ready, 10000));
    char admin[256];
    snprintf(admin, sizeof admin, "%s", wt_ready_url(ready, "admin"));
    char *first = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    metric_wait w = {admin, "oktasync_scheduler_jobs_published_total", NULL, 1};
    OKS_ASSERT(oks_test_wait_until(metric_reached, &w, 15000)); /* producer id and sequence set */
    wt_broker_control("/errors/produce?code=45&count=1");
    char *second = connected_tenant(db, "other.okta.com", "tok", 3 * 86400, NULL);
    OKS_ASSERT_EQ_INT(wt_wait_exit(s, oks_test_timeout_ms(15000)), 1);
    const char *p[] = {second};
    char *n = wt_scalar(db, "SELECT count(*) FROM sync_runs WHERE tenant_id = $1::uuid", 1, p);
    OKS_ASSERT_EQ_STR(n, "0"); /* its job was never acknowledged: no row */
    free(n);
    OKS_ASSERT_EQ_INT(wt_stop(broker, 10000), 0);
    wt_private_broker_gone();
    free(first);
    free(second);
    oks_db_close(db);
    free(url);
}

OKS_TEST(bad_default_time_is_a_one_line_error)
{
    const char *log = oks_test_tmp_path("sched-bad.log");
    const char *args[] = {"--default-time", "25:00", "--once", NULL};
    pid_t a = wt_spawn("oktasync-scheduler", args, log);
    OKS_ASSERT_EQ_INT(wt_wait_exit(a, 10000), 2);
    FILE *f = fopen(log, "r");
    OKS_ASSERT(f != NULL);
    char line[512] = {0};
    OKS_ASSERT(fgets(line, sizeof line, f) != NULL);
    fclose(f);
    OKS_ASSERT_CONTAINS(line, "oktasync-scheduler: invalid value for --default-time "
                              "(OKTASYNC_DEFAULT_TIME)");
}

static pid_t spawn_jittered(const char *db_url, const char *topic, const char *log)
{
    const char *args[] = {"--once",
                          "--database-url",
                          db_url,
                          "--kafka-brokers",
                          oks_test_service("OKTASYNC_KAFKA_BROKERS"),
                          "--jobs-topic",
                          topic,
                          "--jitter",
                          "12h",
                          NULL};
    return wt_spawn("oktasync-scheduler", args, log);
}

/* --jitter: each tenant's slot is its time of day plus a fixed offset from its id. A tenant
 * whose offset put its slot an hour ago gets today's slot; one whose jittered slot is an hour
 * away is caught up (yesterday's); two replicas still publish one job per tenant. */
OKS_TEST(jitter_moves_the_slot_keeps_catch_up_and_one_run)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char topic[96];
    snprintf(topic, sizeof topic, "%s", oks_test_unique("jobs"));
    wt_create_topic(topic, 2);
    char *due = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    char *later = connected_tenant(db, "acme.okta.com", "tok", 3 * 86400, NULL);
    const int64_t max = 12 * 3600000LL;
    char tod[9];
    /* time of day = now - offset - 1 h: the jittered slot was one hour ago */
    time_of_day(-oks_sched_jitter_ms(due, max) - 3600000LL, tod);
    const char *p1[] = {tod, due};
    free(wt_scalar(db,
                   "UPDATE tenants SET full_sync_time = $1::time WHERE id = $2::uuid "
                   "RETURNING 1",
                   2, p1));
    time_of_day(-oks_sched_jitter_ms(later, max) + 3600000LL, tod);
    const char *p2[] = {tod, later};
    free(wt_scalar(db,
                   "UPDATE tenants SET full_sync_time = $1::time WHERE id = $2::uuid "
                   "RETURNING 1",
                   2, p2));
    pid_t a = spawn_jittered(url, topic, oks_test_tmp_path("sched-ja.log"));
    pid_t b = spawn_jittered(url, topic, oks_test_tmp_path("sched-jb.log"));
    OKS_ASSERT_EQ_INT(wt_wait_exit(a, 20000), 0);
    OKS_ASSERT_EQ_INT(wt_wait_exit(b, 20000), 0);
    json_t *msgs = wt_consume_all(topic, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(msgs), 2);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, due), 1);
    OKS_ASSERT_EQ_INT(count_for_tenant(msgs, later), 1);
    const char *q1[] = {due}, *q2[] = {later};
    const char *age_sql = "SELECT extract(epoch FROM now() - scheduled_for)::int / 60 "
                          "FROM sync_runs WHERE tenant_id = $1::uuid";
    char *age = wt_scalar(db, age_sql, 1, q1);
    OKS_ASSERT_EQ_STR(age, "60"); /* today's jittered slot, one hour ago */
    free(age);
    age = wt_scalar(db, age_sql, 1, q2);
    OKS_ASSERT_EQ_STR(age, "1380"); /* yesterday's jittered slot: 23 h ago (catch-up) */
    free(age);
    json_decref(msgs);
    free(due);
    free(later);
    oks_db_close(db);
    free(url);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
