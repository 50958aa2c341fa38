/*
 * Okta Management API client (libcurl + jansson), used by the worker and the scheduler.
 *
 * Threading: one oks_okta_client owns ONE libcurl easy handle (kept alive between calls), so a
 * client must only be used by one thread at a time. Create one client per worker thread (and per
 * Okta org). Pagers borrow their client: use and free a pager on the client's thread, and free
 * every pager before the client.
 *
 * Every call:
 *   - sends `Authorization: SSWS <token>`, `Accept: application/json`,
 *     `User-Agent: oktasync/<version>`, with connect and total timeouts;
 *   - logs the response's X-Okta-Request-Id (debug level; warn on errors);
 *   - classifies failures from the body's errorCode and the HTTP status into oks_err codes:
 *       429                       -> OKS_E_RATELIMIT   (retried: waits Reset - Date + 1 s)
 *       5xx                       -> OKS_E_TRANSIENT   (retried: exponential backoff + jitter)
 *       timeout                   -> OKS_E_TIMEOUT     (retried)
 *       connect/transport error   -> OKS_E_UNAVAILABLE (retried)
 *       401 (E0000011, E0000004)  -> OKS_E_AUTH        (not retried)
 *       403                       -> OKS_E_FORBIDDEN   (not retried)
 *       404                       -> OKS_E_NOTFOUND    (not retried)
 *       400 and other 4xx         -> OKS_E_INVALID     (not retried)
 *       malformed 2xx body        -> OKS_E_TRANSIENT (not JSON) / OKS_E_INVALID (wrong shape)
 *     After max_retries the last classified error is returned.
 *   - waits for the shared per-org budget (Redis) when redis_url is set: a sliding 60 s request
 *     count per rate-limit bucket, sized from the observed X-Rate-Limit-Limit, and a cap of
 *     max_in_flight concurrent requests per org with lease expiry. See docs/okta.md.
 *
 * Ownership: strings in oks_okta_user / oks_okta_app_user are malloc'd and freed by the matching
 * _free(); `profile` is an owned jansson reference. json_t pages returned by pagers are new
 * references the caller must json_decref().
 */
#ifndef OKS_OKTA_H
#define OKS_OKTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/oks_err.h"

typedef struct oks_okta_client oks_okta_client;

/* Longest request URL the client builds or follows (bytes, with the NUL). */
#define OKS_OKTA_URL_MAX 4096
typedef struct oks_okta_pager oks_okta_pager;

/* Zero-initialise and set what you need: every numeric field left at 0 takes its default. */
typedef struct oks_okta_client_opts {
    const char *base_url;       /* "https://acme.okta.com" (http:// accepted when written so) */
    const char *token;          /* API token, sent as "SSWS <token>" */
    int64_t connect_timeout_ms; /* default 5000 */
    int64_t request_timeout_ms; /* total per HTTP request, default 30000 */
    int max_retries;            /* retries after the first attempt; default 4; -1 = none */
    int64_t max_backoff_ms;     /* cap on one wait (429 reset or 5xx backoff), default 30000 */
    int max_in_flight;          /* per org, across all processes sharing redis_url; default 10 */
    const char *redis_url;      /* "redis://host:port/db"; NULL = no shared budget */
    const char *org_key;        /* budget key, e.g. the okta domain; NULL = host of base_url */
    double pace_below_fraction; /* pace when Remaining < Limit * this; default 0.2; <0 = never */
    double budget_fraction;     /* share of X-Rate-Limit-Limit the fleet may use, default 0.9 */
    int64_t budget_max_wait_ms; /* give up (OKS_E_RATELIMIT) after waiting this long for the
                                   shared budget; default 120000 */
    size_t max_body_bytes;      /* response body cap, default 64 MiB */
    int64_t budget_window_ms;   /* shared budget window, default 60000 (Okta counts per minute) */
} oks_okta_client_opts;

/* Per-bucket rate-limit state as last seen in X-Rate-Limit-* headers. */
#define OKS_OKTA_BUCKETS 8
typedef struct oks_okta_bucket_stats {
    const char *name;   /* "users", "user_get", "user_groups", "apps", "app_get", "logs", ... */
    int64_t limit;      /* -1 = never seen */
    int64_t remaining;  /* -1 = never seen */
    int64_t reset_s;    /* epoch seconds, 0 = never seen */
    uint64_t calls;     /* HTTP requests sent to this bucket (retries included) */
    uint64_t throttled; /* 429 responses from this bucket */
} oks_okta_bucket_stats;

typedef struct oks_okta_stats {
    uint64_t calls;            /* HTTP requests sent, retries included */
    uint64_t retries;          /* requests that were retries */
    uint64_t rate_limited;     /* 429 responses */
    uint64_t server_errors;    /* 5xx responses */
    uint64_t transport_errors; /* timeouts, connection errors, truncated bodies */
    uint64_t wait_ms;          /* total time slept for backoff, pacing and the shared budget */
    oks_okta_bucket_stats buckets[OKS_OKTA_BUCKETS];
} oks_okta_stats;

typedef struct oks_okta_user {
    char *id;
    char *status;            /* ACTIVE, DEPROVISIONED, SUSPENDED, ... */
    int64_t last_updated_ms; /* 0 when absent */
    /* Profile attributes, borrowed from `profile` (valid while the user is; NULL when absent,
     * null or not a string). Not copied: the reconcile path reads `profile` only, and a
     * 1,000-user round made 12,000 copies it never looked at. */
    const char *login;
    const char *email;
    const char *first_name;
    const char *last_name;
    const char *title;
    const char *locale;
    const char *preferred_language;
    const char *city;
    const char *country_code;
    const char *department;
    const char *manager_id;
    const char *profile_url;
    json_t *profile; /* owned reference to the whole profile object (custom attributes) */
} oks_okta_user;

typedef struct oks_okta_app_user {
    char *id;        /* = the Okta user id (00u...) */
    char *status;    /* ACTIVE, PROVISIONED, ... */
    char *scope;     /* USER (direct) or GROUP */
    char *user_name; /* credentials.userName, NULL when absent */
    int64_t last_updated_ms;
    json_t *profile; /* owned: the app-specific profile, NULL when absent */
    bool has_user;   /* _embedded.user was present (expand=user) and parsed into `user` */
    oks_okta_user user;
} oks_okta_app_user;

/* ---- client ---- */

oks_okta_client *oks_okta_client_new(const oks_okta_client_opts *o, oks_err *err);
void oks_okta_client_free(oks_okta_client *c);
void oks_okta_client_stats(const oks_okta_client *c, oks_okta_stats *out);

/* What the last request of this client (the last page, for a pager) got back. Okta's Date header
 * is the "as of when we asked" stamp: it is on Okta's clock, so it may be compared with Okta's
 * timestamps (lastUpdated, published) and with other Date stamps, never with the local clock. */
typedef struct oks_okta_last {
    long status;         /* HTTP status; 0 = transport failure; -1 = no request sent (budget,
                            bad URL, shutting down) */
    int64_t date_ms;     /* Date header in ms (1 s resolution); -1 when absent */
    char error_code[32]; /* errorCode of an error body ("E0000007"), "" when none */
    bool too_long;       /* the URL was refused as too long (414, or a 400 without Okta's body) */
} oks_okta_last;
void oks_okta_last_response(const oks_okta_client *c, oks_okta_last *out);
/* Length of the client's base URL ("https://acme.okta.com"): what a request URL spends before
 * its path, for callers that pack a query under a URL length limit. */
size_t oks_okta_base_url_len(const oks_okta_client *c);

/* ---- single objects ---- */

/* GET /api/v1/users/{id}. 404 -> OKS_E_NOTFOUND. On success *out must be freed with
 * oks_okta_user_free. Returns 0 or -1. */
int oks_okta_get_user(oks_okta_client *c, const char *user_id, oks_okta_user *out, oks_err *err);

/* GET /api/v1/apps/{app}/users/{user}?expand=user. 404 -> OKS_E_NOTFOUND (= not assigned). */
int oks_okta_get_app_user(oks_okta_client *c, const char *app_id, const char *user_id,
                          oks_okta_app_user *out, oks_err *err);

/* GET /api/v1/apps/{app} (app_get bucket): 0 when the app exists. A wrong app id ->
 * OKS_E_NOTFOUND. Tells "user not assigned" from "app id wrong", which answer alike (404). */
int oks_okta_get_app(oks_okta_client *c, const char *app_id, oks_err *err);

/* GET /api/v1/groups/{id} (groups bucket): the group's type (OKTA_GROUP, APP_GROUP, BUILT_IN)
 * into type (cap bytes). 404 -> OKS_E_NOTFOUND; an answer without a type -> OKS_E_INVALID. */
int oks_okta_get_group_type(oks_okta_client *c, const char *group_id, char *type, size_t cap,
                            oks_err *err);

/* Proves token, permission and app id ("Connect to Okta"): GET /api/v1/apps/{app}/users?limit=1.
 * OKS_E_AUTH bad token, OKS_E_FORBIDDEN missing scope, OKS_E_NOTFOUND unknown app. */
int oks_okta_check_credentials(oks_okta_client *c, const char *app_id, oks_err *err);

/* ---- lists: one page in memory at a time ---- */

/* GET /api/v1/users; search and filter are raw Okta expressions (either may be NULL; they are
 * URL-encoded here), limit 1..200 (0 = 200). */
oks_okta_pager *oks_okta_list_users(oks_okta_client *c, const char *search, const char *filter,
                                    int limit, oks_err *err);
/* GET /api/v1/apps/{app}/users?expand=user, limit 1..500 (0 = 500). Items: AppUser objects. */
oks_okta_pager *oks_okta_list_app_users(oks_okta_client *c, const char *app_id, int limit,
                                        oks_err *err);
/* GET /api/v1/groups/{id}/users, limit 1..1000 (0 = 1000). Items: User objects. */
oks_okta_pager *oks_okta_list_group_users(oks_okta_client *c, const char *group_id, int limit,
                                          oks_err *err);
/* GET /api/v1/users/{id}/groups. Items: Group objects. */
oks_okta_pager *oks_okta_list_user_groups(oks_okta_client *c, const char *user_id, oks_err *err);
/* GET /api/v1/logs?since=...&filter=eventType eq "..." or ...&sortOrder=ASCENDING.
 * event_types may be NULL/empty (all types). The System Log always sends a next link, so this
 * pager ends at the first empty page. limit 1..1000 (0 = 1000). */
oks_okta_pager *oks_okta_list_log_events(oks_okta_client *c, int64_t since_ms,
                                         const char *const *event_types, size_t n_types, int limit,
                                         oks_err *err);

/* Bounded System Log read: GET /api/v1/logs?since=...&until=...&filter=...; Okta links
 * rel="next" only while more matching events lie before `until`, so a window with nothing in
 * it costs one request (the gap fill's "cheap when nothing was missed"). */
oks_okta_pager *oks_okta_list_log_events_range(oks_okta_client *c, int64_t since_ms,
                                               int64_t until_ms, const char *const *event_types,
                                               size_t n_types, int limit, oks_err *err);

/* Continue a System Log poll from a URL saved from oks_okta_pager_next_url() (same origin as
 * base_url, else OKS_E_INVALID). */
oks_okta_pager *oks_okta_resume_log_events(oks_okta_client *c, const char *next_url, oks_err *err);

/* Continue an app users listing (oks_okta_list_app_users) from a URL saved from
 * oks_okta_pager_next_url(): the full sync's checkpoint (same origin, apps bucket, else
 * OKS_E_INVALID). */
oks_okta_pager *oks_okta_resume_app_users(oks_okta_client *c, const char *next_url, oks_err *err);

/* Fetch the next page: 1 = *items_out holds a new reference to a JSON array (caller decrefs),
 * 0 = end of the list (*items_out = NULL), -1 = error (err set; calling again retries the page).
 * Follows Link rel="next" from the response; never builds cursors. */
int oks_okta_pager_next(oks_okta_pager *p, json_t **items_out, oks_err *err);
/* URL of the page the next call will fetch (NULL at the end). Lets a System Log poller persist
 * where it stopped. Borrowed; valid until the next pager call. */
const char *oks_okta_pager_next_url(const oks_okta_pager *p);
void oks_okta_pager_free(oks_okta_pager *p);

/* ---- parsers (pure; also fuzzed) ---- */

/* Parse an Okta User object. Missing/null/wrong-typed optional fields become NULL; a missing or
 * non-string `id` or a non-object `profile` is OKS_E_INVALID. On error *out is left zeroed. */
int oks_okta_user_parse(const json_t *j, oks_okta_user *out, oks_err *err);
/* Give a user parsed inside a jansson arena scope (core/oks_json_arena.h) a malloc'd copy of
 * its profile, so it outlives the scope; nothing changes for one parsed outside a scope
 * except the copy. -1 when out of memory (the user is unchanged). */
int oks_okta_user_own(oks_okta_user *u);
void oks_okta_user_free(oks_okta_user *u);

/* Parse an AppUser (with _embedded.user when present). Same rules as the user parser. */
int oks_okta_app_user_parse(const json_t *j, oks_okta_app_user *out, oks_err *err);
void oks_okta_app_user_free(oks_okta_app_user *a);

#endif
