#include "oks_worker_envelope.h"

#include "core/oks_time.h"
#include "event/oks_event.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

bool oks_worker_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

static int copy_bounded(const char *field, const char *src, bool required, char *out, size_t cap,
                        oks_err *err)
{
    out[0] = '\0';
    if (!src || !src[0]) {
        if (!required)
            return 0;
        return oks_err_set(err, OKS_E_INVALID, "envelope field \"%s\" missing or empty", field);
    }
    size_t n = strlen(src);
    if (n >= cap)
        return oks_err_set(err, OKS_E_INVALID, "envelope field \"%s\" longer than %zu", field,
                           cap - 1);
    memcpy(out, src, n + 1);
    return 0;
}

/* What the worker relies on, whichever way the fields came: a uuid tenant, bounded ids, and a
 * usable time for the ordering rule. */
static int fill(oks_worker_envelope *out, const char *tenant, const char *event_uuid,
                const char *event_type, const char *okta_user_id, const char *published,
                const char *received_at, oks_err *err)
{
    if (copy_bounded("tenant", tenant, true, out->tenant, sizeof out->tenant, err) != 0 ||
        copy_bounded("event_uuid", event_uuid, true, out->event_uuid, sizeof out->event_uuid,
                     err) != 0 ||
        copy_bounded("event_type", event_type, true, out->event_type, sizeof out->event_type,
                     err) != 0 ||
        copy_bounded("okta_user_id", okta_user_id, false, out->okta_user_id,
                     sizeof out->okta_user_id, err) != 0)
        return -1;
    if (!oks_worker_is_uuid(out->tenant))
        return oks_err_set(err, OKS_E_INVALID, "envelope tenant is not a uuid");
    /* published orders the change; an envelope without it falls back to when ingest saw it */
    const char *when = published ? published : received_at;
    if (!when || !oks_time_parse_iso8601(when, &out->published_ms))
        return oks_err_set(err, OKS_E_INVALID,
                           "envelope published/received_at is not an ISO-8601 time");
    return 0;
}

/* Structural parsing is common/event's (shared with ingest). */
int oks_worker_envelope_parse(const void *data, size_t len, oks_worker_envelope *out, oks_err *err)
{
    oks_event_envelope env;
    memset(out, 0, sizeof *out);
    memset(&env, 0, sizeof env);
    if (!data || len == 0)
        return oks_err_set(err, OKS_E_INVALID, "empty message value");
    if (len > OKS_WORKER_ENVELOPE_MAX)
        return oks_err_set(err, OKS_E_INVALID, "envelope of %zu bytes exceeds the limit", len);
    if (oks_event_envelope_parse(data, len, &env, err) != 0)
        return -1;
    int rc = fill(out, env.tenant, env.event_uuid, env.event_type, env.okta_user_id, env.published,
                  env.received_at, err);
    oks_event_envelope_free(&env);
    return rc;
}

typedef char header_text[OKS_EVENT_ID_MAX];

/* One header as a string: NULL when absent; -1 when it is not a string that fits. */
static int header(const rd_kafka_headers_t *h, const char *name, header_text out, const char **val,
                  oks_err *err)
{
    const void *v = NULL;
    size_t n = 0;
    *val = NULL;
    if (rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    if (!v || n >= sizeof(header_text) || memchr(v, '\0', n))
        return oks_err_set(err, OKS_E_INVALID, "header %s is not a string that fits", name);
    memcpy(out, v, n);
    out[n] = '\0';
    *val = out;
    return 0;
}

int oks_worker_envelope_from_headers(const rd_kafka_headers_t *h, oks_worker_envelope *out,
                                     oks_err *err)
{
    header_text tx, ux, yx, ox, px, rx;
    const char *tenant, *uuid, *type, *user, *published, *received;
    memset(out, 0, sizeof *out);
    if (!h)
        return oks_err_set(err, OKS_E_INVALID, "no headers");
    if (header(h, OKS_EVENT_HDR_TENANT, tx, &tenant, err) != 0 ||
        header(h, OKS_EVENT_HDR_UUID, ux, &uuid, err) != 0 ||
        header(h, OKS_EVENT_HDR_TYPE, yx, &type, err) != 0 ||
        header(h, OKS_EVENT_HDR_USER, ox, &user, err) != 0 ||
        header(h, OKS_EVENT_HDR_PUBLISHED, px, &published, err) != 0 ||
        header(h, OKS_EVENT_HDR_RECEIVED_AT, rx, &received, err) != 0)
        return -1;
    /* the value names a user on every envelope ingest makes; one without is the value's to
     * judge */
    if (!user || !user[0] || !received)
        return oks_err_set(err, OKS_E_INVALID, "no routing headers");
    return fill(out, tenant, uuid, type, user, published, received, err);
}
