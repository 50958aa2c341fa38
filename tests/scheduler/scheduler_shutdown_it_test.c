/*
 * The scheduler stops in bounded time on SIGTERM even when Kafka is gone: a pass stops between
 * tenants once shutdown is requested (each tenant may wait produce-timeout for an
 * acknowledgement, so a pass over many due tenants with Kafka gone used to hold the process for
 * tenants x produce-timeout). The daemon test kills a private dev broker; the in-process test
 * requests shutdown in this process (irreversible, hence its own executable).
 */
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "oks_sched_config.h"
#include "oks_sched_gapfill.h"
#include "oks_sched_run.h"
#include "oks_test.h"
#include "wtest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "sched-sim-token"

enum { TENANTS = 15, PRODUCE_TIMEOUT_MS = 2000, MARGIN_MS = 4000 };

typedef struct log_wait {
    const char *path, *needle;
} log_wait;

static bool log_has(void *arg)
{
    log_wait *w = arg;
    char *s = oks_test_read_file(w->path);
    bool yes = s && strstr(s, w->needle);
    free(s);
    return yes;
}

/* n tenants created three days ago (default full-sync time, so today's or yesterday's slot is
 * due), connected in one statement: the next pass sees all of them. */
static void connected_tenants(oks_db *db, const char *okta_domain, int n)
{
    for (int i = 0; i < n; i++)
        free(wt_tenant(db, okta_domain, TOKEN, 3 * 86400, NULL));
    free(wt_scalar(db, "UPDATE tenants SET connected_at = created_at RETURNING 1", 0, NULL));
}

OKS_TEST(sigterm_during_a_pass_with_kafka_gone_exits_within_produce_timeout)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    pid_t broker = wt_private_broker();
    wt_create_topic("jobs", 1);
    char brokers[256];
    snprintf(brokers, sizeof brokers, "%s", wt_brokers());
    const char *ready = oks_test_tmp_path("sched-shutdown.ready");
    char log[256];
    snprintf(log, sizeof log, "%s", oks_test_tmp_path("sched-shutdown.log"));
    const char *args[] = {"--database-url",
                          url,
                          "--kafka-brokers",
                          brokers,
                          "--tick-interval",
                          "200ms",
                          "--produce-timeout",
                          "2s",
                          "--admin-listen",
                          "127.0.0.1:0",
                          "--ready-file",
                          ready,
                          NULL};
    pid_t s = wt_spawn("oktasync-scheduler", args, log);
    OKS_ASSERT(wt_wait_file(ready, 10000));
    /* Kafka vanishes, then many tenants are due at once */
    OKS_ASSERT(kill(broker, SIGKILL) == 0);
    OKS_ASSERT(wt_wait_exit(broker, 5000) == -1);
    wt_private_broker_gone();
    connected_tenants(db, "acme.okta.com", TENANTS);
    /* the pass is under way: its first tenant waited produce-timeout and failed */
    log_wait w = {log, "full sync job not published"};
    OKS_ASSERT(oks_test_wait_until(log_has, &w, oks_test_timeout_ms(15000)));
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT(kill(s, SIGTERM) == 0);
    int limit = oks_test_timeout_ms(PRODUCE_TIMEOUT_MS + MARGIN_MS);
    int rc = wt_wait_exit(s, limit);
    int64_t took = oks_now_mono_ms() - t0;
    printf("# scheduler exit %d after SIGTERM: %lld ms (limit %d ms)\n", rc, (long long)took,
           limit);
    OKS_ASSERT_EQ_INT(rc, 0);
    char *text = oks_test_read_file(log);
    OKS_ASSERT_CONTAINS(text, "tenants left to the next pass");
    OKS_ASSERT(oks_test_count(text, "full sync job not published") < TENANTS);
    free(text);
    char *n = wt_scalar(db, "SELECT count(*) FROM sync_runs", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "0"); /* nothing acknowledged: no run row */
    free(n);
    oks_db_close(db);
    free(url);
}

OKS_TEST(a_pass_stops_between_tenants_once_shutdown_is_requested)
{
    const char *sim_ready = oks_test_tmp_path("sched-sim.ready");
    const char *sim_args[] = {
        "--listen", "127.0.0.1:0", "--ready-file", sim_ready,     "--users", "5", "--seed",
        "4",        "--token",     TOKEN,          "--log-level", "warn",    NULL};
    pid_t sim = wt_spawn("oktasync-okta-sim", sim_args, oks_test_tmp_path("sched-sim.log"));
    OKS_ASSERT(wt_wait_file(sim_ready, 10000));
    char sim_url[128];
    snprintf(sim_url, sizeof sim_url, "%s", wt_ready_url(sim_ready, "http"));
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char jobs[96], events[96];
    snprintf(jobs, sizeof jobs, "%s", oks_test_unique("jobs"));
    snprintf(events, sizeof events, "%s", oks_test_unique("events"));
    wt_create_topic(jobs, 1);
    wt_create_topic(events, 1);
    connected_tenants(db, sim_url, 3);
    char *argv[] = {"oktasync-scheduler",
                    "--database-url",
                    url,
                    "--kafka-brokers",
                    (char *)wt_brokers(),
                    "--jobs-topic",
                    jobs,
                    "--events-topic",
                    events,
                    "--secret-key",
                    (char *)wt_secret_hex,
                    "--redis-url",
                    (char *)oks_test_service("OKTASYNC_REDIS_URL"),
                    NULL};
    char *const no_env[] = {NULL};
    oks_err err = {0};
    oks_sched_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    OKS_ASSERT(oks_cfg_load(&oks_sched_program, &cfg, (int)(sizeof argv / sizeof argv[0]) - 1, argv,
                            no_env, NULL, &err) == OKS_CFG_OK);
    oks_sched s;
    OKS_ASSERT(oks_sched_init(&s, &cfg, &err) == 0);
    OKS_ASSERT(oks_sched_db(&s, &err) != NULL);

    oks_shutdown_request(); /* as SIGTERM does */
    int n = -1;
    OKS_ASSERT_EQ_INT(oks_sched_pass(&s, oks_now_wall_ms(), &n, &err), -1);
    OKS_ASSERT_EQ_INT(n, 0);
    OKS_ASSERT_CONTAINS(err.msg, "shutting down: 3 tenants left to the next pass");
    char *runs = wt_scalar(db, "SELECT count(*) FROM sync_runs", 0, NULL);
    OKS_ASSERT_EQ_STR(runs, "0");
    free(runs);
    memset(&err, 0, sizeof err);
    OKS_ASSERT_EQ_INT(oks_sched_gapfill_pass(&s, oks_now_wall_ms(), &n, &err), -1);
    OKS_ASSERT_EQ_INT(n, 0);
    OKS_ASSERT_CONTAINS(err.msg, "shutting down: 3 tenants left to the next pass");
    char *marks = wt_scalar(db, "SELECT count(*) FROM tenant_log_watermarks", 0, NULL);
    OKS_ASSERT_EQ_STR(marks, "0"); /* no tenant's System Log was read */
    free(marks);

    oks_sched_free(&s);
    oks_cfg_free(&oks_sched_program, &cfg);
    oks_db_close(db);
    free(url);
    OKS_ASSERT_EQ_INT(wt_stop(sim, 10000), 0);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
