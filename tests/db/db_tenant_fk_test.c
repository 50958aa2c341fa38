/* Integration, issue 10 "Schema safety": every reference between tenant-owned rows is a
 * composite (tenant_id, id) foreign key (migration 0004), so no row of tenant A can point at
 * tenant B's user, team or custom field. Each insert or update below names a row of the other
 * tenant and must fail with a foreign-key violation (SQLSTATE 23503); the same statement with
 * the tenant's own row succeeds, so the failure is the tenant check and nothing else. */
#include "db_test_util.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct two_tenants {
    oks_db *db;
    char *a, *b;             /* tenant ids */
    char *user_a, *user_a2;  /* users of A */
    char *user_b;            /* user of B */
    char *team_a, *team_b;   /* teams */
    char *field_a, *field_b; /* custom fields */
} two_tenants;

static char *user(oks_db *db, const char *tenant, const char *okta_id)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (tenant_id, okta_id) VALUES ('%s', '%s') RETURNING id", tenant,
             okta_id);
    return dbt_scalar(db, sql);
}

static char *named(oks_db *db, const char *table, const char *tenant, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO %s (tenant_id, name) VALUES ('%s', '%s') RETURNING id",
             table, tenant, name);
    return dbt_scalar(db, sql);
}

static void setup(two_tenants *f)
{
    f->db = dbt_fresh_migrated(NULL);
    f->a = dbt_tenant(f->db, "tenant-a");
    f->b = dbt_tenant(f->db, "tenant-b");
    f->user_a = user(f->db, f->a, "00ua1");
    f->user_a2 = user(f->db, f->a, "00ua2");
    f->user_b = user(f->db, f->b, "00ub1");
    f->team_a = named(f->db, "teams", f->a, "Sales");
    f->team_b = named(f->db, "teams", f->b, "Sales");
    f->field_a = named(f->db, "custom_fields", f->a, "costCenter");
    f->field_b = named(f->db, "custom_fields", f->b, "costCenter");
}

static void teardown(two_tenants *f)
{
    free(f->a);
    free(f->b);
    free(f->user_a);
    free(f->user_a2);
    free(f->user_b);
    free(f->team_a);
    free(f->team_b);
    free(f->field_a);
    free(f->field_b);
    oks_db_close(f->db);
}

/* sql names another tenant's row: it must fail with a foreign-key violation. */
static void refused(two_tenants *f, const char *sql, int line)
{
    char state[6] = "";
    oks_errcode code = dbt_fails(f->db, sql, state);
    if (strcmp(state, "23503") != 0)
        oks_test_fail(__FILE__, line, "want a foreign-key violation (23503), got %s (%s): %s",
                      state, oks_errcode_name(code), sql);
}

static void accepted(two_tenants *f, const char *sql)
{
    char *v = dbt_scalar(f->db, sql);
    free(v);
}

OKS_TEST(membership_cannot_point_at_another_tenants_user_or_team)
{
    two_tenants f;
    setup(&f);
    char sql[512];
    /* A's membership naming B's team */
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ('%s', %s, %s)", f.a,
             f.team_b, f.user_a);
    refused(&f, sql, __LINE__);
    /* A's membership naming B's user */
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ('%s', %s, %s)", f.a,
             f.team_a, f.user_b);
    refused(&f, sql, __LINE__);
    /* labelled as B's: then A's team is the foreign one */
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ('%s', %s, %s)", f.b,
             f.team_a, f.user_b);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ('%s', %s, %s) "
             "RETURNING 1",
             f.a, f.team_a, f.user_a);
    accepted(&f, sql);
    /* an existing membership cannot be moved to B's user either */
    snprintf(sql, sizeof sql, "UPDATE team_members SET user_id = %s WHERE team_id = %s", f.user_b,
             f.team_a);
    refused(&f, sql, __LINE__);
    teardown(&f);
}

OKS_TEST(custom_field_value_cannot_point_at_another_tenants_user_or_field)
{
    two_tenants f;
    setup(&f);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO custom_field_values (tenant_id, user_id, field_id, value) "
             "VALUES ('%s', %s, %s, 'CC-1')",
             f.a, f.user_a, f.field_b);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "INSERT INTO custom_field_values (tenant_id, user_id, field_id, value) "
             "VALUES ('%s', %s, %s, 'CC-1')",
             f.a, f.user_b, f.field_a);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "INSERT INTO custom_field_values (tenant_id, user_id, field_id, value) "
             "VALUES ('%s', %s, %s, 'CC-1') RETURNING 1",
             f.a, f.user_a, f.field_a);
    accepted(&f, sql);
    teardown(&f);
}

OKS_TEST(invitation_cannot_point_at_another_tenants_user)
{
    two_tenants f;
    setup(&f);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO invitations (tenant_id, user_id, email) VALUES ('%s', %s, 'x@b.test')",
             f.a, f.user_b);
    refused(&f, sql, __LINE__);
    /* no key of its own to tenants since migration 0010: the key to its user refuses a tenant
     * that does not exist, and the tenant's deletion still takes its invitations */
    snprintf(sql, sizeof sql,
             "INSERT INTO invitations (tenant_id, user_id, email) VALUES "
             "('00000000-0000-4000-8000-00000000dead', %s, 'x@a.test')",
             f.user_a);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "INSERT INTO invitations (tenant_id, user_id, email) VALUES ('%s', %s, 'x@a.test') "
             "RETURNING 1",
             f.a, f.user_a);
    accepted(&f, sql);
    snprintf(sql, sizeof sql, "DELETE FROM tenants WHERE id = '%s'", f.a);
    oks_err err = {0};
    OKS_ASSERT(oks_db_exec(f.db, sql, &err) == 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM invitations WHERE tenant_id = '%s'", f.a);
    char *n = dbt_scalar(f.db, sql);
    OKS_ASSERT_EQ_STR(n, "0");
    free(n);
    teardown(&f);
}

OKS_TEST(user_manager_cannot_be_another_tenants_user)
{
    two_tenants f;
    setup(&f);
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE users SET manager_user_id = %s WHERE id = %s", f.user_b,
             f.user_a);
    refused(&f, sql, __LINE__);
    /* a new user created with a foreign manager */
    snprintf(sql, sizeof sql,
             "INSERT INTO users (tenant_id, okta_id, manager_user_id) VALUES ('%s', '00ua9', %s)",
             f.a, f.user_b);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "UPDATE users SET manager_user_id = %s WHERE id = %s RETURNING manager_user_id",
             f.user_a2, f.user_a);
    accepted(&f, sql);
    teardown(&f);
}

OKS_TEST(team_manager_cannot_be_another_tenants_user)
{
    two_tenants f;
    setup(&f);
    char sql[512];
    snprintf(sql, sizeof sql, "UPDATE teams SET manager_user_id = %s WHERE id = %s", f.user_b,
             f.team_a);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "INSERT INTO teams (tenant_id, name, manager_user_id) VALUES ('%s', 'Ops', %s)", f.a,
             f.user_b);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "UPDATE teams SET manager_user_id = %s WHERE id = %s RETURNING manager_user_id",
             f.user_a, f.team_a);
    accepted(&f, sql);
    teardown(&f);
}

OKS_TEST(group_team_mapping_cannot_point_at_another_tenants_team)
{
    two_tenants f;
    setup(&f);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) "
             "VALUES ('%s', '00g1', %s)",
             f.a, f.team_b);
    refused(&f, sql, __LINE__);
    snprintf(sql, sizeof sql,
             "INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) "
             "VALUES ('%s', '00g1', %s) RETURNING 1",
             f.a, f.team_a);
    accepted(&f, sql);
    teardown(&f);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
