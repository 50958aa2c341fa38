/* The generated org's shape for the product rules (issues 10 and 11): --org-profile default
 * (unchanged: managers listed before their reports), rich/demo (departments, managers listed
 * AFTER their reports across pages, a manager chain, photoUrl, custom attributes, groups of
 * every type) and --manager-cycle. Drives the real binary over HTTP. */
#include "simt.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every app user of the listing (expand=user, 500 a page): id -> {"page","user"}. */
static json_t *listing(const simt *s)
{
    char url[4096], self[4096], next[4096];
    json_t *all = json_object();
    int page = 0;
    snprintf(url, sizeof url, "%s/api/v1/apps/%s/users?limit=500&expand=user", s->base, s->app_id);
    while (url[0]) {
        simt_resp r;
        simt_request(&r, "GET", url, "SSWS " SIMT_TOKEN, NULL, 10000);
        OKS_ASSERT_EQ_INT(r.status, 200);
        size_t i;
        json_t *it;
        json_array_foreach(r.json, i, it)
        {
            json_t *u = json_object_get(json_object_get(it, "_embedded"), "user");
            json_object_set_new(all, json_string_value(json_object_get(it, "id")),
                                json_pack("{s:i,s:O}", "page", page, "user", u));
        }
        simt_links(&r, self, next, sizeof next);
        snprintf(url, sizeof url, "%s", next);
        simt_resp_free(&r);
        page++;
    }
    return all;
}

static json_t *profile_of(json_t *entry)
{
    return json_object_get(json_object_get(entry, "user"), "profile");
}

static const char *manager_of(json_t *entry)
{
    return json_string_value(json_object_get(profile_of(entry), "managerId"));
}

/* Reports whose manager is listed on an earlier / the same / a later page. */
static void manager_pages(json_t *all, int *before, int *same, int *after)
{
    const char *id;
    json_t *e;
    *before = *same = *after = 0;
    json_object_foreach(all, id, e)
    {
        const char *m = manager_of(e);
        json_t *me = m ? json_object_get(all, m) : NULL;
        if (!me)
            continue;
        json_int_t p = json_integer_value(json_object_get(e, "page"));
        json_int_t mp = json_integer_value(json_object_get(me, "page"));
        *(mp < p ? before : mp == p ? same : after) += 1;
    }
}

static json_t *info(const simt *s)
{
    simt_resp r;
    OKS_ASSERT_EQ_INT(simt_admin(&r, s, "GET", "/__sim/info", NULL), 200);
    json_t *j = json_incref(r.json);
    simt_resp_free(&r);
    return j;
}

static json_t *user(const simt *s, const char *id)
{
    char path[128];
    simt_resp r;
    snprintf(path, sizeof path, "/api/v1/users/%s", id);
    simt_api(&r, s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    json_t *j = json_incref(r.json);
    simt_resp_free(&r);
    return j;
}

static const char *pstr(json_t *u, const char *attr)
{
    return json_string_value(json_object_get(json_object_get(u, "profile"), attr));
}

OKS_TEST(default_profile_is_unchanged_managers_come_first_and_no_photo)
{
    const char *const args[] = {"--users", "1500", "--seed", "3", NULL};
    simt s;
    simt_start(&s, args);
    json_t *in = info(&s);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(in, "org_profile")), "default");
    OKS_ASSERT_EQ_INT(json_array_size(json_object_get(in, "manager_chain")), 0);
    OKS_ASSERT_EQ_INT(json_array_size(json_object_get(in, "manager_cycle")), 0);
    json_decref(in);
    json_t *all = listing(&s);
    int before, same, after;
    manager_pages(all, &before, &same, &after);
    OKS_ASSERT(before > 100);
    OKS_ASSERT_EQ_INT(after, 0);
    const char *id;
    json_t *e;
    json_object_foreach(all, id, e)
    {
        OKS_ASSERT(json_object_get(profile_of(e), "photoUrl") == NULL);
    }
    json_decref(all);
    simt_stop(&s);
}

OKS_TEST(demo_profile_has_departments_managers_on_later_pages_chain_photo_and_groups)
{
    const char *const args[] = {"--org-profile", "demo", "--seed", "11", NULL};
    simt s;
    simt_start(&s, args);
    json_t *in = info(&s);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(in, "users")), 2000);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(in, "org_profile")), "demo");
    json_t *all = listing(&s);
    OKS_ASSERT(json_object_size(all) > 1500);
    int before, same, after;
    manager_pages(all, &before, &same, &after);
    OKS_ASSERT(after > 200);  /* the manager arrives on a later page than the report */
    OKS_ASSERT(before > 200); /* and the usual order too */
    /* Departments: a small realistic set, some users with none; photo and custom attributes. */
    json_t *deps = json_object();
    int no_dep = 0, photo = 0, no_photo = 0;
    const char *id;
    json_t *e;
    json_object_foreach(all, id, e)
    {
        json_t *p = profile_of(e);
        const char *d = json_string_value(json_object_get(p, "department"));
        if (d)
            json_object_set_new(deps, d, json_true());
        else
            no_dep++;
        json_t *ph = json_object_get(p, "photoUrl");
        OKS_ASSERT(ph != NULL); /* present: a string or null */
        if (json_is_string(ph)) {
            photo++;
            OKS_ASSERT(strncmp(json_string_value(ph), "https://photos.", 15) == 0);
        } else {
            no_photo++;
        }
        OKS_ASSERT(json_is_string(json_object_get(p, "costCenter")));
        OKS_ASSERT(json_is_string(json_object_get(p, "employeeNumber")));
    }
    OKS_ASSERT(json_object_size(deps) >= 8 && json_object_size(deps) <= 15);
    OKS_ASSERT(no_dep > 20);
    OKS_ASSERT(photo > 1000 && no_photo > 50);
    json_decref(deps);
    /* The chain: ACTIVE, listed, chain[k] reports to chain[k-1]; the top has no manager. */
    json_t *chain = json_object_get(in, "manager_chain");
    OKS_ASSERT_EQ_INT(json_array_size(chain), 8);
    for (size_t k = 0; k < json_array_size(chain); k++) {
        const char *cid = json_string_value(json_array_get(chain, k));
        json_t *ce = json_object_get(all, cid);
        OKS_ASSERT(ce != NULL);
        OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_object_get(ce, "user"), "status")),
                          "ACTIVE");
        if (k == 0)
            OKS_ASSERT(manager_of(ce) == NULL);
        else
            OKS_ASSERT_EQ_STR(manager_of(ce), json_string_value(json_array_get(chain, k - 1)));
    }
    /* No cycle unless asked for: every manager chain ends within 2000 steps. */
    json_object_foreach(all, id, e)
    {
        json_t *cur = e;
        int steps = 0;
        while (cur && manager_of(cur) && steps < 2100) {
            cur = json_object_get(all, manager_of(cur));
            steps++;
        }
        OKS_ASSERT(steps < 2100);
    }
    /* Groups: Everyone, OKTA_GROUP and APP_GROUP, with members. */
    simt_resp r;
    simt_api(&r, &s, "/api/v1/groups");
    int types[3] = {0, 0, 0};
    size_t i;
    json_t *g;
    json_array_foreach(r.json, i, g)
    {
        const char *t = json_string_value(json_object_get(g, "type"));
        types[strcmp(t, "BUILT_IN") == 0 ? 0 : strcmp(t, "OKTA_GROUP") == 0 ? 1 : 2]++;
    }
    OKS_ASSERT_EQ_INT(types[0], 1);
    OKS_ASSERT(types[1] > 0 && types[2] > 0);
    simt_resp_free(&r);
    /* The state dump carries group memberships and the new attributes. */
    simt_admin(&r, &s, "GET", "/__sim/state", NULL);
    json_t *su = json_array_get(json_object_get(r.json, "users"), 0);
    OKS_ASSERT(json_is_array(json_object_get(su, "groups")));
    OKS_ASSERT(json_object_get(json_object_get(su, "profile"), "photoUrl") != NULL);
    OKS_ASSERT(json_object_get(json_object_get(su, "profile"), "employeeNumber") != NULL);
    int with_groups = 0;
    json_array_foreach(json_object_get(r.json, "users"), i, su)
    {
        with_groups += json_array_size(json_object_get(su, "groups")) > 0;
    }
    OKS_ASSERT(with_groups > 1000);
    simt_resp_free(&r);
    json_decref(all);
    json_decref(in);
    simt_stop(&s);
}

OKS_TEST(rich_org_is_a_pure_function_of_the_seed)
{
    const char *const a[] = {"--org-profile", "rich", "--users", "300", "--seed", "5", NULL};
    const char *const b[] = {"--org-profile", "rich", "--users", "300", "--seed", "6", NULL};
    simt s1, s2, s3;
    simt_resp r1, r2, r3;
    simt_start(&s1, a);
    simt_start(&s2, a);
    simt_start(&s3, b);
    simt_admin(&r1, &s1, "GET", "/__sim/state", NULL);
    simt_admin(&r2, &s2, "GET", "/__sim/state", NULL);
    simt_admin(&r3, &s3, "GET", "/__sim/state", NULL);
    OKS_ASSERT(json_equal(json_object_get(r1.json, "users"), json_object_get(r2.json, "users")));
    OKS_ASSERT(!json_equal(json_object_get(r1.json, "users"), json_object_get(r3.json, "users")));
    simt_resp_free(&r1);
    simt_resp_free(&r2);
    simt_resp_free(&r3);
    simt_stop(&s1);
    simt_stop(&s2);
    simt_stop(&s3);
}

static void assert_cycle(const char *profile, int len)
{
    char n[8];
    snprintf(n, sizeof n, "%d", len);
    const char *const args[] = {"--org-profile",   profile, "--users", "200",
                                "--manager-cycle", n,       NULL};
    simt s;
    simt_start(&s, args);
    json_t *in = info(&s);
    json_t *cyc = json_object_get(in, "manager_cycle");
    OKS_ASSERT_EQ_INT(json_array_size(cyc), len);
    for (int k = 0; k < len; k++) {
        json_t *u = user(&s, json_string_value(json_array_get(cyc, (size_t)k)));
        OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u, "status")), "ACTIVE");
        OKS_ASSERT_EQ_STR(pstr(u, "managerId"),
                          json_string_value(json_array_get(cyc, (size_t)((k + 1) % len))));
        OKS_ASSERT(pstr(u, "manager") != NULL);
        json_decref(u);
        char path[200];
        simt_resp r;
        snprintf(path, sizeof path, "/api/v1/apps/%s/users/%s", s.app_id,
                 json_string_value(json_array_get(cyc, (size_t)k)));
        simt_api(&r, &s, path);
        OKS_ASSERT_EQ_INT(r.status, 200); /* assigned */
        simt_resp_free(&r);
    }
    json_decref(in);
    simt_stop(&s);
}

OKS_TEST(manager_cycle_of_two_and_three)
{
    assert_cycle("rich", 2);
    assert_cycle("default", 3);
}

OKS_TEST(bad_org_flags_stop_start_up)
{
    char line[512];
    const char *const p[] = {"--org-profile", "fancy", NULL};
    OKS_ASSERT(simt_run_expect_exit(p, line, sizeof line) != 0);
    OKS_ASSERT(strstr(line, "org-profile") != NULL);
    const char *const c[] = {"--manager-cycle", "1", NULL};
    OKS_ASSERT(simt_run_expect_exit(c, line, sizeof line) != 0);
    OKS_ASSERT(strstr(line, "manager-cycle") != NULL);
    const char *const few[] = {"--org-profile", "rich", "--users", "5", NULL};
    OKS_ASSERT(simt_run_expect_exit(few, line, sizeof line) != 0);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
