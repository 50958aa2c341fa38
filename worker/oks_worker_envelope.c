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

/* Structural parsing is common/event's (shared with ingest); this adds what the worker relies
 * on: a uuid tenant, bounded ids, and a usable time for the ordering rule. */
int oks_worker_envelope_parse(const void *data, size_t len, oks_worker_envelope *out, oks_err *err)
{
    int rc = -1;
    oks_event_envelope env;
    memset(out, 0, sizeof *out);
    memset(&env, 0, sizeof env);
    if (!data || len == 0)
        return oks_err_set(err, OKS_E_INVALID, "empty message value");
    if (len > OKS_WORKER_ENVELOPE_MAX)
        return oks_err_set(err, OKS_E_INVALID, "envelope of %zu bytes exceeds the limit", len);
    if (oks_event_envelope_parse(data, len, &env, err) != 0)
        return -1;
    if (copy_bounded("tenant", env.tenant, true, out->tenant, sizeof out->tenant, err) != 0 ||
        copy_bounded("event_uuid", env.event_uuid, true, out->event_uuid, sizeof out->event_uuid,
                     err) != 0 ||
        copy_bounded("event_type", env.event_type, true, out->event_type, sizeof out->event_type,
                     err) != 0 ||
        copy_bounded("okta_user_id", env.okta_user_id, false, out->okta_user_id,
                     sizeof out->okta_user_id, err) != 0)
        goto out;
    if (!oks_worker_is_uuid(out->tenant)) {
        oks_err_set(err, OKS_E_INVALID, "envelope tenant is not a uuid");
        goto out;
    }
    /* published orders the change; an envelope without it falls back to when ingest saw it */
    const char *when = env.published ? env.published : env.received_at;
    if (!when || !oks_time_parse_iso8601(when, &out->published_ms)) {
        oks_err_set(err, OKS_E_INVALID, "envelope published/received_at is not an ISO-8601 time");
        goto out;
    }
    rc = 0;
out:
    oks_event_envelope_free(&env);
    return rc;
}
