/* oktasync-worker when PostgreSQL or Redis is unreachable from the start: the message is
 * retried, its offset is not committed, and a restarted worker takes it in (exactly once). */
#include "oks_test.h"
#include "wfixture.h"

#include <stdio.h>
#include <stdlib.h>

OKS_TEST(database_down_keeps_offset_and_event_is_redelivered_after_restart)
{
    wfx f;
    wfx_setup(&f, 1);
    /* nothing listens on port 1: every transaction fails as "database unavailable" */
    wfx_start_worker(&f, "postgresql://oktasync@127.0.0.1:1/nope?connect_timeout=2");
    char *id = wfx_user_with_status(&f, "ACTIVE", 0);
    wfx_send(&f, "ev-dbdown-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_retries_total", NULL, 2, 20000));
    /* stuck on the message: the partition's lag shows it */
    char labels[300];
    snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"0\"", f.events);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_consumer_lag", labels, 1, 10000));
    char url[1200];
    snprintf(url, sizeof url, "%s/readyz", f.admin);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, NULL), 503);
    wfx_stop_worker(&f);
    int64_t committed = wt_committed(f.group, f.events, 0);
    OKS_ASSERT(committed < 1); /* none (-1001) or 0: the event was not passed over */
    char *row = wfx_user_col(&f, id, "status");
    OKS_ASSERT(row == NULL);
    /* the database is back: a new worker in the same group gets the same message again */
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(&f,
                              "SELECT count(*) FROM processed_events WHERE tenant_id = "
                              "$1::uuid AND event_uuid = 'ev-dbdown-1'",
                              1, 20000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 1);
    free(id);
    free(row);
    wfx_teardown(&f);
}

OKS_TEST(redis_down_is_transient_and_nothing_is_skipped)
{
    wfx f;
    wfx_setup(&f, 1);
    /* nothing listens on port 1: the dedupe check fails as "unavailable" */
    f.redis_url = "redis://127.0.0.1:1/0";
    wfx_start_worker(&f, NULL);
    char *id = wfx_user_with_status(&f, "ACTIVE", 0);
    wfx_send(&f, "ev-redisdown-1", "user.account.update_profile", id);
    OKS_ASSERT(wfx_wait_metric(&f, "oktasync_worker_retries_total", NULL, 2, 20000));
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_dead_letter_total", NULL) == 0);
    wfx_stop_worker(&f);
    OKS_ASSERT(wt_committed(f.group, f.events, 0) < 1);
    char *row = wfx_user_col(&f, id, "status");
    OKS_ASSERT(row == NULL);
    f.redis_url = NULL;
    wfx_start_worker(&f, NULL);
    OKS_ASSERT(wfx_wait_count(&f,
                              "SELECT count(*) FROM processed_events WHERE tenant_id = "
                              "$1::uuid AND event_uuid = 'ev-redisdown-1'",
                              1, 20000));
    wfx_stop_worker(&f);
    OKS_ASSERT_EQ_INT(wt_committed(f.group, f.events, 0), 1);
    free(row);
    free(id);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
