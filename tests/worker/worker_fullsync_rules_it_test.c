/*
 * The product's rules under a full sync (docs/rules.md), against PostgreSQL, the dev broker and
 * the Okta simulator with the reconciler threads in process: a full sync racing live events
 * converges to Okta's statuses, primary teams and managers; the end of a run applies group
 * teams and resolves pending managers; a deactivated or deleted manager stays referenced.
 */
#include "fsfixture.h"
#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Changes made in Okta while the full sync runs (marked dirty as the intake would) end in the
 * simulator's end state: statuses, and the rules' primary teams and managers (issue 10's "a
 * full sync racing events"). */
OKS_TEST(full_sync_racing_live_events_converges_to_okta)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 3000);
    OKS_ASSERT(rsim_post(&s, "faults", "{\"latency_ms\":100}") == 200);
    f.cfg.full_sync_pages_per_turn = 1;
    json_t *st0 = fs_sim_state(&s);
    long run = fs_request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    fs_wait_pages(&f, run, 1, 30000);
    /* change users spread over the listing, early and late pages alike */
    json_t *users = json_object_get(st0, "users");
    size_t n = json_array_size(users), changed = 0;
    /* a new manager without a manager of its own cannot close a cycle */
    const char *root = NULL;
    for (size_t i = 0; i < n && !root; i++) {
        json_t *u = json_array_get(users, i);
        if (json_is_true(json_object_get(u, "assigned")) &&
            !json_is_string(json_object_get(json_object_get(u, "profile"), "managerId")))
            root = json_string_value(json_object_get(u, "id"));
    }
    OKS_ASSERT(root != NULL);
    char manager_body[96];
    snprintf(manager_body, sizeof manager_body, "{\"managerId\":\"%s\"}", root);
    for (size_t i = 0; i < n; i += n / 40) {
        json_t *u = json_array_get(users, i);
        const char *id = json_string_value(json_object_get(u, "id"));
        if (!json_is_true(json_object_get(u, "assigned")) || strcmp(id, root) == 0)
            continue;
        char path[160];
        /* lifecycle, assignment, department (a primary team move) and manager changes */
        static const char *const ops[] = {"deactivate", "unassign", "profile", "profile"};
        static const char *const bodies[] = {
            NULL, NULL, "{\"title\":\"Raced\",\"department\":\"Raced Dept\"}", NULL};
        size_t k = changed % 4;
        snprintf(path, sizeof path, "users/%s/%s", id, ops[k]);
        long code = rsim_post(&s, path, k == 3 ? manager_body : bodies[k]);
        if (code == 200) {
            rfx_mark(&f, t, id, 1, k < 2, NULL);
            changed++;
        }
    }
    OKS_ASSERT(changed >= 20);
    char *done = fs_wait_end(&f, run, 60000);
    OKS_ASSERT_EQ_STR(done, "succeeded");
    free(done);
    OKS_ASSERT(rfx_wait_clean(&f, t, 30000));
    rfx_stop(&f);
    json_t *end = fs_sim_state(&s);
    size_t i;
    json_t *u;
    long checked = 0;
    json_array_foreach(json_object_get(end, "users"), i, u)
    {
        const char *id = json_string_value(json_object_get(u, "id"));
        const char *want = fs_want_status(u);
        char *got = rfx_q(
            &f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, id);
        if (!got) { /* never stored: only users never active on the app */
            OKS_ASSERT(strcmp(want, "active") != 0);
            continue;
        }
        if (strcmp(got, want) != 0)
            oks_test_fail(__FILE__, __LINE__, "user %s: %s, Okta expects %s", id, got, want);
        free(got);
        checked++;
    }
    OKS_ASSERT(checked > 1000);
    /* the rules converge too: primary team = Okta's department, manager = Okta's managerId */
    long teams_checked = 0, managers_checked = 0;
    json_array_foreach(json_object_get(end, "users"), i, u)
    {
        const char *id = json_string_value(json_object_get(u, "id"));
        if (strcmp(fs_want_status(u), "active") != 0 ||
            !json_is_true(json_object_get(u, "assigned")))
            continue;
        json_t *prof = json_object_get(u, "profile");
        const char *dep = json_string_value(json_object_get(prof, "department"));
        char *team = rfx_q(&f,
                           "SELECT lower(t.name) FROM users u JOIN team_members m ON m.user_id = "
                           "u.id AND m.is_primary JOIN teams t ON t.id = m.team_id WHERE "
                           "u.tenant_id = $1::uuid AND u.okta_id = $2",
                           t, id);
        if (dep && *dep) {
            char want[128];
            size_t k = 0;
            for (const char *c = dep; *c && k + 1 < sizeof want; c++)
                want[k++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            want[k] = '\0';
            if (!team || strcmp(team, want) != 0)
                oks_test_fail(__FILE__, __LINE__, "user %s: primary team %s, Okta department %s",
                              id, team ? team : "(none)", dep);
            teams_checked++;
        }
        free(team);
        const char *mid = json_string_value(json_object_get(prof, "managerId"));
        char *mgr =
            rfx_q(&f,
                  "SELECT coalesce(m.okta_id, '-') || ':' || u.override_manager FROM users u "
                  "LEFT JOIN users m ON m.id = u.manager_user_id WHERE u.tenant_id = "
                  "$1::uuid AND u.okta_id = $2",
                  t, id);
        char *stored_mgr =
            mid ? rfx_q(&f, "SELECT okta_id FROM users WHERE tenant_id = $1::uuid AND okta_id = $2",
                        t, mid)
                : NULL;
        if (!mid || stored_mgr) {
            char want[64];
            snprintf(want, sizeof want, "%s:%s", mid ? mid : "-", mid ? "true" : "false");
            if (!mgr || strcmp(mgr, want) != 0)
                oks_test_fail(__FILE__, __LINE__, "user %s: manager %s, Okta says %s", id,
                              mgr ? mgr : "(none)", want);
            managers_checked += mid != NULL;
        }
        free(stored_mgr);
        free(mgr);
    }
    OKS_ASSERT(teams_checked > 1000);
    OKS_ASSERT(managers_checked > 1000);
    json_decref(end);
    json_decref(st0);
    rfx_close(&s, &f, t);
}

/* Members of a group listed through the API (the simulator's token). */
static json_t *group_members(rsim *s, const char *gid)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/api/v1/groups/%s/users?limit=1000", s->url, gid);
    OKS_ASSERT_EQ_INT(wt_http_hdr("GET", url, "Authorization: SSWS " RFX_TOKEN, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(json_is_array(j));
    return j;
}

/* At the end of the listing: members of the mapped groups get the groups' teams (only users the
 * run saw; never the built-in Everyone group's), and manager references to users listed on
 * later pages are resolved. */
OKS_TEST(end_of_run_applies_group_teams_and_resolves_pending_managers)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 1500);
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/info", s.url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *info = json_loads(body, 0, NULL);
    free(body);
    const char *gid = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(info, "groups"), i, g)
    {
        const char *type = json_string_value(json_object_get(g, "type"));
        if (!type || strcmp(type, "BUILT_IN") != 0) {
            gid = json_string_value(json_object_get(g, "id"));
            break;
        }
    }
    OKS_ASSERT(gid != NULL);
    fs_exec_sql(
        &f, "INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'Guild', 'okta_group')",
        t, NULL);
    fs_exec_sql(&f,
                "INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) "
                "SELECT $1::uuid, $2, id FROM teams WHERE tenant_id = $1::uuid AND name = 'Guild'",
                t, gid);
    /* Everyone mapped by mistake: ignored, as on the event path */
    fs_exec_sql(
        &f, "INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, 'All', 'okta_group')", t,
        NULL);
    fs_exec_sql(&f,
                "INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) "
                "SELECT $1::uuid, $2, id FROM teams WHERE tenant_id = $1::uuid AND name = 'All'",
                t, json_string_value(json_object_get(info, "everyone_group_id")));
    long run = fs_request(&f, t, "2026-12-01T03:00:00Z");
    rfx_start(&f);
    char *st = fs_wait_end(&f, run, 30000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    rfx_stop(&f);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM team_members tm JOIN teams x ON x.id = "
                                 "tm.team_id WHERE x.tenant_id = $1::uuid AND x.name = 'All'",
                                 t),
                      0);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run, "errors"), 0);
    /* expected: members of the group that the app assigns (the run saw them) */
    json_t *state = fs_sim_state(&s), *mem = group_members(&s, gid);
    long want = 0;
    json_t *m;
    json_array_foreach(mem, i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        size_t k;
        json_t *u;
        json_array_foreach(json_object_get(state, "users"), k, u)
        {
            if (strcmp(json_string_value(json_object_get(u, "id")), id) == 0 &&
                json_is_true(json_object_get(u, "assigned")))
                want++;
        }
    }
    OKS_ASSERT(want > 0);
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM team_members tm JOIN teams x ON x.id = "
                                 "tm.team_id WHERE x.tenant_id = $1::uuid AND x.name = 'Guild' "
                                 "AND tm.source = 'okta_group'",
                                 t),
                      want);
    /* no reference is left pending whose manager the run stored */
    OKS_ASSERT_EQ_INT(fs_count_q(&f,
                                 "SELECT count(*) FROM pending_manager_refs p JOIN users u ON "
                                 "u.tenant_id = p.tenant_id AND u.okta_id = p.manager_ref "
                                 "WHERE p.tenant_id = $1::uuid AND u.status = 'active'",
                                 t),
                      0);
    OKS_ASSERT(fs_count_q(&f,
                          "SELECT count(*) FROM users WHERE tenant_id = $1::uuid "
                          "AND manager_user_id IS NOT NULL",
                          t) > 100);
    OKS_ASSERT(fs_run_num(&f, run, "okta_calls") >= fs_run_num(&f, run, "pages") + 1);
    json_decref(mem);
    json_decref(state);
    json_decref(info);
    rfx_close(&s, &f, t);
}

static char *manager_of(rfx *f, const char *t, const char *report)
{
    return rfx_q(f,
                 "SELECT m.okta_id || ':' || m.status || ':' || r.override_manager FROM users r "
                 "JOIN users m ON m.id = r.manager_user_id WHERE r.tenant_id = $1::uuid AND "
                 "r.okta_id = $2",
                 t, report);
}

static void assert_manager(rfx *f, const char *t, const char *report, const char *mgr,
                           const char *status)
{
    char want[200], *got = manager_of(f, t, report);
    snprintf(want, sizeof want, "%s:%s:true", mgr, status);
    if (!got || strcmp(got, want) != 0)
        oks_test_fail(__FILE__, __LINE__, "manager of %s: '%s', want '%s'", report,
                      got ? got : "(none)", want);
    free(got);
    /* the one manager audit row is the first full sync's 'set': nothing changed since */
    OKS_ASSERT_EQ_INT(rfx_count(f,
                                "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND "
                                "entity = 'manager' AND entity_id = $2",
                                t, report),
                      1);
}

/* "A manager who is deactivated or deleted stays referenced (Okta decides)": Okta keeps the
 * report's managerId, so the report keeps manager_user_id and override_manager = true whether
 * the manager's row is deactivated or deleted by an event, or deactivated by a full sync (which
 * sees a deleted user as gone from the listing); the report re-read by an event or listed by
 * the full sync changes nothing. */
OKS_TEST(a_deactivated_or_deleted_manager_stays_referenced)
{
    rsim s;
    rfx f;
    char *t = fs_open(&s, &f, 300);
    fs_first_sync(&f, t, 30000);
    /* four active managers, each with an active report who manages nobody */
    char *pairs = rfx_q(&f,
                        "SELECT string_agg(mo || ',' || ro, ';') FROM (SELECT DISTINCT ON (m.id) "
                        "m.okta_id AS mo, r.okta_id AS ro FROM users r JOIN users m ON m.id = "
                        "r.manager_user_id WHERE r.tenant_id = $1::uuid AND r.status = 'active' "
                        "AND m.status = 'active' AND r.override_manager AND NOT EXISTS (SELECT 1 "
                        "FROM users x WHERE x.manager_user_id = r.id) ORDER BY m.id, r.id "
                        "LIMIT 4) q",
                        t, NULL);
    OKS_ASSERT(pairs != NULL);
    char mgr[4][64], rep[4][64];
    int n = 0;
    for (char *save = NULL, *p = strtok_r(pairs, ";", &save); p && n < 4;
         p = strtok_r(NULL, ";", &save), n++)
        OKS_ASSERT(sscanf(p, "%63[^,],%63s", mgr[n], rep[n]) == 2);
    OKS_ASSERT_EQ_INT(n, 4);
    free(pairs);
    char path[160];

    /* by events: M0 deactivated, M1 deleted; both reports re-read */
    snprintf(path, sizeof path, "users/%s/deactivate", mgr[0]);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
    snprintf(path, sizeof path, "DELETE users/%s", mgr[1]);
    OKS_ASSERT(rsim_post(&s, path, NULL) / 100 == 2);
    rfx_mark_event(&f, t, mgr[0], "user.lifecycle.deactivate");
    rfx_mark_event(&f, t, mgr[1], "user.lifecycle.delete.initiated");
    rfx_mark_event(&f, t, rep[0], "user.account.update_profile");
    rfx_mark_event(&f, t, rep[1], "user.account.update_profile");
    OKS_ASSERT(rfx_wait_clean(&f, t, 15000));
    assert_manager(&f, t, rep[0], mgr[0], "deactivated");
    assert_manager(&f, t, rep[1], mgr[1], "deleted");

    /* by a full sync: M2 deactivated, M3 deleted in Okta, no event; the next run lists
     * neither and deactivates both; their reports are listed again */
    snprintf(path, sizeof path, "users/%s/deactivate", mgr[2]);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
    snprintf(path, sizeof path, "DELETE users/%s", mgr[3]);
    OKS_ASSERT(rsim_post(&s, path, NULL) / 100 == 2);
    long run2 = fs_request(&f, t, "2026-12-02T03:00:00Z");
    char *st = fs_wait_end(&f, run2, 30000);
    OKS_ASSERT_EQ_STR(st, "succeeded");
    free(st);
    OKS_ASSERT_EQ_INT(fs_run_num(&f, run2, "users_deactivated"), 2);
    for (int i = 0; i < 4; i++) {
        OKS_ASSERT_EQ_INT(rfx_count(&f,
                                    "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND "
                                    "okta_id = $2 AND last_seen_run_id IS NOT NULL",
                                    t, rep[i]),
                          1);
    }
    assert_manager(&f, t, rep[2], mgr[2], "deactivated");
    assert_manager(&f, t, rep[3], mgr[3], "deactivated");
    assert_manager(&f, t, rep[0], mgr[0], "deactivated");
    assert_manager(&f, t, rep[1], mgr[1], "deleted");
    for (int i = 0; i < 4; i++) /* resolved, not waiting for a manager to "arrive" */
        OKS_ASSERT_EQ_INT(rfx_count(&f,
                                    "SELECT count(*) FROM pending_manager_refs WHERE tenant_id = "
                                    "$1::uuid AND user_okta_id = $2",
                                    t, rep[i]),
                          0);
    rfx_close(&s, &f, t);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
