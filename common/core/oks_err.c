#include "oks_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int oks_err_set(oks_err *err, oks_errcode code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int oks_err_wrap(oks_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[OKS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Build "prefix: old" by hand; truncation of a long message is intended. */
    char joined[OKS_ERR_MSG_MAX];
    size_t plen = strnlen(prefix, sizeof joined - 3);
    memcpy(joined, prefix, plen);
    memcpy(joined + plen, ": ", 2);
    size_t room = sizeof joined - plen - 3;
    size_t olen = strnlen(err->msg, room);
    memcpy(joined + plen + 2, err->msg, olen);
    joined[plen + 2 + olen] = '\0';
    memcpy(err->msg, joined, sizeof joined);
    return -1;
}

void oks_err_clear(oks_err *err)
{
    if (!err)
        return;
    err->code = OKS_OK;
    err->msg[0] = '\0';
}

bool oks_errcode_is_retriable(oks_errcode code)
{
    return code >= OKS_E_UNAVAILABLE && code < OKS_E__LAST;
}

const char *oks_errcode_name(oks_errcode code)
{
    static const char *const names[OKS_E__LAST] = {
        [OKS_OK] = "ok",
        [OKS_E_INVALID] = "invalid",
        [OKS_E_NOTFOUND] = "not_found",
        [OKS_E_AUTH] = "auth",
        [OKS_E_FORBIDDEN] = "forbidden",
        [OKS_E_CONFLICT] = "conflict",
        [OKS_E_PERMANENT] = "permanent",
        [OKS_E_UNAVAILABLE] = "unavailable",
        [OKS_E_TIMEOUT] = "timeout",
        [OKS_E_RATELIMIT] = "rate_limited",
        [OKS_E_TRANSIENT] = "transient",
        [OKS_E_NOMEM] = "no_memory",
    };
    if ((int)code < 0 || code >= OKS_E__LAST)
        return "unknown";
    return names[code];
}
