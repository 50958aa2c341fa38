/* The dead-letter path cannot wedge and cannot lose: on a private dev broker that fails
 * Produce requests on demand, a failed dead-letter produce is retried with backoff (the source
 * offset waits), and a fatal idempotent-producer error makes the worker exit non-zero without
 * passing the message over; the restarted worker dead-letters it. */
#include "oks_test.h"
#include "wfixture.h"
#include "wproxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool broker_up;

static void private_broker(void)
{
    if (!broker_up)
        wt_private_broker();
    broker_up = true;
}

static int count_value(json_t *msgs, const char *original)
{
    int n = 0;
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        json_t *v = json_loads(json_string_value(json_object_get(m, "value")), 0, NULL);
        n += v && strcmp(json_string_value(json_object_get(v, "value")), original) == 0;
        json_decref(v);
    }
    return n;
}

OKS_TEST(a_failing_dead_letter_produce_is_retried_and_nothing_is_lost)
{
    private_broker();
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    wt_produce(f.events, f.tenant, "garbage-1", 9);
    wfx_send(&f, "ev-d1", "user.account.update_profile", "00u-d1");
    /* the next 3 Produce requests fail (INVALID_RECORD: not retried inside librdkafka) */
    wt_broker_control("/errors/produce?code=87&count=3");
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 1, 30000));
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE $1::uuid IS NOT NULL", 1, 20000));
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_dead_letter_failures_total", NULL) >= 1);
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_retries_total", NULL) >= 1);
    json_t *dead = wt_consume_all(f.dlq, 15000);
    OKS_ASSERT_EQ_INT(count_value(dead, "garbage-1"), 1);
    json_decref(dead);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 2);
    /* the log says "dead-lettered" once, for the send that was acknowledged, not for the
     * attempts the broker failed */
    char *log = oks_test_read_file(f.log);
    OKS_ASSERT(log != NULL);
    OKS_ASSERT_EQ_INT(oks_test_count(log, "message dead-lettered"), 1);
    OKS_ASSERT(oks_test_count(log, "partition will be retried") >= 1);
    free(log);
    wfx_teardown(&f);
}

OKS_TEST(a_fatal_dead_letter_producer_error_exits_nonzero_without_passing_the_message)
{
    private_broker();
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    wproxy *px = wproxy_start("127.0.0.1", wproxy_conninfo_port(f.db_url));
    char url[2048];
    snprintf(url, sizeof url, "%s port='%d'", f.db_url, wproxy_port(px));
    wfx_start_worker(&f, url);
    /* a first dead letter gives the idempotent producer its id and sequence */
    wt_produce(f.events, f.tenant, "garbage-0", 9);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 1, 30000));
    /* hold the next batch (database away) so the broker fault meets the worker's produce */
    wproxy_set_up(px, false);
    wt_produce(f.events, f.tenant, "garbage-1", 9); /* offset 1 */
    wfx_send(&f, "ev-f1", "user.account.update_profile", "00u-f1");
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_partitions_failing", NULL, 1, 20000));
    wt_broker_control("/errors/produce?code=45&count=1"); /* OUT_OF_ORDER_SEQUENCE: fatal */
    wproxy_set_up(px, true);
    OKS_ASSERT_EQ_INT(wt_wait_exit(f.worker, 30000), 1);
    f.worker = 0;
    OKS_ASSERT(wt_committed(f.group, f.events, 0) <= 1);
    /* restarted: the message is dead-lettered now, and the event behind it recorded */
    wfx_start_worker(&f, url);
    OKS_ASSERT(wfx_wait_count(
        &f, "SELECT count(*) FROM processed_events WHERE $1::uuid IS NOT NULL", 1, 30000));
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 1, 30000));
    json_t *dead = wt_consume_all(f.dlq, 15000);
    OKS_ASSERT_EQ_INT(count_value(dead, "garbage-0"), 1);
    OKS_ASSERT(count_value(dead, "garbage-1") >= 1);
    json_decref(dead);
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 3);
    wproxy_stop(px);
    wfx_teardown(&f);
}

/* The intake reads the next batch while this one's statement runs. When this batch leaves its
 * partition stopped at a message it could not dead-letter, the next batch's messages of that
 * partition must not be taken: recording them would store offsets past the message, and a crash
 * then would lose it. They wait until the dead letter is produced. */
OKS_TEST(a_batch_read_ahead_waits_behind_a_message_not_dead_lettered)
{
    private_broker();
    wfx f;
    wfx_setup(&f, 1);
    wfx_park_tenant(&f, f.tenant);
    wfx_args(&f, "--intake-batch", "2", NULL);
    wt_produce(f.events, f.tenant, "garbage-2", 9);                 /* offset 0 */
    wfx_send(&f, "ev-a1", "user.account.update_profile", "00u-a1"); /* 1: same batch */
    wfx_send(&f, "ev-a2", "user.account.update_profile", "00u-a2"); /* 2, 3: next batch */
    wfx_send(&f, "ev-a3", "user.account.update_profile", "00u-a3");
    wt_broker_control("/errors/produce?code=87&count=6"); /* ~1.7 s of retries at 100-500 ms */
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_failures_total", NULL, 2, 30000));
    static const char pe[] = "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid "
                             "AND event_uuid IN ('ev-a2', 'ev-a3')";
    OKS_ASSERT_EQ_INT(wfx_count(&f, "SELECT count(*) FROM processed_events WHERE tenant_id = "
                                    "$1::uuid AND event_uuid = 'ev-a1'"),
                      1);
    OKS_ASSERT_EQ_INT(wfx_count(&f, pe), 0);
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_dead_letter_total", NULL) == 0);
    /* the dead letter goes through: then the rest is taken, once */
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_dead_letter_total", NULL, 1, 30000));
    OKS_ASSERT(wfx_wait_count(&f, pe, 2, 20000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 4);
    json_t *dead = wt_consume_all(f.dlq, 15000);
    OKS_ASSERT_EQ_INT(count_value(dead, "garbage-2"), 1);
    json_decref(dead);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
