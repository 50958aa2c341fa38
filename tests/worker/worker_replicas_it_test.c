/* Two worker replicas in one consumer group: every event is taken in exactly once (one
 * processed_events row, one count on its user's dirty mark), also when one replica leaves in the
 * middle and the other takes its partitions over. The tenants' Okta does not answer, so the
 * marks stay for the test to count. */
#include "oks_test.h"
#include "wfixture.h"
#include "wproxy.h"

#include "core/oks_time.h"

#include <libpq-fe.h>

#include <stdio.h>
#include <stdlib.h>

enum { USERS = 8 };

/* One round of USERS events, ev-rep-<batch>-<i>. Keyed by tenant (as ingest does), or with
 * own_keys each by its own key, so that every partition has some (the default partitioner
 * hashes the key; rk-1-* and rk-2-* cover all four). */
static void send_batch(wfx *f, char **tenants, char **ids, int batch, bool own_keys)
{
    for (int i = 0; i < USERS; i++) {
        char uuid[64], key[32];
        snprintf(uuid, sizeof uuid, "ev-rep-%d-%d", batch, i);
        snprintf(key, sizeof key, "rk-%d-%d", batch, i);
        char *v = wfx_envelope(f, tenants[i % 4], uuid, "user.account.update_profile", ids[i]);
        wt_produce(f->events, own_keys ? key : tenants[i % 4], v, strlen(v));
        free(v);
    }
}

typedef struct {
    wfx *f;
    long want;
} count_wait;

static bool processed_reached(void *arg)
{
    count_wait *w = arg;
    char *n = wt_scalar(w->f->db, "SELECT count(*) FROM processed_events", 0, NULL);
    long v = n ? strtol(n, NULL, 10) : 0;
    free(n);
    return v >= w->want;
}

/* Four tenants on the same org, parked (their marks stay for the test to count), and USERS
 * active users of it. tenants[0] is the fixture's. */
static void four_tenants(wfx *f, char **tenants, char **ids)
{
    tenants[0] = f->tenant;
    for (int t = 1; t < 4; t++)
        tenants[t] = wt_tenant(f->db, f->sim_url, WFX_TOKEN, 86400, NULL);
    for (int i = 0; i < USERS; i++)
        ids[i] = wfx_user_with_status(f, "ACTIVE", i);
    for (int t = 0; t < 4; t++)
        wfx_park_tenant(f, tenants[t]);
}

/* Two rounds of USERS events were sent: each recorded once, one mark per (tenant, user) pair
 * counting its two events once, and the committed offsets past every message. Frees what
 * four_tenants made. */
static void each_event_once(wfx *f, char **tenants, char **ids)
{
    char *n = wt_scalar(f->db, "SELECT count(*) FROM processed_events", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "16");
    free(n);
    n = wt_scalar(f->db, "SELECT count(*) || '/' || sum(events) FROM dirty_users", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "8/16");
    free(n);
    OKS_ASSERT_EQ_INT(wfx_committed_sum(f, 4), 2 * USERS);
    for (int i = 0; i < USERS; i++)
        free(ids[i]);
    for (int t = 1; t < 4; t++)
        free(tenants[t]);
}

OKS_TEST(two_replicas_apply_every_event_once_across_a_departure)
{
    wfx f;
    wfx_setup(&f, 4);
    char *tenants[4], *ids[USERS];
    four_tenants(&f, tenants, ids);
    wfx_start_worker(&f, NULL);
    char admin_b[256];
    pid_t b = wfx_spawn_worker(&f, NULL, admin_b, sizeof admin_b);

    send_batch(&f, tenants, ids, 1, false);
    count_wait w = {&f, USERS};
    OKS_ASSERT(oks_test_wait_until(processed_reached, &w, 30000));
    wfx_stop_worker(&f); /* replica A leaves; B takes over whatever A owned */
    send_batch(&f, tenants, ids, 2, false);
    w.want = 2 * USERS;
    OKS_ASSERT(oks_test_wait_until(processed_reached, &w, 30000));
    OKS_ASSERT_EQ_INT(wt_stop(b, 20000), 0);

    each_event_once(&f, tenants, ids);
    wfx_teardown(&f);
}

static void send_spread(wfx *f, int from, int to)
{
    for (int i = from; i < to; i++) {
        char uuid[32], key[32];
        snprintf(uuid, sizeof uuid, "ev-sp-%d", i);
        snprintf(key, sizeof key, "key-%d", i);
        char *v = wfx_envelope(f, NULL, uuid, "user.account.update_profile", "00u-spread");
        wt_produce(f->events, key, v, strlen(v));
        free(v);
    }
}

/* Replica A pauses its partitions (its database is away), B joins and takes some of them, B
 * leaves and A gets them back: none may stay paused with nobody to resume it (librdkafka keeps
 * an application pause across a revoke), and nothing is lost or counted twice. */
OKS_TEST(a_partition_paused_across_a_rebalance_is_not_stranded)
{
    wfx f;
    wfx_setup(&f, 4);
    wfx_park_tenant(&f, f.tenant);
    wproxy *px = wproxy_start("127.0.0.1", wproxy_conninfo_port(f.db_url));
    char url[2048];
    snprintf(url, sizeof url, "%s port='%d'", f.db_url, wproxy_port(px));
    wfx_start_worker(&f, url);
    const char *pe = "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid";
    send_spread(&f, 0, 20);
    OKS_ASSERT(wfx_wait_count(&f, pe, 20, 30000));
    wproxy_set_up(px, false);
    send_spread(&f, 20, 40);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_partitions_failing", NULL, 2, 20000));
    char admin_b[256];
    pid_t b = wfx_spawn_worker(&f, NULL, admin_b, sizeof admin_b);
    /* B takes its share and records what A could not */
    long before = wfx_count(&f, pe);
    OKS_ASSERT(before >= 20);
    count_wait w = {&f, 21};
    OKS_ASSERT(oks_test_wait_until(processed_reached, &w, 30000));
    OKS_ASSERT_EQ_INT(wt_stop(b, 20000), 0); /* A gets every partition back */
    wproxy_set_up(px, true);
    send_spread(&f, 40, 60);
    OKS_ASSERT(wfx_wait_count(&f, pe, 60, 40000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wfx_committed_sum(&f, 4), 60);
    OKS_ASSERT_EQ_INT(
        wfx_count(&f, "SELECT sum(events) FROM dirty_users WHERE tenant_id = $1::uuid"), 60);
    wproxy_stop(px);
    wfx_teardown(&f);
}

/* Statements of the intake waiting for a lock ($1 only to match wfx_count's parameter) */
static const char waiting_intakes[] =
    "SELECT count(*) FROM pg_stat_activity WHERE $1::uuid IS NOT NULL "
    "AND datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH ev AS%'";

static bool committed_reached(void *arg)
{
    count_wait *w = arg;
    return wfx_committed_sum(w->f, 4) >= w->want;
}

/* An open transaction that has inserted the processed_events rows of the first `count` events of
 * send_batch's round `batch`: the intake's insert of any of them waits until it ends. */
static PGconn *hold_events(wfx *f, char **tenants, int batch, int count)
{
    PGconn *c = PQconnectdb(f->db_url);
    OKS_ASSERT_EQ_INT(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "BEGIN");
    OKS_ASSERT_EQ_INT(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    for (int i = 0; i < count; i++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "ev-rep-%d-%d", batch, i);
        const char *p[] = {tenants[i % 4], uuid};
        r = PQexecParams(c, "INSERT INTO processed_events (tenant_id, event_uuid) VALUES ($1, $2)",
                         2, NULL, p, NULL, NULL, 0);
        OKS_ASSERT_EQ_INT(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
    }
    return c;
}

static void release_events(PGconn *c)
{
    PGresult *r = PQexec(c, "ROLLBACK");
    OKS_ASSERT_EQ_INT(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
}

/* A revocation while a batch read ahead is in flight, and two replicas recording the same
 * events at the same moment. A's first batch waits (its first event's row is held), and A reads
 * the second ahead. B asks to join; librdkafka applies the rebalance inside A's next poll, which
 * comes right after A sends the second batch's statement. Every row of the second batch is held
 * too, so A's statement waits with that batch in flight and A cannot store the offsets of the
 * partitions it lost; B reads their events again from A's last commit, and its statement waits
 * on the same rows. Released, the two race for them. Each event is recorded once and counted
 * once on its user's mark (the losing insert is a duplicate, not a new event), and the committed
 * offsets come to cover every message. */
OKS_TEST(a_revocation_while_a_batch_is_read_ahead_counts_each_event_once)
{
    wfx f;
    wfx_setup(&f, 4);
    char *tenants[4], *ids[USERS];
    four_tenants(&f, tenants, ids);
    /* one send_batch is one intake batch: the second fills the read-ahead slot. Stored offsets
     * are committed every 200 ms (the fixture's settings otherwise), not every 5 s. */
    wfx_args(
        &f, "--intake-batch", "8", "--intake-linger", "2s", "--kafka-config",
        "session.timeout.ms=6000;heartbeat.interval.ms=500;partition.assignment.strategy=range;"
        "auto.commit.interval.ms=200",
        NULL);
    wfx_start_worker(&f, NULL);

    PGconn *first = hold_events(&f, tenants, 1, 1), *second = hold_events(&f, tenants, 2, USERS);
    send_batch(&f, tenants, ids, 1, true);
    send_batch(&f, tenants, ids, 2, true);
    OKS_ASSERT(wfx_wait_count(&f, waiting_intakes, 1, 30000));
    oks_sleep_ms(500); /* A reads the second batch ahead right after sending the first */
    char admin_b[256];
    pid_t b = wfx_spawn_worker(&f, NULL, admin_b, sizeof admin_b);
    oks_sleep_ms(1500); /* B asks to join; the group waits for A's next poll */
    release_events(first);
    /* A's second batch and B's copy of its share both wait */
    OKS_ASSERT(wfx_wait_count(&f, waiting_intakes, 2, 30000));
    release_events(second);

    count_wait w = {&f, 2 * USERS};
    OKS_ASSERT(oks_test_wait_until(processed_reached, &w, 30000));
    OKS_ASSERT(oks_test_wait_until(committed_reached, &w, 30000));
    OKS_ASSERT_EQ_INT(wt_stop(b, 20000), 0);
    wfx_stop_worker(&f);
    each_event_once(&f, tenants, ids);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
