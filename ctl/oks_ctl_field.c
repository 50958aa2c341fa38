/* oktasyncctl field {add,list,remove}: a tenant's custom fields. An Okta profile attribute is
 * copied to a user only when a custom field of that exact name exists for the tenant. */
#include "oks_ctl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "Usage: oktasyncctl field SUBCOMMAND ...\n\n"
    "  add SUBDOMAIN NAME      define custom field NAME (an Okta profile attribute name);\n"
    "                          adding a removed field syncs it again\n"
    "  list SUBDOMAIN          list the tenant's custom fields (removed ones too) and how many\n"
    "                          users have a value\n"
    "  remove SUBDOMAIN NAME   stop syncing the field; its stored values are kept\n\n"
    "An Okta profile attribute is copied to a user only if the tenant has a custom field of\n"
    "that exact (case-sensitive) name that is not removed; existing users get values at the\n"
    "next full sync, and from later events.\n"
    "Add --json for machine-readable output.\n";

static int field_args(const char *cmd, int n_pos, const char **pos, int want)
{
    if (n_pos != want)
        return oks_ctl_fail(OKS_CTL_USAGE, "%s needs %s (see oktasyncctl field --help)", cmd,
                            want == 2 ? "SUBDOMAIN NAME" : "SUBDOMAIN");
    int rc = oks_ctl_subdomain_arg(cmd, 1, pos);
    if (rc != OKS_CTL_OK || want < 2)
        return rc;
    const char *name = pos[1];
    size_t len = strlen(name);
    bool ok = len > 0 && len <= 100 && isalpha((unsigned char)name[0]);
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)name[i]) || name[i] == '_';
    if (!ok)
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid field name \"%s\": expected an Okta attribute name (a letter, "
                            "then letters, digits or '_', at most 100)",
                            name);
    return OKS_CTL_OK;
}

/* Runs one statement in a transaction with an audit row. The statement gets $1 subdomain,
 * $2 name and returns tenant id, field id and the action done (create, restore, remove),
 * which is copied to action. */
static int change(oks_ctl *ctl, const char *sql, char *action, const char **pos, char *field_id,
                  size_t cap, oks_err *err)
{
    PGresult *r = NULL;
    if (oks_db_begin(ctl->db, err) != 0)
        return -1;
    r = oks_db_exec_params(ctl->db, sql, 2, pos, err);
    if (!r)
        goto fail;
    if (PQntuples(r) != 1) {
        oks_err_set(err, OKS_E_NOTFOUND, "no tenant '%s' or no field '%s' there", pos[0], pos[1]);
        goto fail;
    }
    snprintf(field_id, cap, "%s", PQgetvalue(r, 0, 1));
    snprintf(action, 16, "%s", PQgetvalue(r, 0, 2));
    json_t *img = json_pack("{s:s, s:s}", "id", field_id, "name", pos[1]);
    char *s = img ? json_dumps(img, JSON_COMPACT) : NULL;
    json_decref(img);
    const char *p[] = {PQgetvalue(r, 0, 0), field_id, action, s, oks_ctl_actor()};
    bool create = strcmp(action, "remove") != 0;
    PGresult *a = s ? oks_db_exec_params(
                          ctl->db,
                          create ? "INSERT INTO audit_log (tenant_id, entity, entity_id, action, "
                                   "after, source, actor) VALUES ($1::uuid, 'custom_field', $2, "
                                   "$3, $4::jsonb, 'operator', $5)"
                                 : "INSERT INTO audit_log (tenant_id, entity, entity_id, action, "
                                   "before, source, actor) VALUES ($1::uuid, 'custom_field', $2, "
                                   "$3, $4::jsonb, 'operator', $5)",
                          5, p, err)
                    : NULL;
    free(s);
    if (!a)
        goto fail;
    PQclear(a);
    PQclear(r);
    r = NULL;
    if (oks_db_commit(ctl->db, err) != 0)
        goto fail;
    return 0;
fail:
    PQclear(r);
    oks_db_rollback(ctl->db);
    return -1;
}

static bool tenant_exists(oks_ctl *ctl, const char *subdomain)
{
    oks_err err = {0};
    const char *p[] = {subdomain};
    PGresult *r =
        oks_db_exec_params(ctl->db, "SELECT 1 FROM tenants WHERE subdomain = $1", 1, p, &err);
    bool found = r && PQntuples(r) == 1;
    PQclear(r);
    return found;
}

static int add_or_remove(oks_ctl *ctl, bool add, int argc, char **argv)
{
    const char *cmd = add ? "oktasyncctl field add" : "oktasyncctl field remove";
    const char *pos[2];
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, cmd, HELP, argc, argv, NULL, 0, pos, 2, &n_pos, &done);
    if (rc != OKS_CTL_OK || done || (rc = field_args(cmd, n_pos, pos, 2)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    /* a removed field keeps its row and values: adding it again clears removed_at */
    static const char ADD_SQL[] =
        "INSERT INTO custom_fields (tenant_id, name) SELECT id, $2 FROM tenants "
        "WHERE subdomain = $1 ON CONFLICT (tenant_id, name) DO UPDATE SET removed_at = NULL "
        "WHERE custom_fields.removed_at IS NOT NULL RETURNING tenant_id::text, id::text, "
        "CASE WHEN xmax = 0 THEN 'create' ELSE 'restore' END";
    static const char REMOVE_SQL[] =
        "UPDATE custom_fields f SET removed_at = now() FROM tenants t WHERE t.id = f.tenant_id "
        "AND t.subdomain = $1 AND f.name = $2 AND f.removed_at IS NULL "
        "RETURNING f.tenant_id::text, f.id::text, 'remove'";
    oks_err err = {0};
    char id[32], action[16] = "";
    if (change(ctl, add ? ADD_SQL : REMOVE_SQL, action, pos, id, sizeof id, &err) != 0) {
        if (err.code == OKS_E_NOTFOUND && add && tenant_exists(ctl, pos[0]))
            return oks_ctl_fail(OKS_CTL_FAILED, "tenant '%s' already has field '%s'", pos[0],
                                pos[1]);
        if (err.code == OKS_E_NOTFOUND)
            return oks_ctl_fail(OKS_CTL_FAILED, "%s%s", err.msg,
                                add ? "" : " (or it is already removed)");
        return oks_ctl_fail_err(&err, add ? "adding the field" : "removing the field");
    }
    const char *what = strcmp(action, "create") == 0    ? "added"
                       : strcmp(action, "restore") == 0 ? "restored"
                                                        : "removed";
    if (ctl->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "subdomain", pos[0], "name", pos[1],
                              "field_id", id, "action", what);
        oks_ctl_print_json(o);
        json_decref(o);
    } else {
        printf("tenant %s: custom field %s %s%s\n", pos[0], pos[1], what,
               add ? "" : " (values kept, no longer synced)");
    }
    return OKS_CTL_OK;
}

static int list(oks_ctl *ctl, int argc, char **argv)
{
    const char *pos[1];
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl field list", HELP, argc, argv, NULL, 0, pos, 1,
                                  &n_pos, &done);
    if (rc != OKS_CTL_OK || done ||
        (rc = field_args("oktasyncctl field list", n_pos, pos, 1)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "SELECT t.id IS NOT NULL, coalesce((SELECT jsonb_agg(jsonb_build_object('name', f.name, "
        "'values', (SELECT count(*) FROM custom_field_values v WHERE v.field_id = f.id), "
        "'removed_at', to_char(f.removed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) "
        "ORDER BY f.name) FROM custom_fields f WHERE f.tenant_id = t.id), '[]')::text "
        "FROM (SELECT 1) one LEFT JOIN tenants t ON t.subdomain = $1",
        1, pos, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "listing fields");
    bool found = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    json_t *fields = found ? json_loads(PQgetvalue(r, 0, 1), 0, NULL) : NULL;
    PQclear(r);
    if (!found)
        return oks_ctl_fail(OKS_CTL_FAILED, "no tenant with subdomain '%s'", pos[0]);
    if (ctl->json) {
        oks_ctl_print_json(fields);
    } else {
        size_t i;
        json_t *f;
        if (json_array_size(fields) == 0)
            printf("tenant %s has no custom fields\n", pos[0]);
        json_array_foreach(fields, i, f)
        {
            json_t *removed = json_object_get(f, "removed_at");
            printf("%-40s %lld values%s%s\n", json_string_value(json_object_get(f, "name")),
                   (long long)json_integer_value(json_object_get(f, "values")),
                   json_is_string(removed) ? ", removed " : "",
                   json_is_string(removed) ? json_string_value(removed) : "");
        }
    }
    json_decref(fields);
    return OKS_CTL_OK;
}

int oks_ctl_cmd_field(oks_ctl *ctl, int argc, char **argv)
{
    if (argc < 1)
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "missing field subcommand (see oktasyncctl field --help)");
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(HELP, stdout);
        return OKS_CTL_OK;
    }
    if (strcmp(argv[0], "add") == 0)
        return add_or_remove(ctl, true, argc - 1, argv + 1);
    if (strcmp(argv[0], "remove") == 0)
        return add_or_remove(ctl, false, argc - 1, argv + 1);
    if (strcmp(argv[0], "list") == 0)
        return list(ctl, argc - 1, argv + 1);
    return oks_ctl_fail(OKS_CTL_USAGE,
                        "unknown field subcommand '%s' (see oktasyncctl field --help)", argv[0]);
}
