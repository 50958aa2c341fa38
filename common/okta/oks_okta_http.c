/* libcurl transport for the Okta client: one easy handle reused across requests (keep-alive). */
#include "okta/oks_okta_http.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "okta/oks_okta_int.h"

void oks_okta__resp_reset(oks_okta_resp *r, size_t max_body)
{
    char *body = r->body;
    size_t cap = r->cap;
    memset(r, 0, sizeof *r);
    r->body = body; /* keep the buffer: pages are similar in size */
    r->cap = cap;
    if (r->body)
        r->body[0] = '\0';
    r->max = max_body;
    r->rl_limit = r->rl_remaining = r->rl_reset = r->date_ms = -1;
}

void oks_okta__resp_free(oks_okta_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    oks_okta_resp *r = ud;
    size_t n = size * nmemb;
    if (r->len + n + 1 > r->max) {
        r->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *nb = realloc(r->body, cap);
        if (!nb)
            return 0;
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static int64_t parse_int_header(const char *v, size_t len)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    char *end = NULL;
    long long x = strtoll(buf, &end, 10);
    if (end == buf || *end || x < 0)
        return -1;
    return (int64_t)x;
}

static void on_header_value(oks_okta_resp *r, const char *name, size_t nlen, const char *v,
                            size_t vlen)
{
#define IS(h) (nlen == sizeof(h) - 1 && strncasecmp(name, h, nlen) == 0)
    if (IS("x-okta-request-id")) {
        snprintf(r->request_id, sizeof r->request_id, "%.*s", (int)vlen, v);
    } else if (IS("x-rate-limit-limit")) {
        r->rl_limit = parse_int_header(v, vlen);
    } else if (IS("x-rate-limit-remaining")) {
        r->rl_remaining = parse_int_header(v, vlen);
    } else if (IS("x-rate-limit-reset")) {
        r->rl_reset = parse_int_header(v, vlen);
    } else if (IS("date")) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*s", (int)(vlen < 63 ? vlen : 63), v);
        time_t t = curl_getdate(buf, NULL);
        r->date_ms = t > 0 ? (int64_t)t * 1000 : -1;
    } else if (IS("link") && !r->next_url[0]) {
        int rc = oks_okta__link_find_next(v, vlen, r->next_url, sizeof r->next_url);
        if (rc < 0) {
            r->link_malformed = true;
            r->next_url[0] = '\0';
        }
    }
#undef IS
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    oks_okta_resp *r = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response starts (e.g. after 100 Continue): forget earlier headers. */
        r->request_id[0] = r->next_url[0] = '\0';
        r->link_malformed = false;
        r->rl_limit = r->rl_remaining = r->rl_reset = r->date_ms = -1;
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon)
        return n;
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    on_header_value(r, data, (size_t)(colon - data), v, (size_t)(end - v));
    return n;
}

int oks_okta__http_init(oks_okta_http *h, const char *token, bool https_only,
                        int64_t connect_timeout_ms, int64_t request_timeout_ms, oks_err *err)
{
    memset(h, 0, sizeof *h);
    h->connect_timeout_ms = connect_timeout_ms;
    h->request_timeout_ms = request_timeout_ms;
    h->https_only = https_only;
    h->curl = curl_easy_init();
    if (!h->curl)
        return oks_err_set(err, OKS_E_NOMEM, "okta: curl_easy_init failed");
    char auth[1024];
    if ((size_t)snprintf(auth, sizeof auth, "Authorization: SSWS %s", token) >= sizeof auth) {
        oks_okta__http_cleanup(h);
        return oks_err_set(err, OKS_E_INVALID, "okta: API token too long");
    }
    const char *lines[] = {auth, "Accept: application/json", "User-Agent: oktasync/" OKS_VERSION};
    for (size_t i = 0; i < 3; i++) {
        struct curl_slist *n = curl_slist_append(h->base_headers, lines[i]);
        if (!n) {
            oks_okta__http_cleanup(h);
            return oks_err_set(err, OKS_E_NOMEM, "okta: out of memory");
        }
        h->base_headers = n;
    }
    return 0;
}

void oks_okta__http_cleanup(oks_okta_http *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->base_headers);
    memset(h, 0, sizeof *h);
}

/* Per-request header list: the base list is shared, retry headers are appended on a copy. */
static struct curl_slist *retry_headers(const oks_okta_http *h, const char *retry_for, int count)
{
    struct curl_slist *l = NULL;
    for (const struct curl_slist *s = h->base_headers; s; s = s->next) {
        struct curl_slist *n = curl_slist_append(l, s->data);
        if (!n)
            goto fail;
        l = n;
    }
    char line[160];
    snprintf(line, sizeof line, "X-Okta-Retry-For: %.100s", retry_for);
    struct curl_slist *n = curl_slist_append(l, line);
    if (!n)
        goto fail;
    l = n;
    snprintf(line, sizeof line, "X-Okta-Retry-Count: %d", count);
    n = curl_slist_append(l, line);
    if (!n)
        goto fail;
    return n;
fail:
    curl_slist_free_all(l);
    return NULL;
}

static CURLcode set_options(oks_okta_http *h, const char *url, struct curl_slist *hdrs,
                            oks_okta_resp *r)
{
    CURL *c = h->curl;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(c, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPGET, 1L);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_PROTOCOLS_STR, h->https_only ? "https" : "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* never carry the token to another place */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, (long)h->request_timeout_ms);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* any encoding libcurl can decode */
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, r);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, r);
    SET(CURLOPT_ERRORBUFFER, r->curl_msg);
#undef SET
    return rc;
}

int oks_okta__http_get(oks_okta_http *h, const char *url, const char *retry_for, int retry_count,
                       oks_okta_resp *r, oks_err *err)
{
    struct curl_slist *extra = NULL;
    if (retry_for) {
        extra = retry_headers(h, retry_for, retry_count);
        if (!extra)
            return oks_err_set(err, OKS_E_NOMEM, "okta: out of memory");
    }
    int ret = -1;
    CURLcode rc = set_options(h, url, extra ? extra : h->base_headers, r);
    if (rc != CURLE_OK) {
        oks_err_set(err, OKS_E_INVALID, "okta: curl setup: %s", curl_easy_strerror(rc));
        goto out;
    }
    r->curl_code = (int)curl_easy_perform(h->curl);
    if (r->curl_code == CURLE_OK)
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
    else if (!r->curl_msg[0])
        snprintf(r->curl_msg, sizeof r->curl_msg, "%s", curl_easy_strerror((CURLcode)r->curl_code));
    ret = 0;
out:
    /* The handle keeps a pointer to the list; detach before freeing it. */
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->base_headers);
    curl_slist_free_all(extra);
    return ret;
}
