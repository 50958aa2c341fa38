/*
 * Internals of the Okta client shared between its files (oks_okta__ prefix). Pure parsers and
 * policy functions live here so unit tests and fuzz targets can call them without I/O.
 */
#ifndef OKS_OKTA_INT_H
#define OKS_OKTA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/oks_err.h"

#ifndef OKS_VERSION
#define OKS_VERSION "0.1.0"
#endif

/* ---- Link header (oks_okta_link.c) ---- */

/* Scan one Link header value (which may itself hold several comma-separated links) for the
 * link whose rel list contains "next". Returns 1 and copies the URL into out (NUL-terminated),
 * 0 when no next link is present, -1 when the header is malformed or the URL does not fit. */
int oks_okta__link_find_next(const char *value, size_t len, char *out, size_t cap);

/* ---- error bodies and classification (oks_okta_error.c) ---- */

typedef struct oks_okta_error_body {
    char code[32];     /* errorCode, e.g. "E0000011"; "" when absent */
    char summary[160]; /* errorSummary (for humans only; never drives logic) */
    char id[64];       /* errorId */
} oks_okta_error_body;

/* Returns 0 when body is a JSON object with a string errorCode, else -1 (out zeroed). */
int oks_okta__error_parse(const char *body, size_t len, oks_okta_error_body *out);
/* Class of a non-2xx HTTP response. error_code may be NULL or "". */
oks_errcode oks_okta__classify_status(long status, const char *error_code);
/* Class of a libcurl transport failure (a CURLcode value). */
oks_errcode oks_okta__classify_curl(int curl_code);

/* ---- waits (oks_okta_backoff.c); rnd is any 32-bit random value ---- */

/* 429: (reset_s - date + 1 s), at least 1 s, plus up to 10% (max 1 s) jitter, capped at max_ms.
 * Returns -1 when reset_s or date_ms is unknown (<= 0). */
int64_t oks_okta__backoff_429_ms(int64_t reset_s, int64_t date_ms, int64_t max_ms, uint32_t rnd);
/* 5xx/timeouts: 300 ms * 2^attempt with "equal jitter" (half fixed, half random), capped. */
int64_t oks_okta__backoff_exp_ms(int attempt, int64_t max_ms, uint32_t rnd);
/* Proactive pacing before a request to a bucket: 0 while remaining >= limit * fraction; when
 * low, spread the remaining requests over the rest of the window; when none remain, wait for
 * the reset. reset_ms and now_ms are on the same (local wall) clock. */
int64_t oks_okta__pace_ms(int64_t limit, int64_t remaining, int64_t reset_ms, int64_t now_ms,
                          double fraction, int64_t max_ms);

/* ---- buckets ---- */
enum {
    OKS_OKTA_B_USERS = 0, /* GET /api/v1/users (list) */
    OKS_OKTA_B_USER_GET,  /* /api/v1/users/{id} */
    OKS_OKTA_B_USER_GROUPS,
    OKS_OKTA_B_APPS, /* /api/v1/apps and /api/v1/apps/{id}/... */
    OKS_OKTA_B_APP_GET,
    OKS_OKTA_B_LOGS,
    OKS_OKTA_B_GROUPS,
    OKS_OKTA_B_OTHER,
};
extern const char *const oks_okta__bucket_names[8];
/* Bucket of an absolute URL or path, from the path after "/api/v1/". */
int oks_okta__bucket_of(const char *url);

/* ---- shared per-org budget in Redis (oks_okta_budget.c) ---- */

typedef struct oks_okta_budget oks_okta_budget;

oks_okta_budget *oks_okta__budget_new(const char *redis_url, const char *org_key, int max_in_flight,
                                      double fraction, int64_t window_ms, int64_t lease_ms,
                                      int64_t timeout_ms, oks_err *err);
void oks_okta__budget_free(oks_okta_budget *b);
/* Wait (sleeping, at most max_wait_ms) until both a request slot in the bucket's sliding minute
 * and an in-flight lease for the org are granted. Writes the lease id to lease (cap >= 64).
 * *waited_ms gets the time slept. OKS_E_RATELIMIT when max_wait_ms passes, OKS_E_UNAVAILABLE
 * when Redis fails. */
int oks_okta__budget_acquire(oks_okta_budget *b, const char *bucket, int64_t max_wait_ms,
                             char *lease, size_t cap, int64_t *waited_ms, oks_err *err);
void oks_okta__budget_release(oks_okta_budget *b, const char *lease);
/* Record the bucket limit Okta reported so every process sizes the bucket from it. */
void oks_okta__budget_observe(oks_okta_budget *b, const char *bucket, int64_t limit);

#endif
