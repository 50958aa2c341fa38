#include "oks_ingest_request.h"

#include "core/oks_err.h"
#include "core/oks_json_escape.h"
#include "core/oks_subdomain.h"
#include "event/oks_event.h"
#include "kafka/oks_kafka_dead_letter.h"
#include "core/oks_json_arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WEBHOOK_PATH "/webhooks/okta"

int oks_ingest_reject_set(oks_ingest_reject *r, unsigned status, const char *msg)
{
    char esc[128];

    r->status = status;
    if (oks_json_escape(esc, sizeof(esc), msg) == 0 && msg[0])
        snprintf(esc, sizeof(esc), "invalid request");
    snprintf(r->body, sizeof(r->body), "{\"error\":\"%s\"}", esc);
    return -1;
}

/* Host "<label>.<base_domain>[:port]" → label; false when it does not match. */
static bool subdomain_from_host(const char *host, const char *base, char *out)
{
    if (!host || !base || !base[0])
        return false;
    const char *colon = strrchr(host, ':');
    size_t hlen = colon ? (size_t)(colon - host) : strlen(host);
    size_t blen = strlen(base);
    if (hlen < blen + 2 || host[hlen - blen - 1] != '.')
        return false;
    if (strncasecmp(host + hlen - blen, base, blen) != 0)
        return false;
    return oks_subdomain_normalise(host, hlen - blen - 1, out, OKS_SUBDOMAIN_MAX + 1);
}

int oks_ingest_route_parse(const char *method, const char *url, const char *host,
                           const char *base_domain, oks_ingest_route *out, oks_ingest_reject *rej)
{
    memset(out, 0, sizeof(*out));
    if (!url)
        return oks_ingest_reject_set(rej, 404, "not found");
    size_t plen = strcspn(url, "?#");
    size_t wlen = strlen(WEBHOOK_PATH);
    if (plen < wlen || strncmp(url, WEBHOOK_PATH, wlen) != 0)
        return oks_ingest_reject_set(rej, 404, "not found");
    const char *rest = url + wlen;
    size_t rlen = plen - wlen;
    if (rlen > 0 && rest[rlen - 1] == '/')
        rlen--; /* tolerate a trailing slash */
    if (rlen == 0) {
        if (!subdomain_from_host(host, base_domain, out->subdomain))
            return oks_ingest_reject_set(rej, 404, "unknown tenant");
    } else {
        if (rest[0] != '/' ||
            !oks_subdomain_normalise(rest + 1, rlen - 1, out->subdomain, sizeof out->subdomain))
            return oks_ingest_reject_set(rej, 404, "unknown tenant");
    }
    if (method && strcmp(method, "GET") == 0)
        out->kind = OKS_INGEST_VERIFY;
    else if (method && strcmp(method, "POST") == 0)
        out->kind = OKS_INGEST_DELIVERY;
    else
        return oks_ingest_reject_set(rej, 405, "method not allowed");
    return 0;
}

int oks_ingest_check_content_type(const char *ct, oks_ingest_reject *rej)
{
    static const char want[] = "application/json";

    if (!ct)
        return oks_ingest_reject_set(rej, 415, "content type must be application/json");
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return oks_ingest_reject_set(rej, 415, "content type must be application/json");
    char c = ct[n];
    if (c != '\0' && c != ';' && c != ' ' && c != '\t')
        return oks_ingest_reject_set(rej, 415, "content type must be application/json");
    return 0;
}

/* Index of the quote that closes the string whose content starts at i (len when none): the
 * next '"' preceded by an even run of backslashes. memchr does the scanning, since strings are
 * most of a delivery's bytes. */
static size_t string_end(const char *body, size_t len, size_t i)
{
    for (;;) {
        const char *q = memchr(body + i, '"', len - i);
        if (!q)
            return len;
        size_t j = (size_t)(q - body), k = j;
        while (k > i && body[k - 1] == '\\')
            k--;
        if (((j - k) & 1) == 0)
            return j;
        i = j + 1; /* an escaped quote: keep looking */
    }
}

int oks_ingest_json_depth(const char *body, size_t len, int limit)
{
    int depth = 0, max = 0;

    /* Only brackets outside strings count. This is a bound check before jansson parses the
     * text, not a parser: jansson still rejects whatever is malformed. */
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (c == '"') {
            i = string_end(body, len, i + 1);
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
            if (max > limit)
                return max;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

const char *oks_ingest_skip_reason_name(oks_ingest_skip_reason r)
{
    static const char *const names[OKS_INGEST_SKIP__COUNT] = {
        [OKS_INGEST_SKIP_NONE] = "none",
        [OKS_INGEST_SKIP_UNSUBSCRIBED] = "unsubscribed",
        [OKS_INGEST_SKIP_MALFORMED] = "malformed",
        [OKS_INGEST_SKIP_NO_UUID] = "no_uuid",
        [OKS_INGEST_SKIP_NO_USER_TARGET] = "no_user_target",
    };
    if ((int)r < 0 || r >= OKS_INGEST_SKIP__COUNT)
        return "none";
    return names[r];
}

/* The dead-letter `reason` (header and value) of a subscribed event that cannot be produced. */
static const char *dead_letter_reason(oks_ingest_skip_reason r)
{
    switch (r) {
    case OKS_INGEST_SKIP_NO_UUID:
        return "subscribed event without uuid";
    case OKS_INGEST_SKIP_NO_USER_TARGET:
        return "subscribed event without a User target";
    default:
        return "subscribed event that cannot be enveloped";
    }
}

void oks_ingest_batch_free(oks_ingest_batch *b)
{
    if (!b)
        return;
    /* Values and the arrays come from jansson's allocator (the request's arena in the daemon). */
    for (size_t i = 0; i < b->n_msgs; i++)
        oks_json_free(b->msgs[i].value);
    oks_json_free(b->msgs);
    oks_json_free(b->verdicts);
    memset(b, 0, sizeof(*b));
}

static oks_ingest_verdict verdict(oks_ingest_action a, oks_ingest_skip_reason r)
{
    return (oks_ingest_verdict){.action = a, .reason = r};
}

/* The verdict on one event; *f holds its fields when the verdict is PRODUCE. The order matters:
 * an unsubscribed event is skipped whatever else is wrong with it, and only a subscribed one is
 * worth an operator's look on the dead-letter topic. */
static oks_ingest_verdict classify(const json_t *ev, oks_event_fields *f)
{
    oks_err err = {0};

    const char *type = json_string_value(json_object_get(ev, "eventType"));
    if (!json_is_object(ev) || !type || !type[0])
        return verdict(OKS_INGEST_SKIP, OKS_INGEST_SKIP_MALFORMED);
    if (!oks_event_type_subscribed(type))
        return verdict(OKS_INGEST_SKIP, OKS_INGEST_SKIP_UNSUBSCRIBED);
    if (oks_event_fields_extract(ev, f, &err) == 0)
        return verdict(OKS_INGEST_PRODUCE, OKS_INGEST_SKIP_NONE);
    const char *uuid = json_string_value(json_object_get(ev, "uuid"));
    if (!uuid || !uuid[0])
        return verdict(OKS_INGEST_DEAD_LETTER, OKS_INGEST_SKIP_NO_UUID);
    return verdict(OKS_INGEST_DEAD_LETTER, OKS_INGEST_SKIP_NO_USER_TARGET);
}

/* The dead-letter value for a subscribed event that cannot be produced: the raw event as text
 * (cut past OKS_INGEST_DEAD_LETTER_VALUE_MAX). No source topic: it never reached one. */
static int dead_letter_build(const json_t *ev, const char *event_type, oks_ingest_skip_reason r,
                             int64_t received_at_ms, oks_ingest_msg *m)
{
    char *raw = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!raw)
        return -1;
    m->dl_reason = dead_letter_reason(r);
    oks_dead_letter dl = {.reason = m->dl_reason,
                          .error_class = oks_errcode_name(OKS_E_INVALID),
                          .source_topic = "",
                          .source_partition = -1,
                          .source_offset = -1,
                          .failed_at_ms = received_at_ms,
                          .value = raw,
                          .value_len = strlen(raw),
                          .value_max = OKS_INGEST_DEAD_LETTER_VALUE_MAX};
    m->value = oks_kafka_dead_letter_value(&dl, &m->len);
    oks_json_free(raw);
    if (!m->value)
        return -1;
    m->dead_letter = true;
    snprintf(m->event_type, sizeof(m->event_type), "%s", event_type);
    return 0;
}

/* One verdict per event; envelopes for the good ones, dead letters for the subscribed bad ones.
 * Only running out of memory fails the batch (503: not the sender's fault). */
static int build_batch(const json_t *events, const char *tenant_id, int64_t received_at_ms,
                       oks_ingest_batch *out, oks_ingest_reject *rej)
{
    size_t i;
    json_t *ev;
    oks_err err = {0};

    size_t n = json_array_size(events);
    size_t cap = n ? n : 1;
    out->msgs = oks_json_malloc(cap * sizeof(*out->msgs));
    out->verdicts = oks_json_malloc(cap * sizeof(*out->verdicts));
    if (!out->msgs || !out->verdicts)
        return oks_ingest_reject_set(rej, 503, "out of memory");
    memset(out->msgs, 0, cap * sizeof(*out->msgs));
    json_array_foreach(events, i, ev)
    {
        oks_event_fields f;
        oks_ingest_verdict v = classify(ev, &f);
        oks_ingest_msg *m = &out->msgs[out->n_msgs];
        if (v.action == OKS_INGEST_PRODUCE) {
            if (oks_event_envelope_build(ev, &f, tenant_id, received_at_ms, &m->value, &m->len,
                                         &err) == 0) {
                snprintf(m->event_type, sizeof(m->event_type), "%s", f.event_type);
                oks_event_route_fill(&f, received_at_ms, &m->route);
            } else if (err.code == OKS_E_NOMEM)
                return oks_ingest_reject_set(rej, 503, "out of memory");
            else /* cannot happen for text jansson parsed, but never lose it silently */
                v = verdict(OKS_INGEST_DEAD_LETTER, OKS_INGEST_SKIP_MALFORMED);
        }
        if (v.action == OKS_INGEST_DEAD_LETTER) {
            const char *type = json_string_value(json_object_get(ev, "eventType"));
            if (dead_letter_build(ev, type, v.reason, received_at_ms, m) != 0)
                return oks_ingest_reject_set(rej, 503, "out of memory");
            out->n_dead_letters++;
        }
        if (v.action != OKS_INGEST_SKIP)
            out->n_msgs++;
        if (v.action != OKS_INGEST_PRODUCE) {
            out->n_skipped++;
            out->skipped[v.reason]++;
        }
        out->verdicts[out->n_events++] = v;
    }
    return 0;
}

int oks_ingest_body_parse(const char *body, size_t len, const oks_ingest_limits *lim,
                          const char *tenant_id, int64_t received_at_ms, oks_ingest_batch *out,
                          oks_ingest_reject *rej)
{
    json_error_t jerr;
    int rc = -1;
    json_t *root = NULL;

    memset(out, 0, sizeof(*out));
    if (len > lim->max_body)
        return oks_ingest_reject_set(rej, 413, "body too large");
    if (len == 0)
        return oks_ingest_reject_set(rej, 400, "empty body");
    if (oks_ingest_json_depth(body, len, lim->max_depth) > lim->max_depth)
        return oks_ingest_reject_set(rej, 400, "JSON nested too deeply");
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        oks_ingest_reject_set(rej, 400, "malformed JSON");
        goto out;
    }
    json_t *events = json_object_get(json_object_get(root, "data"), "events");
    if (!json_is_array(events)) {
        oks_ingest_reject_set(rej, 400, "missing data.events array");
        goto out;
    }
    if (json_array_size(events) > lim->max_events) {
        oks_ingest_reject_set(rej, 400, "too many events");
        goto out;
    }
    if (build_batch(events, tenant_id, received_at_ms, out, rej) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        oks_ingest_batch_free(out);
    oks_json_arena_release(root);
    return rc;
}

char *oks_ingest_verification_body(const char *challenge, oks_ingest_reject *rej)
{
    if (!challenge || !challenge[0] || strlen(challenge) > 1024) {
        oks_ingest_reject_set(rej, 400, "missing x-okta-verification-challenge");
        return NULL;
    }
    json_t *o = json_pack("{s:s}", "verification", challenge);
    if (!o) {
        oks_ingest_reject_set(rej, 400, "invalid verification challenge");
        return NULL;
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        oks_ingest_reject_set(rej, 503, "out of memory");
    return s;
}
