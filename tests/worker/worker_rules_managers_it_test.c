/* The manager rules (docs/rules.md "Managers") and team mode in the batch apply path, against
 * PostgreSQL, as worker_rules_it_test.c: resolution and match modes, pending references,
 * cycles, the manager set by the insert, first-member team managers under concurrency. */
#include "oks_test.h"
#include "oks_worker_apply_managers.h"
#include "oks_worker_group_teams.h"
#include "rapply.h"
#include "wtest.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------------------------- managers */

OKS_TEST(manager_resolved_and_missing_clears_override)
{
    char *t = ra_tenant();
    ra_row rs[] = {{"00uB1", "active", "{\"email\":\"boss@x.test\"}", 0},
                   {"00uE1", "active", "{\"email\":\"e@x.test\",\"managerId\":\"00uB1\"}", 0}};
    ra_apply(t, rs, 2);
    ra_assert_manager(t, "00uE1", "00uB1:true");
    ra_one(t, "00uE1", "active", "{\"email\":\"e@x.test\",\"managerId\":null}");
    ra_assert_manager(t, "00uE1", NULL);
    ra_assert_col(t, "00uE1", "override_manager", "f");
    /* match by email, case-insensitively */
    ra_sql("UPDATE tenants SET manager_attribute = 'managerEmail', manager_match = 'email' WHERE "
           "id = $1::uuid",
           t);
    ra_one(t, "00uE1", "active", "{\"email\":\"e@x.test\",\"managerEmail\":\"BOSS@x.test\"}");
    ra_assert_manager(t, "00uE1", "00uB1:true");
    free(t);
}

/* Okta decides: a manager link changed on the platform's side (manager_user_id only, the raw
 * reference untouched) is put back by the next read of the report. */
OKS_TEST(manager_changed_outside_okta_is_put_back_on_the_next_read)
{
    char *t = ra_tenant();
    ra_one(t, "00uPB", "active", "{\"email\":\"pb@x.test\"}");
    ra_one(t, "00uPO", "active", "{\"email\":\"po@x.test\"}");
    const char *rep = "{\"email\":\"pr@x.test\",\"managerId\":\"00uPB\"}";
    ra_one(t, "00uPR", "active", rep);
    ra_assert_manager(t, "00uPR", "00uPB:true");
    ra_sql("UPDATE users SET manager_user_id = (SELECT id FROM users WHERE tenant_id = $1::uuid "
           "AND okta_id = '00uPO') WHERE tenant_id = $1::uuid AND okta_id = '00uPR'",
           t);
    ra_assert_manager(t, "00uPR", "00uPO:true");
    oks_worker_apply_result res = ra_one(t, "00uPR", "active", rep);
    OKS_ASSERT_EQ_INT(res.managers, 1);
    ra_assert_manager(t, "00uPR", "00uPB:true");
    free(t);
}

OKS_TEST(manager_after_report_event_order_and_full_sync_pass)
{
    char *t = ra_tenant();
    ra_one(t, "00uR1", "active", "{\"email\":\"r@x.test\",\"managerId\":\"00uL1\"}");
    ra_assert_manager(t, "00uR1", NULL);
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM pending_manager_refs WHERE tenant_id = $1::uuid "
                             "AND user_okta_id = '00uR1' AND manager_ref = '00uL1'",
                             t, NULL),
                      1);
    ra_one(t, "00uL1", "active", "{\"email\":\"l@x.test\"}"); /* the manager arrives */
    ra_assert_manager(t, "00uR1", "00uL1:true");
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM pending_manager_refs WHERE tenant_id = $1::uuid", t, NULL), 0);
    /* a reference that never arrives stays pending; the full sync's pass resolves what it can */
    ra_one(t, "00uR2", "active", "{\"email\":\"r2@x.test\",\"managerId\":\"00uNever\"}");
    ra_sql("INSERT INTO pending_manager_refs (tenant_id, user_okta_id, manager_ref) VALUES "
           "($1::uuid, '00uR1', '00uL1') ON CONFLICT DO NOTHING",
           t);
    ra_sql("UPDATE users SET manager_user_id = NULL, override_manager = false WHERE tenant_id = "
           "$1::uuid AND okta_id = '00uR1'",
           t);
    long resolved = -1;
    oks_err err = {0};
    OKS_ASSERT(oks_worker_managers_resolve_pending(ra_conn(), t, &resolved, &err) == 0);
    OKS_ASSERT_EQ_INT(resolved, 1);
    ra_assert_manager(t, "00uR1", "00uL1:true");
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM pending_manager_refs WHERE tenant_id = $1::uuid", t, NULL), 1);
    /* full-sync page order: report and manager in one page, report first */
    ra_row page[] = {{"00uR3", "active", "{\"email\":\"r3@x.test\",\"managerId\":\"00uL3\"}", 0},
                     {"00uL3", "active", "{\"email\":\"l3@x.test\"}", 0}};
    ra_apply_on(ra_conn(), t, page, 2, "full_sync", 0);
    ra_assert_manager(t, "00uR3", "00uL3:true");
    free(t);
}

OKS_TEST(manager_cycles_of_two_and_three_refused)
{
    char *t = ra_tenant();
    ra_one(t, "00uA", "active", "{\"email\":\"a@x.test\",\"managerId\":\"00uB\"}");
    ra_one(t, "00uB", "active", "{\"email\":\"b@x.test\",\"managerId\":\"00uA\"}");
    ra_assert_manager(t, "00uA", "00uB:true");
    ra_assert_manager(t, "00uB", NULL); /* the closing edge */
    ra_assert_col(t, "00uB", "override_manager", "f");
    /* length 3: P -> Q -> R, then R -> P closes it */
    ra_one(t, "00uP", "active", "{\"email\":\"p@x.test\",\"managerId\":\"00uQ\"}");
    ra_one(t, "00uQ", "active", "{\"email\":\"q@x.test\",\"managerId\":\"00uR\"}");
    oks_worker_apply_result res =
        ra_one(t, "00uR", "active", "{\"email\":\"r@x.test\",\"managerId\":\"00uP\"}");
    OKS_ASSERT_EQ_INT(res.cycles_refused, 1);
    ra_assert_manager(t, "00uP", "00uQ:true");
    ra_assert_manager(t, "00uQ", "00uR:true");
    ra_assert_manager(t, "00uR", NULL);
    /* a whole 3-cycle in one page: exactly one edge (the latest read) refused */
    ra_row page[] = {{"00uX", "active", "{\"email\":\"x@x.test\",\"managerId\":\"00uY\"}", 0},
                     {"00uY", "active", "{\"email\":\"y@x.test\",\"managerId\":\"00uZ\"}", 0},
                     {"00uZ", "active", "{\"email\":\"z@x.test\",\"managerId\":\"00uX\"}", 0}};
    ra_apply_on(ra_conn(), t, page, 3, "full_sync", 0);
    res =
        ra_apply_on(ra_conn(), t, page, 3, "full_sync", 0); /* again: still one refused, no loop */
    OKS_ASSERT_EQ_INT(res.cycles_refused, 1);
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND okta_id IN "
                             "('00uX','00uY','00uZ') AND manager_user_id IS NOT NULL",
                             t, NULL),
                      2);
    ra_assert_manager(t, "00uZ", NULL);
    /* self-reference: never an edge */
    ra_one(t, "00uS", "active", "{\"email\":\"s@x.test\",\"managerId\":\"00uS\"}");
    ra_assert_manager(t, "00uS", NULL);
    free(t);
}

/* 1 when the report's create audit row already names mgr as its manager (set by the insert) */
static long created_with_manager(const char *t, const char *report, const char *mgr)
{
    char q[400];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM audit_log a JOIN users m ON m.okta_id = '%s' AND m.tenant_id "
             "= a.tenant_id WHERE a.tenant_id = $1::uuid AND a.entity = 'user' AND a.entity_id "
             "= $2 AND a.action = 'create' AND (a.after->>'manager_user_id')::bigint = m.id",
             mgr);
    return ra_num(q, t, report);
}

/* A new user whose manager is stored, or new in the same batch, gets it from its own insert
 * (the user's create audit row already names the manager) with the one 'set' audit row the rule
 * writes; a user some edge can reach (a pending reference, another row of the batch) is left to the
 * rule, whose cycle check then refuses the documented edge: the latest-read subject's (Okta's Date,
 * then okta_id). */
OKS_TEST(manager_set_by_the_insert_only_when_no_edge_can_reach_the_user)
{
    char *t = ra_tenant();
    ra_one(t, "00uM", "active", "{\"email\":\"m@x.test\"}");
    oks_worker_apply_result res =
        ra_one(t, "00uN", "active", "{\"email\":\"n@x.test\",\"managerId\":\"00uM\"}");
    OKS_ASSERT_EQ_INT(res.managers, 1);
    ra_assert_manager(t, "00uN", "00uM:true");
    OKS_ASSERT_EQ_INT(created_with_manager(t, "00uN", "00uM"), 1);
    /* a manager new in the same page, after its report: set by the same insert */
    ra_row pair[] = {{"00uK", "active", "{\"email\":\"k@x.test\",\"managerId\":\"00uL\"}", 0},
                     {"00uL", "active", "{\"email\":\"l@x.test\"}", 0}};
    res = ra_apply_on(ra_conn(), t, pair, 2, "full_sync", 0);
    OKS_ASSERT_EQ_INT(res.managers, 1);
    ra_assert_manager(t, "00uK", "00uL:true");
    OKS_ASSERT_EQ_INT(created_with_manager(t, "00uK", "00uL"), 1);
    OKS_ASSERT_EQ_INT(
        ra_num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
               "'manager' AND entity_id = $2 AND action = 'set' AND before = "
               "'{\"manager_ref\": null, \"manager_user_id\": null, "
               "\"override_manager\": false}' AND after->>'manager_ref' = '00uM' AND "
               "(after->>'override_manager')::boolean",
               t, "00uN"),
        1);
    /* M waits for Q (pending); one page brings Q (manager R) and R (manager M): the cycle
     * R -> M -> Q -> R is all new edges, and the latest read, R (same Date, higher okta_id),
     * loses its edge. Set by the insert, R -> M would have been stored and Q's edge refused. */
    ra_one(t, "00uM", "active", "{\"email\":\"m@x.test\",\"managerId\":\"00uQ\"}");
    ra_row page[] = {{"00uQ", "active", "{\"email\":\"q@x.test\",\"managerId\":\"00uR\"}", 0},
                     {"00uR", "active", "{\"email\":\"r@x.test\",\"managerId\":\"00uM\"}", 0}};
    page[0].as_of = page[1].as_of = ra_tick();
    res = ra_apply_on(ra_conn(), t, page, 2, "full_sync", 0);
    OKS_ASSERT_EQ_INT(res.cycles_refused, 1);
    ra_assert_manager(t, "00uR", NULL);
    ra_assert_manager(t, "00uQ", "00uR:true");
    ra_assert_manager(t, "00uM", "00uQ:true");
    OKS_ASSERT_EQ_INT(created_with_manager(t, "00uR", "00uM"), 0);
    /* email match mode, case-insensitive, manager new in the same page */
    ra_sql("UPDATE tenants SET manager_attribute = 'managerEmail', manager_match = 'email' WHERE "
           "id = $1::uuid",
           t);
    ra_row by_mail[] = {
        {"00uE2", "active", "{\"email\":\"e2@x.test\",\"managerEmail\":\"BOSS2@x.test\"}", 0},
        {"00uB2", "active", "{\"email\":\"boss2@X.test\"}", 0}};
    res = ra_apply_on(ra_conn(), t, by_mail, 2, "full_sync", 0);
    OKS_ASSERT_EQ_INT(res.managers, 1);
    ra_assert_manager(t, "00uE2", "00uB2:true");
    OKS_ASSERT_EQ_INT(created_with_manager(t, "00uE2", "00uB2"), 1);
    free(t);
}

/* Two transactions, each on its own connection, released together by a barrier, each applying
 * one user: the batch apply (what = the profile) or the group teams (what = the group id). */
typedef int (*race_apply)(oks_db *d, const char *tenant, const char *id, const char *what,
                          oks_err *err);

typedef struct racer {
    const char *tenant;
    const char *id;
    const char *what;
    race_apply apply;
    pthread_barrier_t *bar;
    int rc;
} racer;

static int apply_profile(oks_db *d, const char *tenant, const char *id, const char *profile,
                         oks_err *err)
{
    oks_okta_user u = {.id = (char *)id, .profile = json_loads(profile, 0, NULL)};
    oks_worker_state st = {
        .okta_id = id, .status = "active", .user = &u, .app_assigned = 1, .as_of_ms = 1000};
    oks_worker_apply_result res;
    int rc = oks_worker_apply_batch_run_tx(d, tenant, &st, 1, "event", "t", 0, &res, err);
    json_decref(u.profile);
    return rc;
}

static int apply_group(oks_db *d, const char *tenant, const char *id, const char *group,
                       oks_err *err)
{
    const char *g[] = {group};
    oks_worker_user_groups ug = {id, g, 1};
    long ch = 0;
    return oks_worker_group_teams_apply_tx(d, tenant, &ug, 1, "event", "t", 0, &ch, err);
}

static void *race(void *arg)
{
    racer *r = arg;
    oks_err err = {0};
    oks_db_opts o = {.url = ra_db_url(), .connect_timeout_s = 5, .statement_timeout_ms = 20000};
    oks_db *d = oks_db_connect(&o, &err);
    pthread_barrier_wait(r->bar); /* also when the connect failed: the other one waits here */
    r->rc = d && oks_db_begin(d, &err) == 0 && r->apply(d, r->tenant, r->id, r->what, &err) == 0 &&
                    oks_db_commit(d, &err) == 0
                ? 0
                : -1;
    oks_db_close(d);
    return NULL;
}

static void race_two(const char *t, race_apply apply, const char *a, const char *what_a,
                     const char *b, const char *what_b)
{
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    racer r1 = {t, a, what_a, apply, &bar, 0}, r2 = {t, b, what_b, apply, &bar, 0};
    pthread_t th1, th2;
    pthread_create(&th1, NULL, race, &r1);
    pthread_create(&th2, NULL, race, &r2);
    pthread_join(th1, NULL);
    pthread_join(th2, NULL);
    pthread_barrier_destroy(&bar);
    OKS_ASSERT_EQ_INT(r1.rc, 0);
    OKS_ASSERT_EQ_INT(r2.rc, 0);
}

OKS_TEST(team_mode_first_member_sets_manager_concurrently_once)
{
    char *t = ra_tenant();
    ra_sql("UPDATE tenants SET manager_mode = 'team' WHERE id = $1::uuid", t);
    ra_row bosses[] = {{"00uM1", "active", "{\"email\":\"m1@x.test\"}", 0},
                       {"00uM2", "active", "{\"email\":\"m2@x.test\"}", 0}};
    ra_apply(t, bosses, 2);
    /* two transactions add the first members of the new team "Ops" at once */
    for (int round = 0; round < 5; round++) {
        char dep[32], p1[160], p2[160], a[16], b[16];
        snprintf(dep, sizeof dep, "Ops%d", round);
        snprintf(a, sizeof a, "00uTa%d", round);
        snprintf(b, sizeof b, "00uTb%d", round);
        snprintf(p1, sizeof p1, "{\"department\":\"%s\",\"managerId\":\"00uM1\"}", dep);
        snprintf(p2, sizeof p2, "{\"department\":\"%s\",\"managerId\":\"00uM2\"}", dep);
        race_two(t, apply_profile, a, p1, b, p2);
        char *m = ra_val("SELECT u.okta_id || ':' || t.manager_source FROM teams t JOIN users u ON "
                         "u.id = t.manager_user_id WHERE t.tenant_id = $1::uuid AND t.name = $2",
                         t, dep);
        OKS_ASSERT(m != NULL);
        OKS_ASSERT(strcmp(m, "00uM1:first_member") == 0 || strcmp(m, "00uM2:first_member") == 0);
        free(m);
        OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND "
                                 "entity = 'team' AND action = 'set_manager' AND entity_id = $2",
                                 t, dep),
                          1);
    }
    /* later members do not change it; an admin-set manager is never overwritten */
    ra_sql("INSERT INTO teams (tenant_id, name, source, manager_user_id, manager_source) SELECT "
           "$1::uuid, 'Adm', 'admin', id, 'admin' FROM users WHERE tenant_id = $1::uuid AND "
           "okta_id = '00uM2'",
           t);
    ra_one(t, "00uTc", "active", "{\"department\":\"Ops0\",\"managerId\":\"00uM2\"}");
    ra_one(t, "00uTd", "active", "{\"department\":\"adm\",\"managerId\":\"00uM1\"}");
    char *m = ra_val("SELECT u.okta_id FROM teams t JOIN users u ON u.id = t.manager_user_id WHERE "
                     "t.tenant_id = $1::uuid AND t.name = $2",
                     t, "Adm");
    OKS_ASSERT_EQ_STR(m, "00uM2");
    free(m);
    /* individual mode: no team manager is set */
    char *t2 = ra_tenant();
    ra_one(t2, "00uM1", "active", "{\"email\":\"m1@x.test\"}");
    ra_one(t2, "00uI1", "active", "{\"department\":\"Solo\",\"managerId\":\"00uM1\"}");
    OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM teams WHERE tenant_id = $1::uuid AND "
                             "manager_user_id IS NOT NULL",
                             t2, NULL),
                      0);
    free(t2);
    free(t);
}

static void group_team(const char *t, const char *name, const char *gid)
{
    const char *p[] = {t, name, gid};
    free(wt_scalar(ra_conn(),
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
    OKS_ASSERT(oks_db_begin(ra_conn(), &err) == 0);
    if (oks_worker_group_teams_apply_tx(ra_conn(), t, &ug, 1, "event", "t", 0, &ch, &err) != 0)
        oks_test_fail(__FILE__, __LINE__, "group teams: %s", err.msg);
    OKS_ASSERT(oks_db_commit(ra_conn(), &err) == 0);
}

static char *team_manager(const char *t, const char *team)
{
    return ra_val("SELECT coalesce(u.okta_id, '-') || ':' || coalesce(x.manager_source, '-') FROM "
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
    char *t = ra_tenant();
    ra_sql("UPDATE tenants SET manager_mode = 'team' WHERE id = $1::uuid", t);
    ra_row people[] = {
        {"00uGM1", "active", "{\"email\":\"gm1@x.test\"}", 0},
        {"00uGM2", "active", "{\"email\":\"gm2@x.test\"}", 0},
        {"00uGN", "active", "{\"email\":\"gn@x.test\"}", 0}, /* no manager */
        {"00uGL", "active", "{\"email\":\"gl@x.test\",\"managerId\":\"00uGM2\"}", 0},
        {"00uGA", "active", "{\"email\":\"ga@x.test\",\"managerId\":\"00uGM1\"}", 0}};
    ra_apply(t, people, 5);
    for (int round = 0; round < 5; round++) {
        char team[32], gid[32], a[16], b[16], pa[96], pb[96];
        snprintf(team, sizeof team, "Guild%d", round);
        snprintf(gid, sizeof gid, "00gGuild%d", round);
        snprintf(a, sizeof a, "00uGa%d", round);
        snprintf(b, sizeof b, "00uGb%d", round);
        snprintf(pa, sizeof pa, "{\"email\":\"a%d@x.test\",\"managerId\":\"00uGM1\"}", round);
        snprintf(pb, sizeof pb, "{\"email\":\"b%d@x.test\",\"managerId\":\"00uGM2\"}", round);
        ra_row two[] = {{a, "active", pa, 0}, {b, "active", pb, 0}};
        ra_apply(t, two, 2);
        group_team(t, team, gid);
        race_two(t, apply_group, a, gid, b, gid);
        char *m = team_manager(t, team);
        OKS_ASSERT(m != NULL);
        OKS_ASSERT(strcmp(m, "00uGM1:first_member") == 0 || strcmp(m, "00uGM2:first_member") == 0);
        free(m);
        OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND "
                                 "entity = 'team' AND action = 'set_manager' AND entity_id = $2",
                                 t, team),
                          1);
        OKS_ASSERT_EQ_INT(ra_num("SELECT count(*) FROM team_members m JOIN teams x ON x.id = "
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
    ra_sql("INSERT INTO teams (tenant_id, name, source, manager_user_id, manager_source) SELECT "
           "$1::uuid, 'Board', 'admin', id, 'admin' FROM users WHERE tenant_id = $1::uuid AND "
           "okta_id = '00uGM2'",
           t);
    ra_sql("INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) SELECT $1::uuid, "
           "'00gBoard', id FROM teams WHERE tenant_id = $1::uuid AND name = 'Board'",
           t);
    join_groups(t, "00uGA", "00gBoard");
    ASSERT_TEAM_MANAGER(t, "Board", "00uGM2:admin");
    /* individual mode: no team manager from groups */
    char *t2 = ra_tenant();
    ra_row solo[] = {{"00uGM1", "active", "{\"email\":\"gm1@x.test\"}", 0},
                     {"00uGI", "active", "{\"email\":\"gi@x.test\",\"managerId\":\"00uGM1\"}", 0}};
    ra_apply(t2, solo, 2);
    group_team(t2, "Solo", "00gSolo");
    join_groups(t2, "00uGI", "00gSolo");
    ASSERT_TEAM_MANAGER(t2, "Solo", "-:-");
    free(t2);
    free(t);
}

int main(int argc, char **argv)
{
    int rc = oks_test_main(argc, argv);
    ra_close();
    return rc;
}
