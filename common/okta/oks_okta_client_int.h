/* The client object, shared by the files of common/okta/ (private). */
#ifndef OKS_OKTA_CLIENT_INT_H
#define OKS_OKTA_CLIENT_INT_H

#include "okta/oks_okta.h"
#include "okta/oks_okta_http.h"
#include "okta/oks_okta_int.h"

typedef struct oks_okta_bucket_state {
    int64_t limit, remaining, reset_s;
    int64_t clock_offset_ms; /* Okta Date minus our wall clock when the headers were seen */
} oks_okta_bucket_state;

struct oks_okta_client {
    oks_okta_client_opts o; /* numeric defaults applied; strings point at the copies below */
    char *base_url;         /* without trailing '/' */
    char *org_key;
    char scheme[8];
    char host[256];
    char port[8];
    oks_okta_http http;
    oks_okta_resp resp; /* reused buffer: one response in memory at a time */
    oks_okta_budget *budget;
    oks_okta_bucket_state bstate[OKS_OKTA_BUCKETS];
    oks_okta_stats stats;
    oks_okta_last last; /* reset by every oks_okta__get */
    uint32_t rnd;
};

/* GET url (absolute, same origin as base_url) with pacing, budget, retries and classification.
 * On success *out is a new reference to the parsed body and next_url holds the Link
 * rel="next" URL ("" when none). */
int oks_okta__get(oks_okta_client *c, const char *url, json_t **out, char *next_url, size_t cap,
                  oks_err *err);
/* Checks that url has the client's scheme, host and port, so the token never leaves the org. */
bool oks_okta__same_origin(const oks_okta_client *c, const char *url);
/* base_url + parts into buf, where odd-indexed parts (1, 3, ...) are ids that get URL-encoded
 * (and must be non-empty); even-indexed parts are copied as they are. */
int oks_okta__build_url(oks_okta_client *c, char *buf, size_t cap, const char *const *parts,
                        size_t n, oks_err *err);
/* Appends the URL-encoded s to buf (NUL-terminated, bounded). false when it does not fit. */
bool oks_okta__append_escaped(char *buf, size_t cap, const char *s);

#endif
