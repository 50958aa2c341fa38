/* The product's rules (docs/rules.md) in the batch apply path, against PostgreSQL: every batch
 * goes through oks_worker_apply_batch_run_tx exactly as a reconciler round ("event") or a full
 * sync page ("full_sync") sends it. One database; each test uses its own tenant. Fields, teams,
 * invitations and audit here; managers and team mode in worker_rules_managers_it_test.c. */
#include "oks_test.h"
#include "oks_worker_group_teams.h"
#include "rapply.h"
#include "wtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------- fields */

OKS_TEST(fields_default_map_absent_keeps_null_clears)
{
    char *t = ra_tenant();
    ra_one(t, "00uF1", "active",
           "{\"email\":\"a@x.test\",\"firstName\":\"Ann\",\"lastName\":\"Lee\",\"title\":\"Eng\","
           "\"preferredLanguage\":null,\"locale\":\"fr_FR\",\"city\":\"Paris\","
           "\"profileUrl\":\"https://x.okta.com/p\",\"login\":\"ann@x.test\"}");
    ra_assert_col(t, "00uF1", "first_name", "Ann");
    ra_assert_col(t, "00uF1", "language", "fr_FR"); /* preferredLanguage null -> locale */
    ra_assert_col(t, "00uF1", "location", "Paris");
    ra_assert_col(t, "00uF1", "picture_url", NULL); /* profileUrl is not a picture */
    ra_assert_col(t, "00uF1", "login", "ann@x.test");
    /* title absent: unchanged; city null: cleared; preferredLanguage wins over locale */
    ra_one(t, "00uF1", "active",
           "{\"email\":\"a@x.test\",\"firstName\":\"Anne\",\"lastName\":\"Lee\","
           "\"preferredLanguage\":\"de\",\"locale\":\"fr_FR\",\"city\":null}");
    ra_assert_col(t, "00uF1", "first_name", "Anne");
    ra_assert_col(t, "00uF1", "title", "Eng");
    ra_assert_col(t, "00uF1", "location", NULL);
    ra_assert_col(t, "00uF1", "language", "de");
    free(t);
}

OKS_TEST(fields_tenant_map_overrides_picture_location_and_unsynced)
{
    char *t = ra_tenant();
    ra_sql("UPDATE tenants SET attribute_map = '{\"picture\":\"photoUrl\","
           "\"location\":\"city+countryCode\",\"title\":\"\"}' WHERE id = $1::uuid",
           t);
    ra_one(t, "00uM1", "active",
           "{\"email\":\"m@x.test\",\"photoUrl\":\"https://cdn.test/m.png\",\"city\":\"Lyon\","
           "\"countryCode\":\"FR\",\"title\":\"Boss\"}");
    ra_assert_col(t, "00uM1", "picture_url", "https://cdn.test/m.png");
    ra_assert_col(t, "00uM1", "location", "Lyon, FR");
    ra_assert_col(t, "00uM1", "title", NULL); /* mapped to "": not synced */
    /* one part of a combination present: that part alone */
    ra_one(t, "00uM1", "active", "{\"email\":\"m@x.test\",\"countryCode\":\"DE\"}");
    ra_assert_col(t, "00uM1", "location", "DE");
    ra_assert_col(t, "00uM1", "picture_url", "https://cdn.test/m.png"); /* absent: kept */
    ra_one(t, "00uM1", "active", "{\"email\":\"m@x.test\",\"photoUrl\":null}");
    ra_assert_col(t, "00uM1", "picture_url", NULL);
    free(t);
}

OKS_TEST(custom_fields_only_active_fields_and_removed_values_kept)
{
    char *t = ra_tenant();
    ra_sql("INSERT INTO custom_fields (tenant_id, name) VALUES ($1::uuid, 'costCenter'), "
           "($1::uuid, 'badge')",
           t);
    ra_one(t, "00uC1", "active",
           "{\"email\":\"c@x.test\",\"costCenter\":\"CC-1\",\"badge\":42,\"other\":\"x\"}");
    const char *q = "SELECT string_agg(f.name || '=' || coalesce(v.value, 'NULL'), ',' ORDER BY "
                    "f.name) FROM custom_field_values v JOIN custom_fields f ON f.id = v.field_id "
                    "JOIN users u ON u.id = v.user_id WHERE u.tenant_id = $1::uuid AND "
                    "u.okta_id = $2";
    char *v = ra_val(q, t, "00uC1");
    OKS_ASSERT_EQ_STR(v, "badge=42,costCenter=CC-1");
    free(v);
    /* one audit row for the user's values, not one per value */
    const char *aq = "SELECT string_agg(coalesce(before::text, 'NULL') || ' -> ' || after::text, "
                     "' | ' ORDER BY id) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
                     "'custom_fields' AND entity_id = $2 AND action = 'set'";
    v = ra_val(aq, t, "00uC1");
    OKS_ASSERT_EQ_STR(v, "NULL -> {\"badge\": \"42\", \"costCenter\": \"CC-1\"}");
    free(v);
    /* removed field: value kept, never synced again; explicit null clears an active one */
    ra_sql("UPDATE custom_fields SET removed_at = now() WHERE tenant_id = $1::uuid AND name = "
           "'badge'",
           t);
    ra_one(t, "00uC1", "active", "{\"email\":\"c@x.test\",\"costCenter\":null,\"badge\":7}");
    v = ra_val(q, t, "00uC1");
    OKS_ASSERT_EQ_STR(v, "badge=42,costCenter=NULL");
    free(v);
    /* the changed field only, with the value it had */
    v = ra_val(aq, t, "00uC1");
    OKS_ASSERT_EQ_STR(v, "NULL -> {\"badge\": \"42\", \"costCenter\": \"CC-1\"} | "
                         "{\"costCenter\": \"CC-1\"} -> {\"costCenter\": null}");
    free(v);
    /* unchanged re-read: no audit row */
    long before = ra_num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
                         "'custom_fields'",
                         t, NULL);
    ra_one(t, "00uC1", "active", "{\"email\":\"c@x.test\",\"costCenter\":null,\"badge\":7}");
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity "
                             "= 'custom_fields'",
                             t, NULL),
                      before);
    free(t);
}

/* ----------------------------------------------------------------------------------- teams */

OKS_TEST(department_primary_team_change_and_back)
{
    char *t = ra_tenant();
    ra_one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\" Sales \"}");
    ra_assert_teams(t, "00uD1", "Sales:true:okta_department");
    /* case-insensitive: "SALES" is the same team */
    ra_one(t, "00uD2", "active", "{\"email\":\"d2@x.test\",\"department\":\"SALES\"}");
    ra_assert_teams(t, "00uD2", "Sales:true:okta_department");
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM teams WHERE tenant_id = $1::uuid", t, NULL), 1);
    /* an admin team and membership are never touched */
    ra_sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Guild', 'admin')", t);
    ra_sql("INSERT INTO team_members (tenant_id, team_id, user_id, source) SELECT $1::uuid, t.id, "
           "u.id, 'admin' FROM teams t, users u WHERE t.tenant_id = $1::uuid AND t.name = 'Guild' "
           "AND u.tenant_id = $1::uuid AND u.okta_id = '00uD1'",
           t);
    ra_one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\"Eng\"}");
    ra_assert_teams(t, "00uD1", "Eng:true:okta_department,Guild:false:admin");
    ra_one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\"sales\"}");
    ra_assert_teams(t, "00uD1", "Guild:false:admin,Sales:true:okta_department");
    /* empty department: no primary team from Okta; absent: unchanged */
    ra_one(t, "00uD1", "active", "{\"email\":\"d@x.test\"}");
    ra_assert_teams(t, "00uD1", "Guild:false:admin,Sales:true:okta_department");
    ra_one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\"  \"}");
    ra_assert_teams(t, "00uD1", "Guild:false:admin");
    OKS_ASSERT(ra_num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
                      "'membership' AND entity_id = '00uD1'",
                      t, NULL) >= 5);
    free(t);
}

OKS_TEST(deleted_user_leaves_all_teams_deactivated_keeps)
{
    char *t = ra_tenant();
    ra_one(t, "00uX1", "active", "{\"email\":\"x@x.test\",\"department\":\"Ops\"}");
    ra_sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Club', 'admin')", t);
    ra_sql("INSERT INTO team_members (tenant_id, team_id, user_id, source) SELECT $1::uuid, t.id, "
           "u.id, 'admin' FROM teams t, users u WHERE t.tenant_id = $1::uuid AND t.name = 'Club' "
           "AND u.tenant_id = $1::uuid AND u.okta_id = '00uX1'",
           t);
    ra_one(t, "00uX1", "deactivated", NULL);
    ra_assert_teams(t, "00uX1", "Club:false:admin,Ops:true:okta_department");
    ra_one(t, "00uX1", "deleted", NULL);
    ra_assert_teams(t, "00uX1", NULL);
    free(t);
}

OKS_TEST(group_teams_follow_the_membership_set)
{
    char *t = ra_tenant();
    ra_one(t, "00uG1", "active", "{\"email\":\"g@x.test\",\"department\":\"Eng\"}");
    ra_sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Oncall', 'okta_group'), "
           "($1::uuid, 'Mentors', 'okta_group')",
           t);
    ra_sql("INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) SELECT $1::uuid, "
           "CASE name WHEN 'Oncall' THEN '00gA' ELSE '00gB' END, id FROM teams WHERE tenant_id = "
           "$1::uuid AND source = 'okta_group'",
           t);
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_group_teams_mapped(ra_conn(), t, &err), 1);
    const char *g1[] = {"00gA", "00gB", "00gUnmapped"};
    oks_worker_user_groups ug = {"00uG1", g1, 3};
    long ch = 0;
    OKS_ASSERT(
        oks_worker_group_teams_apply_tx(ra_conn(), t, &ug, 1, "full_sync", "t", 0, &ch, &err) == 0);
    OKS_ASSERT_EQ_INT(ch, 2);
    ra_assert_teams(t, "00uG1",
                    "Eng:true:okta_department,Mentors:false:okta_group,"
                    "Oncall:false:okta_group");
    const char *g2[] = {"00gB"};
    ug = (oks_worker_user_groups){"00uG1", g2, 1};
    OKS_ASSERT(oks_worker_group_teams_apply_tx(ra_conn(), t, &ug, 1, "event", "t", 0, &ch, &err) ==
               0);
    OKS_ASSERT_EQ_INT(ch, 1);
    ra_assert_teams(t, "00uG1", "Eng:true:okta_department,Mentors:false:okta_group");
    /* replay: nothing changes */
    OKS_ASSERT(oks_worker_group_teams_apply_tx(ra_conn(), t, &ug, 1, "event", "t", 0, &ch, &err) ==
               0);
    OKS_ASSERT_EQ_INT(ch, 0);
    free(t);
}

/* ----------------------------------------------------------------------------- invitations */

OKS_TEST(invitation_exactly_once_under_replay_x10)
{
    char *t = ra_tenant();
    ra_sql("UPDATE tenants SET auto_invite = true WHERE id = $1::uuid", t);
    /* the same read replayed 10 times, and 10 newer reads: one invitation */
    ra_row r = {"00uI1", "active", "{\"email\":\"i@x.test\"}", 5000};
    for (int i = 0; i < 10; i++)
        ra_apply(t, &r, 1);
    for (int i = 0; i < 10; i++)
        ra_one(t, "00uI1", "active", "{\"email\":\"i@x.test\"}");
    ra_apply_on(ra_conn(), t, &r, 1, "full_sync", 0); /* older read from a full sync page */
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM invitations i JOIN users u ON u.id = i.user_id "
                             "WHERE i.tenant_id = $1::uuid AND u.okta_id = '00uI1' AND i.email = "
                             "'i@x.test' AND i.status = 'pending'",
                             t, NULL),
                      1);
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity "
                             "= 'invitation'",
                             t, NULL),
                      1);
    /* deactivated -> active -> deactivated -> active: one, when first active */
    ra_one(t, "00uI2", "deactivated", "{\"email\":\"i2@x.test\"}");
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL), 1);
    for (int i = 0; i < 3; i++) {
        ra_one(t, "00uI2", "active", NULL);
        ra_one(t, "00uI2", "deactivated", NULL);
    }
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL), 2);
    /* the schema refuses a second row even when code is bypassed */
    oks_err err = {0};
    const char *p[] = {t};
    PGresult *x = oks_db_exec_params(ra_conn(),
                                     "INSERT INTO invitations (tenant_id, user_id) SELECT "
                                     "$1::uuid, id FROM users WHERE tenant_id = $1::uuid AND "
                                     "okta_id = '00uI1'",
                                     1, p, &err);
    OKS_ASSERT(x == NULL);
    /* auto-invite off: none; turned on later: users created meanwhile are not invited */
    ra_sql("UPDATE tenants SET auto_invite = false WHERE id = $1::uuid", t);
    ra_one(t, "00uI3", "active", "{\"email\":\"i3@x.test\"}");
    ra_sql("UPDATE tenants SET auto_invite = true WHERE id = $1::uuid", t);
    ra_one(t, "00uI3", "active", "{\"email\":\"i3@x.test\"}");
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL), 2);
    free(t);
}

/* ---------------------------------------------------------------------- audit and ordering */

OKS_TEST(audit_source_full_sync_carries_run_id_and_stale_read_changes_nothing)
{
    char *t = ra_tenant();
    const char *p[] = {t};
    char *run = wt_scalar(ra_conn(),
                          "INSERT INTO sync_runs (tenant_id, scheduled_for) VALUES ($1::uuid, "
                          "now()) RETURNING id",
                          1, p);
    ra_sql("INSERT INTO custom_fields (tenant_id, name) VALUES ($1::uuid, 'cc')", t);
    ra_row r = {"00uS1", "active", "{\"email\":\"s@x.test\",\"department\":\"Fin\",\"cc\":\"1\"}",
                9000};
    ra_apply_on(ra_conn(), t, &r, 1, "full_sync", strtoll(run, NULL, 10));
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(DISTINCT entity) FROM audit_log WHERE tenant_id = "
                             "$1::uuid AND source = 'full_sync' AND sync_run_id = $2::bigint",
                             t, run),
                      4); /* user, custom_fields, team, membership */
    /* an older read (by Okta's Date) arriving later: no rule runs on it */
    ra_row old = {"00uS1", "active", "{\"email\":\"s@x.test\",\"department\":\"Old\",\"cc\":\"0\"}",
                  8000};
    oks_worker_apply_result res = ra_apply(t, &old, 1);
    OKS_ASSERT_EQ_INT(res.stale, 1);
    OKS_ASSERT_EQ_INT(res.memberships + res.custom_values, 0);
    ra_assert_teams(t, "00uS1", "Fin:true:okta_department");
    free(run);
    free(t);
}

int main(int argc, char **argv)
{
    int rc = oks_test_main(argc, argv);
    ra_close();
    return rc;
}
