/* Integration: the constraints and triggers of the schema that the workers rely on. */
#include "db_test_util.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>

static void exec_ok(oks_db *db, const char *sql)
{
    oks_err err = {0};
    if (oks_db_exec(db, sql, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
}

static char *user(oks_db *db, const char *tenant, const char *okta_id)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (tenant_id, okta_id) VALUES ('%s', '%s') RETURNING id", tenant,
             okta_id);
    return dbt_scalar(db, sql);
}

OKS_TEST(tenant_defaults_and_manager_mode_check)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    char *t = dbt_tenant(db, "acme");
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT auto_invite || ',' || manager_mode || ',' || "
             "coalesce(full_sync_time::text, 'fleet default') || ',' || "
             "deactivation_threshold_pct || ',' || deactivation_threshold_min FROM tenants "
             "WHERE id = '%s'",
             t);
    char *v = dbt_scalar(db, sql);
    OKS_ASSERT_EQ_STR(v, "false,individual,fleet default,10,10"); /* 0002 */
    free(v);
    char state[6];
    snprintf(sql, sizeof sql, "UPDATE tenants SET manager_mode = 'bogus' WHERE id = '%s'", t);
    OKS_ASSERT_EQ_INT(dbt_fails(db, sql, state), OKS_E_CONFLICT);
    OKS_ASSERT_EQ_STR(state, "23514");
    snprintf(sql, sizeof sql, "UPDATE tenants SET manager_mode = 'team' WHERE id = '%s'", t);
    exec_ok(db, sql);
    /* subdomain is unique and a DNS label */
    OKS_ASSERT_EQ_INT(dbt_fails(db,
                                "INSERT INTO tenants (subdomain, webhook_secret_hash) "
                                "VALUES ('acme', sha256('x'))",
                                state),
                      OKS_E_CONFLICT);
    OKS_ASSERT_EQ_STR(state, "23505");
    dbt_fails(db,
              "INSERT INTO tenants (subdomain, webhook_secret_hash) VALUES ('Bad_Name', "
              "sha256('x'))",
              state);
    OKS_ASSERT_EQ_STR(state, "23514");
    /* the secret hash must be a SHA-256 */
    dbt_fails(db, "INSERT INTO tenants (subdomain, webhook_secret_hash) VALUES ('b', '\\x00')",
              state);
    OKS_ASSERT_EQ_STR(state, "23514");
    /* previous secret without expiry is refused */
    snprintf(sql, sizeof sql,
             "UPDATE tenants SET webhook_secret_prev_hash = sha256('y') WHERE id = '%s'", t);
    dbt_fails(db, sql, state);
    OKS_ASSERT_EQ_STR(state, "23514");
    free(t);
    oks_db_close(db);
}

OKS_TEST(updated_at_moves_on_update)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    char *t = dbt_tenant(db, "clock");
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE tenants SET created_at = created_at - interval '1 day', "
             "updated_at = updated_at - interval '1 day' WHERE id = '%s'",
             t);
    exec_ok(db, sql);
    snprintf(sql, sizeof sql,
             "SELECT updated_at > created_at + interval '1 hour' FROM tenants WHERE id = '%s'", t);
    char *v = dbt_scalar(db, sql);
    OKS_ASSERT_EQ_STR(v, "t");
    free(v);
    free(t);
    oks_db_close(db);
}

OKS_TEST(user_status_check_and_unique_okta_id)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    char *t = dbt_tenant(db, "users"), *u = user(db, t, "00u1");
    char sql[256], state[6];
    snprintf(sql, sizeof sql, "UPDATE users SET status = 'suspended' WHERE id = %s", u);
    OKS_ASSERT_EQ_INT(dbt_fails(db, sql, state), OKS_E_CONFLICT);
    OKS_ASSERT_EQ_STR(state, "23514");
    snprintf(sql, sizeof sql, "INSERT INTO users (tenant_id, okta_id) VALUES ('%s', '00u1')", t);
    dbt_fails(db, sql, state);
    OKS_ASSERT_EQ_STR(state, "23505");
    /* the same Okta id in another tenant is another user */
    char *t2 = dbt_tenant(db, "other"), *u2 = user(db, t2, "00u1");
    OKS_ASSERT(strcmp(u, u2) != 0);
    free(t);
    free(t2);
    free(u);
    free(u2);
    oks_db_close(db);
}

OKS_TEST(one_primary_team_per_user)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    char *t = dbt_tenant(db, "teams"), *u = user(db, t, "00u1");
    char sql[400], state[6];
    snprintf(sql, sizeof sql,
             "INSERT INTO teams (tenant_id, name) VALUES ('%s', 'Sales'), ('%s', 'Ops')", t, t);
    exec_ok(db, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (tenant_id, team_id, user_id, is_primary) "
             "SELECT tenant_id, id, %s, true FROM teams WHERE name = 'Sales'",
             u);
    exec_ok(db, sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (tenant_id, team_id, user_id, is_primary) "
             "SELECT tenant_id, id, %s, true FROM teams WHERE name = 'Ops'",
             u);
    OKS_ASSERT_EQ_INT(dbt_fails(db, sql, state), OKS_E_CONFLICT);
    OKS_ASSERT_EQ_STR(state, "23505");
    /* a second, non-primary membership is fine */
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (tenant_id, team_id, user_id, is_primary) "
             "SELECT tenant_id, id, %s, false FROM teams WHERE name = 'Ops'",
             u);
    exec_ok(db, sql);
    /* team names are unique per tenant, compared case-insensitively (0004) */
    snprintf(sql, sizeof sql, "INSERT INTO teams (tenant_id, name) VALUES ('%s', 'Sales')", t);
    dbt_fails(db, sql, state);
    OKS_ASSERT_EQ_STR(state, "23505");
    snprintf(sql, sizeof sql, "INSERT INTO teams (tenant_id, name) VALUES ('%s', 'SALES')", t);
    dbt_fails(db, sql, state);
    OKS_ASSERT_EQ_STR(state, "23505");
    /* and stored trimmed */
    snprintf(sql, sizeof sql, "INSERT INTO teams (tenant_id, name) VALUES ('%s', 'Legal ')", t);
    dbt_fails(db, sql, state);
    OKS_ASSERT_EQ_STR(state, "23514");
    free(t);
    free(u);
    oks_db_close(db);
}

OKS_TEST(one_invitation_per_user)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    char *t = dbt_tenant(db, "invites"), *u = user(db, t, "00u1");
    char sql[300], state[6];
    snprintf(sql, sizeof sql, "INSERT INTO invitations (tenant_id, user_id) VALUES ('%s', %s)", t,
             u);
    exec_ok(db, sql);
    OKS_ASSERT_EQ_INT(dbt_fails(db, sql, state), OKS_E_CONFLICT);
    OKS_ASSERT_EQ_STR(state, "23505");
    /* the worker's idempotent form: a replay is a no-op */
    snprintf(sql, sizeof sql,
             "INSERT INTO invitations (tenant_id, user_id) VALUES ('%s', %s) "
             "ON CONFLICT (tenant_id, user_id) DO NOTHING",
             t, u);
    exec_ok(db, sql);
    char *n = dbt_scalar(db, "SELECT count(*) FROM invitations");
    OKS_ASSERT_EQ_STR(n, "1");
    free(n);
    free(t);
    free(u);
    oks_db_close(db);
}

OKS_TEST(sync_runs_unique_per_slot_and_status_check)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    char *t = dbt_tenant(db, "sync");
    char sql[300], state[6];
    snprintf(sql, sizeof sql,
             "INSERT INTO sync_runs (tenant_id, scheduled_for) VALUES ('%s', "
             "'2026-11-28T03:00:00Z')",
             t);
    exec_ok(db, sql);
    dbt_fails(db, sql, state);
    OKS_ASSERT_EQ_STR(state, "23505");
    snprintf(sql, sizeof sql, "UPDATE sync_runs SET status = 'paused' WHERE tenant_id = '%s'", t);
    dbt_fails(db, sql, state);
    OKS_ASSERT_EQ_STR(state, "23514");
    free(t);
    oks_db_close(db);
}

OKS_TEST(removing_a_tenant_keeps_its_audit_log)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    char *t = dbt_tenant(db, "gone"), *u = user(db, t, "00u1");
    char sql[300];
    snprintf(sql, sizeof sql,
             "INSERT INTO audit_log (tenant_id, entity, entity_id, action, source) "
             "VALUES ('%s', 'user', '00u1', 'create', 'event')",
             t);
    exec_ok(db, sql);
    snprintf(sql, sizeof sql, "DELETE FROM tenants WHERE id = '%s'", t);
    exec_ok(db, sql);
    char *n = dbt_scalar(db, "SELECT count(*) FROM users");
    OKS_ASSERT_EQ_STR(n, "0");
    free(n);
    n = dbt_scalar(db, "SELECT count(*) FROM audit_log");
    OKS_ASSERT_EQ_STR(n, "1");
    free(n);
    char state[6];
    dbt_fails(db,
              "INSERT INTO audit_log (tenant_id, entity, entity_id, action, source) VALUES "
              "(gen_random_uuid(), 'user', '1', 'x', 'magic')",
              state);
    OKS_ASSERT_EQ_STR(state, "23514");
    free(t);
    free(u);
    oks_db_close(db);
}

OKS_TEST(tenant_changes_notify_listeners)
{
    char *url = NULL;
    oks_db *db = dbt_fresh_migrated(&url);
    oks_db *listener = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_listen(listener, "oktasync_tenants", &err) == 0);
    char *t = dbt_tenant(db, "notified");
    char ch[64], payload[256];
    OKS_ASSERT_EQ_INT(
        oks_db_wait_notify(listener, 5000, ch, sizeof ch, payload, sizeof payload, &err), 1);
    OKS_ASSERT_EQ_STR(ch, "oktasync_tenants");
    OKS_ASSERT_CONTAINS(payload, "\"op\" : \"INSERT\"");
    OKS_ASSERT_CONTAINS(payload, t);
    OKS_ASSERT_CONTAINS(payload, "notified");
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE tenants SET auto_invite = true WHERE id = '%s'", t);
    exec_ok(db, sql);
    OKS_ASSERT_EQ_INT(
        oks_db_wait_notify(listener, 5000, ch, sizeof ch, payload, sizeof payload, &err), 1);
    OKS_ASSERT_CONTAINS(payload, "UPDATE");
    snprintf(sql, sizeof sql, "DELETE FROM tenants WHERE id = '%s'", t);
    exec_ok(db, sql);
    OKS_ASSERT_EQ_INT(
        oks_db_wait_notify(listener, 5000, ch, sizeof ch, payload, sizeof payload, &err), 1);
    OKS_ASSERT_CONTAINS(payload, "DELETE");
    OKS_ASSERT_CONTAINS(payload, t);
    /* nothing else pending */
    OKS_ASSERT_EQ_INT(oks_db_wait_notify(listener, 100, NULL, 0, NULL, 0, &err), 0);
    free(t);
    oks_db_close(listener);
    oks_db_close(db);
    free(url);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
