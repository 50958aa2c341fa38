/* Tenant lookup for the worker: Okta domain, app id and the decrypted API token. */
#ifndef OKS_WORKER_TENANT_H
#define OKS_WORKER_TENANT_H

#include "crypto/oks_crypto.h"
#include "oks_worker_pg.h"

#include <stdbool.h>

typedef struct oks_worker_tenant {
    char *okta_base_url; /* "https://<domain>" unless the domain says http:// itself */
    char *okta_app_id;   /* NULL when not configured */
    char *api_token;     /* plaintext, wiped on free */
    bool okta_fault;     /* its tenant_okta_state has a fault or failed attempts to reset */
} oks_worker_tenant;

/* Load tenant `id`. Unknown tenant → OKS_E_NOTFOUND; not connected (no domain or token) or a
 * token that does not decrypt → OKS_E_PERMANENT; database down → retriable codes. */
int oks_worker_tenant_load(oks_worker_pg *pg, const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *id,
                           oks_worker_tenant *out, oks_err *err);
void oks_worker_tenant_free(oks_worker_tenant *t);

#endif
