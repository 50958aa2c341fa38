/* What a batch apply costs when little changed (docs/worker-reconcile.md "Cost of a round"),
 * against PostgreSQL: rule statements that cannot act on a batch are not sent, yet a batch that
 * needs them still gets them; a known member's watermark and profile update is a HOT update
 * (users fillfactor, migration 0009), so it inserts into none of the table's indexes. What the
 * rules decide is worker_rules_it_test's. */
#include "oks_test.h"
#include "oks_worker_apply_batch.h"
#include "oks_worker_apply_managers.h"
#include "oks_worker_apply_teams.h"
#include "rapply.h"
#include "wtest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAXN = 1000 };
static int stride = 1;        /* user i of a batch is "00uC<i * stride>" */
static int64_t plan_uses = 0; /* > 0: as a reconcile round, from a generic plan */

/* n users "00uC<i * stride>" of tenant t, all active, read at as_of (0: the next tick), title
 * "t<title>", extra appended to each profile. Inside the caller's transaction when keep_open is
 * set. */
static oks_worker_apply_result apply_n(const char *t, int n, const char *extra, int title,
                                       int64_t as_of, int keep_open)
{
    static oks_worker_state st[MAXN];
    static oks_okta_user u[MAXN];
    static char ids[MAXN][16];
    OKS_ASSERT(n <= MAXN);
    memset(u, 0, sizeof u);
    int64_t when = as_of ? as_of : ra_tick();
    for (int i = 0; i < n; i++) {
        char prof[256];
        snprintf(ids[i], sizeof ids[i], "00uC%d", i * stride);
        snprintf(prof, sizeof prof,
                 "{\"email\":\"c%d@x.test\",\"login\":\"c%d@x.test\",\"title\":\"t%d\"%s}",
                 i * stride, i * stride, title, extra ? extra : "");
        u[i].id = ids[i];
        u[i].profile = json_loads(prof, 0, NULL);
        OKS_ASSERT(u[i].profile != NULL);
        st[i] = (oks_worker_state){.okta_id = ids[i],
                                   .status = "active",
                                   .user = &u[i],
                                   .app_assigned = 1,
                                   .as_of_ms = when};
    }
    oks_err err = {0};
    oks_worker_apply_result res;
    if (!keep_open)
        OKS_ASSERT(oks_db_begin(ra_conn(), &err) == 0);
    int rc;
    if (plan_uses > 0) {
        oks_worker_apply_batch b;
        rc = oks_worker_apply_batch_prepare(ra_conn(), t, st, (size_t)n, &b, &err);
        if (rc == 0)
            rc = oks_worker_apply_batch_round_tx(ra_conn(), t, &b, plan_uses, &res, &err);
        oks_worker_apply_batch_free(&b);
    } else {
        rc = oks_worker_apply_batch_tx(ra_conn(), t, st, (size_t)n, "event", "test", &res, &err);
    }
    if (rc != 0)
        oks_test_fail(__FILE__, __LINE__, "apply: %s", err.msg);
    if (!keep_open)
        OKS_ASSERT(oks_db_commit(ra_conn(), &err) == 0);
    for (int i = 0; i < n; i++)
        json_decref(u[i].profile);
    return res;
}

OKS_TEST(rules_that_cannot_act_are_not_sent)
{
    char *t = ra_tenant();
    /* new users, no custom field, auto-invite off: fields skipped; the rows became active in
     * this transaction, so the invitation rule runs (and decides: off, none) */
    oks_worker_apply_result r = apply_n(t, 3, NULL, 1, 0, 0);
    OKS_ASSERT_EQ_INT(r.written, 3);
    OKS_ASSERT_EQ_INT(r.rules_run, 3); /* managers, teams, invitations */
    /* known members with a new title, no department, no manager: no rule can act */
    r = apply_n(t, 3, NULL, 2, 0, 0);
    OKS_ASSERT_EQ_INT(r.audited, 3);
    OKS_ASSERT_EQ_INT(r.rules_run, 0);
    /* an active custom field: the fields rule runs and writes the values */
    ra_sql("INSERT INTO custom_fields (tenant_id, name) VALUES ($1::uuid, 'cc')", t);
    r = apply_n(t, 3, ",\"cc\":\"7\"", 3, 0, 0);
    OKS_ASSERT_EQ_INT(r.rules_run, 1);
    OKS_ASSERT_EQ_INT(r.custom_values, 3);
    /* removed again: skipped, the values stay (docs/rules.md) */
    ra_sql("UPDATE custom_fields SET removed_at = now() WHERE tenant_id = $1::uuid", t);
    r = apply_n(t, 3, ",\"cc\":\"8\"", 4, 0, 0);
    OKS_ASSERT_EQ_INT(r.rules_run, 0);
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM custom_field_values WHERE tenant_id = $1::uuid "
                             "AND value = '7'",
                             t, NULL),
                      3);
    /* a stale read (older Date) writes nothing: no rule is sent */
    r = apply_n(t, 3, NULL, 5, 1000, 0);
    OKS_ASSERT_EQ_INT(r.stale, 3);
    OKS_ASSERT_EQ_INT(r.rules_run, 0);
    free(t);
}

OKS_TEST(invitation_still_sent_for_a_user_activated_in_the_batch)
{
    char *t = ra_tenant();
    ra_sql("UPDATE tenants SET auto_invite = true WHERE id = $1::uuid", t);
    apply_n(t, 2, NULL, 1, 0, 0); /* created active: invited */
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL), 2);
    /* a deactivated user who was never active becomes active in a later batch: invited then */
    ra_sql("UPDATE users SET status = 'deactivated', first_active_at = NULL WHERE tenant_id = "
           "$1::uuid AND okta_id = '00uC1'",
           t);
    ra_sql("DELETE FROM invitations WHERE tenant_id = $1::uuid", t);
    oks_worker_apply_result r = apply_n(t, 2, NULL, 2, 0, 0);
    OKS_ASSERT_EQ_INT(r.rules_run, 1);
    OKS_ASSERT_EQ_INT(r.invitations, 1);
    /* both active since earlier transactions: the rule is not sent, nothing is invited */
    r = apply_n(t, 2, NULL, 3, 0, 0);
    OKS_ASSERT_EQ_INT(r.rules_run, 0);
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM invitations WHERE tenant_id = $1::uuid", t, NULL), 1);
    free(t);
}

/* A tenant's rows were inserted together (a first sync fills whole pages); a round then reads
 * 200 of its 1,000 members and changes their titles and watermarks, no indexed column: every
 * update is HOT (counted in this transaction by pg_stat_get_xact_tuples_hot_updated). At
 * fillfactor 100 a row on a full page had to move to another page and into all eight indexes
 * (the same updates at fillfactor 100: 0 of 200 HOT). The new versions of one round cannot
 * reuse the space of the old ones (this transaction still holds them), so the free space left
 * per page bounds the share of a page's rows one transaction can update HOT. */
OKS_TEST(member_update_is_hot_after_a_bulk_insert)
{
    char *t = ra_tenant();
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM pg_class WHERE relname IN ('users', "
                             "'dirty_users') AND 'fillfactor=80' = ANY (reloptions)",
                             NULL, NULL),
                      2);
    stride = 1;
    apply_n(t, 1000, NULL, 1, 0, 0);
    stride = 5;
    oks_err err = {0};
    /* the counters also hold earlier transactions not flushed yet; none is flushed inside a
     * transaction block, so the difference is this apply's */
    OKS_ASSERT(oks_db_begin(ra_conn(), &err) == 0);
    long upd0 = ra_num("SELECT pg_stat_get_xact_tuples_updated('users'::regclass)", NULL, NULL);
    long hot0 = ra_num("SELECT pg_stat_get_xact_tuples_hot_updated('users'::regclass)", NULL, NULL);
    oks_worker_apply_result r = apply_n(t, 200, NULL, 2, 0, 1);
    long upd =
        ra_num("SELECT pg_stat_get_xact_tuples_updated('users'::regclass)", NULL, NULL) - upd0;
    long hot =
        ra_num("SELECT pg_stat_get_xact_tuples_hot_updated('users'::regclass)", NULL, NULL) - hot0;
    OKS_ASSERT_EQ_INT(oks_db_commit(ra_conn(), &err), 0);
    stride = 1;
    OKS_ASSERT_EQ_INT(r.written, 200);
    OKS_ASSERT_EQ_INT(upd, 200);
    if (hot < 200 * 95 / 100)
        oks_test_fail(__FILE__, __LINE__, "%ld of 200 updates HOT", hot);
    free(t);
}

/* A batch of a large tenant reads its own users by key, never the whole tenant. The planner
 * estimates the tenant at the table's average tenant size (the tenant id is hidden from it,
 * oks_worker_sql.h); while the statistics are stale — a first full sync grows one tenant far
 * past them — a join of the batch to the tenant's users was planned as a hash of all of them,
 * for every page (a 100,000-user sync's later pages hashed up to 80,000 rows each). Here the
 * statistics say tenants have 5 users, one has 3,000 more, and a batch of 10 must fetch about
 * as many rows as it names (index entries read and rows fetched, counted in this transaction;
 * the hashed join read all 3,000). */
#define READ_OF_USERS                                                                              \
    "SELECT pg_stat_get_xact_tuples_fetched('users'::regclass) + sum("                             \
    "pg_stat_get_xact_tuples_returned(indexrelid) + pg_stat_get_xact_tuples_fetched(indexrelid)) " \
    "FROM pg_index WHERE indrelid = 'users'::regclass"
OKS_TEST(batch_reads_only_its_own_users_of_a_large_tenant)
{
    ra_sql("ALTER TABLE users SET (autovacuum_enabled = false)", NULL);
    for (int i = 0; i < 60; i++) {
        char *small = ra_tenant();
        ra_sql("INSERT INTO users (tenant_id, okta_id) SELECT $1::uuid, 'small' || g "
               "FROM generate_series(1, 5) g",
               small);
        free(small);
    }
    char *t = ra_tenant();
    ra_sql("ANALYZE users", NULL);
    ra_sql("INSERT INTO users (tenant_id, okta_id, email) SELECT $1::uuid, 'big' || g, "
           "'big' || g || '@x.test' FROM generate_series(1, 3000) g",
           t);
    oks_err err = {0};
    stride = 1;
    /* planned for this call, then from a generic plan made now (a round's: plan_uses 1 makes
     * one on every call after the first) */
    for (int generic = 0; generic < 2; generic++) {
        plan_uses = generic;
        OKS_ASSERT(oks_db_begin(ra_conn(), &err) == 0);
        long f0 = ra_num(READ_OF_USERS, NULL, NULL);
        oks_worker_apply_result r = apply_n(t, 10, NULL, 1 + generic, 0, 1);
        long fetched = ra_num(READ_OF_USERS, NULL, NULL) - f0;
        OKS_ASSERT_EQ_INT(oks_db_commit(ra_conn(), &err), 0);
        OKS_ASSERT_EQ_INT(r.written, 10);
        if (fetched > 300)
            oks_test_fail(__FILE__, __LINE__, "a batch of 10 fetched %ld rows of users (%s)",
                          fetched, generic ? "generic plan" : "custom plan");
    }
    plan_uses = 0;
    ra_sql("ALTER TABLE users RESET (autovacuum_enabled)", NULL);
    free(t);
}

/* "runs from a generic plan/from a custom plan prepare_time" of the round's apply on this
 * session, "" when it is not prepared */
static char *apply_plans(void)
{
    char *v = ra_val("SELECT generic_plans || '/' || custom_plans || ' ' || prepare_time "
                     "FROM pg_prepared_statements WHERE name = 'oks_worker_apply'",
                     NULL, NULL);
    return v ? v : strdup("");
}

/* docs/worker-reconcile.md "Cost of a round": a round's apply runs from a generic plan, which
 * is made again after plan_uses rounds on the connection; everything else (full-sync pages,
 * plan_uses 0) plans the statement on every call. Same rows written either way. */
OKS_TEST(a_rounds_apply_runs_from_a_generic_plan_made_again_after_plan_uses)
{
    char *t = ra_tenant();
    stride = 1;
    plan_uses = 2;
    OKS_ASSERT_EQ_INT(apply_n(t, 10, NULL, 1, 0, 0).written, 10);
    char *first = apply_plans();
    /* the statement may be left from an earlier test's round: made again at most once here */
    if (strncmp(first, "1/0 ", 4) != 0) {
        free(first);
        OKS_ASSERT_EQ_INT(apply_n(t, 10, NULL, 2, 0, 0).written, 10);
        first = apply_plans();
    }
    OKS_ASSERT(strncmp(first, "1/0 ", 4) == 0);
    OKS_ASSERT_EQ_INT(apply_n(t, 10, NULL, 3, 0, 0).written, 10);
    char *second = apply_plans();
    OKS_ASSERT(strncmp(second, "2/0 ", 4) == 0);
    OKS_ASSERT_EQ_STR(second + 4, first + 4); /* the same PREPARE */
    OKS_ASSERT_EQ_INT(apply_n(t, 10, NULL, 4, 0, 0).written, 10);
    char *third = apply_plans();
    OKS_ASSERT(strncmp(third, "1/0 ", 4) == 0); /* made again after two rounds */
    OKS_ASSERT(strcmp(third + 4, first + 4) != 0);
    /* not a round: planned on the call, the prepared statement untouched */
    plan_uses = 0;
    OKS_ASSERT_EQ_INT(apply_n(t, 10, NULL, 5, 0, 0).written, 10);
    char *after = apply_plans();
    OKS_ASSERT_EQ_STR(after, third);
    char *title =
        ra_val("SELECT title FROM users WHERE tenant_id = $1::uuid AND okta_id = '00uC9'", t, NULL);
    OKS_ASSERT_EQ_STR(title, "t5");
    free(title);
    free(after);
    free(third);
    free(second);
    free(first);
    free(t);
}

/* The teams' removal statement reads the memberships of the batch's users by key, never the
 * table's. As a join it was planned as a scan of team_members (all tenants) filtered by the
 * tenant, for every round: 60 ms of a 50-tenant benchmark's round (docs/worker-reconcile.md
 * "Cost of a round"). Here other tenants hold 10,000 memberships, the statistics know them,
 * and a batch of 10 must read about as many memberships as it has (sequential reads and
 * index entries of team_members, counted in this transaction). */
#define READ_OF_MEMBERSHIPS                                                                        \
    "SELECT pg_stat_get_xact_tuples_returned('team_members'::regclass) + sum("                     \
    "pg_stat_get_xact_tuples_returned(indexrelid)) FROM pg_index WHERE indrelid = "                \
    "'team_members'::regclass"
OKS_TEST(teams_rule_reads_only_the_batch_users_memberships)
{
    /* statistics taken while the table was nearly empty, then 10,000 rows: as stale as a
     * benchmark's warm-up left them */
    ra_sql("ANALYZE team_members", NULL);
    ra_sql("ALTER TABLE team_members SET (autovacuum_enabled = false)", NULL);
    for (int i = 0; i < 20; i++) {
        char *other = ra_tenant();
        ra_sql(
            "WITH tm AS (INSERT INTO teams (tenant_id, name) VALUES ($1::uuid, 'T') RETURNING id), "
            "us AS (INSERT INTO users (tenant_id, okta_id, department) SELECT $1::uuid, "
            "'m' || g, 'T' FROM generate_series(1, 500) g RETURNING id) "
            "INSERT INTO team_members (tenant_id, team_id, user_id, is_primary) "
            "SELECT $1::uuid, tm.id, us.id, true FROM tm, us",
            other);
        free(other);
    }
    char *t = ra_tenant();
    stride = 1;
    apply_n(t, 10, ",\"department\":\"D1\"", 1, 0, 0); /* members of D1 */
    oks_err err = {0};
    OKS_ASSERT(oks_db_begin(ra_conn(), &err) == 0);
    long r0 = ra_num(READ_OF_MEMBERSHIPS, NULL, NULL);
    oks_worker_apply_result r = apply_n(t, 10, ",\"department\":\"D2\"", 2, 0, 1);
    long read = ra_num(READ_OF_MEMBERSHIPS, NULL, NULL) - r0;
    OKS_ASSERT_EQ_INT(oks_db_commit(ra_conn(), &err), 0);
    OKS_ASSERT_EQ_INT(r.written, 10);
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM team_members m JOIN teams tt ON tt.id = m.team_id "
               "WHERE m.tenant_id = $1::uuid AND tt.name = 'D2' AND m.is_primary",
               t, NULL),
        10);
    ra_sql("ALTER TABLE team_members RESET (autovacuum_enabled)", NULL);
    if (read > 300)
        oks_test_fail(__FILE__, __LINE__, "a batch of 10 read %ld memberships", read);
    free(t);
}

/* What a "no" of the rule questions promises: the manager and teams rules, run on the user with
 * every row asking (a batch without "mq"/"tq"), write nothing. mref: the user's Okta manager
 * reference (NULL: none). */
static void assert_rules_idle(const char *t, const char *okta_id, const char *mref)
{
    char q[512];
    snprintf(q, sizeof q,
             "SELECT jsonb_build_array(jsonb_build_object('id', id, 'status', status, "
             "'profile', true, 'mref', %s%s%s))::text FROM users WHERE tenant_id = $1::uuid "
             "AND okta_id = $2",
             mref ? "'" : "", mref ? mref : "NULL::text", mref ? "'" : "");
    char *batch = ra_val(q, t, okta_id);
    char *match = ra_val("SELECT manager_match FROM tenants WHERE id = $1::uuid", t, NULL);
    oks_err err = {0};
    long changed = -1, refused = -1, memberships = -1;
    OKS_ASSERT(oks_db_begin(ra_conn(), &err) == 0);
    OKS_ASSERT(oks_worker_apply_managers_tx(ra_conn(), t, batch, "event", "test", NULL, match,
                                            &changed, &refused, &err) == 0);
    OKS_ASSERT(oks_worker_apply_teams_tx(ra_conn(), t, batch, "event", "test", NULL, &memberships,
                                         &err) == 0);
    oks_db_rollback(ra_conn());
    if (changed != 0 || memberships != 0)
        oks_test_fail(__FILE__, __LINE__,
                      "%s: the rules asked anyway wrote %ld manager and %ld "
                      "team changes",
                      okta_id, changed, memberships);
    free(match);
    free(batch);
}

/* Changes on the platform's side, outside Okta: a user's columns ("col = value, ..."), and a
 * membership of a user in a team of the tenant. */
static void set_user(const char *t, const char *okta_id, const char *assignments)
{
    char q[512];
    snprintf(q, sizeof q, "UPDATE users SET %s WHERE tenant_id = $1::uuid AND okta_id = '%s'",
             assignments, okta_id);
    ra_sql(q, t);
}

static void add_membership(const char *t, const char *okta_id, const char *team, const char *source,
                           bool primary)
{
    char q[768];
    snprintf(q, sizeof q,
             "INSERT INTO team_members (tenant_id, team_id, user_id, is_primary, source) SELECT "
             "$1::uuid, t.id, u.id, %s, '%s' FROM teams t, users u WHERE t.tenant_id = $1::uuid "
             "AND t.name = '%s' AND u.tenant_id = $1::uuid AND u.okta_id = '%s'",
             primary ? "true" : "false", source, team, okta_id);
    ra_sql(q, t);
}

/* A known user's read sends the manager rule or the teams rule only when it can act: when Okta
 * changed what the rule reads, or the stored link or membership is not what the rule would
 * make (changed on the platform's side: put back on this read). After each repair the next
 * read sends nothing, and the rules asked anyway agree. */
OKS_TEST(rule_questions_send_a_rule_only_when_it_can_act)
{
    char *t = ra_tenant();
    const char *rep = "{\"email\":\"qr@x.test\",\"department\":\"Eng\",\"managerId\":\"00uQB\"}";
    ra_one(t, "00uQB", "active", "{\"email\":\"qb@x.test\",\"department\":\"Eng\"}");
    ra_one(t, "00uQO", "active", "{\"email\":\"qo@x.test\"}");
    oks_worker_apply_result r = ra_one(t, "00uQR", "active", rep);
    OKS_ASSERT(r.rules_run >= 2); /* new: both asked */
    ra_assert_manager(t, "00uQR", "00uQB:true");
    ra_assert_teams(t, "00uQR", "Eng:true:okta_department");
#define QUIET()                                                                                    \
    do {                                                                                           \
        OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", rep).rules_run, 0);                         \
        assert_rules_idle(t, "00uQR", "00uQB");                                                    \
    } while (0)
    QUIET();
    /* the link, then the override, changed on the platform's side */
    set_user(t, "00uQR",
             "manager_user_id = (SELECT id FROM users WHERE tenant_id = $1::uuid AND okta_id = "
             "'00uQO')");
    r = ra_one(t, "00uQR", "active", rep);
    OKS_ASSERT_EQ_INT(r.rules_run, 1);
    OKS_ASSERT_EQ_INT(r.managers, 1);
    ra_assert_manager(t, "00uQR", "00uQB:true");
    QUIET();
    set_user(t, "00uQR", "override_manager = false");
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", rep).managers, 1);
    ra_assert_manager(t, "00uQR", "00uQB:true");
    QUIET();
    set_user(t, "00uQR", "manager_okta_id = NULL");
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", rep).managers, 1);
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND okta_id = "
                             "'00uQR' AND manager_okta_id = '00uQB'",
                             t, NULL),
                      1);
    QUIET();
    /* no manager in Okta, one set on the platform's side: cleared (docs/rules.md) */
    const char *plain = "{\"email\":\"qo@x.test\"}";
    set_user(t, "00uQO",
             "manager_user_id = (SELECT id FROM users WHERE tenant_id = $1::uuid AND okta_id = "
             "'00uQB')");
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQO", "active", plain).managers, 1);
    ra_assert_manager(t, "00uQO", NULL);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQO", "active", plain).rules_run, 0);
    assert_rules_idle(t, "00uQO", NULL);
    set_user(t, "00uQO", "override_manager = true");
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQO", "active", plain).managers, 1);
    ra_assert_col(t, "00uQO", "override_manager", "f");
    /* Okta names another manager, then one not stored yet (asked on every read while pending),
     * who then arrives */
    r = ra_one(t, "00uQR", "active",
               "{\"email\":\"qr@x.test\",\"department\":\"Eng\",\"managerId\":\"00uQO\"}");
    OKS_ASSERT_EQ_INT(r.managers, 1);
    const char *later = "{\"email\":\"qr@x.test\",\"department\":\"Eng\",\"managerId\":\"00uQL\"}";
    ra_one(t, "00uQR", "active", later);
    ra_assert_manager(t, "00uQR", NULL);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", later).rules_run, 0);
    assert_rules_idle(t, "00uQR", "00uQL");
    set_user(t, "00uQR", "override_manager = true");
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", later).managers, 1);
    ra_assert_col(t, "00uQR", "override_manager", "f");
    /* the pending reference lost on the platform's side: put back */
    ra_sql("DELETE FROM pending_manager_refs WHERE tenant_id = $1::uuid", t);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", later).rules_run, 1);
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM pending_manager_refs WHERE tenant_id = "
                             "$1::uuid AND user_okta_id = '00uQR' AND manager_ref = '00uQL'",
                             t, NULL),
                      1);
    /* the manager stored by another way than a batch (nothing resolved it): found on the read */
    ra_sql("INSERT INTO users (tenant_id, okta_id, email) VALUES ($1::uuid, '00uQL', "
           "'ql@x.test')",
           t);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", later).managers, 1);
    ra_assert_manager(t, "00uQR", "00uQL:true");
    /* a pending reference resolved by the batch that inserts its manager */
    const char *later2 = "{\"email\":\"qr@x.test\",\"department\":\"Eng\",\"managerId\":\"00uQM\"}";
    ra_one(t, "00uQR", "active", later2);
    ra_assert_manager(t, "00uQR", NULL);
    ra_row both[] = {{"00uQR", "active", later2, 0},
                     {"00uQM", "active", "{\"email\":\"qm@x.test\"}", 0}};
    ra_apply(t, both, 2);
    ra_assert_manager(t, "00uQR", "00uQM:true");
    ra_one(t, "00uQR", "active", rep);
    QUIET();
    /* the primary membership removed on the platform's side */
    ra_sql("DELETE FROM team_members WHERE tenant_id = $1::uuid AND user_id = (SELECT id FROM "
           "users WHERE tenant_id = $1::uuid AND okta_id = '00uQR')",
           t);
    r = ra_one(t, "00uQR", "active", rep);
    OKS_ASSERT_EQ_INT(r.rules_run, 1);
    ra_assert_teams(t, "00uQR", "Eng:true:okta_department");
    QUIET();
    /* an admin team made primary instead: demoted, the department's team primary again */
    ra_sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Guild', 'admin')", t);
    ra_sql("UPDATE team_members SET is_primary = false WHERE tenant_id = $1::uuid", t);
    add_membership(t, "00uQR", "Guild", "admin", true);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", rep).rules_run, 1);
    ra_assert_teams(t, "00uQR", "Eng:true:okta_department,Guild:false:admin");
    QUIET();
    /* a department membership of another team: removed */
    ra_sql("INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Old', "
           "'okta_department')",
           t);
    add_membership(t, "00uQR", "Old", "okta_department", false);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", rep).memberships, 1);
    ra_assert_teams(t, "00uQR", "Eng:true:okta_department,Guild:false:admin");
    QUIET();
    /* the department emptied: left; quiet again without one */
    const char *nodep = "{\"email\":\"qr@x.test\",\"department\":\"\",\"managerId\":\"00uQB\"}";
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", nodep).memberships, 1);
    ra_assert_teams(t, "00uQR", "Guild:false:admin");
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", nodep).rules_run, 0);
    assert_rules_idle(t, "00uQR", "00uQB");
    add_membership(t, "00uQR", "Old", "okta_department", false);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "active", nodep).memberships, 1);
    ra_assert_teams(t, "00uQR", "Guild:false:admin");
    /* deleted: leaves every team once */
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "deleted", NULL).memberships, 1);
    ra_assert_teams(t, "00uQR", NULL);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "deleted", NULL).rules_run, 0);
    add_membership(t, "00uQR", "Guild", "admin", false);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQR", "deleted", NULL).memberships, 1);
    ra_assert_teams(t, "00uQR", NULL);
    /* Another match mode asks on every read (a login or email can move to a lower-id user, whom
     * the rule names then). Here the tenant switches to employee numbers: the same reference
     * now names the user with that employee number, though a user with that okta id exists. */
    const char *by_id = "{\"email\":\"qo@x.test\",\"managerId\":\"00uQB\"}";
    ra_one(t, "00uQO", "active", by_id);
    ra_assert_manager(t, "00uQO", "00uQB:true");
    ra_one(t, "00uQN", "active", "{\"email\":\"qn@x.test\",\"employeeNumber\":\"00uQB\"}");
    ra_sql("UPDATE tenants SET manager_match = 'employee_number' WHERE id = $1::uuid", t);
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQO", "active", by_id).managers, 1);
    ra_assert_manager(t, "00uQO", "00uQN:true");
    OKS_ASSERT_EQ_INT(ra_one(t, "00uQO", "active", by_id).rules_run, 1);
#undef QUIET
    free(t);
}

int main(int argc, char **argv)
{
    int rc = oks_test_main(argc, argv);
    ra_close();
    return rc;
}
