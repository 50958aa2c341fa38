/*
 * One HTTP GET over a kept-alive libcurl easy handle, capturing what the Okta client needs:
 * status, body (bounded), X-Okta-Request-Id, X-Rate-Limit-*, Date and the Link rel="next" URL.
 * Private to common/okta/.
 */
#ifndef OKS_OKTA_HTTP_H
#define OKS_OKTA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "core/oks_err.h"

#include "okta/oks_okta.h" /* OKS_OKTA_URL_MAX */

typedef struct oks_okta_resp {
    long status;   /* 0 when the transfer failed */
    int curl_code; /* CURLcode */
    char curl_msg[CURL_ERROR_SIZE];
    char *body;           /* NUL-terminated, malloc'd */
    size_t len, cap, max; /* max = body cap */
    bool too_big;
    char request_id[96];
    int64_t rl_limit, rl_remaining, rl_reset; /* -1 when absent */
    int64_t date_ms;                          /* -1 when absent */
    char next_url[OKS_OKTA_URL_MAX];          /* "" when no rel="next" */
    bool link_malformed;
} oks_okta_resp;

typedef struct oks_okta_http {
    CURL *curl;
    struct curl_slist *base_headers; /* Authorization, Accept, User-Agent */
    int64_t connect_timeout_ms, request_timeout_ms;
    bool https_only;
} oks_okta_http;

int oks_okta__http_init(oks_okta_http *h, const char *token, bool https_only,
                        int64_t connect_timeout_ms, int64_t request_timeout_ms, oks_err *err);
void oks_okta__http_cleanup(oks_okta_http *h);

/* Perform a GET. retry_for/retry_count add X-Okta-Retry-For / X-Okta-Retry-Count (after a 429).
 * Transport failures are reported in r->curl_code (r->status == 0); this returns -1 only when
 * the request could not be set up (err set). r must be reset with oks_okta__resp_reset first. */
int oks_okta__http_get(oks_okta_http *h, const char *url, const char *retry_for, int retry_count,
                       oks_okta_resp *r, oks_err *err);

void oks_okta__resp_reset(oks_okta_resp *r, size_t max_body);
void oks_okta__resp_free(oks_okta_resp *r);

#endif
