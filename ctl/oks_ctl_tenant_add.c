/* oktasyncctl tenant add */
#include "oks_ctl.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char HELP[] =
    "Usage: oktasyncctl tenant add --subdomain S --okta-domain D --app-id A --client-id C\n"
    "         [--api-token T|-] [--client-secret X|-] [--auto-invite on|off]\n"
    "         [--manager-mode individual|team] [--full-sync-time HH:MM|default]\n"
    "         [--deactivation-threshold-pct N] [--deactivation-threshold-min N] [--connect]\n"
    "         [--json]\n\n"
    "Connect a tenant. The API token comes from --api-token, else OKTASYNC_OKTA_API_TOKEN;\n"
    "'-' reads it from the first line of standard input (keeps it out of shell history and\n"
    "ps). The client secret likewise (--client-secret, OKTASYNC_OKTA_CLIENT_SECRET; optional).\n"
    "Both are stored sealed with --secret-key (OKTASYNC_SECRET_KEY, required).\n\n"
    "Prints the tenant id, the webhook URL and a new webhook secret. The secret is shown ONCE\n"
    "(only its SHA-256 is stored): paste it into the Okta event hook's Authorization header.\n\n"
    "  --subdomain        tenant's platform subdomain (lower-case DNS label)\n"
    "  --okta-domain      Okta org host, e.g. dev-123456.okta.com (https assumed)\n"
    "  --app-id           Okta app id (0oa...) whose assignments define the synced users\n"
    "  --client-id        OIDC client id\n"
    "  --auto-invite      invite new active users automatically (default off)\n"
    "  --manager-mode     individual (default) or team\n"
    "  --full-sync-time   daily full sync time, UTC; default (the default): the\n"
    "                     scheduler's default-time\n"
    "  --deactivation-threshold-pct / -min\n"
    "                     hold a full sync that would deactivate more than this share and at\n"
    "                     least this many users (defaults 10 and 10)\n"
    "  --connect          then check the credentials and queue the first full sync, as\n"
    "                     `tenant connect S` does (exit 3 when Okta refuses one: the tenant\n"
    "                     stays added, not connected; the webhook secret is still printed)\n";

static const char INSERT_SQL[] =
    "INSERT INTO tenants (subdomain, okta_domain, okta_app_id, okta_client_id, api_token_enc, "
    "client_secret_enc, webhook_secret_hash, auto_invite, manager_mode, full_sync_time, "
    "deactivation_threshold_pct, deactivation_threshold_min, id) VALUES ($1, $2, $3, $4, "
    "$5::bytea, $6::bytea, $7::bytea, coalesce($8::bool, false), coalesce($9, 'individual'), "
    "$10::time, coalesce($11::int, 10), coalesce($12::int, 10), $13::uuid)";

typedef struct sealed {
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    uint8_t *token, *client_secret;
    size_t token_len, client_secret_len;
    char secret[64]; /* the new webhook secret, printed once */
    uint8_t hash[OKS_CRYPTO_HASH_LEN];
} sealed;

/* The id is chosen first: the credentials are sealed for it (bound to the tenant). */
static int insert(oks_ctl *ctl, const char *subdomain, const oks_ctl_tenant_fields *f, sealed *s,
                  char *id, size_t id_cap, oks_err *err)
{
    PGresult *r = oks_db_exec_params(ctl->db, "SELECT gen_random_uuid()::text", 0, NULL, err);
    if (!r)
        return -1;
    snprintf(id, id_cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (oks_ctl_seal(s->key, id, f->api_token, &s->token, &s->token_len, err) != 0 ||
        (f->client_secret && oks_ctl_seal(s->key, id, f->client_secret, &s->client_secret,
                                          &s->client_secret_len, err) != 0))
        return -1;
    const char *v[] = {subdomain,
                       f->okta_domain,
                       f->app_id,
                       f->client_id,
                       (char *)s->token,
                       (char *)s->client_secret,
                       (char *)s->hash,
                       f->auto_invite,
                       f->manager_mode,
                       f->full_sync_time,
                       f->threshold_pct,
                       f->threshold_min,
                       id};
    int len[13] = {0, 0, 0, 0, (int)s->token_len, (int)s->client_secret_len, OKS_CRYPTO_HASH_LEN};
    int fmt[13] = {0, 0, 0, 0, 1, 1, 1};
    char *after = NULL;
    r = oks_db_exec_params_ex(ctl->db, INSERT_SQL, 13, v, len, fmt, 0, err);
    if (!r)
        return -1;
    PQclear(r);
    char ignored[64];
    int rc = -1;
    after = oks_ctl_tenant_redacted(ctl, subdomain, false, ignored, sizeof ignored, err);
    if (after)
        rc = oks_ctl_audit(ctl, id, "create", NULL, after, err);
    free(after);
    return rc;
}

static int run(oks_ctl *ctl, const char *subdomain, const oks_ctl_tenant_fields *f, sealed *s,
               bool connect)
{
    oks_err err = {0};
    char id[64];
    int rc = oks_ctl_connect(ctl);
    if (rc != OKS_CTL_OK)
        return rc;
    if (oks_db_begin(ctl->db, &err) != 0 ||
        insert(ctl, subdomain, f, s, id, sizeof id, &err) != 0 ||
        oks_db_commit(ctl->db, &err) != 0) {
        oks_db_rollback(ctl->db);
        if (strcmp(oks_db_last_sqlstate(ctl->db), "23505") == 0)
            return oks_ctl_fail(OKS_CTL_FAILED, "tenant '%s' already exists", subdomain);
        return oks_ctl_fail_err(&err, "adding the tenant");
    }
    char url[1024];
    size_t blen = strlen(ctl->cfg.webhook_base_url);
    while (blen > 0 && ctl->cfg.webhook_base_url[blen - 1] == '/')
        blen--;
    snprintf(url, sizeof url, "%.*s/webhooks/okta/%s", (int)blen, ctl->cfg.webhook_base_url,
             subdomain);
    json_t *connected = NULL;
    if (connect)
        rc = oks_ctl_connect_tenant(ctl, subdomain, &connected);
    if (ctl->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "subdomain", subdomain,
                              "webhook_url", url, "webhook_secret", s->secret);
        if (connect)
            json_object_set_new(o, "connect",
                                connected ? connected : json_pack("{s:b}", "connected", 0));
        oks_ctl_print_json(o);
        json_decref(o);
    } else {
        printf("tenant %s added\n  id:             %s\n  webhook URL:    %s\n"
               "  webhook secret: %s\n\n"
               "Configure the Okta event hook with this URL and, as the Authorization header,\n"
               "the secret above. It is shown only now; `oktasyncctl tenant rotate-secret %s`\n"
               "makes a new one.\n",
               subdomain, id, url, s->secret, subdomain);
        if (connected)
            printf("connected; first full sync queued (run %" JSON_INTEGER_FORMAT ")\n",
                   json_integer_value(json_object_get(connected, "first_sync_run_id")));
        json_decref(connected);
    }
    return rc;
}

int oks_ctl_tenant_add(oks_ctl *ctl, int argc, char **argv)
{
    oks_ctl_opt opts[] = {{"subdomain", false, NULL}, {"connect", true, NULL}, OKS_CTL_TENANT_OPTS};
    const size_t n = sizeof opts / sizeof opts[0];
    oks_ctl_tenant_fields f = {0};
    sealed s = {0};
    bool done;
    int n_pos, rc = oks_ctl_parse(ctl, "oktasyncctl tenant add", HELP, argc, argv, opts, n, NULL, 0,
                                  &n_pos, &done);
    if (rc != OKS_CTL_OK || done)
        return rc;
    static const char *const required[] = {"subdomain", "okta-domain", "app-id", "client-id"};
    for (size_t i = 0; i < 4; i++)
        if (!oks_ctl_opt_get(opts, n, required[i]))
            return oks_ctl_fail(OKS_CTL_USAGE, "tenant add needs --%s (see --help)", required[i]);
    const char *sub = oks_ctl_opt_get(opts, n, "subdomain");
    char why[128];
    oks_err err = {0};
    if (!oks_ctl_valid_subdomain(sub, why, sizeof why))
        return oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --subdomain: \"%s\": %s", sub, why);
    if ((rc = oks_ctl_tenant_fields_parse(opts, n, true, &f)) != OKS_CTL_OK)
        goto out;
    if (!f.api_token) {
        rc = oks_ctl_fail(OKS_CTL_USAGE, "tenant add needs the Okta API token: --api-token T, "
                                         "--api-token - (stdin) or OKTASYNC_OKTA_API_TOKEN");
        goto out;
    }
    if ((rc = oks_ctl_load_key(ctl, s.key, "seal the API token")) != OKS_CTL_OK)
        goto out;
    if (oks_crypto_random_token(s.secret, sizeof s.secret, 32, &err) != 0) {
        rc = oks_ctl_fail_err(&err, "generating the webhook secret");
        goto out;
    }
    oks_crypto_secret_hash(s.secret, s.hash);
    rc = run(ctl, sub, &f, &s, oks_ctl_opt_get(opts, n, "connect") != NULL);
out:
    OPENSSL_cleanse(s.key, sizeof s.key);
    OPENSSL_cleanse(s.secret, sizeof s.secret);
    free(s.token);
    free(s.client_secret);
    oks_ctl_tenant_fields_free(&f);
    return rc;
}
