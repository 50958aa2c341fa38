/* The intake's reading of Kafka against the real stack: the consumer lag a restarted worker
 * reports is the committed offset's, not the retained range's, and a backlog is read in full
 * batches with few reconcile rounds behind it. (Apart from worker_intake_it_test so that the
 * two run side by side: together they were the suite's longest test.) */
#include "oks_test.h"
#include "wfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char PROFILE[] = "user.account.update_profile";

typedef struct {
    wfx *f;
    char labels[2][300];
} lag_probe;

static bool lag_reported(void *arg)
{
    lag_probe *p = arg;
    return wt_metric(p->f->admin, "oktasync_worker_consumer_lag", p->labels[0]) >= 0 &&
           wt_metric(p->f->admin, "oktasync_worker_consumer_lag", p->labels[1]) >= 0;
}

OKS_TEST(lag_after_a_restart_is_the_committed_offset_lag_not_the_retained_range)
{
    wfx f;
    wfx_setup(&f, 2);
    wfx_park_tenant(&f, f.tenant);
    /* keys spread the events over both partitions */
    for (int i = 0; i < 12; i++) {
        char uuid[32], key[32];
        snprintf(uuid, sizeof uuid, "ev-lag-%d", i);
        snprintf(key, sizeof key, "k%d", i);
        char *v = wfx_envelope(&f, NULL, uuid, PROFILE, "00u-lag");
        wt_produce(f.events, key, v, strlen(v));
        free(v);
    }
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE $1::uuid IS NOT NULL", 12, 20000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wfx_committed_sum(&f, 2), 12);
    OKS_ASSERT(wt_committed(f.group, f.events, 0) > 0 && wt_committed(f.group, f.events, 1) > 0);
    /* restarted on quiet partitions: nothing is behind */
    wfx_start_worker(&f, NULL);
    lag_probe p = {&f, {"", ""}};
    for (int i = 0; i < 2; i++)
        snprintf(p.labels[i], sizeof p.labels[i], "topic=\"%s\",partition=\"%d\"", f.events, i);
    OKS_ASSERT(oks_test_wait_until(lag_reported, &p, 20000));
    for (int round = 0; round < 5; round++) {
        OKS_ASSERT_EQ_INT(wt_metric(f.admin, "oktasync_worker_consumer_lag", p.labels[0]), 0);
        OKS_ASSERT_EQ_INT(wt_metric(f.admin, "oktasync_worker_consumer_lag", p.labels[1]), 0);
        usleep(300 * 1000);
    }
    wfx_stop_worker(&f);
    wfx_teardown(&f);
}

/* A backlog in Kafka: the intake reads it in full batches, and while another full batch waits
 * the reconcilers hold a tenant's small rounds (backlog-linger, docs/worker-reconcile.md
 * "Rounds under a backlog"). 1,000 events over 20 users, read 10 at a time: the users are read
 * in a round or two once the intake has caught up, not in a round after each of its 100
 * batches (without the rule: hundreds of user reads). */
OKS_TEST(a_kafka_backlog_is_read_in_few_rounds_not_one_per_intake_batch)
{
    wfx f;
    wfx_setup(&f, 1);
    char *users[20];
    for (int i = 0; i < 20; i++)
        users[i] = wfx_user_with_status(&f, "ACTIVE", i);
    for (int i = 0; i < 1000; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "backlog-%d", i);
        wfx_send(&f, uuid, PROFILE, users[i % 20]);
    }
    wfx_args(&f, "--intake-batch", "10", "--intake-linger", "1s", "--backlog-linger", "60s",
             "--coalesce-window", "0ms", NULL);
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid", 1000, 30000));
    OKS_ASSERT(wfx_wait_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", 0,
                              30000));
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid"), 20);
    char lbl[128];
    snprintf(lbl, sizeof lbl, "tenant=\"%s\"", f.tenant);
    double read = wt_metric(f.admin, "oktasync_worker_users_read_total", lbl);
    OKS_ASSERT(read >= 20 && read <= 60);
    /* one full batch and nothing behind it is no backlog: its round goes at once, not after
     * the minute of linger */
    wfx_stop_worker(&f);
    for (int i = 0; i < 10; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "after-%d", i);
        wfx_send(&f, uuid, PROFILE, users[i]);
    }
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid", 1010, 30000));
    OKS_ASSERT(wfx_wait_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", 0,
                              20000));
    wfx_stop_worker(&f);
    for (int i = 0; i < 20; i++)
        free(users[i]);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
