#include "oks_worker_fail.h"

#include <stddef.h>
#include <string.h>

static oks_worker_fail classify_okta(const oks_err *err, long status, const char *code)
{
    bool e7 = code && strcmp(code, "E0000007") == 0;
    if (status < 0) /* nothing was sent: the org's shared budget ran dry (its quota: the
                       tenant waits), or Redis, a bad URL, shutting down (our side) */
        return err->code == OKS_E_RATELIMIT ? OKS_WORKER_FAIL_UNAVAILABLE
                                            : OKS_WORKER_FAIL_INTERNAL;
    if (status == 0) /* no HTTP answer */
        return err->code == OKS_E_TIMEOUT   ? OKS_WORKER_FAIL_UNAVAILABLE
               : err->code == OKS_E_NOMEM   ? OKS_WORKER_FAIL_INTERNAL
               : err->code == OKS_E_INVALID ? OKS_WORKER_FAIL_MISCONFIGURED /* oversize body */
                                            : OKS_WORKER_FAIL_UNREACHABLE;
    if (status == 401 || status == 403)
        return OKS_WORKER_FAIL_CREDENTIALS;
    if (status == 404)
        return e7 ? OKS_WORKER_FAIL_NOT_FOUND : OKS_WORKER_FAIL_MISCONFIGURED;
    if (status == 429 || status >= 500 || status == 408)
        return OKS_WORKER_FAIL_UNAVAILABLE;
    if (status >= 200 && status <= 299) /* a 2xx that is not the JSON Okta sends */
        return OKS_WORKER_FAIL_MISCONFIGURED;
    /* Other 4xx and 1xx/3xx: not an answer Okta gives to our requests. */
    return OKS_WORKER_FAIL_MISCONFIGURED;
}

oks_worker_fail oks_worker_fail_classify(oks_worker_fail_src src, const oks_err *err,
                                         long http_status, const char *okta_code)
{
    if (!err || err->code == OKS_OK)
        return OKS_WORKER_FAIL_NONE;
    switch (src) {
    case OKS_WORKER_SRC_OKTA:
        return classify_okta(err, http_status, okta_code);
    case OKS_WORKER_SRC_TENANT:
        /* unknown tenant (deleted meanwhile), not connected, token that does not decrypt */
        if (err->code == OKS_E_NOTFOUND || err->code == OKS_E_PERMANENT ||
            err->code == OKS_E_INVALID)
            return OKS_WORKER_FAIL_NOT_CONNECTED;
        return OKS_WORKER_FAIL_INTERNAL;
    case OKS_WORKER_SRC_DB:
        /* constraint violations and bad data belong to a row; the rest is the database */
        if (err->code == OKS_E_CONFLICT || err->code == OKS_E_INVALID)
            return OKS_WORKER_FAIL_USER;
        return OKS_WORKER_FAIL_INTERNAL;
    case OKS_WORKER_SRC_DATA:
        return err->code == OKS_E_NOMEM ? OKS_WORKER_FAIL_INTERNAL : OKS_WORKER_FAIL_USER;
    }
    return OKS_WORKER_FAIL_INTERNAL;
}

const char *oks_worker_fail_fault(oks_worker_fail f)
{
    switch (f) {
    case OKS_WORKER_FAIL_CREDENTIALS:
        return "credentials_invalid";
    case OKS_WORKER_FAIL_NOT_CONNECTED:
        return "not_connected";
    case OKS_WORKER_FAIL_UNREACHABLE:
        return "okta_unreachable";
    case OKS_WORKER_FAIL_MISCONFIGURED:
        return "okta_misconfigured";
    case OKS_WORKER_FAIL_UNAVAILABLE:
        return "okta_unavailable";
    default:
        return NULL;
    }
}

bool oks_worker_fail_parked(oks_worker_fail f)
{
    return f == OKS_WORKER_FAIL_CREDENTIALS || f == OKS_WORKER_FAIL_NOT_CONNECTED;
}

const char *oks_worker_fail_name(oks_worker_fail f)
{
    static const char *const names[] = {"none",          "not_found",   "credentials",
                                        "not_connected", "unreachable", "misconfigured",
                                        "unavailable",   "user",        "internal"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}
