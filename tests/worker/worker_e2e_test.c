/* The walking skeleton end to end, with the real binaries: a change in the (simulated) Okta org
 * → event hook POST to oktasync-ingest (secret checked) → Kafka → oktasync-worker → the users
 * row in PostgreSQL. */
#include "oks_test.h"
#include "wfixture.h"

#include <stdio.h>
#include <stdlib.h>

OKS_TEST(okta_change_reaches_the_users_row_through_ingest_and_worker)
{
    wfx f;
    wfx_setup(&f, 2);
    const char *p[] = {f.tenant};
    char *sub = wt_scalar(f.db, "SELECT subdomain FROM tenants WHERE id = $1::uuid", 1, p);
    const char *ready = wt_tmp("ingest.ready");
    const char *args[] = {"--http-listen",
                          "127.0.0.1:0",
                          "--admin-listen",
                          "127.0.0.1:0",
                          "--ready-file",
                          ready,
                          "--database-url",
                          f.db_url,
                          "--kafka-brokers",
                          oks_test_service("OKTASYNC_KAFKA_BROKERS"),
                          "--kafka-topic",
                          f.events,
                          NULL};
    pid_t ingest = wt_spawn("oktasync-ingest", args, wt_tmp("ingest.log"));
    OKS_ASSERT(wt_wait_file(ready, 15000));
    char hook[1024];
    snprintf(hook, sizeof hook,
             "{\"url\":\"%s/webhooks/okta/%s\",\"secret\":\"hook-secret\",\"window_ms\":100}",
             wt_ready_url(ready, "http"), sub);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", "hooks", hook), 200);
    wfx_start_worker(&f, NULL);

    char *id = wfx_user_with_status(&f, "ACTIVE", 0);
    char path[128];
    snprintf(path, sizeof path, "users/%s/profile", id);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", path, "{\"title\":\"Chief Walking Skeleton\"}"), 200);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", "hooks/flush?timeout_ms=10000", ""), 200);
    OKS_ASSERT(wfx_wait_col(&f, id, "title", "Chief Walking Skeleton", 20000));
    OKS_ASSERT(wfx_wait_col(&f, id, "status", "active", 1000));

    snprintf(path, sizeof path, "users/%s/deactivate", id);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", path, ""), 200);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", "hooks/flush?timeout_ms=10000", ""), 200);
    OKS_ASSERT(wfx_wait_col(&f, id, "status", "deactivated", 20000));
    /* every event the hook carried went through the worker once */
    OKS_ASSERT(wt_metric(f.admin, "oktasync_worker_dead_letter_total", NULL) == 0);
    OKS_ASSERT(wfx_count(&f, "SELECT count(*) FROM processed_events WHERE tenant_id = $1::uuid") >=
               2);

    OKS_ASSERT_EQ_INT(wt_stop(ingest, 15000), 0);
    free(id);
    free(sub);
    wfx_teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
