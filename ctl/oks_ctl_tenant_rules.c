/* The product-rule settings of a tenant (issue 10, docs/rules.md) for `tenant set` and
 * `tenant show`: the attribute map (--map, repeatable), how the manager is found
 * (--manager-attribute, --manager-match) and Okta group -> team mappings (--group-team,
 * repeatable). Field names, defaults and the override syntax come from common/core/oks_attr_map. */
#include "oks_ctl.h"

#include "core/oks_attr_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEAM_NAME_MAX 200

static int bad(const char *name, const char *value, const char *why)
{
    return oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --%s: \"%s\": %s", name, value, why);
}

/* "--name V" or "--name=V" at argv[i]: its value (advancing *i), or NULL when argv[i] is not
 * that option. *missing is set when the value is missing. */
static const char *take_one(int argc, char **argv, int *i, const char *name, bool *missing)
{
    const char *a = argv[*i];
    size_t len = strlen(name);
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0)
        return NULL;
    if (a[2 + len] == '=')
        return a + 3 + len;
    if (a[2 + len] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int oks_ctl_tenant_rules_take(int *argc, char **argv, oks_ctl_tenant_rules *r)
{
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = take_one(*argc, argv, &i, "map", &missing)) != NULL) {
            if (r->n_maps == OKS_CTL_RULES_MAX)
                return oks_ctl_fail(OKS_CTL_USAGE, "--map given more than %d times",
                                    OKS_CTL_RULES_MAX);
            r->maps[r->n_maps++] = v;
        } else if (!missing && (v = take_one(*argc, argv, &i, "group-team", &missing)) != NULL) {
            if (r->n_group_teams == OKS_CTL_RULES_MAX)
                return oks_ctl_fail(OKS_CTL_USAGE, "--group-team given more than %d times",
                                    OKS_CTL_RULES_MAX);
            r->group_teams[r->n_group_teams++] = v;
        } else if (missing) {
            return oks_ctl_fail(OKS_CTL_USAGE, "%s needs a value", argv[i]);
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return OKS_CTL_OK;
}

static int parse_maps(oks_ctl_tenant_rules *r)
{
    char why[200];
    for (int i = 0; i < r->n_maps; i++) {
        const char *m = r->maps[i], *eq = strchr(m, '=');
        if (!eq)
            return bad("map", m,
                       "expected FIELD=OKTA_ATTRIBUTE (FIELD= stops syncing it, "
                       "FIELD=default restores the default)");
        char field[32];
        snprintf(field, sizeof field, "%.*s", (int)(eq - m < 31 ? eq - m : 31), m);
        const oks_attr_field *f = oks_attr_field_find(field);
        if (!f || (size_t)(eq - m) != strlen(field))
            return bad("map", m,
                       "unknown field: expected first_name, last_name, email, title, language, "
                       "location, department or picture");
        bool seen = json_object_get(r->map_set, f->field) != NULL;
        size_t k;
        json_t *v;
        json_array_foreach(r->map_reset, k, v)
        {
            if (strcmp(json_string_value(v), f->field) == 0)
                seen = true;
        }
        if (seen)
            return oks_ctl_fail(OKS_CTL_USAGE, "--map %s given twice", f->field);
        const char *attr = eq + 1;
        if (strcmp(attr, "default") == 0) {
            json_array_append_new(r->map_reset, json_string(f->field));
            continue;
        }
        if (!oks_attr_valid_override(f, attr, why, sizeof why))
            return bad("map", m, why);
        json_object_set_new(r->map_set, f->field, json_string(attr));
    }
    return OKS_CTL_OK;
}

/* "OKTA_GROUP_ID=TEAM NAME": the name trimmed in place into name (empty: remove). */
static int parse_group_team(const char *v, char *group, size_t group_cap, char *name,
                            size_t name_cap)
{
    char why[160];
    const char *eq = strchr(v, '=');
    if (!eq)
        return bad("group-team", v, "expected OKTA_GROUP_ID=TEAM_NAME (OKTA_GROUP_ID= removes it)");
    snprintf(group, group_cap, "%.*s", (int)(eq - v), v);
    if ((size_t)(eq - v) >= group_cap || !oks_ctl_valid_okta_id(group, why, sizeof why))
        return bad("group-team", v,
                   "the Okta group id must be 1 to 100 letters, digits, '-', '_' "
                   "or '.'");
    const char *s = eq + 1, *e = s + strlen(s);
    while (*s == ' ' || *s == '\t')
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if ((size_t)(e - s) > TEAM_NAME_MAX)
        return bad("group-team", v, "the team name is longer than 200 characters");
    for (const char *p = s; p < e; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return bad("group-team", v, "the team name contains a control character");
    snprintf(name, name_cap, "%.*s", (int)(e - s), s);
    if (!name[0] && eq[1])
        return bad("group-team", v, "the team name is blank (OKTA_GROUP_ID= removes a mapping)");
    return OKS_CTL_OK;
}

int oks_ctl_tenant_rules_parse(const oks_ctl_opt *opts, size_t n, oks_ctl_tenant_rules *r,
                               json_t *changed)
{
    r->map_set = json_object();
    r->map_reset = json_array();
    if (!r->map_set || !r->map_reset)
        return oks_ctl_fail(OKS_CTL_FAILED, "out of memory");
    int rc = parse_maps(r);
    if (rc != OKS_CTL_OK)
        return rc;
    for (int i = 0; i < r->n_group_teams; i++) {
        char group[128], name[TEAM_NAME_MAX + 1];
        if ((rc = parse_group_team(r->group_teams[i], group, sizeof group, name, sizeof name)) !=
            OKS_CTL_OK)
            return rc;
        for (int j = 0; j < i; j++)
            if (strncmp(r->group_teams[j], group, strlen(group)) == 0 &&
                r->group_teams[j][strlen(group)] == '=')
                return oks_ctl_fail(OKS_CTL_USAGE, "--group-team %s given twice", group);
    }
    r->manager_attribute = oks_ctl_opt_get(opts, n, "manager-attribute");
    if (r->manager_attribute && !oks_attr_valid_name(r->manager_attribute))
        return bad("manager-attribute", r->manager_attribute,
                   "expected an Okta attribute name (a letter, then letters, digits or '_', at "
                   "most 100)");
    r->manager_match = oks_ctl_opt_get(opts, n, "manager-match");
    if (r->manager_match && strcmp(r->manager_match, "okta_id") != 0 &&
        strcmp(r->manager_match, "login") != 0 && strcmp(r->manager_match, "email") != 0 &&
        strcmp(r->manager_match, "employee_number") != 0)
        return bad("manager-match", r->manager_match,
                   "expected okta_id, login, email or employee_number");
    if (r->n_maps > 0)
        json_array_append_new(changed, json_string("map"));
    if (r->n_group_teams > 0)
        json_array_append_new(changed, json_string("group-team"));
    return OKS_CTL_OK;
}

void oks_ctl_tenant_rules_free(oks_ctl_tenant_rules *r)
{
    json_decref(r->map_set);
    json_decref(r->map_reset);
    r->map_set = r->map_reset = NULL;
}

static int audit_row(oks_ctl *ctl, const char *tenant_id, const char *entity, const char *entity_id,
                     const char *action, json_t *before, json_t *after, oks_err *err)
{
    char *b = before ? json_dumps(before, JSON_COMPACT) : NULL;
    char *a = after ? json_dumps(after, JSON_COMPACT) : NULL;
    const char *p[] = {tenant_id, entity, entity_id, action, b, a, oks_ctl_actor()};
    PGresult *r = ((before && !b) || (after && !a))
                      ? NULL
                      : oks_db_exec_params(ctl->db,
                                           "INSERT INTO audit_log (tenant_id, entity, entity_id, "
                                           "action, before, after, source, actor) VALUES "
                                           "($1::uuid, $2, $3, $4, $5::jsonb, $6::jsonb, "
                                           "'operator', $7)",
                                           7, p, err);
    free(b);
    free(a);
    if (!r)
        return err->code ? oks_err_wrap(err, "writing the audit log")
                         : oks_err_set(err, OKS_E_NOMEM, "out of memory");
    PQclear(r);
    return 0;
}

/* The team named name (trimmed; compared case-insensitively), created with source
 * 'okta_group' when the tenant has none. */
static int team_for(oks_ctl *ctl, const char *tenant_id, const char *name, char *team_id,
                    size_t cap, oks_err *err)
{
    const char *p[] = {tenant_id, name};
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "INSERT INTO teams (tenant_id, name, source) VALUES ($1::uuid, $2, 'okta_group') "
        "ON CONFLICT DO NOTHING RETURNING id::text",
        2, p, err);
    if (!r)
        return -1;
    bool created = PQntuples(r) == 1;
    if (created) {
        snprintf(team_id, cap, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        json_t *after =
            json_pack("{s:s, s:s, s:s}", "id", team_id, "name", name, "source", "okta_group");
        int rc = audit_row(ctl, tenant_id, "team", team_id, "create", NULL, after, err);
        json_decref(after);
        return rc;
    }
    PQclear(r);
    r = oks_db_exec_params(ctl->db,
                           "SELECT id::text FROM teams WHERE tenant_id = $1::uuid "
                           "AND lower(name) = lower($2)",
                           2, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return oks_err_set(err, OKS_E_CONFLICT, "team \"%s\" could not be created or found", name);
    }
    snprintf(team_id, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int group_team(oks_ctl *ctl, const char *tenant_id, const char *spec, oks_err *err)
{
    char group[128], name[TEAM_NAME_MAX + 1], team_id[32];
    if (parse_group_team(spec, group, sizeof group, name, sizeof name) != OKS_CTL_OK)
        return oks_err_set(err, OKS_E_INVALID, "bad --group-team"); /* validated before */
    const char *p[] = {tenant_id, group, NULL};
    PGresult *r;
    if (!name[0]) {
        r = oks_db_exec_params(ctl->db,
                               "DELETE FROM tenant_group_teams WHERE tenant_id = $1::uuid AND "
                               "okta_group_id = $2 RETURNING team_id::text",
                               2, p, err);
        if (!r)
            return -1;
        if (PQntuples(r) != 1) {
            PQclear(r);
            return oks_err_set(err, OKS_E_NOTFOUND,
                               "the tenant has no team mapped to Okta group %s", group);
        }
        json_t *before =
            json_pack("{s:s, s:s}", "okta_group_id", group, "team_id", PQgetvalue(r, 0, 0));
        PQclear(r);
        int rc = audit_row(ctl, tenant_id, "group_team", group, "remove", before, NULL, err);
        json_decref(before);
        return rc;
    }
    if (team_for(ctl, tenant_id, name, team_id, sizeof team_id, err) != 0)
        return -1;
    p[2] = team_id;
    r = oks_db_exec_params(
        ctl->db,
        "WITH old AS (SELECT team_id FROM tenant_group_teams WHERE tenant_id = $1::uuid AND "
        "okta_group_id = $2) INSERT INTO tenant_group_teams (tenant_id, okta_group_id, team_id) "
        "VALUES ($1::uuid, $2, $3::bigint) ON CONFLICT (tenant_id, okta_group_id) DO UPDATE SET "
        "team_id = EXCLUDED.team_id RETURNING (SELECT team_id::text FROM old)",
        3, p, err);
    if (!r)
        return -1;
    bool had = !PQgetisnull(r, 0, 0);
    json_t *before =
        had ? json_pack("{s:s, s:s}", "okta_group_id", group, "team_id", PQgetvalue(r, 0, 0))
            : NULL;
    PQclear(r);
    json_t *after =
        json_pack("{s:s, s:s, s:s}", "okta_group_id", group, "team_id", team_id, "team", name);
    int rc = audit_row(ctl, tenant_id, "group_team", group, had ? "update" : "create", before,
                       after, err);
    json_decref(before);
    json_decref(after);
    return rc;
}

int oks_ctl_tenant_rules_apply(oks_ctl *ctl, const char *tenant_id, const oks_ctl_tenant_rules *r,
                               oks_err *err)
{
    if (json_object_size(r->map_set) > 0 || json_array_size(r->map_reset) > 0 ||
        r->manager_attribute || r->manager_match) {
        char *set = json_dumps(r->map_set, JSON_COMPACT);
        char *reset = json_dumps(r->map_reset, JSON_COMPACT);
        const char *p[] = {tenant_id, reset, set, r->manager_attribute, r->manager_match};
        PGresult *res =
            set && reset ? oks_db_exec_params(
                               ctl->db,
                               "UPDATE tenants SET attribute_map = (attribute_map - ARRAY(SELECT "
                               "jsonb_array_elements_text($2::jsonb))) || $3::jsonb, "
                               "manager_attribute = coalesce($4, manager_attribute), "
                               "manager_match = coalesce($5, manager_match) WHERE id = $1::uuid",
                               5, p, err)
                         : NULL;
        free(set);
        free(reset);
        if (!res)
            return err->code ? -1 : oks_err_set(err, OKS_E_NOMEM, "out of memory");
        PQclear(res);
    }
    for (int i = 0; i < r->n_group_teams; i++)
        if (group_team(ctl, tenant_id, r->group_teams[i], err) != 0)
            return -1;
    return 0;
}

/* ---- tenant show ---- */

static const char RULES_SQL[] =
    "SELECT t.id::text, jsonb_build_object('attribute_overrides', t.attribute_map, "
    "'manager_attribute', t.manager_attribute, 'manager_match', t.manager_match, "
    "'group_teams', coalesce((SELECT jsonb_agg(jsonb_build_object('okta_group_id', "
    "g.okta_group_id, 'team_id', g.team_id, 'team', tm.name) ORDER BY g.okta_group_id) "
    "FROM tenant_group_teams g JOIN teams tm ON tm.tenant_id = g.tenant_id AND tm.id = g.team_id "
    "WHERE g.tenant_id = t.id), '[]'::jsonb), "
    "'pending_manager_refs', (SELECT count(*) FROM pending_manager_refs p "
    "WHERE p.tenant_id = t.id))::text FROM tenants t "
    "WHERE $1::text IS NULL OR t.subdomain = $1";

/* The map in effect: every field with its attribute (null: not synced), its fallback and
 * whether it is the default or the tenant's override. */
static json_t *effective_map(json_t *overrides)
{
    json_t *m = json_object();
    for (size_t i = 0; m && i < oks_attr_fields_count; i++) {
        const oks_attr_field *f = &oks_attr_fields[i];
        json_t *o = json_object_get(overrides, f->field);
        json_t *e;
        if (json_is_string(o))
            e = json_pack("{s:o, s:s}", "attribute",
                          json_string_value(o)[0] ? json_string(json_string_value(o)) : json_null(),
                          "source", "override");
        else
            e = json_pack("{s:o, s:o, s:s}", "attribute",
                          f->default_attr ? json_string(f->default_attr) : json_null(), "fallback",
                          f->fallback ? json_string(f->fallback) : json_null(), "source",
                          "default");
        json_object_set_new(m, f->field, e);
    }
    return m;
}

int oks_ctl_tenant_rules_fetch(oks_ctl *ctl, const char *subdomain, json_t *list, oks_err *err)
{
    const char *p[] = {subdomain};
    PGresult *r = oks_db_exec_params(ctl->db, RULES_SQL, 1, p, err);
    if (!r)
        return -1;
    json_t *by_id = json_object(); /* tenant id -> its object in list (borrowed) */
    size_t k;
    json_t *t;
    json_array_foreach(list, k, t)
    {
        const char *id = json_string_value(json_object_get(t, "id"));
        if (by_id && id)
            json_object_set(by_id, id, t);
    }
    int rc = by_id ? 0 : oks_err_set(err, OKS_E_NOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        t = json_object_get(by_id, PQgetvalue(r, i, 0));
        if (!t)
            continue; /* added since the tenant query: not in this listing */
        json_t *rules = json_loads(PQgetvalue(r, i, 1), 0, NULL);
        if (!rules) {
            rc = oks_err_set(err, OKS_E_PERMANENT, "unexpected rules JSON from the database");
            break;
        }
        json_object_set_new(rules, "attribute_map",
                            effective_map(json_object_get(rules, "attribute_overrides")));
        json_object_update(t, rules);
        json_decref(rules);
    }
    json_decref(by_id);
    PQclear(r);
    return rc;
}

void oks_ctl_tenant_rules_print(json_t *t)
{
    json_t *map = json_object_get(t, "attribute_map");
    if (!json_is_object(map))
        return;
    printf("%-28s %s by %s\n", "manager",
           json_string_value(json_object_get(t, "manager_attribute")),
           json_string_value(json_object_get(t, "manager_match")));
    printf("%-28s %lld\n", "pending manager references",
           (long long)json_integer_value(json_object_get(t, "pending_manager_refs")));
    printf("attribute map (field: Okta attribute)\n");
    for (size_t i = 0; i < oks_attr_fields_count; i++) {
        const char *name = oks_attr_fields[i].field;
        json_t *e = json_object_get(map, name);
        json_t *attr = json_object_get(e, "attribute"), *fb = json_object_get(e, "fallback");
        char shown[256];
        if (!json_is_string(attr))
            snprintf(shown, sizeof shown, "not synced");
        else if (json_is_string(fb))
            snprintf(shown, sizeof shown, "%s, else %s", json_string_value(attr),
                     json_string_value(fb));
        else
            snprintf(shown, sizeof shown, "%s", json_string_value(attr));
        printf("  %-26s %s (%s)\n", name, shown, json_string_value(json_object_get(e, "source")));
    }
    json_t *groups = json_object_get(t, "group_teams");
    if (json_array_size(groups) == 0) {
        printf("%-28s %s\n", "okta group -> team", "none");
        return;
    }
    printf("okta group -> team\n");
    size_t k;
    json_t *g;
    json_array_foreach(groups, k, g)
    {
        printf("  %-26s %s (team %lld)\n", json_string_value(json_object_get(g, "okta_group_id")),
               json_string_value(json_object_get(g, "team")),
               (long long)json_integer_value(json_object_get(g, "team_id")));
    }
}
