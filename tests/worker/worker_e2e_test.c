/* The walking skeleton end to end, with the real binaries: a change in the (simulated) Okta org
 * → event hook POST to oktasync-ingest (secret checked) → Kafka → oktasync-worker → the users
 * row in PostgreSQL, and a group membership change → the user's team from that group. */
#include "oks_test.h"
#include "wfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OKS_TEST(okta_change_reaches_the_users_row_through_ingest_and_worker)
{
    wfx f;
    wfx_setup(&f, 2);
    const char *p[] = {f.tenant};
    char *sub = wt_scalar(f.db, "SELECT subdomain FROM tenants WHERE id = $1::uuid", 1, p);
    const char *ready = oks_test_tmp_path("ingest.ready");
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
    pid_t ingest = wt_spawn("oktasync-ingest", args, oks_test_tmp_path("ingest.log"));
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

    /* group → team through events alone (no full sync): the tenant maps a group the user is
     * not in; adding the user in Okta gives the team, removing takes it away */
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/info", f.sim_url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *info = json_loads(body, 0, NULL);
    free(body);
    snprintf(url, sizeof url, "%s/api/v1/users/%s/groups", f.sim_url, id);
    OKS_ASSERT_EQ_INT(wt_http_hdr("GET", url, "Authorization: SSWS " WFX_TOKEN, NULL, &body), 200);
    const char *gid = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(info, "groups"), i, g)
    {
        const char *cand = json_string_value(json_object_get(g, "id"));
        if (!gid && strcmp(json_string_value(json_object_get(g, "type")), "OKTA_GROUP") == 0 &&
            !json_is_true(json_object_get(g, "app_assigned")) && !strstr(body, cand))
            gid = cand;
    }
    free(body);
    OKS_ASSERT(gid != NULL);
    const char *pm[] = {f.tenant, gid};
    free(wt_scalar(f.db,
                   "WITH t AS (INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, "
                   "'Guild', 'okta_group') RETURNING id) INSERT INTO tenant_group_teams "
                   "(tenant_id, okta_group_id, team_id) SELECT $1::uuid, $2, id FROM t "
                   "RETURNING team_id",
                   2, pm));
    const char *guild = "SELECT count(*) FROM team_members m JOIN teams x ON x.id = m.team_id "
                        "JOIN users u ON u.id = m.user_id WHERE x.tenant_id = $1::uuid AND "
                        "x.name = 'Guild' AND m.source = 'okta_group'";
    OKS_ASSERT_EQ_INT(wfx_count(&f, guild), 0);
    snprintf(path, sizeof path, "groups/%s/members/%s", gid, id);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", path, ""), 200);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", "hooks/flush?timeout_ms=10000", ""), 200);
    OKS_ASSERT(wfx_wait_count(&f, guild, 1, 20000));
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "DELETE", path, NULL), 200);
    OKS_ASSERT_EQ_INT(wfx_sim(&f, "POST", "hooks/flush?timeout_ms=10000", ""), 200);
    OKS_ASSERT(wfx_wait_count(&f, guild, 0, 20000));
    json_decref(info);

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
