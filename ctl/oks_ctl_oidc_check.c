/*
 * The OIDC half of "Connect to Okta": is the client id known to the org's authorization server,
 * and is its secret right? Decided by status codes and the OAuth `error` code, never by Okta's
 * error text (which Okta says may change; docs/okta-simulator.md "OIDC endpoints"):
 *   GET {domain}/.well-known/openid-configuration?client_id=ID  400 → the client id is unknown;
 *   POST {token_endpoint} (Basic auth, grant_type=authorization_code with a dummy code — no
 *   token is ever minted)  401, or 400 invalid_client → the secret is wrong;
 *   400 invalid_grant / unauthorized_client → both id and secret passed client authentication.
 * Okta's spec and real orgs answer a failed client authentication with 401 invalid_client;
 * RFC 6749 §5.2 also allows 400 invalid_client, so that is read the same way.
 */
#include "oks_ctl_oidc_check.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BODY_CAP = 256 * 1024 };

typedef struct body {
    char buf[BODY_CAP + 1];
    size_t len;
} body;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    body *b = ud;
    size_t len = sz * n;
    if (b->len + len > BODY_CAP)
        return 0; /* too large: abort the transfer */
    memcpy(b->buf + b->len, p, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return len;
}

/* HTTP status, or -1 with why filled on a transport error. */
static long request(const char *url, const char *user, const char *pass, const char *form,
                    long timeout_ms, body *b, char *why, size_t cap)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    b->len = 0;
    b->buf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (form) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(why, cap, "%s: %s", url, curl_easy_strerror(rc));
    curl_easy_cleanup(c);
    return status;
}

oks_oidc_result oks_ctl_oidc_check(const char *domain, const char *client_id,
                                   const char *client_secret, long timeout_ms, char *why,
                                   size_t cap)
{
    static body b;
    char url[1200];
    CURL *esc = curl_easy_init();
    char *id = esc ? curl_easy_escape(esc, client_id, 0) : NULL;
    if (!id) {
        if (esc)
            curl_easy_cleanup(esc);
        snprintf(why, cap, "out of memory");
        return OKS_OIDC_UNREACHABLE;
    }
    snprintf(url, sizeof url, "%s/.well-known/openid-configuration?client_id=%s", domain, id);
    curl_free(id);
    curl_easy_cleanup(esc);
    long st = request(url, NULL, NULL, NULL, timeout_ms, &b, why, cap);
    if (st < 0)
        return OKS_OIDC_UNREACHABLE;
    if (st == 400) {
        snprintf(why, cap,
                 "the org's authorization server does not know client id %s "
                 "(discovery answered 400)",
                 client_id);
        return OKS_OIDC_BAD_CLIENT_ID;
    }
    if (st != 200) {
        snprintf(why, cap, "OIDC discovery answered HTTP %ld", st);
        return OKS_OIDC_UNREACHABLE;
    }
    json_t *doc = json_loadb(b.buf, b.len, 0, NULL);
    const char *te = json_string_value(json_object_get(doc, "token_endpoint"));
    char token_url[1024];
    snprintf(token_url, sizeof token_url, "%s", te ? te : "");
    json_decref(doc);
    if (!client_secret || !*client_secret)
        return OKS_OIDC_OK; /* no secret to check (a public client) */
    if (!*token_url) {
        snprintf(why, cap, "OIDC discovery document has no token_endpoint");
        return OKS_OIDC_UNREACHABLE;
    }
    st = request(token_url, client_id, client_secret,
                 "grant_type=authorization_code&code=oktasync-connect-probe"
                 "&redirect_uri=https%3A%2F%2Foktasync.invalid%2Fcallback",
                 timeout_ms, &b, why, cap);
    if (st < 0)
        return OKS_OIDC_UNREACHABLE;
    json_t *e = json_loadb(b.buf, b.len, 0, NULL);
    const char *code = json_string_value(json_object_get(e, "error"));
    if (st == 401 || (st == 400 && code && strcmp(code, "invalid_client") == 0)) {
        snprintf(why, cap,
                 "the token endpoint refused the client secret of client %s (HTTP %ld%s%s)",
                 client_id, st, code ? " " : "", code ? code : "");
        json_decref(e);
        return OKS_OIDC_BAD_SECRET;
    }
    bool authed = st == 400 && code &&
                  (strcmp(code, "invalid_grant") == 0 || strcmp(code, "unauthorized_client") == 0);
    if (!authed)
        snprintf(why, cap, "the token endpoint answered HTTP %ld%s%s", st, code ? " " : "",
                 code ? code : "");
    json_decref(e);
    return authed ? OKS_OIDC_OK : OKS_OIDC_UNREACHABLE;
}
