/*
 * The org authorization server's OIDC endpoints, as far as "Connect to Okta" needs them:
 * discovery (/.well-known/openid-configuration, /.well-known/oauth-authorization-server), the
 * JWKS (/oauth2/v1/keys) and the token endpoint's client authentication (POST /oauth2/v1/token,
 * client_secret_basic or client_secret_post) against one configured OIDC client. Not
 * rate-limited and no SSWS token (okta-reference §6). Error bodies follow Okta's OAuth spec
 * (OAuthError {error, error_description}; discovery's bad client_id uses the Okta error shape).
 */
#include "sim.h"

#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const grant_names[] = {"authorization_code", "refresh_token",
                                          "client_credentials", "implicit", "password"};
#define N_GRANTS (sizeof grant_names / sizeof grant_names[0])

struct sim_oidc {
    pthread_mutex_t mu;
    char client_id[128], client_secret[128];
    unsigned grants;                /* bit i = grant_names[i] allowed */
    unsigned invalid_client_status; /* 401 (Okta) or 400 (what-if, RFC 6749 §5.2) */
    char *jwks;                     /* built on first GET /oauth2/v1/keys */
    uint64_t token_requests, invalid_client, unauthorized_client, issued;
};

static int grants_parse(const char *list, unsigned *out)
{
    unsigned g = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        size_t i = 0;
        while (i < N_GRANTS && strcmp(grant_names[i], t) != 0)
            i++;
        if (i == N_GRANTS)
            return -1;
        g |= 1u << i;
    }
    *out = g;
    return 0;
}

sim_oidc *sim_oidc_new(const sim_cfg *cfg, const char *app_id, oks_err *err)
{
    sim_oidc *o = calloc(1, sizeof *o);
    if (!o) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&o->mu, NULL);
    /* By default Okta's client_id is the app id (okta-reference §3.5). */
    snprintf(o->client_id, sizeof o->client_id, "%s",
             cfg->oidc_client_id && *cfg->oidc_client_id ? cfg->oidc_client_id : app_id);
    snprintf(o->client_secret, sizeof o->client_secret, "%s", cfg->oidc_client_secret);
    o->invalid_client_status = cfg->oidc_invalid_client_status == 400 ? 400 : 401;
    if (grants_parse(cfg->oidc_grant_types, &o->grants) != 0) {
        oks_err_set(err, OKS_E_INVALID,
                    "invalid --oidc-grant-types (authorization_code, refresh_token, "
                    "client_credentials, implicit, password)");
        sim_oidc_free(o);
        return NULL;
    }
    return o;
}

void sim_oidc_free(sim_oidc *o)
{
    if (!o)
        return;
    free(o->jwks);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

static json_t *grants_json(unsigned g)
{
    json_t *a = json_array();
    for (size_t i = 0; i < N_GRANTS; i++)
        if (g & (1u << i))
            json_array_append_new(a, json_string(grant_names[i]));
    return a;
}

json_t *sim_oidc_json(sim_oidc *o)
{
    pthread_mutex_lock(&o->mu);
    json_t *j =
        json_pack("{s:s,s:s,s:o,s:i,s:I,s:I,s:I,s:I}", "client_id", o->client_id, "client_secret",
                  o->client_secret, "grant_types", grants_json(o->grants), "invalid_client_status",
                  (int)o->invalid_client_status, "token_requests", (json_int_t)o->token_requests,
                  "invalid_client", (json_int_t)o->invalid_client, "unauthorized_client",
                  (json_int_t)o->unauthorized_client, "issued", (json_int_t)o->issued);
    pthread_mutex_unlock(&o->mu);
    return j;
}

static int copy_str(json_t *v, char *dst, size_t cap, const char *what, oks_err *err)
{
    if (!json_is_string(v) || !*json_string_value(v) || strlen(json_string_value(v)) >= cap)
        return oks_err_set(err, OKS_E_INVALID, "%s must be a non-empty string under %zu bytes",
                           what, cap);
    snprintf(dst, cap, "%s", json_string_value(v));
    return 0;
}

int sim_oidc_configure(sim_oidc *o, json_t *obj, oks_err *err)
{
    char id[128], secret[128];
    unsigned grants, status;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        if (strcmp(key, "client_id") != 0 && strcmp(key, "client_secret") != 0 &&
            strcmp(key, "grant_types") != 0 && strcmp(key, "invalid_client_status") != 0 &&
            strcmp(key, "reset_stats") != 0)
            return oks_err_set(err, OKS_E_INVALID, "unknown key '%s'", key);
    }
    pthread_mutex_lock(&o->mu);
    snprintf(id, sizeof id, "%s", o->client_id);
    snprintf(secret, sizeof secret, "%s", o->client_secret);
    grants = o->grants;
    status = o->invalid_client_status;
    pthread_mutex_unlock(&o->mu);
    if ((v = json_object_get(obj, "client_id")) &&
        copy_str(v, id, sizeof id, "client_id", err) != 0)
        return -1;
    if ((v = json_object_get(obj, "client_secret")) &&
        copy_str(v, secret, sizeof secret, "client_secret", err) != 0)
        return -1;
    if ((v = json_object_get(obj, "grant_types"))) {
        size_t i;
        json_t *g;
        char list[256] = "";
        if (!json_is_array(v))
            return oks_err_set(err, OKS_E_INVALID, "grant_types must be an array of strings");
        json_array_foreach(v, i, g)
        {
            if (!json_is_string(g) || strlen(list) + strlen(json_string_value(g)) + 2 > 255)
                return oks_err_set(err, OKS_E_INVALID, "grant_types must be an array of strings");
            strcat(list, json_string_value(g));
            strcat(list, ",");
        }
        if (grants_parse(list, &grants) != 0)
            return oks_err_set(err, OKS_E_INVALID, "unknown grant type in grant_types");
    }
    if ((v = json_object_get(obj, "invalid_client_status"))) {
        if (!json_is_integer(v) || (json_integer_value(v) != 400 && json_integer_value(v) != 401))
            return oks_err_set(err, OKS_E_INVALID, "invalid_client_status must be 400 or 401");
        status = (unsigned)json_integer_value(v);
    }
    pthread_mutex_lock(&o->mu);
    snprintf(o->client_id, sizeof o->client_id, "%s", id);
    snprintf(o->client_secret, sizeof o->client_secret, "%s", secret);
    o->grants = grants;
    o->invalid_client_status = status;
    if (json_is_true(json_object_get(obj, "reset_stats")))
        o->token_requests = o->invalid_client = o->unauthorized_client = o->issued = 0;
    pthread_mutex_unlock(&o->mu);
    return 0;
}

/* ---- discovery ---- */

static void add_endpoint(json_t *m, const char *name, const char *base, const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    json_object_set_new(m, name, json_string(url));
}

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

/* The org authorization server's metadata (OSPEC example OrgASOidcMetadata). */
static json_t *metadata(const char *base, bool oidc)
{
    static const char *const auth_methods[] = {"client_secret_basic",
                                               "client_secret_post",
                                               "client_secret_jwt",
                                               "private_key_jwt",
                                               "none",
                                               NULL};
    static const char *const response_types[] = {
        "code", "id_token", "code id_token", "code token", "id_token token", "code id_token token",
        NULL};
    static const char *const modes[] = {"query", "fragment", "form_post", "okta_post_message",
                                        NULL};
    static const char *const grants[] = {"authorization_code",
                                         "implicit",
                                         "refresh_token",
                                         "password",
                                         "client_credentials",
                                         "urn:ietf:params:oauth:grant-type:device_code",
                                         NULL};
    static const char *const scopes[] = {"openid", "email",          "profile", "address",
                                         "phone",  "offline_access", "groups",  NULL};
    static const char *const claims[] = {"iss",
                                         "ver",
                                         "sub",
                                         "aud",
                                         "iat",
                                         "exp",
                                         "jti",
                                         "auth_time",
                                         "amr",
                                         "idp",
                                         "nonce",
                                         "name",
                                         "nickname",
                                         "preferred_username",
                                         "given_name",
                                         "middle_name",
                                         "family_name",
                                         "email",
                                         "email_verified",
                                         "profile",
                                         "zoneinfo",
                                         "locale",
                                         "address",
                                         "phone_number",
                                         "picture",
                                         "website",
                                         "gender",
                                         "birthdate",
                                         "updated_at",
                                         "at_hash",
                                         "c_hash",
                                         NULL};
    static const char *const rs256[] = {"RS256", NULL};
    static const char *const s256[] = {"S256", NULL};
    static const char *const pub[] = {"public", NULL};
    json_t *m = json_object();
    json_object_set_new(m, "issuer", json_string(base));
    add_endpoint(m, "authorization_endpoint", base, "/oauth2/v1/authorize");
    add_endpoint(m, "token_endpoint", base, "/oauth2/v1/token");
    if (oidc)
        add_endpoint(m, "userinfo_endpoint", base, "/oauth2/v1/userinfo");
    add_endpoint(m, "registration_endpoint", base, "/oauth2/v1/clients");
    add_endpoint(m, "jwks_uri", base, "/oauth2/v1/keys");
    json_object_set_new(m, "response_types_supported", strings(response_types));
    json_object_set_new(m, "response_modes_supported", strings(modes));
    json_object_set_new(m, "grant_types_supported", strings(grants));
    if (oidc) {
        json_object_set_new(m, "subject_types_supported", strings(pub));
        json_object_set_new(m, "id_token_signing_alg_values_supported", strings(rs256));
    }
    json_object_set_new(m, "scopes_supported", strings(scopes));
    json_object_set_new(m, "token_endpoint_auth_methods_supported", strings(auth_methods));
    if (oidc)
        json_object_set_new(m, "claims_supported", strings(claims));
    json_object_set_new(m, "code_challenge_methods_supported", strings(s256));
    add_endpoint(m, "introspection_endpoint", base, "/oauth2/v1/introspect");
    json_object_set_new(m, "introspection_endpoint_auth_methods_supported", strings(auth_methods));
    add_endpoint(m, "revocation_endpoint", base, "/oauth2/v1/revoke");
    json_object_set_new(m, "revocation_endpoint_auth_methods_supported", strings(auth_methods));
    add_endpoint(m, "end_session_endpoint", base, "/oauth2/v1/logout");
    json_object_set_new(m, "request_parameter_supported", json_true());
    add_endpoint(m, "device_authorization_endpoint", base, "/oauth2/v1/device/authorize");
    return m;
}

static void reply(sim_resp *resp, unsigned status, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    resp->status = status;
    resp->body.len = 0;
    sim_buf_adds(&resp->body, s ? s : "{}");
    free(s);
    json_decref(obj);
}

static void discovery(sim_req *r, sim_resp *resp, bool oidc)
{
    sim_oidc *o = r->srv->oidc;
    const char *cid = sim_req_arg(r, "client_id");
    if (cid) {
        pthread_mutex_lock(&o->mu);
        bool known = strcmp(cid, o->client_id) == 0;
        pthread_mutex_unlock(&o->mu);
        if (!known) { /* OSPEC Error400InvalidClientId: the Okta error shape, code invalid_client */
            sim_resp_error(resp, 400, "invalid_client", "Invalid value for `client_id` parameter",
                           r->request_id);
            return;
        }
    }
    reply(resp, 200, metadata(r->base, oidc));
}

/* ---- JWKS: one RSA signing key, made on first use (no ID tokens are issued here) ---- */

static char *b64url(const unsigned char *in, int n)
{
    char *out = malloc((size_t)(4 * ((n + 2) / 3)) + 1);
    if (!out)
        return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, in, n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

static char *bn_b64url(const EVP_PKEY *pk, const char *name)
{
    BIGNUM *bn = NULL;
    char *s = NULL;
    if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
        return NULL;
    int n = BN_num_bytes(bn);
    unsigned char *buf = malloc((size_t)n + 1);
    if (buf && BN_bn2bin(bn, buf) == n)
        s = b64url(buf, n);
    free(buf);
    BN_free(bn);
    return s;
}

static char *make_jwks(void)
{
    EVP_PKEY *pk = EVP_RSA_gen(2048);
    char *n = pk ? bn_b64url(pk, OSSL_PKEY_PARAM_RSA_N) : NULL;
    char *e = pk ? bn_b64url(pk, OSSL_PKEY_PARAM_RSA_E) : NULL;
    char kid[44];
    char *out = NULL;
    sim_random_token(kid, 43);
    if (n && e) {
        json_t *j = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}", "keys", "kty", "RSA", "alg",
                              "RS256", "kid", kid, "use", "sig", "e", e, "n", n);
        out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
    }
    free(n);
    free(e);
    EVP_PKEY_free(pk);
    return out;
}

static void keys(sim_req *r, sim_resp *resp)
{
    sim_oidc *o = r->srv->oidc;
    pthread_mutex_lock(&o->mu);
    if (!o->jwks)
        o->jwks = make_jwks();
    resp->body.len = 0;
    if (o->jwks)
        sim_buf_adds(&resp->body, o->jwks);
    pthread_mutex_unlock(&o->mu);
    if (!resp->body.len)
        sim_resp_error(resp, 500, "E0000009", "Internal Server Error", r->request_id);
}

/* ---- token endpoint ---- */

static void oauth_error(sim_resp *resp, unsigned status, const char *error, const char *desc)
{
    reply(resp, status, json_pack("{s:s,s:s}", "error", error, "error_description", desc));
}

/* Value of form field `name` in an application/x-www-form-urlencoded body (malloc'd), or NULL. */
static char *form_get(const char *body, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = body, *end = body + len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            char *raw = strndup(p + nl + 1, (size_t)(stop - p - (ptrdiff_t)nl - 1));
            for (char *c = raw; c && *c; c++)
                if (*c == '+')
                    *c = ' ';
            int outlen = 0;
            char *dec = raw ? curl_easy_unescape(NULL, raw, 0, &outlen) : NULL;
            char *v = dec ? strndup(dec, (size_t)outlen) : NULL;
            curl_free(dec);
            free(raw);
            return v;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* "Basic base64(urlencode(id):urlencode(secret))" (RFC 6749 §2.3.1) → id and secret. */
static bool basic_credentials(const char *auth, char **id, char **secret)
{
    if (!auth || strncasecmp(auth, "Basic ", 6) != 0)
        return false;
    const char *b = auth + 6;
    size_t n = strlen(b);
    if (n == 0 || n % 4 != 0 || n > 2000)
        return false;
    unsigned char dec[1600];
    int len = EVP_DecodeBlock(dec, (const unsigned char *)b, (int)n);
    if (len < 0)
        return false;
    for (size_t k = n; k > 0 && b[k - 1] == '='; k--)
        len--;
    dec[len] = '\0';
    char *colon = strchr((char *)dec, ':');
    if (!colon)
        return false;
    *colon = '\0';
    int l1 = 0, l2 = 0;
    char *u = curl_easy_unescape(NULL, (char *)dec, 0, &l1);
    char *p = curl_easy_unescape(NULL, colon + 1, 0, &l2);
    *id = u ? strndup(u, (size_t)l1) : NULL;
    *secret = p ? strndup(p, (size_t)l2) : NULL;
    curl_free(u);
    curl_free(p);
    return *id && *secret;
}

static unsigned grant_bit(const char *g)
{
    for (size_t i = 0; g && i < N_GRANTS; i++)
        if (strcmp(grant_names[i], g) == 0)
            return 1u << i;
    return 0;
}

static void token(sim_req *r, sim_resp *resp)
{
    sim_oidc *o = r->srv->oidc;
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    char *bid = NULL, *bsecret = NULL;
    char *pid = form_get(r->body, r->body_len, "client_id");
    char *psecret = form_get(r->body, r->body_len, "client_secret");
    char *grant = form_get(r->body, r->body_len, "grant_type");
    char *scope = form_get(r->body, r->body_len, "scope");
    bool basic = basic_credentials(auth, &bid, &bsecret);
    pthread_mutex_lock(&o->mu);
    o->token_requests++;
    const char *id = basic ? bid : pid, *secret = basic ? bsecret : psecret;
    if (basic && (pid || psecret)) {
        oauth_error(resp, 400, "invalid_request",
                    "Can't supply multiple client credentials. Use one of the following: "
                    "credentials in the Authorization header, credentials in the post body, or a "
                    "`client_assertion` in the post body.");
    } else if (!id) {
        o->invalid_client++;
        oauth_error(resp, o->invalid_client_status, "invalid_client",
                    "No client credentials found");
    } else if (strcmp(id, o->client_id) != 0) {
        o->invalid_client++;
        oauth_error(resp, o->invalid_client_status, "invalid_client",
                    "Invalid value for the `client_id` parameter");
    } else if (!secret || strcmp(secret, o->client_secret) != 0) {
        o->invalid_client++;
        oauth_error(resp, o->invalid_client_status, "invalid_client",
                    "The client secret supplied for a confidential client is invalid.");
    } else if (!grant || !*grant) {
        oauth_error(resp, 400, "invalid_request", "The `grant_type` parameter is required.");
    } else if (!grant_bit(grant)) {
        oauth_error(resp, 400, "unsupported_grant_type",
                    "The grant type in the request isn't supported.");
    } else if (!(o->grants & grant_bit(grant))) {
        char desc[400], list[300] = "";
        for (size_t i = 0; i < N_GRANTS; i++)
            if (o->grants & (1u << i))
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         list[0] ? ", " : "", grant_names[i]);
        snprintf(desc, sizeof desc,
                 "The client isn't authorized to use the provided grant type. Configured grant "
                 "types: [%s].",
                 list);
        o->unauthorized_client++;
        oauth_error(resp, 400, "unauthorized_client", desc);
    } else if (strcmp(grant, "client_credentials") == 0) {
        char tok[44];
        sim_random_token(tok, 43);
        o->issued++;
        reply(resp, 200,
              json_pack("{s:s,s:i,s:s,s:s}", "token_type", "Bearer", "expires_in", 3600,
                        "access_token", tok, "scope", scope ? scope : ""));
    } else if (strcmp(grant, "authorization_code") == 0) {
        /* The simulator never issues codes: any code is unknown. */
        oauth_error(resp, 400, "invalid_grant",
                    "The authorization code is invalid or has expired.");
    } else if (strcmp(grant, "refresh_token") == 0) {
        oauth_error(resp, 400, "invalid_grant", "The refresh token is invalid or expired.");
    } else {
        oauth_error(resp, 400, "invalid_grant", "The credentials provided were invalid.");
    }
    pthread_mutex_unlock(&o->mu);
    free(bid);
    free(bsecret);
    free(pid);
    free(psecret);
    free(grant);
    free(scope);
}

bool sim_oidc_route(sim_req *r, sim_resp *resp)
{
    const char *p = r->path;
    bool get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
    const char *route = NULL;
    if (strcmp(p, "/.well-known/openid-configuration") == 0)
        route = "/.well-known/openid-configuration";
    else if (strcmp(p, "/.well-known/oauth-authorization-server") == 0)
        route = "/.well-known/oauth-authorization-server";
    else if (strcmp(p, "/oauth2/v1/keys") == 0)
        route = "/oauth2/v1/keys";
    else if (strcmp(p, "/oauth2/v1/token") == 0)
        route = "/oauth2/v1/token";
    else
        return false;
    sim_stats_count(r->srv, r->method, route);
    if (strcmp(route, "/oauth2/v1/token") == 0) {
        if (post)
            token(r, resp);
        else
            sim_resp_error(resp, 405, "E0000022",
                           "The endpoint does not support the provided HTTP method", r->request_id);
    } else if (!get) {
        sim_resp_error(resp, 405, "E0000022",
                       "The endpoint does not support the provided HTTP method", r->request_id);
    } else if (strcmp(route, "/oauth2/v1/keys") == 0) {
        keys(r, resp);
    } else {
        discovery(r, resp, strstr(route, "openid") != NULL);
    }
    return true;
}
