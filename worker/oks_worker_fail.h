/*
 * The reconciler's failure classes, decided in ONE place (docs/worker-reconcile.md). Every
 * failure of a round (loading the tenant, an Okta call, the apply transaction) goes through
 * oks_worker_fail_classify, and the round acts on the class only:
 *
 *   NOT_FOUND      Okta's E0000007 on a single-object GET: an answer ("deleted", "not assigned")
 *   CREDENTIALS    401 / 403: tenant parked as credentials_invalid
 *   NOT_CONNECTED  tenant without domain or token, token that does not decrypt: parked
 *   UNREACHABLE    connect / DNS / TLS failure: tenant backoff
 *   MISCONFIGURED  an answer that is not Okta's (HTML 404, non-JSON 200, wrong app id): backoff
 *   UNAVAILABLE    429 after the client's retries, 5xx, timeout: tenant backoff
 *   USER           this user only (unknown status, a row the database refuses): the mark's
 *                  attempts, then the dead-letter topic; the tenant's other users go on
 *   INTERNAL       our side (database or Redis down, out of memory, shutting down): the round
 *                  is retried later; not the tenant's fault, so nothing is recorded against it
 */
#ifndef OKS_WORKER_FAIL_H
#define OKS_WORKER_FAIL_H

#include "core/oks_err.h"

#include <stdbool.h>

typedef enum oks_worker_fail {
    OKS_WORKER_FAIL_NONE = 0,
    OKS_WORKER_FAIL_NOT_FOUND,
    OKS_WORKER_FAIL_CREDENTIALS,
    OKS_WORKER_FAIL_NOT_CONNECTED,
    OKS_WORKER_FAIL_UNREACHABLE,
    OKS_WORKER_FAIL_MISCONFIGURED,
    OKS_WORKER_FAIL_UNAVAILABLE,
    OKS_WORKER_FAIL_USER,
    OKS_WORKER_FAIL_INTERNAL,
} oks_worker_fail;

/* Where the failure came from. */
typedef enum oks_worker_fail_src {
    OKS_WORKER_SRC_OKTA,   /* an Okta call: http_status / okta_code describe the last response */
    OKS_WORKER_SRC_TENANT, /* loading the tenant row and its token */
    OKS_WORKER_SRC_DB,     /* a database statement */
    OKS_WORKER_SRC_DATA,   /* Okta's answer parsed but cannot be applied (unknown status) */
} oks_worker_fail_src;

/* http_status: as oks_okta_last.status (-1 no request sent, 0 transport failure); okta_code:
 * the errorCode of the error body, NULL or "" when none. Pure; unit-tested. */
oks_worker_fail oks_worker_fail_classify(oks_worker_fail_src src, const oks_err *err,
                                         long http_status, const char *okta_code);

/* The tenant_okta_state.fault value of a tenant-level class, NULL for the others. */
const char *oks_worker_fail_fault(oks_worker_fail f);
/* credentials_invalid and not_connected: retried only when the tenants row changes or after
 * parked-recheck, never on the backoff clock. */
bool oks_worker_fail_parked(oks_worker_fail f);
const char *oks_worker_fail_name(oks_worker_fail f);

#endif
