/* Database connection, secret key, sealing and the audit trail shared by the commands. */
#include "oks_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oks_ctl_connect(oks_ctl *ctl)
{
    oks_err err = {0};
    oks_db_opts o = {.url = ctl->cfg.database_url,
                     .connect_timeout_s = (int)((ctl->cfg.connect_timeout_ms + 999) / 1000),
                     .statement_timeout_ms = ctl->cfg.statement_timeout_ms,
                     .application_name = "oktasyncctl"};
    ctl->db = oks_db_connect(&o, &err);
    if (!ctl->db)
        return oks_ctl_fail(err.code == OKS_E_INVALID ? OKS_CTL_USAGE : OKS_CTL_FAILED,
                            "database-url (OKTASYNC_DATABASE_URL): %s", err.msg);
    return OKS_CTL_OK;
}

int oks_ctl_load_key(const oks_ctl *ctl, uint8_t key[OKS_CRYPTO_KEY_LEN], const char *why)
{
    oks_err err = {0};
    if (!ctl->cfg.secret_key || !*ctl->cfg.secret_key)
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "--secret-key (OKTASYNC_SECRET_KEY) is required to %s: 64 hex "
                            "characters, e.g. from `openssl rand -hex 32`",
                            why);
    if (oks_crypto_key_parse(ctl->cfg.secret_key, key, &err) != 0)
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --secret-key (OKTASYNC_SECRET_KEY): %s", err.msg);
    return OKS_CTL_OK;
}

int oks_ctl_seal(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                 const char *plaintext, uint8_t **out, size_t *out_len, oks_err *err)
{
    if (oks_crypto_seal_tenant(key, tenant_id, plaintext, out, out_len, err) != 0)
        return oks_err_wrap(err, "sealing a secret");
    return 0;
}

const char *oks_ctl_actor(void)
{
    static char actor[96];
    const char *user = getenv("SUDO_USER");
    if (!user || !*user)
        user = getenv("USER");
    snprintf(actor, sizeof actor, "operator:%s", user && *user ? user : "unknown");
    return actor;
}

int oks_ctl_audit(oks_ctl *ctl, const char *tenant_id, const char *action, const char *before,
                  const char *after, oks_err *err)
{
    const char *p[] = {tenant_id, action, before, after, oks_ctl_actor()};
    PGresult *r = oks_db_exec_params(
        ctl->db,
        "INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
        "actor) VALUES ($1::uuid, 'tenant', $1, $2, $3::jsonb, $4::jsonb, 'operator', $5)",
        5, p, err);
    if (!r)
        return oks_err_wrap(err, "writing the audit log");
    PQclear(r);
    return 0;
}

/* Secrets never enter the audit log, not even sealed or hashed; a boolean says whether each
 * is set. */
static const char REDACTED_SQL[] =
    "SELECT id::text, ((to_jsonb(t) - 'api_token_enc' - 'client_secret_enc' - "
    "'webhook_secret_hash' - 'webhook_secret_prev_hash') || jsonb_build_object("
    "'api_token_set', api_token_enc IS NOT NULL, "
    "'client_secret_set', client_secret_enc IS NOT NULL))::text FROM tenants t "
    "WHERE subdomain = $1";

char *oks_ctl_tenant_redacted(oks_ctl *ctl, const char *subdomain, bool lock, char *id_out,
                              size_t id_cap, oks_err *err)
{
    char sql[sizeof REDACTED_SQL + 16];
    snprintf(sql, sizeof sql, "%s%s", REDACTED_SQL, lock ? " FOR UPDATE" : "");
    const char *p[] = {subdomain};
    PGresult *r = oks_db_exec_params(ctl->db, sql, 1, p, err);
    if (!r)
        return NULL;
    char *json = NULL;
    if (PQntuples(r) == 1) {
        snprintf(id_out, id_cap, "%s", PQgetvalue(r, 0, 0));
        json = strdup(PQgetvalue(r, 0, 1));
        if (!json)
            oks_err_set(err, OKS_E_NOMEM, "out of memory");
    }
    PQclear(r);
    return json;
}
