/*
 * oktasyncctl tenant connect S ("Connect to Okta"): prove the API token and app id against the
 * Okta API and the OIDC client id and secret against the org's authorization server; on success
 * mark the tenant connected, clear a parked credentials fault and queue the first full sync at
 * once. On a refused credential: one line naming it, exit 3, nothing changed.
 */
#include "oks_ctl.h"
#include "oks_ctl_oidc_check.h"

#include "core/oks_log.h"
#include "core/oks_okta_domain.h"
#include "okta/oks_okta.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "Usage: oktasyncctl tenant connect SUBDOMAIN [--json]\n\n"
    "Checks the tenant's Okta credentials: the API token and app id against the Okta API\n"
    "(GET /api/v1/apps/{app}/users?limit=1), the OIDC client id against the org's discovery\n"
    "document and the client secret (when set) against its token endpoint. On success the\n"
    "tenant is marked connected, a parked credentials fault is cleared and the first full\n"
    "sync is queued at once (trigger 'connect'). Reconnect a tenant whose credentials failed\n"
    "with the same command after `tenant set --api-token ...`.\n\n"
    "Exit status: 0 connected; 3 a credential was refused (the line says which and why;\n"
    "nothing changed); 1 Okta or a service unreachable, tenant not found; 2 bad usage.\n";

typedef struct creds {
    char id[40], app_id[128], client_id[128];
    char *base_url, *token, *secret;
} creds;

static void creds_free(creds *c)
{
    free(c->base_url);
    if (c->token)
        memset(c->token, 0, strlen(c->token));
    if (c->secret)
        memset(c->secret, 0, strlen(c->secret));
    free(c->token);
    free(c->secret);
}

static int load(oks_ctl *ctl, const char *sub, creds *c)
{
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    int rc = oks_ctl_load_key(ctl, key, "open the tenant's Okta credentials");
    if (rc != OKS_CTL_OK)
        return rc;
    oks_err err = {0};
    const char *p[] = {sub};
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "SELECT id::text, okta_domain, okta_app_id, okta_client_id, encode(api_token_enc, 'hex'), "
        "encode(client_secret_enc, 'hex') FROM tenants WHERE subdomain = $1",
        1, p, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "reading the tenant");
    if (PQntuples(r) == 0) {
        PQclear(r);
        return oks_ctl_fail(OKS_CTL_FAILED, "tenant '%s' not found", sub);
    }
    const char *missing = PQgetisnull(r, 0, 1)   ? "okta-domain"
                          : PQgetisnull(r, 0, 4) ? "api-token"
                          : PQgetisnull(r, 0, 2) ? "app-id"
                          : PQgetisnull(r, 0, 3) ? "client-id"
                                                 : NULL;
    if (missing) {
        PQclear(r);
        return oks_ctl_fail(OKS_CTL_CREDENTIALS,
                            "tenant '%s' has no %s: set it with `oktasyncctl tenant set %s "
                            "--%s ...`",
                            sub, missing, sub, missing);
    }
    snprintf(c->id, sizeof c->id, "%s", PQgetvalue(r, 0, 0));
    snprintf(c->app_id, sizeof c->app_id, "%s", PQgetvalue(r, 0, 2));
    snprintf(c->client_id, sizeof c->client_id, "%s", PQgetvalue(r, 0, 3));
    c->base_url = oks_okta_domain_base_url(PQgetvalue(r, 0, 1));
    c->token = oks_crypto_open_tenant_hex(key, c->id, PQgetvalue(r, 0, 4), &err);
    if (c->token && !PQgetisnull(r, 0, 5))
        c->secret = oks_crypto_open_tenant_hex(key, c->id, PQgetvalue(r, 0, 5), &err);
    bool ok = c->base_url && c->token && (PQgetisnull(r, 0, 5) || c->secret);
    PQclear(r);
    if (!ok)
        return oks_ctl_fail(OKS_CTL_FAILED,
                            "opening the tenant's sealed credentials: %s (wrong --secret-key?)",
                            err.msg[0] ? err.msg : "out of memory");
    return OKS_CTL_OK;
}

/* The Okta API half: token, permission, app id. */
static int check_api(const oks_ctl *ctl, const creds *c)
{
    oks_err err = {0};
    oks_okta_client_opts o = {.base_url = c->base_url,
                              .token = c->token,
                              .connect_timeout_ms = 5000,
                              .request_timeout_ms = ctl->cfg.okta_timeout_ms,
                              .max_retries = 1,
                              .max_backoff_ms = 2000,
                              .budget_max_wait_ms = ctl->cfg.okta_timeout_ms};
    oks_okta_client *cl = oks_okta_client_new(&o, &err);
    if (!cl)
        return oks_ctl_fail_err(&err, "Okta client");
    /* the client logs each failed request at warn (the default level); the one-line verdict
     * below says it all (--log-level info/debug still shows them) */
    if (ctl->cfg.log_level == OKS_LOG_WARN)
        oks_log_init("oktasyncctl", OKS_LOG_ERROR);
    int rc = oks_okta_check_credentials(cl, c->app_id, &err);
    oks_log_init("oktasyncctl", (oks_log_level)ctl->cfg.log_level);
    oks_okta_client_free(cl);
    if (rc == 0)
        return OKS_CTL_OK;
    switch (err.code) {
    case OKS_E_AUTH:
        return oks_ctl_fail(OKS_CTL_CREDENTIALS, "api-token refused by Okta (401): %s", err.msg);
    case OKS_E_FORBIDDEN:
        return oks_ctl_fail(OKS_CTL_CREDENTIALS,
                            "api-token lacks permission to read app %s's users (403): %s",
                            c->app_id, err.msg);
    case OKS_E_NOTFOUND:
        return oks_ctl_fail(OKS_CTL_CREDENTIALS, "app-id %s not found in the Okta org (404)",
                            c->app_id);
    default:
        return oks_ctl_fail(OKS_CTL_FAILED, "Okta API unreachable, nothing checked: %s", err.msg);
    }
}

static int check_oidc(const oks_ctl *ctl, const creds *c)
{
    char why[512] = "";
    switch (oks_ctl_oidc_check(c->base_url, c->client_id, c->secret, (long)ctl->cfg.okta_timeout_ms,
                               why, sizeof why)) {
    case OKS_OIDC_OK:
        return OKS_CTL_OK;
    case OKS_OIDC_BAD_CLIENT_ID:
        return oks_ctl_fail(OKS_CTL_CREDENTIALS, "client-id refused: %s", why);
    case OKS_OIDC_BAD_SECRET:
        return oks_ctl_fail(OKS_CTL_CREDENTIALS, "client-secret refused: %s", why);
    default:
        return oks_ctl_fail(OKS_CTL_FAILED, "OIDC endpoints unreachable, nothing changed: %s", why);
    }
}

/* Mark connected and clear the parked fault, in one transaction. */
static int mark_connected(oks_ctl *ctl, const char *id)
{
    oks_err err = {0};
    const char *p[] = {id};
    if (oks_db_begin(ctl->db, &err) != 0)
        return oks_ctl_fail_err(&err, "marking the tenant connected");
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "WITH t AS (UPDATE tenants SET connected_at = now(), connect_error = NULL "
        " WHERE id = $1::uuid RETURNING id) "
        "UPDATE tenant_okta_state s SET fault = NULL, fault_reason = NULL, fault_since = NULL, "
        " attempts = 0, next_attempt_at = '-infinity' FROM t WHERE s.tenant_id = t.id "
        " AND s.fault IN ('credentials_invalid', 'not_connected')",
        1, p, &err);
    if (!r)
        goto fail;
    PQclear(r);
    if (oks_ctl_audit(ctl, id, "tenant.connect", NULL, NULL, &err) != 0 ||
        oks_db_commit(ctl->db, &err) != 0)
        goto fail;
    return OKS_CTL_OK;
fail:
    oks_db_rollback(ctl->db);
    return oks_ctl_fail_err(&err, "marking the tenant connected");
}

int oks_ctl_connect_tenant(oks_ctl *ctl, const char *sub, json_t **result)
{
    creds c = {0};
    int64_t run_id = 0;
    int rc = load(ctl, sub, &c);
    if (rc == OKS_CTL_OK)
        rc = check_api(ctl, &c);
    if (rc == OKS_CTL_OK)
        rc = check_oidc(ctl, &c);
    if (rc == OKS_CTL_OK)
        rc = mark_connected(ctl, c.id);
    if (rc == OKS_CTL_OK)
        rc = oks_ctl_queue_sync(ctl, c.id, "connect", false, &run_id);
    if (rc == OKS_CTL_OK && result)
        *result = json_pack("{s:s, s:s, s:b, s:I}", "subdomain", sub, "tenant_id", c.id,
                            "connected", 1, "first_sync_run_id", (json_int_t)run_id);
    creds_free(&c);
    return rc;
}

int oks_ctl_tenant_connect(oks_ctl *ctl, int argc, char **argv)
{
    const char *pos[1] = {NULL};
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl tenant connect", HELP, argc, argv, NULL, 0, pos,
                                  1, &n_pos, &done);
    if (rc != OKS_CTL_OK || done ||
        (rc = oks_ctl_subdomain_arg("oktasyncctl tenant connect", n_pos, pos)) != OKS_CTL_OK ||
        (rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        return rc;
    json_t *res = NULL;
    rc = oks_ctl_connect_tenant(ctl, pos[0], &res);
    if (rc != OKS_CTL_OK)
        return rc;
    if (ctl->json)
        oks_ctl_print_json(res);
    else
        printf("tenant %s connected; first full sync queued (run %" PRId64 ")\n", pos[0],
               (int64_t)json_integer_value(json_object_get(res, "first_sync_run_id")));
    json_decref(res);
    return OKS_CTL_OK;
}
