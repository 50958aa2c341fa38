#include "oks_worker_tenant.h"

#include "core/oks_okta_domain.h"
#include "oks_worker_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void oks_worker_tenant_free(oks_worker_tenant *t)
{
    free(t->okta_base_url);
    free(t->okta_app_id);
    if (t->api_token) {
        /* volatile write so the wipe is not optimised away */
        for (volatile char *p = t->api_token; *p; p++)
            *p = 0;
        free(t->api_token);
    }
    memset(t, 0, sizeof *t);
}

static int unescape_token(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                          const char *hex_bytea, char **token, oks_err *err)
{
    size_t len = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)hex_bytea, &len);
    if (!raw)
        return oks_err_set(err, OKS_E_NOMEM, "unescaping api token");
    *token = oks_crypto_open_tenant(key, tenant_id, raw, len, err);
    PQfreemem(raw);
    if (!*token)
        return oks_err_set(err, OKS_E_PERMANENT,
                           "tenant api token does not decrypt under "
                           "secret-key");
    return 0;
}

static const oks_db_stmt load_stmt = OKS_WORKER_STMT(
    "oks_tenant_load",
    "SELECT okta_domain, okta_app_id, api_token_enc, EXISTS (SELECT 1 FROM tenant_okta_state "
    "  WHERE tenant_id = $1::uuid AND " OKS_WORKER_SQL_FAULT_TO_CLEAR ") "
    "FROM tenants WHERE id = $1::uuid",
    1);

int oks_worker_tenant_load(oks_worker_pg *pg, const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *id,
                           oks_worker_tenant *out, oks_err *err)
{
    int rc = -1;
    memset(out, 0, sizeof *out);
    const char *params[] = {id};
    PGresult *r = NULL;
    oks_db *db = oks_worker_pg_get(pg, err);
    if (!db)
        goto out;
    r = oks_db_exec_prepared(db, &load_stmt, params, err);
    if (!r)
        goto out;
    if (PQntuples(r) != 1) {
        oks_err_set(err, OKS_E_NOTFOUND, "unknown tenant %s", id);
        goto out;
    }
    if (PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 2)) {
        oks_err_set(err, OKS_E_PERMANENT, "tenant %s is not connected to Okta", id);
        goto out;
    }
    out->okta_base_url = oks_okta_domain_base_url(PQgetvalue(r, 0, 0));
    if (!out->okta_base_url) {
        oks_err_set(err, OKS_E_PERMANENT, "tenant %s has an unusable okta_domain", id);
        goto out;
    }
    if (!PQgetisnull(r, 0, 1) && PQgetvalue(r, 0, 1)[0]) {
        out->okta_app_id = strdup(PQgetvalue(r, 0, 1));
        if (!out->okta_app_id) {
            oks_err_set(err, OKS_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (unescape_token(key, id, PQgetvalue(r, 0, 2), &out->api_token, err) != 0)
        goto out;
    out->okta_fault = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    rc = 0;
out:
    PQclear(r);
    if (rc != 0)
        oks_worker_tenant_free(out);
    return rc;
}
