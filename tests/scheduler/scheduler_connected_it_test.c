/*
 * Which tenants the scheduler serves, with an injected clock (the pass functions take "now"):
 * only tenants connected to Okta (OKS_SYNC_TENANT_CONNECTED: `tenant connect` succeeded) get the
 * nightly full sync and the System Log gap fill. A tenant added but never connected gets
 * neither; one connected later is picked up at its next slot (catch-up unchanged); one whose
 * credentials later failed (parked credentials_invalid) is still connected and still scheduled.
 * Real PostgreSQL, Kafka, Redis and the Okta simulator; the scheduler's own library in-process.
 */
#include "core/oks_time.h"
#include "oks_sched_config.h"
#include "oks_sched_gapfill.h"
#include "oks_sched_run.h"
#include "oks_test.h"
#include "wtest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR INT64_C(3600000)
#define DAY (24 * HOUR)
#define TOKEN "sched-sim-token"

typedef struct fixture {
    oks_db *db;
    char *db_url;
    char sim[128], jobs[96], events[96];
    pid_t sim_pid;
    oks_sched_cfg cfg;
    oks_sched s;
} fixture;

static void setup(fixture *f)
{
    memset(f, 0, sizeof *f);
    const char *ready = oks_test_tmp_path("sched-sim.ready");
    const char *sim_args[] = {
        "--listen", "127.0.0.1:0", "--ready-file", ready,         "--users", "5", "--seed",
        "4",        "--token",     TOKEN,          "--log-level", "warn",    NULL};
    f->sim_pid = wt_spawn("oktasync-okta-sim", sim_args, oks_test_tmp_path("sched-sim.log"));
    OKS_ASSERT(wt_wait_file(ready, 10000));
    snprintf(f->sim, sizeof f->sim, "%s", wt_ready_url(ready, "http"));
    f->db = wt_fresh_db(&f->db_url);
    snprintf(f->jobs, sizeof f->jobs, "%s", oks_test_unique("jobs"));
    snprintf(f->events, sizeof f->events, "%s", oks_test_unique("events"));
    wt_create_topic(f->jobs, 2);
    wt_create_topic(f->events, 2);
    /* the program's own settings table, defaults included; no environment */
    char *argv[] = {"oktasync-scheduler",
                    "--database-url",
                    f->db_url,
                    "--kafka-brokers",
                    (char *)wt_brokers(),
                    "--jobs-topic",
                    f->jobs,
                    "--events-topic",
                    f->events,
                    "--secret-key",
                    (char *)wt_secret_hex,
                    "--redis-url",
                    (char *)oks_test_service("OKTASYNC_REDIS_URL"),
                    "--produce-timeout",
                    "5s",
                    "--okta-timeout",
                    "5s",
                    NULL};
    char *const no_env[] = {NULL};
    oks_err err = {0};
    OKS_ASSERT(oks_cfg_load(&oks_sched_program, &f->cfg, (int)(sizeof argv / sizeof argv[0]) - 1,
                            argv, no_env, NULL, &err) == OKS_CFG_OK);
    OKS_ASSERT(oks_sched_init(&f->s, &f->cfg, &err) == 0);
}

static void teardown(fixture *f)
{
    oks_sched_free(&f->s);
    oks_cfg_free(&oks_sched_program, &f->cfg);
    oks_db_close(f->db);
    free(f->db_url);
    OKS_ASSERT_EQ_INT(wt_stop(f->sim_pid, 10000), 0);
}

static char *tenant(fixture *f, bool connected)
{
    /* created three days ago, full_sync_time 03:00 UTC */
    char *id = wt_tenant(f->db, f->sim, TOKEN, 3 * 86400, NULL);
    if (connected) {
        const char *p[] = {id};
        free(wt_scalar(f->db,
                       "UPDATE tenants SET connected_at = created_at WHERE id = $1::uuid "
                       "RETURNING 1",
                       1, p));
    }
    return id;
}

static void connect_at(fixture *f, const char *id, int64_t at_ms)
{
    char at[24];
    snprintf(at, sizeof at, "%" PRId64, at_ms);
    const char *p[] = {id, at};
    free(wt_scalar(f->db,
                   "UPDATE tenants SET connected_at = to_timestamp($2::bigint / 1000.0) "
                   "WHERE id = $1::uuid RETURNING 1",
                   2, p));
}

/* The tenant's full-sync slots (epoch ms, ascending, comma-separated); "" when none. */
static char *slots(fixture *f, const char *id)
{
    const char *p[] = {id};
    char *s = wt_scalar(f->db,
                        "SELECT coalesce(string_agg(((extract(epoch FROM scheduled_for) * 1000)"
                        "::bigint)::text, ',' ORDER BY scheduled_for), '') FROM sync_runs "
                        "WHERE tenant_id = $1::uuid AND kind = 'full_sync'",
                        1, p);
    OKS_ASSERT(s != NULL);
    return s;
}

static void assert_slots(fixture *f, const char *id, const char *want)
{
    char *got = slots(f, id);
    OKS_ASSERT_EQ_STR(got, want);
    free(got);
}

static bool has_watermark(fixture *f, const char *id)
{
    const char *p[] = {id};
    char *n = wt_scalar(
        f->db, "SELECT count(*) FROM tenant_log_watermarks WHERE tenant_id = $1::uuid", 1, p);
    bool yes = n && strcmp(n, "1") == 0;
    free(n);
    return yes;
}

static long logs_requests(fixture *f)
{
    char url[200], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/stats", f->sim);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(j != NULL);
    long n = (long)json_integer_value(
        json_object_get(json_object_get(j, "per_endpoint"), "GET /api/v1/logs"));
    json_decref(j);
    return n;
}

static int pass(fixture *f, int64_t now_ms)
{
    int n = -1;
    oks_err err = {0};
    OKS_ASSERT(oks_sched_pass(&f->s, now_ms, &n, &err) == 0);
    return n;
}

static void gap_fill(fixture *f, int64_t now_ms)
{
    oks_err err = {0};
    int n = -1;
    if (oks_sched_gapfill_pass(&f->s, now_ms, &n, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "gap fill pass: %s", err.msg);
    OKS_ASSERT(n >= 0); /* what it republishes does not matter here: who is read does */
}

static size_t jobs_for(json_t *msgs, const char *id)
{
    size_t n = 0, i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        n += strcmp(json_string_value(json_object_get(m, "key")), id) == 0;
    }
    return n;
}

OKS_TEST(only_connected_tenants_get_full_syncs_and_gap_fill)
{
    fixture f;
    setup(&f);
    char *on = tenant(&f, true);
    char *parked = tenant(&f, true);
    char *never = tenant(&f, false);
    char *later = tenant(&f, false);
    /* credentials that failed after connecting: parked by the worker, still connected */
    const char *pp[] = {parked};
    free(wt_scalar(f.db,
                   "INSERT INTO tenant_okta_state (tenant_id, fault, fault_reason, fault_since, "
                   "attempts) VALUES ($1::uuid, 'credentials_invalid', 'E0000011', now(), 3) "
                   "RETURNING 1",
                   1, pp));
    /* D = yesterday's midnight UTC: every tenant exists and D + 12 h has passed */
    const int64_t d = (oks_now_wall_ms() / DAY - 1) * DAY;
    char want[64], want2[64];
    snprintf(want, sizeof want, "%" PRId64, d + 3 * HOUR);
    snprintf(want2, sizeof want2, "%" PRId64 ",%" PRId64, d + 3 * HOUR, d + DAY + 3 * HOUR);

    /* 03:00: the connected tenants' jobs; none for the tenants never connected */
    OKS_ASSERT_EQ_INT(pass(&f, d + 3 * HOUR), 2);
    assert_slots(&f, on, want);
    assert_slots(&f, parked, want);
    assert_slots(&f, never, "");
    assert_slots(&f, later, "");
    /* gap fill at the same moment: one System Log read per connected tenant, none for others */
    long before = logs_requests(&f);
    gap_fill(&f, d + 3 * HOUR);
    OKS_ASSERT_EQ_INT(logs_requests(&f) - before, 2);
    OKS_ASSERT(has_watermark(&f, on) && has_watermark(&f, parked));
    OKS_ASSERT(!has_watermark(&f, never) && !has_watermark(&f, later));

    /* connected at 10:00: the gap fill reads it from then; 03:00 was before it was connected
     * (connecting queued its first sync itself), so no job until its next slot */
    connect_at(&f, later, d + 10 * HOUR);
    OKS_ASSERT_EQ_INT(pass(&f, d + 12 * HOUR), 0);
    assert_slots(&f, later, "");
    gap_fill(&f, d + 12 * HOUR);
    OKS_ASSERT(has_watermark(&f, later));
    OKS_ASSERT(!has_watermark(&f, never));
    char *since = NULL;
    {
        const char *p[] = {later};
        since = wt_scalar(f.db,
                          "SELECT (extract(epoch FROM since) * 1000)::bigint FROM "
                          "tenant_log_watermarks WHERE tenant_id = $1::uuid",
                          1, p);
    }
    char until[24];
    snprintf(until, sizeof until, "%" PRId64, d + 12 * HOUR - f.cfg.gap_fill_margin_ms);
    OKS_ASSERT_EQ_STR(since, until); /* read up to now - margin */
    free(since);

    /* next day, the scheduler down at 03:00 and back at 05:00: caught up for all three */
    OKS_ASSERT_EQ_INT(pass(&f, d + DAY + 5 * HOUR), 3);
    assert_slots(&f, on, want2);
    assert_slots(&f, parked, want2);
    snprintf(want, sizeof want, "%" PRId64, d + DAY + 3 * HOUR);
    assert_slots(&f, later, want);
    assert_slots(&f, never, "");
    /* a later pass of the same day: one run per slot */
    OKS_ASSERT_EQ_INT(pass(&f, d + DAY + 6 * HOUR), 0);

    json_t *msgs = wt_consume_all(f.jobs, 15000);
    OKS_ASSERT_EQ_INT(json_array_size(msgs), 5);
    OKS_ASSERT_EQ_INT(jobs_for(msgs, on), 2);
    OKS_ASSERT_EQ_INT(jobs_for(msgs, parked), 2);
    OKS_ASSERT_EQ_INT(jobs_for(msgs, later), 1);
    OKS_ASSERT_EQ_INT(jobs_for(msgs, never), 0);
    json_decref(msgs);
    free(on);
    free(parked);
    free(never);
    free(later);
    teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
