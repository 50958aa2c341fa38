/* Two worker replicas in one consumer group: every event is taken in exactly once (one
 * processed_events row, one count on its user's dirty mark), also when one replica leaves in the
 * middle and the other takes its partitions over. The tenants' Okta does not answer, so the
 * marks stay for the test to count. */
#include "oks_test.h"
#include "wfixture.h"
#include "wproxy.h"

#include <stdio.h>
#include <stdlib.h>

enum { USERS = 8 };

static void send_batch(wfx *f, char **tenants, char **ids, int batch)
{
    for (int i = 0; i < USERS; i++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "ev-rep-%d-%d", batch, i);
        char *v = wfx_envelope(f, tenants[i % 4], uuid, "user.account.update_profile", ids[i]);
        wt_produce(f->events, tenants[i % 4], v, strlen(v));
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

OKS_TEST(two_replicas_apply_every_event_once_across_a_departure)
{
    wfx f;
    wfx_setup(&f, 4);
    /* four tenants on the same org: their keys spread the events over the partitions */
    char *tenants[4] = {f.tenant, NULL, NULL, NULL};
    for (int t = 1; t < 4; t++)
        tenants[t] = wt_tenant(f.db, f.sim_url, WFX_TOKEN, 86400, NULL);
    char *ids[USERS];
    for (int i = 0; i < USERS; i++)
        ids[i] = wfx_user_with_status(&f, "ACTIVE", i);
    for (int t = 0; t < 4; t++)
        wfx_park_tenant(&f, tenants[t]);
    wfx_start_worker(&f, NULL);
    char admin_b[256];
    pid_t b = wfx_spawn_worker(&f, NULL, admin_b, sizeof admin_b);

    send_batch(&f, tenants, ids, 1);
    count_wait w = {&f, USERS};
    OKS_ASSERT(oks_test_wait_until(processed_reached, &w, 30000));
    wfx_stop_worker(&f); /* replica A leaves; B takes over whatever A owned */
    send_batch(&f, tenants, ids, 2);
    w.want = 2 * USERS;
    OKS_ASSERT(oks_test_wait_until(processed_reached, &w, 30000));
    OKS_ASSERT_EQ_INT(wt_stop(b, 20000), 0);

    char *n = wt_scalar(f.db, "SELECT count(*) FROM processed_events", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "16");
    free(n);
    /* one mark per (tenant, user) pair, each counting its two events once */
    n = wt_scalar(f.db, "SELECT count(*) || '/' || sum(events) FROM dirty_users", 0, NULL);
    OKS_ASSERT_EQ_STR(n, "8/16");
    free(n);
    OKS_ASSERT_EQ_INT(wfx_committed_sum(&f, 4), 2 * USERS);
    for (int i = 0; i < USERS; i++)
        free(ids[i]);
    for (int t = 1; t < 4; t++)
        free(tenants[t]);
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

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
