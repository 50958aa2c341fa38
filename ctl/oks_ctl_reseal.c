/* The re-seal step of `oktasyncctl migrate`: credentials sealed in the old format (version 1,
 * not bound to a tenant) are opened and sealed again for their tenant's id (version 2), one
 * transaction per tenant, so a value copied to another tenant's row no longer opens. Values
 * already in version 2 are left alone: running it again changes nothing. */
#include "oks_ctl.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bytea whose first byte is the version 1 marker. */
#define IS_V1(col) "substring(" col " FROM 1 FOR 1) = '\\x01'::bytea"

static const char PENDING_SQL[] = "SELECT id::text FROM tenants WHERE " IS_V1(
    "api_token_enc") " OR " IS_V1("client_secret_enc") " ORDER BY id";

static const char *const COLUMNS[] = {"api_token_enc", "client_secret_enc"};
static const char *const NAMES[] = {"api_token", "client_secret"};

/* Re-seal one column of one (locked) tenant when it holds a version 1 value (its name is
 * appended to names). */
static int reseal_column(oks_ctl *ctl, const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *id,
                         int col, json_t *names, oks_err *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM tenants WHERE id = $1::uuid AND %s IS NOT NULL",
             COLUMNS[col], COLUMNS[col]);
    const char *p[] = {id};
    PGresult *r = oks_db_exec_params_ex(ctl->db, sql, 1, p, NULL, NULL, 1, err);
    if (!r)
        return -1;
    int rc = 0;
    bool found = PQntuples(r) == 1;
    const uint8_t *raw = found ? (const uint8_t *)PQgetvalue(r, 0, 0) : NULL;
    size_t len = found ? (size_t)PQgetlength(r, 0, 0) : 0;
    if (len == 0 || raw[0] != OKS_CRYPTO_SEAL_V1) {
        PQclear(r);
        return 0;
    }
    char *plain = oks_crypto_open_v1(key, raw, len, err);
    PQclear(r);
    if (!plain)
        return oks_err_wrap(err, "%s", NAMES[col]);
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    rc = oks_crypto_seal_tenant(key, id, plain, &sealed, &sealed_len, err);
    OPENSSL_cleanse(plain, strlen(plain));
    free(plain);
    if (rc != 0)
        return -1;
    snprintf(sql, sizeof sql, "UPDATE tenants SET %s = $2 WHERE id = $1::uuid", COLUMNS[col]);
    const char *v[] = {id, (const char *)sealed};
    int lens[] = {0, (int)sealed_len}, fmts[] = {0, 1};
    r = oks_db_exec_params_ex(ctl->db, sql, 2, v, lens, fmts, 0, err);
    free(sealed);
    if (!r)
        return -1;
    PQclear(r);
    json_array_append_new(names, json_string(NAMES[col]));
    return 0;
}

/* One tenant in its own transaction, audited; *values gets how many columns were re-sealed. */
static int reseal_tenant(oks_ctl *ctl, const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *id,
                         long *values, oks_err *err)
{
    json_t *names = json_array();
    char *after = NULL;
    const char *p[] = {id};
    PGresult *r = NULL;
    if (!names)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    if (oks_db_begin(ctl->db, err) != 0)
        goto fail;
    r = oks_db_exec_params(ctl->db, "SELECT 1 FROM tenants WHERE id = $1::uuid FOR UPDATE", 1, p,
                           err);
    if (!r)
        goto fail;
    PQclear(r);
    for (int col = 0; col < 2; col++)
        if (reseal_column(ctl, key, id, col, names, err) != 0)
            goto fail;
    if (json_array_size(names) > 0) {
        json_t *o = json_pack("{s:O}", "resealed_for_tenant", names);
        after = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!after || oks_ctl_audit(ctl, id, "reseal_secrets", NULL, after, err) != 0)
            goto fail;
    }
    if (oks_db_commit(ctl->db, err) != 0)
        goto fail;
    *values += (long)json_array_size(names);
    free(after);
    json_decref(names);
    return 0;
fail:
    oks_db_rollback(ctl->db);
    free(after);
    json_decref(names);
    return -1;
}

int oks_ctl_reseal(oks_ctl *ctl, oks_ctl_reseal_counts *c)
{
    oks_err err = {0};
    memset(c, 0, sizeof *c);
    PGresult *r = oks_db_exec_params(ctl->db, PENDING_SQL, 0, NULL, &err);
    if (!r)
        return oks_ctl_fail_err(&err, "finding credentials to re-seal");
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        return OKS_CTL_OK;
    }
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    char why[96];
    snprintf(why, sizeof why, "re-seal the credentials of %d tenant(s) for their tenant", n);
    int rc = oks_ctl_load_key(ctl, key, why);
    for (int i = 0; rc == OKS_CTL_OK && i < n; i++) {
        const char *id = PQgetvalue(r, i, 0);
        oks_err_clear(&err);
        if (reseal_tenant(ctl, key, id, &c->values, &err) == 0) {
            c->tenants++;
        } else {
            c->failed++;
            oks_ctl_fail(OKS_CTL_FAILED, "re-sealing the credentials of tenant %s: %s", id,
                         err.msg);
        }
    }
    OPENSSL_cleanse(key, sizeof key);
    PQclear(r);
    if (rc == OKS_CTL_OK && c->failed > 0)
        rc = OKS_CTL_FAILED;
    return rc;
}
