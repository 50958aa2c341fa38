/* Single-object Okta API calls: get user, get app user, get app, get group, check credentials. */
#include "okta/oks_okta_client_int.h"

#include <stdio.h>
#include <string.h>

int oks_okta__build_url(oks_okta_client *c, char *buf, size_t cap, const char *const *parts,
                        size_t n, oks_err *err)
{
    if ((size_t)snprintf(buf, cap, "%s", c->base_url) >= cap)
        goto too_long;
    for (size_t i = 0; i < n; i++) {
        if (i % 2 == 1) {
            if (!parts[i] || !*parts[i])
                return oks_err_set(err, OKS_E_INVALID, "okta: empty id in request");
            if (!oks_okta__append_escaped(buf, cap, parts[i]))
                goto too_long;
        } else {
            size_t have = strlen(buf);
            if ((size_t)snprintf(buf + have, cap - have, "%s", parts[i]) >= cap - have)
                goto too_long;
        }
    }
    return 0;
too_long:
    return oks_err_set(err, OKS_E_INVALID, "okta: request URL too long");
}

int oks_okta_get_user(oks_okta_client *c, const char *user_id, oks_okta_user *out, oks_err *err)
{
    memset(out, 0, sizeof *out);
    char url[OKS_OKTA_URL_MAX];
    const char *parts[] = {"/api/v1/users/", user_id};
    if (oks_okta__build_url(c, url, sizeof url, parts, 2, err) != 0)
        return -1;
    json_t *j = NULL;
    if (oks_okta__get(c, url, &j, NULL, 0, err) != 0)
        return -1;
    int rc = oks_okta_user_parse(j, out, err);
    json_decref(j);
    return rc;
}

int oks_okta_get_app_user(oks_okta_client *c, const char *app_id, const char *user_id,
                          oks_okta_app_user *out, oks_err *err)
{
    memset(out, 0, sizeof *out);
    char url[OKS_OKTA_URL_MAX];
    const char *parts[] = {"/api/v1/apps/", app_id, "/users/", user_id, "?expand=user"};
    if (oks_okta__build_url(c, url, sizeof url, parts, 5, err) != 0)
        return -1;
    json_t *j = NULL;
    if (oks_okta__get(c, url, &j, NULL, 0, err) != 0)
        return -1;
    int rc = oks_okta_app_user_parse(j, out, err);
    json_decref(j);
    return rc;
}

int oks_okta_check_credentials(oks_okta_client *c, const char *app_id, oks_err *err)
{
    char url[OKS_OKTA_URL_MAX];
    const char *parts[] = {"/api/v1/apps/", app_id, "/users?limit=1"};
    if (oks_okta__build_url(c, url, sizeof url, parts, 3, err) != 0)
        return -1;
    json_t *j = NULL;
    if (oks_okta__get(c, url, &j, NULL, 0, err) != 0)
        return -1;
    int rc = json_is_array(j)
                 ? 0
                 : oks_err_set(err, OKS_E_INVALID, "okta: app users answer is not a JSON array");
    json_decref(j);
    return rc;
}

int oks_okta_get_app(oks_okta_client *c, const char *app_id, oks_err *err)
{
    char url[OKS_OKTA_URL_MAX];
    const char *parts[] = {"/api/v1/apps/", app_id};
    if (oks_okta__build_url(c, url, sizeof url, parts, 2, err) != 0)
        return -1;
    json_t *j = NULL;
    if (oks_okta__get(c, url, &j, NULL, 0, err) != 0)
        return -1;
    int rc = json_is_object(j)
                 ? 0
                 : oks_err_set(err, OKS_E_INVALID, "okta: application answer is not a JSON object");
    json_decref(j);
    return rc;
}

int oks_okta_get_group_type(oks_okta_client *c, const char *group_id, char *type, size_t cap,
                            oks_err *err)
{
    if (cap)
        type[0] = '\0';
    char url[OKS_OKTA_URL_MAX];
    const char *parts[] = {"/api/v1/groups/", group_id};
    if (oks_okta__build_url(c, url, sizeof url, parts, 2, err) != 0)
        return -1;
    json_t *j = NULL;
    if (oks_okta__get(c, url, &j, NULL, 0, err) != 0)
        return -1;
    const char *t = json_string_value(json_object_get(j, "type"));
    int rc = 0;
    if (!json_is_object(j) || !t || !*t)
        rc = oks_err_set(err, OKS_E_INVALID, "okta: group answer without a type");
    else if ((size_t)snprintf(type, cap, "%s", t) >= cap)
        rc = oks_err_set(err, OKS_E_INVALID, "okta: group type too long");
    json_decref(j);
    return rc;
}
