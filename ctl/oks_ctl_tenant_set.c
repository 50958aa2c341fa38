/* oktasyncctl tenant set / rotate-secret */
#include "oks_ctl.h"

#include "core/oks_config.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SET_HELP[] =
    "Usage: oktasyncctl tenant set SUBDOMAIN [--okta-domain D] [--app-id A] [--client-id C]\n"
    "         [--api-token T|-] [--client-secret X|-] [--auto-invite on|off]\n"
    "         [--manager-mode individual|team] [--full-sync-time HH:MM|default]\n"
    "         [--deactivation-threshold-pct N] [--deactivation-threshold-min N]\n"
    "         [--map FIELD=ATTRIBUTE|FIELD=|FIELD=default]... [--manager-attribute ATTRIBUTE]\n"
    "         [--manager-match okta_id|login|email|employee_number]\n"
    "         [--group-team OKTA_GROUP_ID=TEAM_NAME|OKTA_GROUP_ID=]... [--json]\n\n"
    "Change only the settings given (at least one). New credentials are sealed with\n"
    "--secret-key (needed only when --api-token or --client-secret is given). Every change is\n"
    "written to the audit log and broadcast to running services (NOTIFY oktasync_tenants).\n"
    "Prints the tenant as 'tenant show' does.\n\n"
    "  --map FIELD=ATTRIBUTE   fill platform field FIELD (first_name, last_name, email, title,\n"
    "                          language, location, department, picture) from this Okta profile\n"
    "                          attribute; location may combine attributes: city+countryCode.\n"
    "                          FIELD= stops syncing FIELD; FIELD=default restores the default.\n"
    "                          Repeat for several fields. Defaults: firstName, lastName, email,\n"
    "                          title, preferredLanguage (else locale), city, department; picture\n"
    "                          is not synced unless mapped.\n"
    "  --manager-attribute A   Okta attribute naming the user's manager (default managerId)\n"
    "  --manager-match M       what it names: okta_id (default), login, email or\n"
    "                          employee_number\n"
    "  --group-team G=TEAM     members of Okta group G also join TEAM (not as primary team);\n"
    "                          TEAM is trimmed and matched case-insensitively to an existing\n"
    "                          team, else created. G= removes the mapping. Repeatable.\n";

static const char UPDATE_SQL[] =
    "UPDATE tenants SET okta_domain = coalesce($2, okta_domain), "
    "okta_app_id = coalesce($3, okta_app_id), okta_client_id = coalesce($4, okta_client_id), "
    "api_token_enc = coalesce($5::bytea, api_token_enc), "
    "client_secret_enc = coalesce($6::bytea, client_secret_enc), "
    "auto_invite = coalesce($7::bool, auto_invite), "
    "manager_mode = coalesce($8, manager_mode), "
    "full_sync_time = CASE WHEN $12::bool THEN NULL ELSE coalesce($9::time, full_sync_time) END, "
    "deactivation_threshold_pct = coalesce($10::int, deactivation_threshold_pct), "
    "deactivation_threshold_min = coalesce($11::int, deactivation_threshold_min) "
    "WHERE id = $1::uuid";

typedef struct sealed_pair {
    uint8_t key[OKS_CRYPTO_KEY_LEN]; /* loaded only when a credential is given */
    uint8_t *token, *client_secret;
    size_t token_len, client_secret_len;
} sealed_pair;

/* Lock the row, seal new credentials for its id, update, audit before/after; inside the
 * caller's transaction. */
static int update(oks_ctl *ctl, const char *sub, const oks_ctl_tenant_fields *f, sealed_pair *s,
                  const oks_ctl_tenant_rules *rules, oks_err *err)
{
    char id[64] = "", ignored[64];
    char *before = NULL, *after = NULL, *changed = NULL;
    PGresult *r = NULL;
    int rc = -1;
    before = oks_ctl_tenant_redacted(ctl, sub, true, id, sizeof id, err);
    if (!before) {
        if (err->code == OKS_OK)
            oks_err_set(err, OKS_E_NOTFOUND, "no tenant with subdomain '%s'", sub);
        goto out;
    }
    if ((f->api_token && oks_ctl_seal(s->key, id, f->api_token, &s->token, &s->token_len, err)) ||
        (f->client_secret &&
         oks_ctl_seal(s->key, id, f->client_secret, &s->client_secret, &s->client_secret_len, err)))
        goto out;
    const char *v[] = {id,
                       f->okta_domain[0] ? f->okta_domain : NULL,
                       f->app_id,
                       f->client_id,
                       (char *)s->token,
                       (char *)s->client_secret,
                       f->auto_invite,
                       f->manager_mode,
                       f->full_sync_time,
                       f->threshold_pct,
                       f->threshold_min,
                       f->full_sync_default ? "true" : "false"};
    int len[12] = {0, 0, 0, 0, (int)s->token_len, (int)s->client_secret_len};
    int fmt[12] = {0, 0, 0, 0, 1, 1};
    r = oks_db_exec_params_ex(ctl->db, UPDATE_SQL, 12, v, len, fmt, 0, err);
    if (!r || oks_ctl_tenant_rules_apply(ctl, id, rules, err) != 0)
        goto out;
    after = oks_ctl_tenant_redacted(ctl, sub, false, ignored, sizeof ignored, err);
    changed = json_dumps(f->changed, JSON_COMPACT);
    if (!after || !changed)
        goto out;
    /* the settings named on the command line, so a credential change shows in the log too */
    size_t n = strlen(after) + strlen(changed) + 64;
    char *merged = malloc(n);
    if (!merged) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(merged, n, "{\"tenant\":%s,\"changed_settings\":%s}", after, changed);
    rc = oks_ctl_audit(ctl, id, "update", before, merged, err);
    free(merged);
out:
    PQclear(r);
    free(before);
    free(after);
    free(changed);
    return rc;
}

static int apply(oks_ctl *ctl, const char *sub, const oks_ctl_tenant_fields *f, sealed_pair *s,
                 const oks_ctl_tenant_rules *rules)
{
    oks_err err = {0};
    int rc = oks_ctl_connect(ctl);
    if (rc != OKS_CTL_OK)
        return rc;
    if (oks_db_begin(ctl->db, &err) != 0 || update(ctl, sub, f, s, rules, &err) != 0 ||
        oks_db_commit(ctl->db, &err) != 0) {
        oks_db_rollback(ctl->db);
        if (err.code == OKS_E_NOTFOUND)
            return oks_ctl_fail(OKS_CTL_FAILED, "%s", err.msg);
        if (strcmp(oks_db_last_sqlstate(ctl->db), "23505") == 0)
            return oks_ctl_fail(OKS_CTL_FAILED,
                                "updating the tenant: %s (a concurrent change; "
                                "try again)",
                                err.msg);
        return oks_ctl_fail_err(&err, "updating the tenant");
    }
    json_t *list = oks_ctl_fetch_tenants(ctl, sub, &err);
    if (!list)
        return oks_ctl_fail_err(&err, "reading the tenant back");
    if (json_array_size(list) == 1)
        oks_ctl_print_tenant(ctl, json_array_get(list, 0));
    json_decref(list);
    return OKS_CTL_OK;
}

int oks_ctl_tenant_set(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {OKS_CTL_TENANT_OPTS, OKS_CTL_RULES_OPTS};
    const size_t n = sizeof opts / sizeof opts[0];
    const char *pos[1];
    oks_ctl_tenant_fields f = {0};
    oks_ctl_tenant_rules rules = {0};
    sealed_pair s = {0};
    bool done;
    int n_pos, rc = oks_ctl_tenant_rules_take(&argc, argv, &rules);
    if (rc != OKS_CTL_OK)
        return rc;
    rc = oks_ctl_parse(ctl, "oktasyncctl tenant set", SET_HELP, argc, argv, opts, n, pos, 1, &n_pos,
                       &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if ((rc = oks_ctl_subdomain_arg("oktasyncctl tenant set", n_pos, pos)) != OKS_CTL_OK)
        return rc;
    if ((rc = oks_ctl_tenant_fields_parse(opts, n, false, &f)) != OKS_CTL_OK ||
        (rc = oks_ctl_tenant_rules_parse(opts, n, &rules, f.changed)) != OKS_CTL_OK)
        goto out;
    if (json_array_size(f.changed) == 0) {
        rc = oks_ctl_fail(OKS_CTL_USAGE, "tenant set needs at least one setting (see --help)");
        goto out;
    }
    if ((f.api_token || f.client_secret) &&
        (rc = oks_ctl_load_key(ctl, s.key, "seal the new credentials")) != OKS_CTL_OK)
        goto out;
    rc = apply(ctl, pos[0], &f, &s, &rules);
out:
    oks_ctl_tenant_rules_free(&rules);
    OPENSSL_cleanse(s.key, sizeof s.key);
    free(s.token);
    free(s.client_secret);
    oks_ctl_tenant_fields_free(&f);
    return rc;
}
