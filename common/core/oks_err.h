/*
 * One error style for the whole fleet: a small code that says what class of failure this is
 * (the worker's retry / dead-letter decisions hang on it) plus a human message in a fixed
 * buffer owned by the caller.
 *
 *     oks_err err = {0};
 *     if (oks_thing_do(..., &err) != 0)
 *         OKS_LOG_ERROR("thing failed: %s", err.msg);
 */
#ifndef OKS_ERR_H
#define OKS_ERR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum oks_errcode {
    OKS_OK = 0,
    /* Permanent: retrying the same input gives the same answer. */
    OKS_E_INVALID,   /* bad input, bad configuration value, malformed data */
    OKS_E_NOTFOUND,  /* the thing asked for does not exist */
    OKS_E_AUTH,      /* credentials refused */
    OKS_E_FORBIDDEN, /* credentials fine, permission missing */
    OKS_E_CONFLICT,  /* state does not allow the operation */
    OKS_E_PERMANENT, /* any other permanent failure */
    /* Retriable: the same call may succeed later. */
    OKS_E_UNAVAILABLE, /* a service is down or unreachable */
    OKS_E_TIMEOUT,     /* a deadline passed */
    OKS_E_RATELIMIT,   /* the peer asked us to slow down */
    OKS_E_TRANSIENT,   /* any other retriable failure (5xx, serialization failure) */
    OKS_E_NOMEM,       /* allocation failed */
    OKS_E__LAST
} oks_errcode;

#define OKS_ERR_MSG_MAX 256

typedef struct oks_err {
    oks_errcode code;
    char msg[OKS_ERR_MSG_MAX];
} oks_err;

/* Set code and message; always returns -1 so callers can `return oks_err_set(...)`.
 * err may be NULL. */
int oks_err_set(oks_err *err, oks_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("loading tenants: <old message>"); returns -1. */
int oks_err_wrap(oks_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void oks_err_clear(oks_err *err);

bool oks_errcode_is_retriable(oks_errcode code);
const char *oks_errcode_name(oks_errcode code);

#endif
