/* The org authorization server's OIDC endpoints "Connect to Okta" checks: discovery (with and
 * without ?client_id), the JWKS, and the token endpoint's client authentication
 * (client_secret_basic, client_secret_post) with the errors that tell an unknown client id, a
 * wrong secret and good credentials apart. Drives the real binary over HTTP. */
#include "simt.h"

#include "oks_test.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const org[] = {"--users", "50", "--seed", "7", NULL};

static void get(simt_resp *r, const simt *s, const char *path)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    simt_request(r, "GET", url, NULL, NULL, 10000);
}

/* POST a form to /oauth2/v1/token, with Basic credentials when id is given. */
static void token(simt_resp *r, const simt *s, const char *id, const char *secret, const char *form)
{
    char url[512], auth[600], raw[300];
    snprintf(url, sizeof url, "%s/oauth2/v1/token", s->base);
    if (id) {
        unsigned char enc[420];
        int n = snprintf(raw, sizeof raw, "%s:%s", id, secret);
        EVP_EncodeBlock(enc, (const unsigned char *)raw, n);
        snprintf(auth, sizeof auth, "Basic %s", enc);
    }
    simt_request(r, "POST", url, id ? auth : NULL, form, 10000);
}

static void assert_oauth_error(const simt_resp *r, long status, const char *error,
                               const char *desc_part)
{
    OKS_ASSERT_EQ_INT(r->status, status);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(r->json, "error")), error);
    const char *d = json_string_value(json_object_get(r->json, "error_description"));
    OKS_ASSERT(d != NULL);
    OKS_ASSERT(strstr(d, desc_part) != NULL);
}

static const char *jstr(const simt_resp *r, const char *k)
{
    return json_string_value(json_object_get(r->json, k));
}

OKS_TEST(discovery_documents_point_at_the_org_authorization_server)
{
    simt s;
    simt_resp r;
    char want[256];
    simt_start(&s, org);
    get(&r, &s, "/.well-known/openid-configuration");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_STR(jstr(&r, "issuer"), s.base);
    snprintf(want, sizeof want, "%s/oauth2/v1/token", s.base);
    OKS_ASSERT_EQ_STR(jstr(&r, "token_endpoint"), want);
    snprintf(want, sizeof want, "%s/oauth2/v1/keys", s.base);
    OKS_ASSERT_EQ_STR(jstr(&r, "jwks_uri"), want);
    snprintf(want, sizeof want, "%s/oauth2/v1/authorize", s.base);
    OKS_ASSERT_EQ_STR(jstr(&r, "authorization_endpoint"), want);
    OKS_ASSERT(jstr(&r, "userinfo_endpoint") != NULL);
    json_t *m = json_object_get(r.json, "token_endpoint_auth_methods_supported");
    OKS_ASSERT_EQ_STR(json_string_value(json_array_get(m, 0)), "client_secret_basic");
    OKS_ASSERT_EQ_STR(json_string_value(json_array_get(m, 1)), "client_secret_post");
    OKS_ASSERT_EQ_STR(json_string_value(json_array_get(
                          json_object_get(r.json, "id_token_signing_alg_values_supported"), 0)),
                      "RS256");
    simt_resp_free(&r);
    /* OAuth metadata: same endpoints, no OIDC-only fields. */
    get(&r, &s, "/.well-known/oauth-authorization-server");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_STR(jstr(&r, "issuer"), s.base);
    OKS_ASSERT(jstr(&r, "token_endpoint") != NULL);
    OKS_ASSERT(json_object_get(r.json, "userinfo_endpoint") == NULL);
    simt_resp_free(&r);
    /* A known client_id gets the document, an unknown one Okta's 400 invalid_client. */
    char path[256];
    snprintf(path, sizeof path, "/.well-known/openid-configuration?client_id=%s", s.app_id);
    get(&r, &s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    get(&r, &s, "/.well-known/openid-configuration?client_id=0oaUNKNOWNclient0001");
    OKS_ASSERT_EQ_INT(r.status, 400);
    OKS_ASSERT_EQ_STR(jstr(&r, "errorCode"), "invalid_client");
    OKS_ASSERT(jstr(&r, "errorSummary") != NULL);
    simt_resp_free(&r);
    /* Other methods and the custom-AS paths are not served. */
    snprintf(path, sizeof path, "%s/.well-known/openid-configuration", s.base);
    simt_request(&r, "POST", path, NULL, "", 10000);
    OKS_ASSERT_EQ_INT(r.status, 405);
    simt_resp_free(&r);
    get(&r, &s, "/oauth2/v1/.well-known/openid-configuration");
    OKS_ASSERT_EQ_INT(r.status, 404);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(oidc_endpoints_are_not_rate_limited_and_need_no_api_token)
{
    const char *const args[] = {"--users",        "20", "--rate-other",      "1",
                                "--rate-app-get", "1",  "--fault-bad-token", NULL};
    simt s;
    simt_resp r;
    simt_start(&s, args);
    for (int i = 0; i < 15; i++) {
        get(&r, &s,
            i % 3 == 0   ? "/.well-known/openid-configuration"
            : i % 3 == 1 ? "/.well-known/oauth-authorization-server"
                         : "/oauth2/v1/keys");
        OKS_ASSERT_EQ_INT(r.status, 200);
        char v[32];
        OKS_ASSERT(simt_header(&r, "X-Rate-Limit-Limit", v, sizeof v) == NULL);
        simt_resp_free(&r);
        token(&r, &s, s.app_id, "sim-client-secret", "grant_type=authorization_code&code=abc");
        OKS_ASSERT_EQ_INT(r.status, 400);
        simt_resp_free(&r);
    }
    simt_admin(&r, &s, "GET", "/__sim/stats", NULL);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "requests")), 0);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "served_429")), 0);
    json_t *per = json_object_get(r.json, "per_endpoint");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(per, "POST /oauth2/v1/token")), 15);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(per, "GET /oauth2/v1/keys")), 5);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(jwks_serves_one_stable_rsa_signing_key)
{
    simt s;
    simt_resp r, r2;
    simt_start(&s, org);
    get(&r, &s, "/oauth2/v1/keys");
    OKS_ASSERT_EQ_INT(r.status, 200);
    json_t *k = json_array_get(json_object_get(r.json, "keys"), 0);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(k, "kty")), "RSA");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(k, "alg")), "RS256");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(k, "use")), "sig");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(k, "e")), "AQAB");
    const char *n = json_string_value(json_object_get(k, "n"));
    OKS_ASSERT(n && strlen(n) == 342); /* 2048-bit modulus, base64url without padding */
    OKS_ASSERT(strpbrk(n, "+/=") == NULL);
    get(&r2, &s, "/oauth2/v1/keys");
    OKS_ASSERT_EQ_STR(r2.body, r.body);
    simt_resp_free(&r);
    simt_resp_free(&r2);
    simt_stop(&s);
}

OKS_TEST(token_endpoint_tells_unknown_client_wrong_secret_and_good_credentials_apart)
{
    simt s;
    simt_resp r;
    char form[512];
    simt_start(&s, org);
    /* Good credentials, Basic and post: client authenticated, then the bogus code is refused. */
    token(&r, &s, s.app_id, "sim-client-secret", "grant_type=authorization_code&code=x");
    assert_oauth_error(&r, 400, "invalid_grant", "authorization code");
    simt_resp_free(&r);
    snprintf(form, sizeof form,
             "grant_type=authorization_code&code=x&client_id=%s&client_secret=sim-client-secret",
             s.app_id);
    token(&r, &s, NULL, NULL, form);
    assert_oauth_error(&r, 400, "invalid_grant", "authorization code");
    simt_resp_free(&r);
    /* Wrong secret, both methods. */
    token(&r, &s, s.app_id, "wrong", "grant_type=authorization_code&code=x");
    assert_oauth_error(&r, 401, "invalid_client", "client secret");
    simt_resp_free(&r);
    snprintf(form, sizeof form, "grant_type=authorization_code&client_id=%s&client_secret=wrong",
             s.app_id);
    token(&r, &s, NULL, NULL, form);
    assert_oauth_error(&r, 401, "invalid_client", "client secret");
    simt_resp_free(&r);
    /* client_id alone (no secret) for this confidential client: the secret check fails. */
    snprintf(form, sizeof form, "grant_type=authorization_code&client_id=%s", s.app_id);
    token(&r, &s, NULL, NULL, form);
    assert_oauth_error(&r, 401, "invalid_client", "client secret");
    simt_resp_free(&r);
    /* Unknown client id, both methods, whatever the secret. */
    token(&r, &s, "0oaUNKNOWNclient0001", "sim-client-secret", "grant_type=authorization_code");
    assert_oauth_error(&r, 401, "invalid_client", "client_id");
    simt_resp_free(&r);
    token(&r, &s, NULL, NULL,
          "grant_type=authorization_code&client_id=nobody&client_secret=sim-client-secret");
    assert_oauth_error(&r, 401, "invalid_client", "client_id");
    simt_resp_free(&r);
    /* No credentials; both kinds at once. */
    token(&r, &s, NULL, NULL, "grant_type=authorization_code");
    assert_oauth_error(&r, 401, "invalid_client", "No client credentials");
    simt_resp_free(&r);
    token(&r, &s, s.app_id, "sim-client-secret",
          "grant_type=authorization_code&client_secret=sim-client-secret");
    assert_oauth_error(&r, 400, "invalid_request", "multiple client credentials");
    simt_resp_free(&r);
    /* Grant checks come after client authentication. */
    token(&r, &s, s.app_id, "sim-client-secret", "grant_type=client_credentials&scope=x");
    assert_oauth_error(&r, 400, "unauthorized_client", "[authorization_code]");
    simt_resp_free(&r);
    token(&r, &s, s.app_id, "wrong", "grant_type=client_credentials");
    assert_oauth_error(&r, 401, "invalid_client", "client secret");
    simt_resp_free(&r);
    token(&r, &s, s.app_id, "sim-client-secret", "grant_type=urn%3Abogus");
    assert_oauth_error(&r, 400, "unsupported_grant_type", "grant type");
    simt_resp_free(&r);
    token(&r, &s, s.app_id, "sim-client-secret", "code=x");
    assert_oauth_error(&r, 400, "invalid_request", "grant_type");
    simt_resp_free(&r);
    /* Only POST. */
    char url[256];
    snprintf(url, sizeof url, "%s/oauth2/v1/token", s.base);
    simt_request(&r, "GET", url, NULL, NULL, 10000);
    OKS_ASSERT_EQ_INT(r.status, 405);
    simt_resp_free(&r);
    /* The counters saw it. */
    simt_admin(&r, &s, "GET", "/__sim/oidc", NULL);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "token_requests")), 13);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "invalid_client")), 7);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "unauthorized_client")), 1);
    simt_resp_free(&r);
    simt_stop(&s);
}

OKS_TEST(oidc_client_is_set_by_flags_and_by_admin_call)
{
    const char *const args[] = {"--users",
                                "20",
                                "--oidc-client-id",
                                "my-client-1",
                                "--oidc-client-secret",
                                "s3cr3t:with+chars",
                                "--oidc-grant-types",
                                "authorization_code,client_credentials",
                                NULL};
    simt s;
    simt_resp r;
    simt_start(&s, args);
    token(&r, &s, "my-client-1", "s3cr3t:with+chars", "grant_type=client_credentials&scope=a+b");
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_STR(jstr(&r, "token_type"), "Bearer");
    OKS_ASSERT(jstr(&r, "access_token") && strlen(jstr(&r, "access_token")) > 20);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "expires_in")), 3600);
    OKS_ASSERT_EQ_STR(jstr(&r, "scope"), "a b");
    simt_resp_free(&r);
    /* Post body: the secret is form-encoded. */
    token(
        &r, &s, NULL, NULL,
        "grant_type=client_credentials&client_id=my-client-1&client_secret=s3cr3t%3Awith%2Bchars");
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    /* The app id is no longer the client id. */
    token(&r, &s, s.app_id, "s3cr3t:with+chars", "grant_type=client_credentials");
    assert_oauth_error(&r, 401, "invalid_client", "client_id");
    simt_resp_free(&r);
    /* Admin call: new secret and grants; the old secret stops working. */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc",
                                 "{\"client_secret\":\"rotated\",\"grant_types\":"
                                 "[\"authorization_code\"],\"reset_stats\":true}"),
                      200);
    OKS_ASSERT_EQ_STR(jstr(&r, "client_id"), "my-client-1");
    OKS_ASSERT_EQ_STR(jstr(&r, "client_secret"), "rotated");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "token_requests")), 0);
    simt_resp_free(&r);
    token(&r, &s, "my-client-1", "s3cr3t:with+chars", "grant_type=authorization_code");
    assert_oauth_error(&r, 401, "invalid_client", "client secret");
    simt_resp_free(&r);
    token(&r, &s, "my-client-1", "rotated", "grant_type=client_credentials");
    assert_oauth_error(&r, 400, "unauthorized_client", "isn't authorized");
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc", "{\"client_id\":\"other\"}"), 200);
    simt_resp_free(&r);
    get(&r, &s, "/.well-known/openid-configuration?client_id=my-client-1");
    OKS_ASSERT_EQ_INT(r.status, 400);
    simt_resp_free(&r);
    get(&r, &s, "/.well-known/openid-configuration?client_id=other");
    OKS_ASSERT_EQ_INT(r.status, 200);
    simt_resp_free(&r);
    /* Bad admin input changes nothing. */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc", "{\"client_id\":\"\"}"), 400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc", "{\"grant_types\":[\"magic\"]}"),
                      400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc", "{\"colour\":\"red\"}"), 400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc", "not json"), 400);
    simt_resp_free(&r);
    simt_admin(&r, &s, "GET", "/__sim/oidc", NULL);
    OKS_ASSERT_EQ_STR(jstr(&r, "client_id"), "other");
    OKS_ASSERT_EQ_STR(jstr(&r, "client_secret"), "rotated");
    simt_resp_free(&r);
    simt_stop(&s);
    /* A bad grant type on the command line stops start-up. */
    const char *const bad[] = {"--oidc-grant-types", "authorization_code,magic", NULL};
    char line[512];
    OKS_ASSERT(simt_run_expect_exit(bad, line, sizeof line) != 0);
    OKS_ASSERT(strstr(line, "oidc-grant-types") != NULL);
}

/* The what-if switch: invalid_client answered with 400 instead of Okta's 401 (RFC 6749 §5.2
 * allows 400 when no Authorization header was used), by flag and by admin call; nothing else
 * about the answers changes. */
OKS_TEST(invalid_client_status_switch_answers_400)
{
    const char *const args[] = {"--users", "10", "--oidc-invalid-client-status", "400", NULL};
    simt s;
    simt_resp r;
    simt_start(&s, args);
    token(&r, &s, s.app_id, "wrong", "grant_type=authorization_code&code=x");
    assert_oauth_error(&r, 400, "invalid_client", "client secret");
    simt_resp_free(&r);
    token(&r, &s, "0oaUNKNOWNclient0001", "sim-client-secret", "grant_type=authorization_code");
    assert_oauth_error(&r, 400, "invalid_client", "client_id");
    simt_resp_free(&r);
    token(&r, &s, NULL, NULL, "grant_type=authorization_code");
    assert_oauth_error(&r, 400, "invalid_client", "No client credentials");
    simt_resp_free(&r);
    /* good credentials are unaffected */
    token(&r, &s, s.app_id, "sim-client-secret", "grant_type=authorization_code&code=x");
    assert_oauth_error(&r, 400, "invalid_grant", "authorization code");
    simt_resp_free(&r);
    simt_admin(&r, &s, "GET", "/__sim/oidc", NULL);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "invalid_client_status")), 400);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(r.json, "invalid_client")), 3);
    simt_resp_free(&r);
    /* back to Okta's 401 by admin call; a bad value is refused and changes nothing */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc", "{\"invalid_client_status\":401}"),
                      200);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/oidc", "{\"invalid_client_status\":403}"),
                      400);
    simt_resp_free(&r);
    OKS_ASSERT_EQ_INT(
        simt_admin(&r, &s, "POST", "/__sim/oidc", "{\"invalid_client_status\":\"400\"}"), 400);
    simt_resp_free(&r);
    token(&r, &s, s.app_id, "wrong", "grant_type=authorization_code&code=x");
    assert_oauth_error(&r, 401, "invalid_client", "client secret");
    simt_resp_free(&r);
    simt_stop(&s);
    /* the flag takes 400 or 401 only */
    const char *const bad[] = {"--oidc-invalid-client-status", "403", NULL};
    char line[512];
    OKS_ASSERT(simt_run_expect_exit(bad, line, sizeof line) != 0);
    OKS_ASSERT(strstr(line, "oidc-invalid-client-status") != NULL);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
