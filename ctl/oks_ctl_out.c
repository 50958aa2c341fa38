/* Tenant views: one SQL query builds the JSON (what --json prints); the human form is
 * rendered from the same JSON so both always agree. */
#include "oks_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char
    TENANTS_SQL
        [] = "SELECT coalesce(jsonb_agg(jsonb_build_object("
             "'id', t.id, 'subdomain', t.subdomain, 'okta_domain', t.okta_domain, "
             "'okta_app_id', t.okta_app_id, 'okta_client_id', t.okta_client_id, "
             "'api_token_set', t.api_token_enc IS NOT NULL, "
             "'client_secret_set', t.client_secret_enc IS NOT NULL, "
             "'webhook_url', rtrim($2, '/') || '/webhooks/okta/' || t.subdomain, "
             "'previous_secret_expires_at', " ISO(
                 "t.webhook_secret_prev_expires_at") ", "
                                                     "'auto_invite', t.auto_invite, "
                                                     "'manager_mode', t.manager_mode, "
                                                     "'full_sync_time', to_char(t.full_sync_time, "
                                                     "'HH24:MI'), "
                                                     "'deactivation_threshold_pct', "
                                                     "t.deactivation_threshold_pct, "
                                                     "'deactivation_threshold_min', "
                                                     "t.deactivation_threshold_min, "
                                                     "'users', (SELECT count(*) FROM users u WHERE "
                                                     "u.tenant_id = t.id), "
                                                     "'last_sync', (SELECT "
                                                     "jsonb_build_object('id', r.id, 'status', "
                                                     "r.status, "
                                                     "  'scheduled_for', " ISO("r.scheduled_for") ", 'finished_at', " ISO(
                                                         "r.finished_at") ") "
                                                                          "  FROM sync_runs r "
                                                                          "WHERE r.tenant_id = "
                                                                          "t.id AND r.kind = "
                                                                          "'full_sync' "
                                                                          "  ORDER BY "
                                                                          "r.scheduled_for DESC "
                                                                          "LIMIT 1), "
                                                                          "'created_at', " ISO(
                                                                              "t."
                                                                              "cre"
                                                                              "ate"
                                                                              "d_"
                                                                              "at") ", "
                                                                                    "'updated_at',"
                                                                                    " " ISO(
                                                                                        "t."
                                                                                        "update"
                                                                                        "d_at") ") "
                                                                                                "OR"
                                                                                                "DE"
                                                                                                "R "
                                                                                                "BY"
                                                                                                " "
                                                                                                "t."
                                                                                                "su"
                                                                                                "bd"
                                                                                                "om"
                                                                                                "ai"
                                                                                                "n)"
                                                                                                ", "
                                                                                                "'["
                                                                                                "]'"
                                                                                                "::"
                                                                                                "js"
                                                                                                "on"
                                                                                                "b)"
                                                                                                "::"
                                                                                                "te"
                                                                                                "xt"
                                                                                                " "
                                                                                                "FR"
                                                                                                "OM"
                                                                                                " t"
                                                                                                "en"
                                                                                                "an"
                                                                                                "ts"
                                                                                                " t"
                                                                                                " "
                                                                                                "WH"
                                                                                                "ER"
                                                                                                "E "
                                                                                                "$1"
                                                                                                "::"
                                                                                                "te"
                                                                                                "xt"
                                                                                                " I"
                                                                                                "S "
                                                                                                "NU"
                                                                                                "LL"
                                                                                                " O"
                                                                                                "R "
                                                                                                "t."
                                                                                                "su"
                                                                                                "bd"
                                                                                                "om"
                                                                                                "ai"
                                                                                                "n "
                                                                                                "= "
                                                                                                "$"
                                                                                                "1";

json_t *oks_ctl_fetch_tenants(oks_ctl *ctl, const char *subdomain, oks_err *err)
{
    const char *p[] = {subdomain, ctl->cfg.webhook_base_url};
    PGresult *r = oks_db_exec_params(ctl->db, TENANTS_SQL, 2, p, err);
    if (!r)
        return NULL;
    json_error_t jerr;
    json_t *list = json_loads(PQgetvalue(r, 0, 0), 0, &jerr);
    PQclear(r);
    if (!json_is_array(list)) {
        json_decref(list);
        oks_err_set(err, OKS_E_PERMANENT, "unexpected tenant JSON from the database: %s",
                    jerr.text);
        return NULL;
    }
    if (oks_ctl_tenant_rules_fetch(ctl, subdomain, list, err) != 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

void oks_ctl_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s)
        puts(s);
    free(s);
}

/* A scalar as display text into buf ("-" for null/absent). */
static const char *text(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_true(v))
        return "yes";
    if (json_is_false(v))
        return "no";
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return "-";
}

static const char *const SHOW_FIELDS[][2] = {
    {"subdomain", "subdomain"},
    {"id", "id"},
    {"okta_domain", "okta domain"},
    {"okta_app_id", "okta app id"},
    {"okta_client_id", "okta client id"},
    {"api_token_set", "api token set"},
    {"client_secret_set", "client secret set"},
    {"webhook_url", "webhook url"},
    {"previous_secret_expires_at", "previous secret valid until"},
    {"auto_invite", "auto invite"},
    {"manager_mode", "manager mode"},
    {"full_sync_time", "full sync time (UTC)"},
    {"deactivation_threshold_pct", "deactivation threshold %"},
    {"deactivation_threshold_min", "deactivation threshold min"},
    {"users", "users"},
    {"created_at", "created"},
    {"updated_at", "updated"},
};

void oks_ctl_print_tenant(const oks_ctl *ctl, json_t *t)
{
    if (ctl->json) {
        oks_ctl_print_json(t);
        return;
    }
    char buf[64];
    for (size_t i = 0; i < sizeof SHOW_FIELDS / sizeof SHOW_FIELDS[0]; i++) {
        json_t *v = json_object_get(t, SHOW_FIELDS[i][0]);
        bool fleet_default = strcmp(SHOW_FIELDS[i][0], "full_sync_time") == 0 && json_is_null(v);
        printf("%-28s %s\n", SHOW_FIELDS[i][1],
               fleet_default ? "default (the scheduler's default-time)" : text(v, buf, sizeof buf));
    }
    json_t *last = json_object_get(t, "last_sync");
    if (json_is_object(last))
        printf("%-28s %s (scheduled %s, finished %s)\n", "last full sync",
               text(json_object_get(last, "status"), buf, sizeof buf),
               json_string_value(json_object_get(last, "scheduled_for")),
               json_is_string(json_object_get(last, "finished_at"))
                   ? json_string_value(json_object_get(last, "finished_at"))
                   : "-");
    else
        printf("%-28s %s\n", "last full sync", "never");
    oks_ctl_tenant_rules_print(t);
}

void oks_ctl_print_tenant_list(const oks_ctl *ctl, json_t *list)
{
    if (ctl->json) {
        oks_ctl_print_json(list);
        return;
    }
    if (json_array_size(list) == 0) {
        puts("no tenants (add one with: oktasyncctl tenant add --help)");
        return;
    }
    printf("%-24s %-36s %-30s %-6s %-10s %-5s %7s %s\n", "SUBDOMAIN", "ID", "OKTA DOMAIN", "INVITE",
           "MANAGERS", "SYNC", "USERS", "LAST SYNC");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        char b[8][64];
        json_t *last = json_object_get(t, "last_sync");
        printf("%-24s %-36s %-30s %-6s %-10s %-5s %7s %s\n",
               text(json_object_get(t, "subdomain"), b[0], 64),
               text(json_object_get(t, "id"), b[1], 64),
               text(json_object_get(t, "okta_domain"), b[2], 64),
               text(json_object_get(t, "auto_invite"), b[3], 64),
               text(json_object_get(t, "manager_mode"), b[4], 64),
               text(json_object_get(t, "full_sync_time"), b[5], 64),
               text(json_object_get(t, "users"), b[6], 64),
               json_is_object(last) ? text(json_object_get(last, "status"), b[7], 64) : "never");
    }
}
