/*
 * Tenant cache: subdomain → (tenant id, webhook secret hashes), loaded from PostgreSQL table
 * `tenants` by a background thread. Refreshed on NOTIFY oktasync_tenants (LISTEN) and by a
 * fallback poll; lookups copy one entry out under a read lock, reloads build a new snapshot
 * and swap it under the write lock. When PostgreSQL goes away after the first load, the last
 * snapshot keeps serving and the thread reconnects in the background.
 */
#ifndef OKS_INGEST_TENANTS_H
#define OKS_INGEST_TENANTS_H

#include "core/oks_err.h"
#include "oks_ingest_request.h"
#include "crypto/oks_crypto.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct oks_ingest_tenant {
    char id[40]; /* uuid text */
    char subdomain[OKS_INGEST_SUBDOMAIN_MAX + 1];
    uint8_t hash[OKS_CRYPTO_HASH_LEN];
    bool has_prev;
    uint8_t prev_hash[OKS_CRYPTO_HASH_LEN];
    int64_t prev_expires_ms; /* epoch ms; the previous secret is refused at or after it */
} oks_ingest_tenant;

typedef struct oks_ingest_tenants oks_ingest_tenants;

/* Start the loader thread (returns at once; see oks_ingest_tenants_loaded). */
oks_ingest_tenants *oks_ingest_tenants_start(const char *database_url, int64_t poll_ms,
                                             oks_err *err);
void oks_ingest_tenants_stop(oks_ingest_tenants *tc);

/* True once one load has succeeded. */
bool oks_ingest_tenants_loaded(oks_ingest_tenants *tc);
/* Block up to timeout_ms for the first load; true when loaded. */
bool oks_ingest_tenants_wait_loaded(oks_ingest_tenants *tc, int64_t timeout_ms);

/* Copy the tenant with this (lower-case) subdomain into out; false when unknown. */
bool oks_ingest_tenants_lookup(oks_ingest_tenants *tc, const char *subdomain,
                               oks_ingest_tenant *out);

/* Does the presented Authorization value match the current secret, or the previous one
 * before it expires? Constant time per comparison. */
bool oks_ingest_tenant_authorized(const oks_ingest_tenant *t, const char *authorization,
                                  int64_t now_wall_ms);

#endif
