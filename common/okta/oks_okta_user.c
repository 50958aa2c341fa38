/*
 * Okta User and AppUser objects -> structs. Optional attributes that are missing, null or of
 * the wrong type become NULL (Okta profiles are schema-extensible and admins change types);
 * only a missing id or profile makes the object unusable.
 */
#include "okta/oks_okta.h"

#include <stdlib.h>
#include <string.h>

#include "core/oks_json_arena.h"
#include "core/oks_time.h"

/* NULL for absent/null/non-string; *oom set when strdup fails. */
static char *dup_field(const json_t *obj, const char *key, bool *oom)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int64_t time_field(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    int64_t ms = 0;
    if (!s || !oks_time_parse_iso8601(s, &ms))
        return 0;
    return ms;
}

void oks_okta_user_free(oks_okta_user *u)
{
    if (!u)
        return;
    free(u->id);
    free(u->status);
    json_decref(u->profile); /* the attributes were borrowed from it */
    memset(u, 0, sizeof *u);
}

static const char *attr(const json_t *p, const char *key)
{
    return json_string_value(json_object_get(p, key));
}

static void parse_profile(const json_t *p, oks_okta_user *u)
{
    u->login = attr(p, "login");
    u->email = attr(p, "email");
    u->first_name = attr(p, "firstName");
    u->last_name = attr(p, "lastName");
    u->title = attr(p, "title");
    u->locale = attr(p, "locale");
    u->preferred_language = attr(p, "preferredLanguage");
    u->city = attr(p, "city");
    u->country_code = attr(p, "countryCode");
    u->department = attr(p, "department");
    u->manager_id = attr(p, "managerId");
    u->profile_url = attr(p, "profileUrl");
}

int oks_okta_user_parse(const json_t *j, oks_okta_user *out, oks_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j))
        return oks_err_set(err, OKS_E_INVALID, "okta user: not a JSON object");
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!id || !*id)
        return oks_err_set(err, OKS_E_INVALID, "okta user: missing or non-string id");
    json_t *profile = json_object_get(j, "profile");
    if (!json_is_object(profile))
        return oks_err_set(err, OKS_E_INVALID, "okta user %.40s: profile missing or not an object",
                           id);
    bool oom = false;
    out->id = strdup(id);
    oom = out->id == NULL;
    out->status = dup_field(j, "status", &oom);
    out->last_updated_ms = time_field(j, "lastUpdated");
    out->profile = json_incref(profile);
    parse_profile(profile, out);
    if (oom) {
        oks_okta_user_free(out);
        return oks_err_set(err, OKS_E_NOMEM, "okta user: out of memory");
    }
    return 0;
}

int oks_okta_user_own(oks_okta_user *u)
{
    json_t *c = oks_json_deep_copy_malloc(u->profile);
    if (!c)
        return -1;
    json_decref(u->profile);
    u->profile = c;
    parse_profile(c, u); /* the attributes were borrowed from the old one */
    return 0;
}

void oks_okta_app_user_free(oks_okta_app_user *a)
{
    if (!a)
        return;
    free(a->id);
    free(a->status);
    free(a->scope);
    free(a->user_name);
    json_decref(a->profile);
    if (a->has_user)
        oks_okta_user_free(&a->user);
    memset(a, 0, sizeof *a);
}

/* _embedded.user, present with expand=user; must be a valid user for the same id. */
static int parse_embedded(const json_t *j, oks_okta_app_user *out, oks_err *err)
{
    json_t *emb = json_object_get(j, "_embedded");
    if (!emb || json_is_null(emb))
        return 0;
    if (!json_is_object(emb))
        return oks_err_set(err, OKS_E_INVALID, "okta app user %.40s: _embedded not an object",
                           out->id);
    json_t *user = json_object_get(emb, "user");
    if (!user || json_is_null(user))
        return 0;
    if (oks_okta_user_parse(user, &out->user, err) != 0)
        return oks_err_wrap(err, "okta app user %.40s: embedded user", out->id);
    out->has_user = true;
    if (strcmp(out->user.id, out->id) != 0)
        return oks_err_set(err, OKS_E_INVALID,
                           "okta app user %.40s: embedded user id %.40s differs", out->id,
                           out->user.id);
    return 0;
}

int oks_okta_app_user_parse(const json_t *j, oks_okta_app_user *out, oks_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j))
        return oks_err_set(err, OKS_E_INVALID, "okta app user: not a JSON object");
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!id || !*id)
        return oks_err_set(err, OKS_E_INVALID, "okta app user: missing or non-string id");
    json_t *profile = json_object_get(j, "profile");
    if (profile && !json_is_null(profile) && !json_is_object(profile))
        return oks_err_set(err, OKS_E_INVALID, "okta app user %.40s: profile not an object", id);
    bool oom = false;
    out->id = strdup(id);
    oom = out->id == NULL;
    out->status = dup_field(j, "status", &oom);
    out->scope = dup_field(j, "scope", &oom);
    out->user_name = dup_field(json_object_get(j, "credentials"), "userName", &oom);
    out->last_updated_ms = time_field(j, "lastUpdated");
    out->profile = json_is_object(profile) ? json_incref(profile) : NULL;
    if (oom) {
        oks_okta_app_user_free(out);
        return oks_err_set(err, OKS_E_NOMEM, "okta app user: out of memory");
    }
    if (parse_embedded(j, out, err) != 0) {
        oks_okta_app_user_free(out);
        return -1;
    }
    return 0;
}
