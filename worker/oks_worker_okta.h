/*
 * One Okta client per tenant, kept between messages (a client keeps its HTTP connection alive).
 * A client is rebuilt when the tenant's domain or token changed. Single-threaded: one cache per
 * thread (the consumer thread's for the per-event path, one per reconciler thread).
 */
#ifndef OKS_WORKER_OKTA_H
#define OKS_WORKER_OKTA_H

#include "oks_worker_tenant.h"
#include "okta/oks_okta.h"

enum { OKS_WORKER_OKTA_CACHE = 64 };

typedef struct oks_worker_okta_entry {
    char tenant[40];
    char *base_url;
    char *token;
    oks_okta_client *client;
    int64_t used_ms;
} oks_worker_okta_entry;

typedef struct oks_worker_okta_cache {
    oks_okta_client_opts base; /* timeouts, retries, redis budget; base_url/token per tenant */
    oks_worker_okta_entry e[OKS_WORKER_OKTA_CACHE];
} oks_worker_okta_cache;

oks_okta_client *oks_worker_okta_client(oks_worker_okta_cache *cache, const char *tenant_id,
                                        const oks_worker_tenant *t, oks_err *err);
void oks_worker_okta_cache_free(oks_worker_okta_cache *cache);

#endif
