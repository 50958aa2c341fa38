/* oktasyncctl tenant rotate-secret */
#include "oks_ctl.h"

#include "core/oks_config.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "Usage: oktasyncctl tenant rotate-secret SUBDOMAIN [--grace DURATION] [--json]\n\n"
    "Generate a new webhook secret and print it ONCE. The current secret becomes the previous\n"
    "one and is still accepted for --grace (default 24h; 0 rejects it at once; at most 720h),\n"
    "time to update the Okta event hook. Only SHA-256 hashes are stored.\n";

#define MAX_GRACE_MS (30LL * 24 * 3600 * 1000)

static const char ROTATE_SQL[] =
    "UPDATE tenants SET "
    "webhook_secret_prev_hash = CASE WHEN $3::bigint > 0 THEN webhook_secret_hash END, "
    "webhook_secret_prev_expires_at = CASE WHEN $3::bigint > 0 "
    "  THEN now() + $3::bigint * interval '1 millisecond' END, "
    "webhook_secret_hash = $2::bytea WHERE id = $1::uuid "
    "RETURNING coalesce(to_char(webhook_secret_prev_expires_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')";

static int rotate(oks_ctl *ctl, const char *sub, const uint8_t hash[OKS_CRYPTO_HASH_LEN],
                  const char *grace_ms, char *expires, size_t cap, oks_err *err)
{
    char id[64] = "", ignored[64];
    char *before = NULL, *after = NULL;
    PGresult *r = NULL;
    int rc = -1;
    before = oks_ctl_tenant_redacted(ctl, sub, true, id, sizeof id, err);
    if (!before) {
        if (err->code == OKS_OK)
            oks_err_set(err, OKS_E_NOTFOUND, "no tenant with subdomain '%s'", sub);
        goto out;
    }
    const char *v[] = {id, (const char *)hash, grace_ms};
    int len[] = {0, OKS_CRYPTO_HASH_LEN, 0}, fmt[] = {0, 1, 0};
    r = oks_db_exec_params_ex(ctl->db, ROTATE_SQL, 3, v, len, fmt, 0, err);
    if (!r)
        goto out;
    snprintf(expires, cap, "%s", PQgetvalue(r, 0, 0));
    after = oks_ctl_tenant_redacted(ctl, sub, false, ignored, sizeof ignored, err);
    if (after)
        rc = oks_ctl_audit(ctl, id, "rotate_secret", before, after, err);
out:
    PQclear(r);
    free(before);
    free(after);
    return rc;
}

static void print_result(const oks_ctl *ctl, const char *sub, const char *secret,
                         const char *expires)
{
    if (ctl->json) {
        json_t *o =
            json_pack("{s:s, s:s, s:o}", "subdomain", sub, "webhook_secret", secret,
                      "previous_secret_expires_at", *expires ? json_string(expires) : json_null());
        oks_ctl_print_json(o);
        json_decref(o);
        return;
    }
    printf("tenant %s: new webhook secret (shown only now): %s\n", sub, secret);
    if (*expires)
        printf("the previous secret is accepted until %s; update the Okta event hook before\n",
               expires);
    else
        printf("the previous secret is no longer accepted\n");
}

int oks_ctl_tenant_rotate(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {{"grace", false, NULL}};
    const char *pos[1];
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl tenant rotate-secret", HELP, argc, argv, opts,
                                  1, pos, 1, &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    if ((rc = oks_ctl_subdomain_arg("oktasyncctl tenant rotate-secret", n_pos, pos)) != OKS_CTL_OK)
        return rc;
    int64_t grace = 24LL * 3600 * 1000;
    if (opts[0].value &&
        (!oks_parse_duration_ms(opts[0].value, &grace) || grace < 0 || grace > MAX_GRACE_MS))
        return oks_ctl_fail(OKS_CTL_USAGE,
                            "invalid value for --grace: \"%s\": expected a duration from 0s to "
                            "720h (30 days), e.g. 24h",
                            opts[0].value);
    char secret[64], grace_ms[32], expires[64] = "";
    uint8_t hash[OKS_CRYPTO_HASH_LEN];
    oks_err err = {0};
    snprintf(grace_ms, sizeof grace_ms, "%lld", (long long)grace);
    if (oks_crypto_random_token(secret, sizeof secret, 32, &err) != 0)
        return oks_ctl_fail_err(&err, "generating the webhook secret");
    oks_crypto_secret_hash(secret, hash);
    if ((rc = oks_ctl_connect(ctl)) != OKS_CTL_OK)
        goto out;
    if (oks_db_begin(ctl->db, &err) != 0 ||
        rotate(ctl, pos[0], hash, grace_ms, expires, sizeof expires, &err) != 0 ||
        oks_db_commit(ctl->db, &err) != 0) {
        oks_db_rollback(ctl->db);
        rc = err.code == OKS_E_NOTFOUND ? oks_ctl_fail(OKS_CTL_FAILED, "%s", err.msg)
                                        : oks_ctl_fail_err(&err, "rotating the secret");
        goto out;
    }
    print_result(ctl, pos[0], secret, expires);
out:
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}
