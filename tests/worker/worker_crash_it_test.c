/* The intake's durability rule under faults: an offset never passes an event that is not
 * recorded, and after the fault every event is recorded exactly once (processed_events rows and
 * the dirty marks' event counts). PostgreSQL and Redis are "restarted" by cutting the worker's
 * connections at a proxy in front of the real services; the worker is killed with SIGKILL. */
#include "oks_test.h"
#include "wfixture.h"
#include "wproxy.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* commit stored offsets every 200ms so the invariant is checked against fresh commits */
#define KCFG                                                                                       \
    "session.timeout.ms=6000;heartbeat.interval.ms=500;partition.assignment.strategy=range;"       \
    "auto.commit.interval.ms=200"

static const char PE[] = "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid";

static void send_range(wfx *f, int from, int to)
{
    char **v = calloc((size_t)(to - from), sizeof *v);
    OKS_ASSERT(v != NULL);
    for (int i = from; i < to; i++) {
        char uuid[32], user[32];
        snprintf(uuid, sizeof uuid, "ev-%05d", i);
        snprintf(user, sizeof user, "00u-crash-%d", i % 17);
        v[i - from] = wfx_envelope(f, NULL, uuid, "user.account.update_profile", user);
    }
    wt_produce_many(f->events, f->tenant, v, (size_t)(to - from));
    for (int i = from; i < to; i++)
        free(v[i - from]);
    free(v);
}

/* Every event below the committed offset is recorded (ev-N sits at offset N). */
static void assert_no_offset_passes_an_unrecorded_event(wfx *f)
{
    int64_t c = wt_committed(f->group, f->events, 0);
    if (c < 0)
        c = 0;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid "
             "AND substr(event_uuid, 4)::int < %lld",
             (long long)c);
    OKS_ASSERT_EQ_INT(wfx_count(f, sql), c);
}

static void assert_each_recorded_once(wfx *f, int total)
{
    OKS_ASSERT_EQ_INT(wfx_count(f, PE), total);
    /* one mark event per recorded event: nothing was marked twice */
    OKS_ASSERT_EQ_INT(
        wfx_count(f, "SELECT COALESCE(sum(events), 0) FROM dirty_users WHERE tenant_id = $1::uuid"),
        total);
}

static bool failing(wfx *f)
{
    return wfx_wait_metric(f, "oktasync_worker_partitions_failing", NULL, 1, 20000);
}

static long readyz(wfx *f)
{
    char url[300];
    snprintf(url, sizeof url, "%s/readyz", f->admin);
    return wt_http("GET", url, NULL, NULL);
}

static bool is_ready(void *arg)
{
    return readyz(arg) == 200;
}

OKS_TEST(database_restarts_mid_run_never_commit_past_an_unrecorded_event)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    wproxy *px = wproxy_start("127.0.0.1", wproxy_conninfo_port(f.db_url));
    char url[2048];
    snprintf(url, sizeof url, "%s port='%d'", f.db_url, wproxy_port(px));
    wfx_args(&f, "--intake-batch", "10", "--kafka-config", KCFG, NULL);
    wfx_start_worker(&f, url);
    int sent = 0;
    for (int round = 0; round < 3; round++) {
        send_range(&f, sent, sent + 40);
        sent += 40;
        OKS_ASSERT(wfx_wait_count(&f, PE, sent, 20000));
        wproxy_set_up(px, false); /* the database goes away mid-run */
        send_range(&f, sent, sent + 40);
        sent += 40;
        OKS_ASSERT(failing(&f));
        OKS_ASSERT_EQ_INT(readyz(&f), 503);
        assert_no_offset_passes_an_unrecorded_event(&f);
        OKS_ASSERT(wfx_count(&f, PE) < sent);
        usleep(600 * 1000); /* a few commit intervals while down */
        assert_no_offset_passes_an_unrecorded_event(&f);
        wproxy_set_up(px, true);
    }
    OKS_ASSERT(wfx_wait_count(&f, PE, sent, 30000));
    OKS_ASSERT(oks_test_wait_until(is_ready, &f, 10000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), sent);
    assert_each_recorded_once(&f, sent);
    wproxy_stop(px);
    wfx_teardown(&f);
}

OKS_TEST(sigkill_mid_run_then_restart_records_every_event_exactly_once)
{
    enum { TOTAL = 3000 };
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    send_range(&f, 0, TOTAL);
    wfx_args(&f, "--intake-batch", "20", "--kafka-config", KCFG, NULL);
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_events_recorded_total", NULL, 200, 30000));
    kill(f.worker, SIGKILL);
    OKS_ASSERT_EQ_INT(wt_wait_exit(f.worker, 10000), -1); /* killed by the signal */
    f.worker = 0;
    long at_kill = wfx_count(&f, PE);
    OKS_ASSERT(at_kill > 0);
    assert_no_offset_passes_an_unrecorded_event(&f);
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(&f, PE, TOTAL, 60000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), TOTAL);
    assert_each_recorded_once(&f, TOTAL);
    printf("# killed with %ld of %d events recorded\n", at_kill, TOTAL);
    wfx_teardown(&f);
}

/* With the reconcilers running (the tenant's Okta is the simulator): SIGKILL mid-run, restart,
 * and every user is applied once: one row each, one audit 'create' each, no mark left, and with
 * auto-invite on exactly one invitation each (redelivery after SIGKILL, docs/rules.md). */
OKS_TEST(sigkill_mid_run_with_reconcilers_applies_each_user_once)
{
    enum { USERS = 8, TOTAL = 1200 };
    wfx f;
    wfx_setup(&f, 1);
    char *ids[USERS];
    for (int i = 0; i < USERS; i++)
        ids[i] = wfx_user_with_status(&f, "ACTIVE", i);
    char **v = calloc(TOTAL, sizeof *v);
    OKS_ASSERT(v != NULL);
    for (int i = 0; i < TOTAL; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "ev-%05d", i);
        v[i] = wfx_envelope(&f, NULL, uuid, "user.account.update_profile", ids[i % USERS]);
    }
    wt_produce_many(f.events, f.tenant, v, TOTAL);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "WITH x AS (UPDATE tenants SET auto_invite = true WHERE id = "
                                    "$1::uuid RETURNING 1) SELECT count(*) FROM x"),
                      1);
    wfx_args(&f, "--intake-batch", "20", "--kafka-config", KCFG, NULL);
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_events_recorded_total", NULL, 100, 30000));
    kill(f.worker, SIGKILL);
    OKS_ASSERT_EQ_INT(wt_wait_exit(f.worker, 10000), -1);
    f.worker = 0;
    assert_no_offset_passes_an_unrecorded_event(&f);
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(&f, PE, TOTAL, 60000));
    OKS_ASSERT(wfx_wait_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", 0,
                              30000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), TOTAL);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND "
                                    "status = 'active'"),
                      USERS);
    OKS_ASSERT_EQ_INT(
        wfx_count(&f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid"),
        USERS);
    OKS_ASSERT_EQ_INT(
        wfx_count(&f,
                  "SELECT count(*) FROM audit_log WHERE entity = 'user' AND tenant_id = $1::uuid "
                  "AND action = 'create'"),
        USERS);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid"),
                      USERS);
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM audit_log WHERE entity = 'invitation' "
                                    "AND tenant_id = $1::uuid"),
                      USERS);
    for (int i = 0; i < TOTAL; i++)
        free(v[i]);
    free(v);
    for (int i = 0; i < USERS; i++)
        free(ids[i]);
    wfx_teardown(&f);
}

OKS_TEST(redis_stop_mid_run_holds_the_partition_and_loses_nothing)
{
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    int port = 0;
    const char *base = oks_test_service("OKTASYNC_REDIS_URL");
    wproxy_url(base, 1, &port);
    wproxy *px = wproxy_start("127.0.0.1", port);
    char rurl[1024];
    snprintf(rurl, sizeof rurl, "%s", wproxy_url(base, wproxy_port(px), &port));
    f.redis_url = rurl;
    wfx_args(&f, "--kafka-config", KCFG, NULL);
    wfx_start_worker(&f, NULL);
    send_range(&f, 0, 30);
    OKS_ASSERT(wfx_wait_count(&f, PE, 30, 20000));
    wproxy_set_up(px, false);
    send_range(&f, 30, 60);
    OKS_ASSERT(failing(&f));
    OKS_ASSERT_EQ_INT(readyz(&f), 503);
    usleep(600 * 1000);
    OKS_ASSERT_EQ_INT(wfx_count(&f, PE), 30); /* Redis down: nothing taken in */
    assert_no_offset_passes_an_unrecorded_event(&f);
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_dead_letter_total", NULL) == 0);
    wproxy_set_up(px, true);
    OKS_ASSERT(wfx_wait_count(&f, PE, 60, 30000));
    OKS_ASSERT(oks_test_wait_until(is_ready, &f, 10000));
    OKS_ASSERT_EQ_INT(wt_metric(f.admin, "oktasync_worker_partitions_failing", NULL), 0);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 60);
    assert_each_recorded_once(&f, 60);
    wproxy_stop(px);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
