/* The product's rules (docs/rules.md) in the batch apply path, against PostgreSQL: every batch
 * goes through oks_worker_apply_batch_run_tx exactly as a reconciler round ("event") or a full
 * sync page ("full_sync") sends it. One database; each test uses its own tenant. */
#include "oks_test.h"
#include "oks_worker_apply_batch.h"
#include "oks_worker_apply_managers.h"
#include "oks_worker_group_teams.h"
#include "wtest.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static oks_db *db;
static char *db_url;
static int64_t clock_ms = 1764547200000; /* Okta's Date of each read: strictly increasing */

static oks_db *conn(void)
{
    if (!db)
        db = wt_fresh_db(&db_url);
    return db;
}

static char *tenant(void)
{
    static int n;
    char dom[64];
    snprintf(dom, sizeof dom, "rules%d.okta.test", ++n);
    return wt_tenant(conn(), dom, "tok", 0, NULL);
}

static void sql(const char *q, const char *t)
{
    const char *p[] = {t};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(conn(), q, t ? 1 : 0, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", q, err.msg);
    PQclear(r);
}

static char *val(const char *q, const char *t, const char *a)
{
    const char *p[] = {t, a};
    return wt_scalar(conn(), q, a ? 2 : 1, p);
}

static long num(const char *q, const char *t, const char *a)
{
    char *v = val(q, t, a);
    long n = v ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

typedef struct row {
    const char *id;
    const char *status;  /* active | deactivated | deleted */
    const char *profile; /* JSON object; NULL = status-only */
    int64_t as_of;       /* 0 = next tick */
} row;

static oks_worker_apply_result apply_on(oks_db *d, const char *t, const row *rows, size_t n,
                                        const char *source, int64_t run)
{
    oks_worker_state st[64];
    oks_okta_user u[64];
    OKS_ASSERT(n <= 64);
    memset(u, 0, sizeof u);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].profile) {
            u[i].id = (char *)rows[i].id;
            u[i].profile = json_loads(rows[i].profile, 0, NULL);
            OKS_ASSERT(u[i].profile != NULL);
        }
        st[i] = (oks_worker_state){.okta_id = rows[i].id,
                                   .status = rows[i].status,
                                   .user = rows[i].profile ? &u[i] : NULL,
                                   .app_assigned = 1,
                                   .as_of_ms = rows[i].as_of ? rows[i].as_of : ++clock_ms};
    }
    oks_err err = {0};
    oks_worker_apply_result res;
    OKS_ASSERT(oks_db_begin(d, &err) == 0);
    int rc = oks_worker_apply_batch_run_tx(d, t, st, n, source, "test", run, &res, &err);
    if (rc != 0)
        oks_test_fail(__FILE__, __LINE__, "apply: %s", err.msg);
    OKS_ASSERT(oks_db_commit(d, &err) == 0);
    for (size_t i = 0; i < n; i++)
        json_decref(u[i].profile);
    return res;
}

static oks_worker_apply_result apply(const char *t, const row *rows, size_t n)
{
    return apply_on(conn(), t, rows, n, "event", 0);
}

static oks_worker_apply_result one(const char *t, const char *id, const char *status,
                                   const char *profile)
{
    row r = {id, status, profile, 0};
    return apply(t, &r, 1);
}

static char *col(const char *t, const char *id, const char *c)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT %s FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", c);
    return val(q, t, id);
}

static void assert_col(const char *t, const char *id, const char *c, const char *want)
{
    char *v = col(t, id, c);
    if (!want) {
        if (v)
            oks_test_fail(__FILE__, __LINE__, "%s.%s = '%s', want NULL", id, c, v);
    } else {
        OKS_ASSERT(v != NULL);
        OKS_ASSERT_EQ_STR(v, want);
    }
    free(v);
}

/* "team:primary:source" of a user's memberships, sorted, comma-joined */
static char *teams_of(const char *t, const char *id)
{
    return val("SELECT string_agg(tm.name || ':' || m.is_primary || ':' || m.source, ',' "
               "ORDER BY lower(tm.name)) FROM team_members m JOIN teams tm ON tm.id = m.team_id "
               "JOIN users u ON u.id = m.user_id WHERE u.tenant_id = $1::uuid AND u.okta_id = $2",
               t, id);
}

static void assert_teams(const char *t, const char *id, const char *want)
{
    char *v = teams_of(t, id);
    if (!want) {
        if (v)
            oks_test_fail(__FILE__, __LINE__, "%s teams '%s', want none", id, v);
    } else {
        if (!v || strcmp(v, want) != 0)
            oks_test_fail(__FILE__, __LINE__, "%s teams '%s', want '%s'", id, v ? v : "(none)",
                          want);
    }
    free(v);
}

static char *manager_of(const char *t, const char *id)
{
    return val("SELECT m.okta_id || ':' || u.override_manager FROM users u JOIN users m "
               "ON m.id = u.manager_user_id WHERE u.tenant_id = $1::uuid AND u.okta_id = $2",
               t, id);
}

static void assert_manager(const char *t, const char *id, const char *want)
{
    char *v = manager_of(t, id);
    if (!want) {
        if (v)
            oks_test_fail(__FILE__, __LINE__, "%s manager '%s', want none", id, v);
    } else {
        if (!v || strcmp(v, want) != 0)
            oks_test_fail(__FILE__, __LINE__, "%s manager '%s', want '%s'", id, v ? v : "(none)",
                          want);
    }
    free(v);
}

/* ---------------------------------------------------------------------------------- fields */

OKS_TEST(fields_default_map_absent_keeps_null_clears)
{
    char *t = tenant();
    one(t, "00uF1", "active",
        "{\"email\":\"a@x.test\",\"firstName\":\"Ann\",\"lastName\":\"Lee\",\"title\":\"Eng\","
        "\"preferredLanguage\":null,\"locale\":\"fr_FR\",\"city\":\"Paris\","
        "\"profileUrl\":\"https://x.okta.com/p\",\"login\":\"ann@x.test\"}");
    assert_col(t, "00uF1", "first_name", "Ann");
    assert_col(t, "00uF1", "language", "fr_FR"); /* preferredLanguage null -> locale */
    assert_col(t, "00uF1", "location", "Paris");
    assert_col(t, "00uF1", "picture_url", NULL); /* profileUrl is not a picture */
    assert_col(t, "00uF1", "login", "ann@x.test");
    /* title absent: unchanged; city null: cleared; preferredLanguage wins over locale */
    one(t, "00uF1", "active",
        "{\"email\":\"a@x.test\",\"firstName\":\"Anne\",\"lastName\":\"Lee\","
        "\"preferredLanguage\":\"de\",\"locale\":\"fr_FR\",\"city\":null}");
    assert_col(t, "00uF1", "first_name", "Anne");
    assert_col(t, "00uF1", "title", "Eng");
    assert_col(t, "00uF1", "location", NULL);
    assert_col(t, "00uF1", "language", "de");
    free(t);
}

OKS_TEST(fields_tenant_map_overrides_picture_location_and_unsynced)
{
    char *t = tenant();
    sql("UPDATE tenants SET attribute_map = '{\"picture\":\"photoUrl\","
        "\"location\":\"city+countryCode\",\"title\":\"\"}' WHERE id = $1::uuid",
        t);
    one(t, "00uM1", "active",
        "{\"email\":\"m@x.test\",\"photoUrl\":\"https://cdn.test/m.png\",\"city\":\"Lyon\","
        "\"countryCode\":\"FR\",\"title\":\"Boss\"}");
    assert_col(t, "00uM1", "picture_url", "https://cdn.test/m.png");
    assert_col(t, "00uM1", "location", "Lyon, FR");
    assert_col(t, "00uM1", "title", NULL); /* mapped to "": not synced */
    /* one part of a combination present: that part alone */
    one(t, "00uM1", "active", "{\"email\":\"m@x.test\",\"countryCode\":\"DE\"}");
    assert_col(t, "00uM1", "location", "DE");
    assert_col(t, "00uM1", "picture_url", "https://cdn.test/m.png"); /* absent: kept */
    one(t, "00uM1", "active", "{\"email\":\"m@x.test\",\"photoUrl\":null}");
    assert_col(t, "00uM1", "picture_url", NULL);
    free(t);
}

OKS_TEST(custom_fields_only_active_fields_and_removed_values_kept)
{
    char *t = tenant();
    sql("INSERT INTO custom_fields (tenant_id, name) VALUES ($1::uuid, 'costCenter'), "
        "($1::uuid, 'badge')",
        t);
    one(t, "00uC1", "active",
        "{\"email\":\"c@x.test\",\"costCenter\":\"CC-1\",\"badge\":42,\"other\":\"x\"}");
    const char *q = "SELECT string_agg(f.name || '=' || coalesce(v.value, 'NULL'), ',' ORDER BY "
                    "f.name) FROM custom_field_values v JOIN custom_fields f ON f.id = v.field_id "
                    "JOIN users u ON u.id = v.user_id WHERE u.tenant_id = $1::uuid AND "
                    "u.okta_id = $2";
    char *v = val(q, t, "00uC1");
    OKS_ASSERT_EQ_STR(v, "badge=42,costCenter=CC-1");
    free(v);
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity "
                          "= 'custom_field_value' AND action = 'create'",
                          t, NULL),
                      2);
    /* removed field: value kept, never synced again; explicit null clears an active one */
    sql("UPDATE custom_fields SET removed_at = now() WHERE tenant_id = $1::uuid AND name = "
        "'badge'",
        t);
    one(t, "00uC1", "active", "{\"email\":\"c@x.test\",\"costCenter\":null,\"badge\":7}");
    v = val(q, t, "00uC1");
    OKS_ASSERT_EQ_STR(v, "badge=42,costCenter=NULL");
    free(v);
    /* unchanged re-read: no audit row */
    long before = num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
                      "'custom_field_value'",
                      t, NULL);
    one(t, "00uC1", "active", "{\"email\":\"c@x.test\",\"costCenter\":null,\"badge\":7}");
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity "
                          "= 'custom_field_value'",
                          t, NULL),
                      before);
    free(t);
}

/* ----------------------------------------------------------------------------------- teams */

OKS_TEST(department_primary_team_change_and_back)
{
    char *t = tenant();
    one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\" Sales \"}");
    assert_teams(t, "00uD1", "Sales:true:okta_department");
    /* case-insensitive: "SALES" is the same team */
    one(t, "00uD2", "active", "{\"email\":\"d2@x.test\",\"department\":\"SALES\"}");
    assert_teams(t, "00uD2", "Sales:true:okta_department");
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM teams WHERE tenant_id = $1::uuid", t, NULL), 1);
    /* an admin team and membership are never touched */
    sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Guild', 'admin')", t);
    sql("INSERT INTO team_members (tenant_id, team_id, user_id, source) SELECT $1::uuid, t.id, "
        "u.id, 'admin' FROM teams t, users u WHERE t.tenant_id = $1::uuid AND t.name = 'Guild' "
        "AND u.tenant_id = $1::uuid AND u.okta_id = '00uD1'",
        t);
    one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\"Eng\"}");
    assert_teams(t, "00uD1", "Eng:true:okta_department,Guild:false:admin");
    one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\"sales\"}");
    assert_teams(t, "00uD1", "Guild:false:admin,Sales:true:okta_department");
    /* empty department: no primary team from Okta; absent: unchanged */
    one(t, "00uD1", "active", "{\"email\":\"d@x.test\"}");
    assert_teams(t, "00uD1", "Guild:false:admin,Sales:true:okta_department");
    one(t, "00uD1", "active", "{\"email\":\"d@x.test\",\"department\":\"  \"}");
    assert_teams(t, "00uD1", "Guild:false:admin");
    OKS_ASSERT(num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
                   "'membership' AND entity_id = '00uD1'",
                   t, NULL) >= 5);
    free(t);
}

OKS_TEST(deleted_user_leaves_all_teams_deactivated_keeps)
{
    char *t = tenant();
    one(t, "00uX1", "active", "{\"email\":\"x@x.test\",\"department\":\"Ops\"}");
    sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Club', 'admin')", t);
    sql("INSERT INTO team_members (tenant_id, team_id, user_id, source) SELECT $1::uuid, t.id, "
        "u.id, 'admin' FROM teams t, users u WHERE t.tenant_id = $1::uuid AND t.name = 'Club' "
        "AND u.tenant_id = $1::uuid AND u.okta_id = '00uX1'",
        t);
    one(t, "00uX1", "deactivated", NULL);
    assert_teams(t, "00uX1", "Club:false:admin,Ops:true:okta_department");
    one(t, "00uX1", "deleted", NULL);
    assert_teams(t, "00uX1", NULL);
    free(t);
}

OKS_TEST(group_teams_follow_the_membership_set)
{
    char *t = tenant();
    one(t, "00uG1", "active", "{\"email\":\"g@x.test\",\"department\":\"Eng\"}");
    sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Oncall', 'okta_group'), "
        "($1::uuid, 'Mentors', 'okta_group')",
        t);
    sql("INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) SELECT $1::uuid, "
        "CASE name WHEN 'Oncall' THEN '00gA' ELSE '00gB' END, id FROM teams WHERE tenant_id = "
        "$1::uuid AND source = 'okta_group'",
        t);
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_group_teams_mapped(conn(), t, &err), 1);
    const char *g1[] = {"00gA", "00gB", "00gUnmapped"};
    oks_worker_user_groups ug = {"00uG1", g1, 3};
    long ch = 0;
    OKS_ASSERT(oks_worker_group_teams_apply_tx(conn(), t, &ug, 1, "full_sync", "t", 0, &ch, &err) ==
               0);
    OKS_ASSERT_EQ_INT(ch, 2);
    assert_teams(t, "00uG1",
                 "Eng:true:okta_department,Mentors:false:okta_group,"
                 "Oncall:false:okta_group");
    const char *g2[] = {"00gB"};
    ug = (oks_worker_user_groups){"00uG1", g2, 1};
    OKS_ASSERT(oks_worker_group_teams_apply_tx(conn(), t, &ug, 1, "event", "t", 0, &ch, &err) == 0);
    OKS_ASSERT_EQ_INT(ch, 1);
    assert_teams(t, "00uG1", "Eng:true:okta_department,Mentors:false:okta_group");
    /* replay: nothing changes */
    OKS_ASSERT(oks_worker_group_teams_apply_tx(conn(), t, &ug, 1, "event", "t", 0, &ch, &err) == 0);
    OKS_ASSERT_EQ_INT(ch, 0);
    free(t);
}

/* -------------------------------------------------------------------------------- managers */

OKS_TEST(manager_resolved_and_missing_clears_override)
{
    char *t = tenant();
    row rs[] = {{"00uB1", "active", "{\"email\":\"boss@x.test\"}", 0},
                {"00uE1", "active", "{\"email\":\"e@x.test\",\"managerId\":\"00uB1\"}", 0}};
    apply(t, rs, 2);
    assert_manager(t, "00uE1", "00uB1:true");
    one(t, "00uE1", "active", "{\"email\":\"e@x.test\",\"managerId\":null}");
    assert_manager(t, "00uE1", NULL);
    assert_col(t, "00uE1", "override_manager", "f");
    /* match by email, case-insensitively */
    sql("UPDATE tenants SET manager_attribute = 'managerEmail', manager_match = 'email' WHERE "
        "id = $1::uuid",
        t);
    one(t, "00uE1", "active", "{\"email\":\"e@x.test\",\"managerEmail\":\"BOSS@x.test\"}");
    assert_manager(t, "00uE1", "00uB1:true");
    free(t);
}

OKS_TEST(manager_after_report_event_order_and_full_sync_pass)
{
    char *t = tenant();
    one(t, "00uR1", "active", "{\"email\":\"r@x.test\",\"managerId\":\"00uL1\"}");
    assert_manager(t, "00uR1", NULL);
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM pending_manager_refs WHERE tenant_id = $1::uuid "
                          "AND user_okta_id = '00uR1' AND manager_ref = '00uL1'",
                          t, NULL),
                      1);
    one(t, "00uL1", "active", "{\"email\":\"l@x.test\"}"); /* the manager arrives */
    assert_manager(t, "00uR1", "00uL1:true");
    OKS_ASSERT_EQ_INT(
        num("SELECT count(*) FROM pending_manager_refs WHERE tenant_id = $1::uuid", t, NULL), 0);
    /* a reference that never arrives stays pending; the full sync's pass resolves what it can */
    one(t, "00uR2", "active", "{\"email\":\"r2@x.test\",\"managerId\":\"00uNever\"}");
    sql("INSERT INTO pending_manager_refs (tenant_id, user_okta_id, manager_ref) VALUES "
        "($1::uuid, '00uR1', '00uL1') ON CONFLICT DO NOTHING",
        t);
    sql("UPDATE users SET manager_user_id = NULL, override_manager = false WHERE tenant_id = "
        "$1::uuid AND okta_id = '00uR1'",
        t);
    long resolved = -1;
    oks_err err = {0};
    OKS_ASSERT(oks_worker_managers_resolve_pending(conn(), t, &resolved, &err) == 0);
    OKS_ASSERT_EQ_INT(resolved, 1);
    assert_manager(t, "00uR1", "00uL1:true");
    OKS_ASSERT_EQ_INT(
        num("SELECT count(*) FROM pending_manager_refs WHERE tenant_id = $1::uuid", t, NULL), 1);
    /* full-sync page order: report and manager in one page, report first */
    row page[] = {{"00uR3", "active", "{\"email\":\"r3@x.test\",\"managerId\":\"00uL3\"}", 0},
                  {"00uL3", "active", "{\"email\":\"l3@x.test\"}", 0}};
    apply_on(conn(), t, page, 2, "full_sync", 0);
    assert_manager(t, "00uR3", "00uL3:true");
    free(t);
}

OKS_TEST(manager_cycles_of_two_and_three_refused)
{
    char *t = tenant();
    one(t, "00uA", "active", "{\"email\":\"a@x.test\",\"managerId\":\"00uB\"}");
    one(t, "00uB", "active", "{\"email\":\"b@x.test\",\"managerId\":\"00uA\"}");
    assert_manager(t, "00uA", "00uB:true");
    assert_manager(t, "00uB", NULL); /* the closing edge */
    assert_col(t, "00uB", "override_manager", "f");
    /* length 3: P -> Q -> R, then R -> P closes it */
    one(t, "00uP", "active", "{\"email\":\"p@x.test\",\"managerId\":\"00uQ\"}");
    one(t, "00uQ", "active", "{\"email\":\"q@x.test\",\"managerId\":\"00uR\"}");
    oks_worker_apply_result res =
        one(t, "00uR", "active", "{\"email\":\"r@x.test\",\"managerId\":\"00uP\"}");
    OKS_ASSERT_EQ_INT(res.cycles_refused, 1);
    assert_manager(t, "00uP", "00uQ:true");
    assert_manager(t, "00uQ", "00uR:true");
    assert_manager(t, "00uR", NULL);
    /* a whole 3-cycle in one page: exactly one edge (the latest read) refused */
    row page[] = {{"00uX", "active", "{\"email\":\"x@x.test\",\"managerId\":\"00uY\"}", 0},
                  {"00uY", "active", "{\"email\":\"y@x.test\",\"managerId\":\"00uZ\"}", 0},
                  {"00uZ", "active", "{\"email\":\"z@x.test\",\"managerId\":\"00uX\"}", 0}};
    apply_on(conn(), t, page, 3, "full_sync", 0);
    res = apply_on(conn(), t, page, 3, "full_sync", 0); /* again: still one refused, no loop */
    OKS_ASSERT_EQ_INT(res.cycles_refused, 1);
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND okta_id IN "
                          "('00uX','00uY','00uZ') AND manager_user_id IS NOT NULL",
                          t, NULL),
                      2);
    assert_manager(t, "00uZ", NULL);
    /* self-reference: never an edge */
    one(t, "00uS", "active", "{\"email\":\"s@x.test\",\"managerId\":\"00uS\"}");
    assert_manager(t, "00uS", NULL);
    free(t);
}

/* A new user whose manager is stored, or new in the same batch, gets it from its own insert
 * (the user's create audit row already names the manager) with the one 'set' audit row the rule
 * writes; a user some edge can reach (a pending reference, another row of the batch) is left to the
 * rule, whose cycle check then refuses the documented edge: the latest-read subject's (Okta's Date,
 * then okta_id). */
OKS_TEST(manager_set_by_the_insert_only_when_no_edge_can_reach_the_user)
{
    char *t = tenant();
    one(t, "00uM", "active", "{\"email\":\"m@x.test\"}");
    oks_worker_apply_result res =
        one(t, "00uN", "active", "{\"email\":\"n@x.test\",\"managerId\":\"00uM\"}");
    OKS_ASSERT_EQ_INT(res.managers, 1);
    assert_manager(t, "00uN", "00uM:true");
    const char *create_mgr = "SELECT count(*) FROM audit_log a JOIN users m ON m.okta_id = '00uM' "
                             "AND m.tenant_id = a.tenant_id WHERE a.tenant_id = $1::uuid AND "
                             "a.entity = 'user' AND a.entity_id = $2 AND a.action = 'create' AND "
                             "(a.after->>'manager_user_id')::bigint = m.id";
    OKS_ASSERT_EQ_INT(num(create_mgr, t, "00uN"), 1);
    /* a manager new in the same page, after its report: set by the same insert */
    row pair[] = {{"00uK", "active", "{\"email\":\"k@x.test\",\"managerId\":\"00uL\"}", 0},
                  {"00uL", "active", "{\"email\":\"l@x.test\"}", 0}};
    res = apply_on(conn(), t, pair, 2, "full_sync", 0);
    OKS_ASSERT_EQ_INT(res.managers, 1);
    assert_manager(t, "00uK", "00uL:true");
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM audit_log a JOIN users m ON m.okta_id = '00uL' "
                          "AND m.tenant_id = a.tenant_id WHERE a.tenant_id = $1::uuid AND "
                          "a.entity = 'user' AND a.entity_id = $2 AND a.action = 'create' AND "
                          "(a.after->>'manager_user_id')::bigint = m.id",
                          t, "00uK"),
                      1);
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
                          "'manager' AND entity_id = $2 AND action = 'set' AND before = "
                          "'{\"manager_ref\": null, \"manager_user_id\": null, "
                          "\"override_manager\": false}' AND after->>'manager_ref' = '00uM' AND "
                          "(after->>'override_manager')::boolean",
                          t, "00uN"),
                      1);
    /* M waits for Q (pending); one page brings Q (manager R) and R (manager M): the cycle
     * R -> M -> Q -> R is all new edges, and the latest read, R (same Date, higher okta_id),
     * loses its edge. Set by the insert, R -> M would have been stored and Q's edge refused. */
    one(t, "00uM", "active", "{\"email\":\"m@x.test\",\"managerId\":\"00uQ\"}");
    row page[] = {{"00uQ", "active", "{\"email\":\"q@x.test\",\"managerId\":\"00uR\"}", 0},
                  {"00uR", "active", "{\"email\":\"r@x.test\",\"managerId\":\"00uM\"}", 0}};
    page[0].as_of = page[1].as_of = ++clock_ms;
    res = apply_on(conn(), t, page, 2, "full_sync", 0);
    OKS_ASSERT_EQ_INT(res.cycles_refused, 1);
    assert_manager(t, "00uR", NULL);
    assert_manager(t, "00uQ", "00uR:true");
    assert_manager(t, "00uM", "00uQ:true");
    OKS_ASSERT_EQ_INT(num(create_mgr, t, "00uR"), 0);
    free(t);
}

typedef struct racer {
    const char *tenant;
    const char *id;
    const char *profile;
    pthread_barrier_t *bar;
    int rc;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    oks_err err = {0};
    oks_db_opts o = {.url = db_url, .connect_timeout_s = 5, .statement_timeout_ms = 20000};
    oks_db *d = oks_db_connect(&o, &err);
    if (!d) {
        r->rc = -1;
        return NULL;
    }
    oks_okta_user u = {.id = (char *)r->id, .profile = json_loads(r->profile, 0, NULL)};
    oks_worker_state st = {
        .okta_id = r->id, .status = "active", .user = &u, .app_assigned = 1, .as_of_ms = 1000};
    oks_worker_apply_result res;
    pthread_barrier_wait(r->bar);
    r->rc = oks_db_begin(d, &err) == 0 &&
                    oks_worker_apply_batch_run_tx(d, r->tenant, &st, 1, "event", "t", 0, &res,
                                                  &err) == 0 &&
                    oks_db_commit(d, &err) == 0
                ? 0
                : -1;
    json_decref(u.profile);
    oks_db_close(d);
    return NULL;
}

OKS_TEST(team_mode_first_member_sets_manager_concurrently_once)
{
    char *t = tenant();
    sql("UPDATE tenants SET manager_mode = 'team' WHERE id = $1::uuid", t);
    row bosses[] = {{"00uM1", "active", "{\"email\":\"m1@x.test\"}", 0},
                    {"00uM2", "active", "{\"email\":\"m2@x.test\"}", 0}};
    apply(t, bosses, 2);
    /* two transactions add the first members of the new team "Ops" at once */
    for (int round = 0; round < 5; round++) {
        char dep[32], p1[160], p2[160], a[16], b[16];
        snprintf(dep, sizeof dep, "Ops%d", round);
        snprintf(a, sizeof a, "00uTa%d", round);
        snprintf(b, sizeof b, "00uTb%d", round);
        snprintf(p1, sizeof p1, "{\"department\":\"%s\",\"managerId\":\"00uM1\"}", dep);
        snprintf(p2, sizeof p2, "{\"department\":\"%s\",\"managerId\":\"00uM2\"}", dep);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        racer r1 = {t, a, p1, &bar, 0}, r2 = {t, b, p2, &bar, 0};
        pthread_t th1, th2;
        pthread_create(&th1, NULL, race, &r1);
        pthread_create(&th2, NULL, race, &r2);
        pthread_join(th1, NULL);
        pthread_join(th2, NULL);
        pthread_barrier_destroy(&bar);
        OKS_ASSERT_EQ_INT(r1.rc, 0);
        OKS_ASSERT_EQ_INT(r2.rc, 0);
        char *m = val("SELECT u.okta_id || ':' || t.manager_source FROM teams t JOIN users u ON "
                      "u.id = t.manager_user_id WHERE t.tenant_id = $1::uuid AND t.name = $2",
                      t, dep);
        OKS_ASSERT(m != NULL);
        OKS_ASSERT(strcmp(m, "00uM1:first_member") == 0 || strcmp(m, "00uM2:first_member") == 0);
        free(m);
        OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND "
                              "entity = 'team' AND action = 'set_manager' AND entity_id = $2",
                              t, dep),
                          1);
    }
    /* later members do not change it; an admin-set manager is never overwritten */
    sql("INSERT INTO teams (tenant_id, name, source, manager_user_id, manager_source) SELECT "
        "$1::uuid, 'Adm', 'admin', id, 'admin' FROM users WHERE tenant_id = $1::uuid AND "
        "okta_id = '00uM2'",
        t);
    one(t, "00uTc", "active", "{\"department\":\"Ops0\",\"managerId\":\"00uM2\"}");
    one(t, "00uTd", "active", "{\"department\":\"adm\",\"managerId\":\"00uM1\"}");
    char *m = val("SELECT u.okta_id FROM teams t JOIN users u ON u.id = t.manager_user_id WHERE "
                  "t.tenant_id = $1::uuid AND t.name = $2",
                  t, "Adm");
    OKS_ASSERT_EQ_STR(m, "00uM2");
    free(m);
    /* individual mode: no team manager is set */
    char *t2 = tenant();
    one(t2, "00uM1", "active", "{\"email\":\"m1@x.test\"}");
    one(t2, "00uI1", "active", "{\"department\":\"Solo\",\"managerId\":\"00uM1\"}");
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM teams WHERE tenant_id = $1::uuid AND "
                          "manager_user_id IS NOT NULL",
                          t2, NULL),
                      0);
    free(t2);
    free(t);
}

typedef struct group_racer {
    const char *tenant;
    const char *id;
    const char *group;
    pthread_barrier_t *bar;
    int rc;
} group_racer;

static void *race_group(void *arg)
{
    group_racer *r = arg;
    oks_err err = {0};
    oks_db_opts o = {.url = db_url, .connect_timeout_s = 5, .statement_timeout_ms = 20000};
    oks_db *d = oks_db_connect(&o, &err);
    if (!d) {
        r->rc = -1;
        return NULL;
    }
    const char *g[] = {r->group};
    oks_worker_user_groups ug = {r->id, g, 1};
    long ch = 0;
    pthread_barrier_wait(r->bar);
    r->rc = oks_db_begin(d, &err) == 0 &&
                    oks_worker_group_teams_apply_tx(d, r->tenant, &ug, 1, "event", "t", 0, &ch,
                                                    &err) == 0 &&
                    oks_db_commit(d, &err) == 0
                ? 0
                : -1;
    oks_db_close(d);
    return NULL;
}

static void group_team(const char *t, const char *name, const char *gid)
{
    const char *p[] = {t, name, gid};
    free(wt_scalar(conn(),
                   "WITH x AS (INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, $2, "
                   "'okta_group') RETURNING id) INSERT INTO tenant_group_teams (tenant_id, "
                   "okta_group_id, team_id) SELECT $1::uuid, $3, id FROM x RETURNING team_id",
                   3, p));
}

static void join_groups(const char *t, const char *id, const char *gid)
{
    const char *g[] = {gid};
    oks_worker_user_groups ug = {id, g, 1};
    long ch = 0;
    oks_err err = {0};
    OKS_ASSERT(oks_db_begin(conn(), &err) == 0);
    if (oks_worker_group_teams_apply_tx(conn(), t, &ug, 1, "event", "t", 0, &ch, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "group teams: %s", err.msg);
    OKS_ASSERT(oks_db_commit(conn(), &err) == 0);
}

static char *team_manager(const char *t, const char *team)
{
    return val("SELECT coalesce(u.okta_id, '-') || ':' || coalesce(x.manager_source, '-') FROM "
               "teams x LEFT JOIN users u ON u.id = x.manager_user_id WHERE x.tenant_id = "
               "$1::uuid AND x.name = $2",
               t, team);
}

#define ASSERT_TEAM_MANAGER(t, team, want)                                                         \
    do {                                                                                           \
        char *m_ = team_manager(t, team);                                                          \
        if (!m_ || strcmp(m_, want) != 0)                                                          \
            oks_test_fail(__FILE__, __LINE__, "team %s manager '%s', want '%s'", team,             \
                          m_ ? m_ : "(no team)", want);                                            \
        free(m_);                                                                                  \
    } while (0)

/* manager_mode = team for teams from groups (issue 10's rule, as for departments): the first
 * member the sync adds who has a manager gives the team its manager, exactly once when two
 * transactions add first members at the same time; later members do not change it; an
 * admin-set manager is never overwritten; individual mode sets none. */
OKS_TEST(team_mode_group_teams_first_member_sets_manager_concurrently_once)
{
    char *t = tenant();
    sql("UPDATE tenants SET manager_mode = 'team' WHERE id = $1::uuid", t);
    row people[] = {{"00uGM1", "active", "{\"email\":\"gm1@x.test\"}", 0},
                    {"00uGM2", "active", "{\"email\":\"gm2@x.test\"}", 0},
                    {"00uGN", "active", "{\"email\":\"gn@x.test\"}", 0}, /* no manager */
                    {"00uGL", "active", "{\"email\":\"gl@x.test\",\"managerId\":\"00uGM2\"}", 0},
                    {"00uGA", "active", "{\"email\":\"ga@x.test\",\"managerId\":\"00uGM1\"}", 0}};
    apply(t, people, 5);
    for (int round = 0; round < 5; round++) {
        char team[32], gid[32], a[16], b[16], pa[96], pb[96];
        snprintf(team, sizeof team, "Guild%d", round);
        snprintf(gid, sizeof gid, "00gGuild%d", round);
        snprintf(a, sizeof a, "00uGa%d", round);
        snprintf(b, sizeof b, "00uGb%d", round);
        snprintf(pa, sizeof pa, "{\"email\":\"a%d@x.test\",\"managerId\":\"00uGM1\"}", round);
        snprintf(pb, sizeof pb, "{\"email\":\"b%d@x.test\",\"managerId\":\"00uGM2\"}", round);
        row two[] = {{a, "active", pa, 0}, {b, "active", pb, 0}};
        apply(t, two, 2);
        group_team(t, team, gid);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        group_racer r1 = {t, a, gid, &bar, 0}, r2 = {t, b, gid, &bar, 0};
        pthread_t th1, th2;
        pthread_create(&th1, NULL, race_group, &r1);
        pthread_create(&th2, NULL, race_group, &r2);
        pthread_join(th1, NULL);
        pthread_join(th2, NULL);
        pthread_barrier_destroy(&bar);
        OKS_ASSERT_EQ_INT(r1.rc, 0);
        OKS_ASSERT_EQ_INT(r2.rc, 0);
        char *m = team_manager(t, team);
        OKS_ASSERT(m != NULL);
        OKS_ASSERT(strcmp(m, "00uGM1:first_member") == 0 || strcmp(m, "00uGM2:first_member") == 0);
        free(m);
        OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND "
                              "entity = 'team' AND action = 'set_manager' AND entity_id = $2",
                              t, team),
                          1);
        OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM team_members m JOIN teams x ON x.id = "
                              "m.team_id WHERE x.tenant_id = $1::uuid AND x.name = $2 AND "
                              "m.source = 'okta_group'",
                              t, team),
                          2);
    }
    /* a later member with another manager changes nothing */
    char *m0 = team_manager(t, "Guild0");
    join_groups(t, "00uGL", "00gGuild0");
    ASSERT_TEAM_MANAGER(t, "Guild0", m0);
    free(m0);
    /* the first member has no manager: none yet; the next one with a manager sets it */
    group_team(t, "Late", "00gLate");
    join_groups(t, "00uGN", "00gLate");
    ASSERT_TEAM_MANAGER(t, "Late", "-:-");
    join_groups(t, "00uGA", "00gLate");
    ASSERT_TEAM_MANAGER(t, "Late", "00uGM1:first_member");
    /* an admin-set manager of a mapped team is never overwritten */
    sql("INSERT INTO teams (tenant_id, name, source, manager_user_id, manager_source) SELECT "
        "$1::uuid, 'Board', 'admin', id, 'admin' FROM users WHERE tenant_id = $1::uuid AND "
        "okta_id = '00uGM2'",
        t);
    sql("INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) SELECT $1::uuid, "
        "'00gBoard', id FROM teams WHERE tenant_id = $1::uuid AND name = 'Board'",
        t);
    join_groups(t, "00uGA", "00gBoard");
    ASSERT_TEAM_MANAGER(t, "Board", "00uGM2:admin");
    /* individual mode: no team manager from groups */
    char *t2 = tenant();
    row solo[] = {{"00uGM1", "active", "{\"email\":\"gm1@x.test\"}", 0},
                  {"00uGI", "active", "{\"email\":\"gi@x.test\",\"managerId\":\"00uGM1\"}", 0}};
    apply(t2, solo, 2);
    group_team(t2, "Solo", "00gSolo");
    join_groups(t2, "00uGI", "00gSolo");
    ASSERT_TEAM_MANAGER(t2, "Solo", "-:-");
    free(t2);
    free(t);
}

/* ----------------------------------------------------------------------------- invitations */

OKS_TEST(invitation_exactly_once_under_replay_x10)
{
    char *t = tenant();
    sql("UPDATE tenants SET auto_invite = true WHERE id = $1::uuid", t);
    /* the same read replayed 10 times, and 10 newer reads: one invitation */
    row r = {"00uI1", "active", "{\"email\":\"i@x.test\"}", 5000};
    for (int i = 0; i < 10; i++)
        apply(t, &r, 1);
    for (int i = 0; i < 10; i++)
        one(t, "00uI1", "active", "{\"email\":\"i@x.test\"}");
    apply_on(conn(), t, &r, 1, "full_sync", 0); /* older read from a full sync page */
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM invitations i JOIN users u ON u.id = i.user_id "
                          "WHERE i.tenant_id = $1::uuid AND u.okta_id = '00uI1' AND i.email = "
                          "'i@x.test' AND i.status = 'pending'",
                          t, NULL),
                      1);
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity "
                          "= 'invitation'",
                          t, NULL),
                      1);
    /* deactivated -> active -> deactivated -> active: one, when first active */
    one(t, "00uI2", "deactivated", "{\"email\":\"i2@x.test\"}");
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL),
                      1);
    for (int i = 0; i < 3; i++) {
        one(t, "00uI2", "active", NULL);
        one(t, "00uI2", "deactivated", NULL);
    }
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL),
                      2);
    /* the schema refuses a second row even when code is bypassed */
    oks_err err = {0};
    const char *p[] = {t};
    PGresult *x = oks_db_exec_params(conn(),
                                     "INSERT INTO invitations (tenant_id, user_id) SELECT "
                                     "$1::uuid, id FROM users WHERE tenant_id = $1::uuid AND "
                                     "okta_id = '00uI1'",
                                     1, p, &err);
    OKS_ASSERT(x == NULL);
    /* auto-invite off: none; turned on later: users created meanwhile are not invited */
    sql("UPDATE tenants SET auto_invite = false WHERE id = $1::uuid", t);
    one(t, "00uI3", "active", "{\"email\":\"i3@x.test\"}");
    sql("UPDATE tenants SET auto_invite = true WHERE id = $1::uuid", t);
    one(t, "00uI3", "active", "{\"email\":\"i3@x.test\"}");
    OKS_ASSERT_EQ_INT(num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL),
                      2);
    free(t);
}

/* ---------------------------------------------------------------------- audit and ordering */

OKS_TEST(audit_source_full_sync_carries_run_id_and_stale_read_changes_nothing)
{
    char *t = tenant();
    const char *p[] = {t};
    char *run = wt_scalar(conn(),
                          "INSERT INTO sync_runs (tenant_id, scheduled_for) VALUES ($1::uuid, "
                          "now()) RETURNING id",
                          1, p);
    sql("INSERT INTO custom_fields (tenant_id, name) VALUES ($1::uuid, 'cc')", t);
    row r = {"00uS1", "active", "{\"email\":\"s@x.test\",\"department\":\"Fin\",\"cc\":\"1\"}",
             9000};
    apply_on(conn(), t, &r, 1, "full_sync", strtoll(run, NULL, 10));
    OKS_ASSERT_EQ_INT(num("SELECT count(DISTINCT entity) FROM audit_log WHERE tenant_id = "
                          "$1::uuid AND source = 'full_sync' AND sync_run_id = $2::bigint",
                          t, run),
                      4); /* user, custom_field_value, team, membership */
    /* an older read (by Okta's Date) arriving later: no rule runs on it */
    row old = {"00uS1", "active", "{\"email\":\"s@x.test\",\"department\":\"Old\",\"cc\":\"0\"}",
               8000};
    oks_worker_apply_result res = apply(t, &old, 1);
    OKS_ASSERT_EQ_INT(res.stale, 1);
    OKS_ASSERT_EQ_INT(res.memberships + res.custom_values, 0);
    assert_teams(t, "00uS1", "Fin:true:okta_department");
    free(run);
    free(t);
}

int main(int argc, char **argv)
{
    int rc = oks_test_main(argc, argv);
    if (db)
        oks_db_close(db);
    free(db_url);
    return rc;
}
