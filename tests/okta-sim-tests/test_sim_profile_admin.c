/* Admin changes the product-rule tests make (issue 10): move a user between departments, set an
 * attribute to null versus leave it out (absent), set and clear managerId, change group
 * memberships; each records the System Log event Okta would and shows in the API and in
 * /__sim/state. Drives the real binary over HTTP. */
#include "simt.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const org[] = {"--org-profile", "rich", "--users", "200", "--seed", "9", NULL};

static json_t *get_user(const simt *s, const char *id)
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

static json_t *prof(json_t *u)
{
    return json_object_get(u, "profile");
}

/* Events of `type` whose target is user id. */
static int events(const simt *s, const char *type, const char *id)
{
    char path[512];
    simt_resp r;
    snprintf(path, sizeof path,
             "/api/v1/logs?filter=eventType%%20eq%%20%%22%s%%22%%20and%%20target.id%%20eq%%20%%22%"
             "s%%22&limit=1000",
             type, id);
    simt_api(&r, s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    int n = (int)json_array_size(r.json);
    simt_resp_free(&r);
    return n;
}

/* The user's entry in /__sim/state. */
static json_t *state_of(const simt *s, const char *id)
{
    simt_resp r;
    json_t *found = NULL, *u;
    size_t i;
    OKS_ASSERT_EQ_INT(simt_admin(&r, s, "GET", "/__sim/state", NULL), 200);
    json_array_foreach(json_object_get(r.json, "users"), i, u)
    {
        if (strcmp(json_string_value(json_object_get(u, "id")), id) == 0)
            found = json_incref(u);
    }
    simt_resp_free(&r);
    OKS_ASSERT(found != NULL);
    return found;
}

/* Admin call on prefix + id + suffix; returns the status. */
static long admin(const simt *s, const char *method, const char *prefix, const char *id,
                  const char *suffix, const char *body)
{
    char path[256];
    simt_resp r;
    snprintf(path, sizeof path, "%s%s%s", prefix, id, suffix);
    long st = simt_admin(&r, s, method, path, body);
    simt_resp_free(&r);
    return st;
}

/* The id of manager_chain[k] (/__sim/info): an ACTIVE, assigned user. */
static void chain_id(const simt *s, size_t k, char *out, size_t cap)
{
    simt_resp r;
    simt_admin(&r, s, "GET", "/__sim/info", NULL);
    snprintf(out, cap, "%s",
             json_string_value(json_array_get(json_object_get(r.json, "manager_chain"), k)));
    simt_resp_free(&r);
}

OKS_TEST(department_move_and_null_versus_absent)
{
    simt s;
    simt_start(&s, org);
    simt_resp r;
    char id[32];
    chain_id(&s, 3, id, sizeof id);
    json_t *u0 = get_user(&s, id);
    const char *lu0 = json_string_value(json_object_get(u0, "lastUpdated"));
    /* Move to another department. */
    OKS_ASSERT_EQ_INT(
        admin(&s, "POST", "/__sim/users/", id, "/profile", "{\"department\":\"  Field Sales \"}"),
        200);
    json_t *u1 = get_user(&s, id);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(prof(u1), "department")), "  Field Sales ");
    OKS_ASSERT(strcmp(json_string_value(json_object_get(u1, "lastUpdated")), lu0) > 0);
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", id), 1);
    /* Explicit null: the key is there, with null. */
    OKS_ASSERT_EQ_INT(admin(&s, "POST", "/__sim/users/", id, "/profile",
                            "{\"department\":null,\"photoUrl\":null}"),
                      200);
    json_t *u2 = get_user(&s, id);
    OKS_ASSERT(json_is_null(json_object_get(prof(u2), "department")));
    OKS_ASSERT(json_is_null(json_object_get(prof(u2), "photoUrl")));
    /* Absent: the key is gone from the API's profile (and from the expand=user listing). */
    OKS_ASSERT_EQ_INT(admin(&s, "DELETE", "/__sim/users/", id, "/profile/department", NULL), 200);
    json_t *u3 = get_user(&s, id);
    OKS_ASSERT(json_object_get(prof(u3), "department") == NULL);
    OKS_ASSERT(json_is_null(json_object_get(prof(u3), "photoUrl")));
    OKS_ASSERT(json_is_string(json_object_get(prof(u3), "title")));
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", id), 3);
    char path[256];
    snprintf(path, sizeof path, "/api/v1/apps/%s/users/%s?expand=user", s.app_id, id);
    simt_api(&r, &s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    json_t *emb = json_object_get(json_object_get(r.json, "_embedded"), "user");
    OKS_ASSERT(json_object_get(prof(emb), "department") == NULL);
    simt_resp_free(&r);
    /* The state dump reads both as null; search sees no value. */
    json_t *st = state_of(&s, id);
    OKS_ASSERT(json_is_null(json_object_get(json_object_get(st, "profile"), "department")));
    json_decref(st);
    /* Set again: present. */
    OKS_ASSERT_EQ_INT(
        admin(&s, "POST", "/__sim/users/", id, "/profile", "{\"department\":\"Sales\"}"), 200);
    json_t *u4 = get_user(&s, id);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(prof(u4), "department")), "Sales");
    /* Bad input. */
    OKS_ASSERT_EQ_INT(admin(&s, "DELETE", "/__sim/users/", id, "/profile/login", NULL), 400);
    OKS_ASSERT_EQ_INT(admin(&s, "DELETE", "/__sim/users/", id, "/profile/", NULL), 404);
    OKS_ASSERT_EQ_INT(
        admin(&s, "DELETE", "/__sim/users/", "00uNOSUCHUSER000000", "/profile/department", NULL),
        404);
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", id), 4);
    json_decref(u0);
    json_decref(u1);
    json_decref(u2);
    json_decref(u3);
    json_decref(u4);
    simt_stop(&s);
}

OKS_TEST(manager_set_clear_and_absent)
{
    simt s;
    simt_start(&s, org);
    simt_resp r;
    simt_admin(&r, &s, "GET", "/__sim/info", NULL);
    json_t *chain = json_object_get(r.json, "manager_chain");
    char a[32], top[32];
    snprintf(a, sizeof a, "%s", json_string_value(json_array_get(chain, 5)));
    snprintf(top, sizeof top, "%s", json_string_value(json_array_get(chain, 0)));
    simt_resp_free(&r);
    json_t *t = get_user(&s, top);
    char body[200];
    snprintf(body, sizeof body, "{\"managerId\":\"%s\"}", top);
    OKS_ASSERT_EQ_INT(admin(&s, "POST", "/__sim/users/", a, "/profile", body), 200);
    json_t *u = get_user(&s, a);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(prof(u), "managerId")), top);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(prof(u), "manager")),
                      json_string_value(json_object_get(prof(t), "displayName")));
    json_decref(u);
    OKS_ASSERT_EQ_INT(admin(&s, "POST", "/__sim/users/", a, "/profile", "{\"managerId\":null}"),
                      200);
    u = get_user(&s, a);
    OKS_ASSERT(json_is_null(json_object_get(prof(u), "managerId")));
    OKS_ASSERT(json_is_null(json_object_get(prof(u), "manager")));
    json_decref(u);
    OKS_ASSERT_EQ_INT(admin(&s, "DELETE", "/__sim/users/", a, "/profile/managerId", NULL), 200);
    u = get_user(&s, a);
    OKS_ASSERT(json_object_get(prof(u), "managerId") == NULL);
    OKS_ASSERT(json_is_null(json_object_get(prof(u), "manager")));
    json_decref(u);
    /* A cycle made at run time: top now reports to a. */
    snprintf(body, sizeof body, "{\"managerId\":\"%s\"}", a);
    OKS_ASSERT_EQ_INT(admin(&s, "POST", "/__sim/users/", top, "/profile", body), 200);
    u = get_user(&s, top);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(prof(u), "managerId")), a);
    json_decref(u);
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", a), 3);
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", top), 1);
    json_decref(t);
    simt_stop(&s);
}

OKS_TEST(group_membership_changes_show_in_state_and_log)
{
    simt s;
    simt_start(&s, org);
    simt_resp r;
    simt_admin(&r, &s, "GET", "/__sim/info", NULL);
    char id[32], g[32];
    snprintf(id, sizeof id, "%s",
             json_string_value(json_array_get(json_object_get(r.json, "manager_chain"), 1)));
    /* A non-app group, so the app assignment does not change. */
    json_t *grp;
    size_t i;
    g[0] = '\0';
    json_array_foreach(json_object_get(r.json, "groups"), i, grp)
    {
        if (!json_is_true(json_object_get(grp, "app_assigned")))
            snprintf(g, sizeof g, "%s", json_string_value(json_object_get(grp, "id")));
    }
    simt_resp_free(&r);
    OKS_ASSERT(g[0]);
    json_t *st = state_of(&s, id);
    bool member = false;
    json_t *v;
    json_array_foreach(json_object_get(st, "groups"), i, v)
    {
        member |= strcmp(json_string_value(v), g) == 0;
    }
    json_decref(st);
    bool was_member = member;
    char path[200];
    snprintf(path, sizeof path, "/__sim/groups/%s/members/", g);
    if (was_member)
        OKS_ASSERT_EQ_INT(admin(&s, "DELETE", path, id, "", NULL), 200);
    OKS_ASSERT_EQ_INT(admin(&s, "POST", path, id, "", NULL), 200);
    st = state_of(&s, id);
    member = false;
    json_array_foreach(json_object_get(st, "groups"), i, v)
    {
        member |= strcmp(json_string_value(v), g) == 0;
    }
    OKS_ASSERT(member);
    json_decref(st);
    OKS_ASSERT_EQ_INT(events(&s, "group.user_membership.add", id), 1);
    OKS_ASSERT_EQ_INT(admin(&s, "DELETE", path, id, "", NULL), 200);
    st = state_of(&s, id);
    json_array_foreach(json_object_get(st, "groups"), i, v)
    {
        OKS_ASSERT(strcmp(json_string_value(v), g) != 0);
    }
    json_decref(st);
    OKS_ASSERT_EQ_INT(events(&s, "group.user_membership.remove", id), was_member ? 2 : 1);
    simt_stop(&s);
}

static const char *title_of(const simt *s, const char *id, char *out, size_t cap)
{
    json_t *u = get_user(s, id);
    snprintf(out, cap, "%s", json_string_value(json_object_get(prof(u), "title")));
    json_decref(u);
    return out;
}

/* POST /__sim/profiles: bench/worker's driver makes a delivery's changes in one request. */
OKS_TEST(many_changes_in_one_request_in_order)
{
    simt s;
    simt_start(&s, org);
    simt_resp r;
    char a[32], b[32], body[1024], t[128];
    chain_id(&s, 3, a, sizeof a);
    chain_id(&s, 4, b, sizeof b);
    /* In order, one event each, the answer's lastUpdated the user's. */
    snprintf(body, sizeof body,
             "{\"changes\":[{\"id\":\"%s\",\"profile\":{\"title\":\"a1\"}},"
             "{\"id\":\"%s\",\"profile\":{\"title\":\"b1\"}},"
             "{\"id\":\"%s\",\"profile\":{\"title\":\"a2\"}}]}",
             a, b, a);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/profiles", body), 200);
    json_t *got = json_object_get(r.json, "users");
    OKS_ASSERT_EQ_INT((int)json_array_size(got), 3);
    const char *want[] = {a, b, a};
    for (size_t i = 0; i < 3; i++)
        OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(got, i), "id")),
                          want[i]);
    json_t *ua = get_user(&s, a), *ub = get_user(&s, b);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(prof(ua), "title")), "a2");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(prof(ub), "title")), "b1");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(got, 2), "lastUpdated")),
                      json_string_value(json_object_get(ua, "lastUpdated")));
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(got, 1), "lastUpdated")),
                      json_string_value(json_object_get(ub, "lastUpdated")));
    json_decref(ua);
    json_decref(ub);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", a), 2);
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", b), 1);
    /* Checked before anything changes: an unknown user or a bad entry anywhere changes none. */
    snprintf(body, sizeof body,
             "{\"changes\":[{\"id\":\"%s\",\"profile\":{\"title\":\"a3\"}},"
             "{\"id\":\"00uNOSUCHUSER000000\",\"profile\":{\"title\":\"x\"}}]}",
             a);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/profiles", body), 404);
    OKS_ASSERT(strstr(r.body, "changes[1]") != NULL);
    simt_resp_free(&r);
    snprintf(body, sizeof body,
             "{\"changes\":[{\"id\":\"%s\",\"profile\":{\"title\":\"a3\"}},{\"id\":\"%s\"}]}", a,
             b);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/profiles", body), 400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_STR(title_of(&s, a, t, sizeof t), "a2");
    OKS_ASSERT_EQ_INT(events(&s, "user.account.update_profile", a), 2);
    /* A login conflict is found while applying: the changes before it are made, and the error
     * names the entry. */
    json_t *ub2 = get_user(&s, b);
    snprintf(body, sizeof body,
             "{\"changes\":[{\"id\":\"%s\",\"profile\":{\"title\":\"a4\"}},"
             "{\"id\":\"%s\",\"profile\":{\"login\":\"%s\"}},"
             "{\"id\":\"%s\",\"profile\":{\"title\":\"b4\"}}]}",
             a, a, json_string_value(json_object_get(prof(ub2), "login")), b);
    json_decref(ub2);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/profiles", body), 400);
    OKS_ASSERT(strstr(r.body, "changes[1]") != NULL);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_STR(title_of(&s, a, t, sizeof t), "a4");
    OKS_ASSERT_EQ_STR(title_of(&s, b, t, sizeof t), "b1");
    /* Bounds and shape. */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/profiles", "{\"changes\":[]}"), 400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/profiles", "[]"), 400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "GET", "/__sim/profiles", NULL), 404);
    simt_resp_free(&r);
    size_t cap = 1001 * 64 + 64, len = 0;
    char *big = malloc(cap);
    OKS_ASSERT(big != NULL);
    len += (size_t)snprintf(big, cap, "{\"changes\":[");
    for (int i = 0; i < 1001; i++)
        len += (size_t)snprintf(big + len, cap - len,
                                "%s{\"id\":\"%s\",\"profile\":{\"title\":\"z\"}}", i ? "," : "", b);
    snprintf(big + len, cap - len, "]}");
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/profiles", big), 400);
    simt_resp_free(&r);
    free(big);
    OKS_ASSERT_EQ_STR(title_of(&s, b, t, sizeof t), "b1");
    simt_stop(&s);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
