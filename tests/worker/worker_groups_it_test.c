/*
 * Group → team on the event path (docs/rules.md "Teams", docs/worker-reconcile.md "Reads"): the
 * reconciler in process against PostgreSQL and the Okta simulator. Marks are the ones the intake
 * writes for each event type (rfx_mark_event, flags from oks_worker_mark_for); the simulator
 * counts GET /api/v1/users/{id}/groups. The test helpers read the org from /__sim/info and
 * /__sim/state, which are not Okta API calls, so the counts are the reconciler's alone.
 */
#include "core/oks_metrics.h"
#include "core/oks_time.h"
#include "oks_test.h"
#include "rfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char GROUPS_EP[] = "GET /api/v1/users/{id}/groups";
static const char GROUPS_ROUTE[] = "/api/v1/users/{id}/groups";

static json_t *sim_get(rsim *s, const char *what)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/%s", s->url, what);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(j != NULL);
    return j;
}

/* The org: two groups outside the app (g mapped in the tests, h never) and Everyone. */
typedef struct org {
    json_t *info, *state;
    const char *g, *h, *everyone;
} org;

static void org_load(org *o, rsim *s)
{
    o->info = sim_get(s, "info");
    o->state = sim_get(s, "state");
    o->g = o->h = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(o->info, "groups"), i, g)
    {
        const char *type = json_string_value(json_object_get(g, "type"));
        if (strcmp(type, "OKTA_GROUP") != 0 || json_is_true(json_object_get(g, "app_assigned")))
            continue;
        if (!o->g)
            o->g = json_string_value(json_object_get(g, "id"));
        else if (!o->h)
            o->h = json_string_value(json_object_get(g, "id"));
    }
    o->everyone = json_string_value(json_object_get(o->info, "everyone_group_id"));
    OKS_ASSERT(o->g && o->h && o->everyone);
}

static void org_free(org *o)
{
    json_decref(o->info);
    json_decref(o->state);
}

static bool in_group(json_t *u, const char *gid)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(u, "groups"), i,
                       g) if (strcmp(json_string_value(g), gid) == 0) return true;
    return false;
}

/* The n-th ACTIVE user assigned to the app who is in neither g nor h. */
static const char *pick_user(const org *o, int n)
{
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(o->state, "users"), i, u)
    {
        const char *st = json_string_value(json_object_get(u, "okta_status"));
        if (!json_is_true(json_object_get(u, "assigned")) || !st || strcmp(st, "ACTIVE") != 0 ||
            in_group(u, o->g) || in_group(u, o->h))
            continue;
        if (n-- == 0)
            return json_string_value(json_object_get(u, "id"));
    }
    oks_test_fail(__FILE__, __LINE__, "no such user in the simulated org");
    return NULL;
}

static void exec3(rfx *f, const char *sql, const char *a, const char *b, const char *c)
{
    const char *p[] = {a, b, c};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(f->db, sql, 3, p, &err);
    if (!r)
        oks_test_fail(__FILE__, __LINE__, "%s: %s", sql, err.msg);
    PQclear(r);
}

/* tenant set --group-team GID=TEAM */
static void map_group(rfx *f, const char *t, const char *gid, const char *team)
{
    exec3(f,
          "WITH t AS (INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, $3, "
          "'okta_group') RETURNING id) INSERT INTO tenant_group_teams (tenant_id, okta_group_id, "
          "team_id) SELECT $1::uuid, $2, id FROM t",
          t, gid, team);
}

/* The user's memberships from groups: "team:primary:source", comma-joined; NULL for none. */
static char *group_teams(rfx *f, const char *t, const char *id)
{
    return rfx_q(f,
                 "SELECT string_agg(x.name || ':' || m.is_primary || ':' || m.source, ',' "
                 "ORDER BY lower(x.name)) FROM team_members m JOIN teams x ON x.id = m.team_id "
                 "JOIN users u ON u.id = m.user_id WHERE u.tenant_id = $1::uuid AND u.okta_id = $2 "
                 "AND m.source = 'okta_group'",
                 t, id);
}

#define ASSERT_GROUP_TEAMS(f, t, id, want)                                                         \
    do {                                                                                           \
        char *got_ = group_teams(f, t, id);                                                        \
        const char *want_ = (want);                                                                \
        if (want_ ? (!got_ || strcmp(got_, want_) != 0) : got_ != NULL)                            \
            oks_test_fail(__FILE__, __LINE__, "group teams of %s: '%s', want '%s'", id,            \
                          got_ ? got_ : "(none)", want_ ? want_ : "(none)");                       \
        free(got_);                                                                                \
    } while (0)

static long audits(rfx *f, const char *t, const char *id, const char *action)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND entity = "
             "'membership' AND entity_id = $2 AND action = '%s' AND source = 'event' AND actor = "
             "'reconcile' AND coalesce(after, before)->>'source' = 'okta_group'",
             action);
    return rfx_count(f, sql, t, id);
}

static double requests_metric(const char *tenant, const char *bucket)
{
    size_t len = 0;
    char *all = oks_metrics_render(&len), pat[256];
    snprintf(pat, sizeof pat, "oktasync_worker_okta_requests_total{tenant=\"%s\",bucket=\"%s\"} ",
             tenant, bucket);
    char *p = all ? strstr(all, pat) : NULL;
    double v = p ? strtod(p + strlen(pat), NULL) : -1;
    free(all);
    return v;
}

static void member(rsim *s, const char *gid, const char *uid, bool add)
{
    char path[256];
    snprintf(path, sizeof path, "%sgroups/%s/members/%s", add ? "" : "DELETE ", gid, uid);
    OKS_ASSERT_EQ_INT(rsim_post(s, path, NULL), 200);
}

static void faults(rsim *s, const char *json)
{
    OKS_ASSERT_EQ_INT(rsim_post(s, "faults", json), 200);
}

typedef struct {
    rfx *f;
    const char *tenant, *fault;
    rsim *s;
    long calls; /* and at least this many groups calls */
} fault_wait;

static bool fault_is(void *arg)
{
    fault_wait *w = arg;
    char *v = rfx_q(w->f, "SELECT fault FROM tenant_okta_state WHERE tenant_id = $1::uuid",
                    w->tenant, NULL);
    bool ok = v && strcmp(v, w->fault) == 0 && rsim_calls(w->s, GROUPS_EP) >= w->calls;
    free(v);
    return ok;
}

/* add → the mapped team's membership appears, through an event alone (no full sync); remove →
 * gone; an unmapped group → nothing; Everyone (even when mapped by mistake) → nothing; a
 * profile event of a stored user → no groups call; a user the round creates → one groups call.
 * Every groups call is in the reconciler's per-bucket metric. */
OKS_TEST(group_membership_events_move_group_teams_without_a_full_sync)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 80, true);
    org o;
    org_load(&o, &s);
    map_group(&f, t, o.g, "Guild");
    map_group(&f, t, o.everyone, "Everybody"); /* a mistake the rule ignores */
    const char *u = pick_user(&o, 0);
    rfx_start(&f);

    /* assigned to the app: the round creates the row and reads the user's groups once */
    long c0 = rsim_calls(&s, GROUPS_EP);
    rfx_mark_event(&f, t, u, "application.user_membership.add");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 1);
    OKS_ASSERT_EQ_INT(rfx_count(&f,
                                "SELECT count(*) FROM users WHERE tenant_id = $1::uuid AND "
                                "okta_id = $2 AND status = 'active'",
                                t, u),
                      1);
    ASSERT_GROUP_TEAMS(&f, t, u, NULL);

    /* group.user_membership.add of a mapped group */
    member(&s, o.g, u, true);
    rfx_mark_event(&f, t, u, "group.user_membership.add");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    ASSERT_GROUP_TEAMS(&f, t, u, "Guild:false:okta_group");
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 2);
    OKS_ASSERT_EQ_INT(audits(&f, t, u, "add"), 1);

    /* an unmapped group: nothing changes */
    member(&s, o.h, u, true);
    rfx_mark_event(&f, t, u, "group.user_membership.add");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 3);
    ASSERT_GROUP_TEAMS(&f, t, u, "Guild:false:okta_group");
    OKS_ASSERT_EQ_INT(audits(&f, t, u, "add"), 1);

    /* a profile event of a stored user: the user is read, the groups are not */
    char path[160];
    snprintf(path, sizeof path, "users/%s/profile", u);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, "{\"title\":\"Group Tester\"}"), 200);
    rfx_mark_event(&f, t, u, "user.account.update_profile");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    char *title =
        rfx_q(&f, "SELECT title FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);
    OKS_ASSERT_EQ_STR(title, "Group Tester");
    free(title);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 3);

    /* group.user_membership.remove of the mapped group */
    member(&s, o.g, u, false);
    rfx_mark_event(&f, t, u, "group.user_membership.remove");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    ASSERT_GROUP_TEAMS(&f, t, u, NULL);
    OKS_ASSERT_EQ_INT(audits(&f, t, u, "remove"), 1);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 4);

    /* Everyone: every user is in it, it is mapped, and nobody got its team */
    OKS_ASSERT_EQ_INT(rfx_count(&f,
                                "SELECT count(*) FROM team_members m JOIN teams x ON x.id = "
                                "m.team_id WHERE x.tenant_id = $1::uuid AND x.name = 'Everybody'",
                                t, NULL),
                      0);
    rfx_stop(&f);
    /* the reconciler counted each of its groups calls in its bucket */
    OKS_ASSERT(requests_metric(t, "user_groups") == (double)(rsim_calls(&s, GROUPS_EP) - c0));
    org_free(&o);
    rfx_close(&s, &f, t);
}

/* Okta cannot answer the groups read (503s, then bodies that are not JSON): no membership
 * changes (a failed read never reads as "left every group"), the user's other changes wait with
 * it, the mark stays and the tenant backs off with the fault of the class; once Okta answers,
 * everything is applied. */
OKS_TEST(a_failed_groups_read_changes_nothing_and_the_user_stays_dirty_until_okta_answers)
{
    rsim s;
    rfx f;
    char *t = rfx_open(&s, &f, 80, true);
    org o;
    org_load(&o, &s);
    map_group(&f, t, o.g, "Guild");
    const char *u = pick_user(&o, 1);
    member(&s, o.g, u, true);
    rfx_start(&f);
    rfx_mark_event(&f, t, u, "group.user_membership.add");
    OKS_ASSERT(rfx_wait_clean(&f, t, 10000));
    ASSERT_GROUP_TEAMS(&f, t, u, "Guild:false:okta_group");
    char *title0 =
        rfx_q(&f, "SELECT title FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);

    /* Okta: the user left the group and got a new title; the groups read fails */
    member(&s, o.g, u, false);
    char path[160];
    snprintf(path, sizeof path, "users/%s/profile", u);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, "{\"title\":\"After The Outage\"}"), 200);
    faults(&s, "{\"route\":\"/api/v1/users/{id}/groups\",\"fail_next\":100000}");
    long c0 = rsim_calls(&s, GROUPS_EP);
    rfx_mark_event(&f, t, u, "group.user_membership.remove");
    rfx_mark_event(&f, t, u, "user.account.update_profile");
    fault_wait w = {&f, t, "okta_unavailable", &s, c0 + 2}; /* retried after its backoff */
    OKS_ASSERT(oks_test_wait_until(fault_is, &w, oks_test_timeout_ms(15000)));
    ASSERT_GROUP_TEAMS(&f, t, u, "Guild:false:okta_group");
    OKS_ASSERT_EQ_INT(audits(&f, t, u, "remove"), 0);
    OKS_ASSERT_EQ_INT(rfx_count(&f,
                                "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid AND "
                                "okta_id = $2 AND check_groups",
                                t, u),
                      1);
    char *title =
        rfx_q(&f, "SELECT title FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);
    OKS_ASSERT_EQ_STR(title, title0);
    free(title);

    /* a 200 whose body is not JSON: not an empty list either */
    char fj[200];
    snprintf(fj, sizeof fj, "{\"clear\":true,\"route\":\"%s\",\"malformed_next\":100000}",
             GROUPS_ROUTE);
    faults(&s, fj);
    w = (fault_wait){&f, t, "okta_misconfigured", &s, rsim_calls(&s, GROUPS_EP) + 1};
    OKS_ASSERT(oks_test_wait_until(fault_is, &w, oks_test_timeout_ms(15000)));
    ASSERT_GROUP_TEAMS(&f, t, u, "Guild:false:okta_group");
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM dirty_users WHERE tenant_id = $1::uuid", t, NULL), 1);

    /* Okta answers again: the removal and the title, in one round */
    faults(&s, "{\"clear\":true}");
    OKS_ASSERT(rfx_wait_clean(&f, t, 15000));
    ASSERT_GROUP_TEAMS(&f, t, u, NULL);
    OKS_ASSERT_EQ_INT(audits(&f, t, u, "remove"), 1);
    title = rfx_q(&f, "SELECT title FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);
    OKS_ASSERT_EQ_STR(title, "After The Outage");
    free(title);
    OKS_ASSERT_EQ_INT(rfx_count(&f,
                                "SELECT count(*) FROM tenant_okta_state WHERE tenant_id = "
                                "$1::uuid AND fault IS NOT NULL",
                                t, NULL),
                      0);
    rfx_stop(&f);
    free(title0);
    org_free(&o);
    rfx_close(&s, &f, t);
}

/* The groups endpoint costs nothing when it cannot matter: a tenant that maps no group (group
 * events and new users included), and a mapped tenant's marks without a group event (stored
 * users); one group event then costs exactly one call. */
OKS_TEST(no_groups_calls_without_a_mapped_group_or_a_group_event)
{
    rsim s;
    rsim_start(&s, 80, NULL);
    rfx f;
    rfx_setup(&f);
    char *a = rfx_tenant(&f, &s, true), *b = rfx_tenant(&f, &s, true);
    org o;
    org_load(&o, &s);
    rfx_start(&f);
    long c0 = rsim_calls(&s, GROUPS_EP);
    for (int i = 0; i < 10; i++) {
        rfx_mark_event(&f, a, pick_user(&o, i), "group.user_membership.add");
        rfx_mark_event(&f, b, pick_user(&o, i), "user.account.update_profile");
    }
    OKS_ASSERT(rfx_wait_clean(&f, a, 15000));
    OKS_ASSERT(rfx_wait_clean(&f, b, 15000));
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", a, NULL), 10);
    OKS_ASSERT_EQ_INT(
        rfx_count(&f, "SELECT count(*) FROM users WHERE tenant_id = $1::uuid", b, NULL), 10);
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 0);

    /* b maps a group now: profile and lifecycle events of its stored users still cost none */
    map_group(&f, b, o.g, "Guild");
    for (int i = 0; i < 10; i++)
        rfx_mark_event(&f, b, pick_user(&o, i),
                       i % 2 ? "user.account.update_profile" : "user.lifecycle.activate");
    OKS_ASSERT(rfx_wait_clean(&f, b, 15000));
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 0);
    /* one group event among nine profile events, all in one round: one call */
    rfx_stop(&f);
    for (int i = 0; i < 10; i++)
        rfx_mark_event(&f, b, pick_user(&o, i),
                       i == 3 ? "group.user_membership.remove" : "user.account.update_profile");
    oks_sleep_ms(f.cfg.coalesce_window_ms + 50);
    rfx_start(&f);
    OKS_ASSERT(rfx_wait_clean(&f, b, 15000));
    OKS_ASSERT_EQ_INT(rsim_calls(&s, GROUPS_EP) - c0, 1);
    rfx_stop(&f);
    OKS_ASSERT(requests_metric(a, "user_groups") == 0);
    OKS_ASSERT(requests_metric(b, "user_groups") == 1);
    org_free(&o);
    free(a);
    free(b);
    rfx_teardown(&f);
    rsim_stop(&s);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
