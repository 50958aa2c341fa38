/* Parsing and validation of the tenant settings given to `tenant add` and `tenant set`. */
#include "oks_ctl.h"

#include "core/oks_config.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(const char *name, const char *value, const char *why)
{
    return oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --%s: \"%s\": %s", name, value, why);
}

static int int_range(const char *name, const char *v, int64_t lo, int64_t hi)
{
    int64_t n;
    char why[64];
    if (oks_parse_int64(v, &n) && n >= lo && n <= hi)
        return OKS_CTL_OK;
    snprintf(why, sizeof why, "expected a whole number %lld..%lld", (long long)lo, (long long)hi);
    return bad(name, v, why);
}

static int secret(const oks_ctl_opt *opts, size_t n, const char *name, const char *env,
                  bool from_env, char **out)
{
    const char *v = oks_ctl_opt_get(opts, n, name);
    if (!v && from_env)
        v = getenv(env);
    if (!v)
        return OKS_CTL_OK;
    oks_err err = {0};
    *out = oks_ctl_read_secret(v, &err);
    if (!*out)
        return oks_ctl_fail(OKS_CTL_USAGE, "--%s: %s", name, err.msg);
    if (!**out)
        return oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --%s (or %s): must not be empty",
                            name, env);
    if (strcspn(*out, "\r\n\t ") != strlen(*out))
        return oks_ctl_fail(OKS_CTL_USAGE, "invalid value for --%s: contains white space", name);
    return OKS_CTL_OK;
}

static int identifiers(const oks_ctl_opt *opts, size_t n, oks_ctl_tenant_fields *f)
{
    char why[160];
    const char *v = oks_ctl_opt_get(opts, n, "okta-domain");
    if (v && !oks_ctl_valid_okta_domain(v, f->okta_domain, sizeof f->okta_domain, why, sizeof why))
        return bad("okta-domain", v, why);
    f->app_id = oks_ctl_opt_get(opts, n, "app-id");
    if (f->app_id && !oks_ctl_valid_okta_id(f->app_id, why, sizeof why))
        return bad("app-id", f->app_id, why);
    f->client_id = oks_ctl_opt_get(opts, n, "client-id");
    if (f->client_id && !oks_ctl_valid_okta_id(f->client_id, why, sizeof why))
        return bad("client-id", f->client_id, why);
    return OKS_CTL_OK;
}

static int options(const oks_ctl_opt *opts, size_t n, oks_ctl_tenant_fields *f)
{
    char why[160];
    const char *v = oks_ctl_opt_get(opts, n, "auto-invite");
    bool on;
    if (v) {
        if (!oks_ctl_parse_onoff(v, &on))
            return bad("auto-invite", v, "expected on or off");
        f->auto_invite = on ? "true" : "false";
    }
    f->manager_mode = oks_ctl_opt_get(opts, n, "manager-mode");
    if (f->manager_mode && !oks_ctl_valid_manager_mode(f->manager_mode))
        return bad("manager-mode", f->manager_mode, "expected individual or team");
    f->full_sync_time = oks_ctl_opt_get(opts, n, "full-sync-time");
    if (f->full_sync_time && strcmp(f->full_sync_time, "default") == 0) {
        f->full_sync_default = true; /* NULL in the column: the scheduler's default-time */
        f->full_sync_time = NULL;
    } else if (f->full_sync_time && !oks_ctl_valid_hhmm(f->full_sync_time, why, sizeof why)) {
        snprintf(why + strlen(why), sizeof why - strlen(why), ", or default");
        return bad("full-sync-time", f->full_sync_time, why);
    }
    f->threshold_pct = oks_ctl_opt_get(opts, n, "deactivation-threshold-pct");
    if (f->threshold_pct &&
        int_range("deactivation-threshold-pct", f->threshold_pct, 0, 100) != OKS_CTL_OK)
        return OKS_CTL_USAGE;
    f->threshold_min = oks_ctl_opt_get(opts, n, "deactivation-threshold-min");
    if (f->threshold_min &&
        int_range("deactivation-threshold-min", f->threshold_min, 0, 10000000) != OKS_CTL_OK)
        return OKS_CTL_USAGE;
    return OKS_CTL_OK;
}

int oks_ctl_tenant_fields_parse(const oks_ctl_opt *opts, size_t n_opts, bool secrets_from_env,
                                oks_ctl_tenant_fields *f)
{
    memset(f, 0, sizeof *f);
    int rc = identifiers(opts, n_opts, f);
    if (rc == OKS_CTL_OK)
        rc = options(opts, n_opts, f);
    if (rc == OKS_CTL_OK)
        rc = secret(opts, n_opts, "api-token", "OKTASYNC_OKTA_API_TOKEN", secrets_from_env,
                    &f->api_token);
    if (rc == OKS_CTL_OK)
        rc = secret(opts, n_opts, "client-secret", "OKTASYNC_OKTA_CLIENT_SECRET", secrets_from_env,
                    &f->client_secret);
    if (rc != OKS_CTL_OK)
        return rc;
    f->changed = json_array();
    for (size_t i = 0; f->changed && i < n_opts; i++)
        if (opts[i].value && strcmp(opts[i].name, "subdomain") != 0 &&
            strcmp(opts[i].name, "connect") != 0)
            json_array_append_new(f->changed, json_string(opts[i].name));
    if (!f->changed)
        return oks_ctl_fail(OKS_CTL_FAILED, "out of memory");
    return OKS_CTL_OK;
}

static void wipe_free(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void oks_ctl_tenant_fields_free(oks_ctl_tenant_fields *f)
{
    wipe_free(f->api_token);
    wipe_free(f->client_secret);
    json_decref(f->changed);
    memset(f, 0, sizeof *f);
}
