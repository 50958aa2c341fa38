/*
 * The Kafka message for one Okta event (topic `events`), shared by ingest (builds it) and the
 * worker (parses it back). Pure: JSON in, struct out; no I/O.
 *
 * key     = tenant id (uuid text)
 * headers = tenant: <uuid>, type: <eventType>, and the routing headers below
 * value   = envelope v1:
 *   {"v":1,"tenant":"<uuid>","event_uuid":"...","event_type":"user.lifecycle.deactivate",
 *    "published":"<iso>","okta_user_id":"00u…","group_id":null|"00g…","app_id":null|"0oa…",
 *    "received_at":"<iso>","event":{raw LogEvent}}
 *
 * The Okta user id is the id of the target whose type is "User" (never picked by position);
 * group_id comes from the "UserGroup" target, app_id from the "AppInstance" target.
 */
#ifndef OKS_EVENT_H
#define OKS_EVENT_H

#include "core/oks_err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OKS_EVENT_ENVELOPE_VERSION 1

/*
 * Routing headers: ingest repeats an envelope's routing fields as Kafka headers of the
 * envelope's own names, so a consumer can route the event without parsing the value (the
 * worker's intake spent ~24 us an envelope in jansson, most of its thread's CPU under a
 * backlog). The value stays the whole envelope and the truth: a consumer reads the value when a
 * header is missing or fails a check the value's field would. OKS_EVENT_HDR_UUID, _USER and
 * _RECEIVED_AT are set together, and only when every routing field fits OKS_EVENT_ID_MAX (a
 * longer one is the value's to reject, with its reason); _PUBLISHED only when the event has one.
 * Messages without them: produced before 2026-12, or replayed by `oktasyncctl dlq replay`.
 */
#define OKS_EVENT_HDR_TENANT "tenant"
#define OKS_EVENT_HDR_TYPE "type"
#define OKS_EVENT_HDR_UUID "event_uuid"
#define OKS_EVENT_HDR_USER "okta_user_id"
#define OKS_EVENT_HDR_PUBLISHED "published"
#define OKS_EVENT_HDR_RECEIVED_AT "received_at"

enum { OKS_EVENT_ID_MAX = 129 /* an id, type or time: 128 bytes + NUL */ };

/* The routing header values of one envelope, copied (they outlive the parsed delivery). */
typedef struct oks_event_route {
    bool ok; /* false: some field (the event type included) does not fit; only tenant and type
                are sent */
    char uuid[OKS_EVENT_ID_MAX];
    char okta_user_id[OKS_EVENT_ID_MAX];
    char published[OKS_EVENT_ID_MAX]; /* "" when the event has none */
    char received_at[OKS_EVENT_ID_MAX];
} oks_event_route;

/* Fields picked out of one LogEvent. Pointers borrow from the json_t they came from. */
typedef struct oks_event_fields {
    const char *uuid;
    const char *event_type;
    const char *published; /* NULL when absent */
    const char *okta_user_id;
    const char *group_id; /* NULL when no UserGroup target */
    const char *app_id;   /* NULL when no AppInstance target */
} oks_event_fields;

/* A parsed envelope. Strings are owned (free with oks_event_envelope_free). */
typedef struct oks_event_envelope {
    int v;
    char *tenant;
    char *event_uuid;
    char *event_type;
    char *published; /* may be NULL */
    char *okta_user_id;
    char *group_id; /* may be NULL */
    char *app_id;   /* may be NULL */
    char *received_at;
    json_t *event; /* the raw LogEvent (owned reference) */
} oks_event_envelope;

/* True for the event types the product subscribes to (the others are counted and skipped). */
bool oks_event_type_subscribed(const char *event_type);

/* The subscribed set, NULL-terminated (for docs and tests). */
extern const char *const oks_event_subscribed_types[];

/*
 * Pick the fields out of a LogEvent. Fails with OKS_E_INVALID (and a short reason in err) when
 * the event is not an object, has no string uuid/eventType, or no target of type "User" with a
 * string id.
 */
int oks_event_fields_extract(const json_t *event, oks_event_fields *out, oks_err *err);

/*
 * Build the envelope JSON (compact, NUL-terminated, into *out, length in *out_len) for event,
 * already validated by oks_event_fields_extract into f. *out comes from jansson's allocator
 * (json_get_alloc_funcs): plain malloc, so free(), unless the program installed its own
 * functions; then release it with the matching free function.
 */
int oks_event_envelope_build(const json_t *event, const oks_event_fields *f, const char *tenant_id,
                             int64_t received_at_ms, char **out, size_t *out_len, oks_err *err);

/* The routing headers of the envelope oks_event_envelope_build makes from the same arguments. */
void oks_event_route_fill(const oks_event_fields *f, int64_t received_at_ms, oks_event_route *out);

/* Parse an envelope back. Rejects an unknown version or missing required fields. */
int oks_event_envelope_parse(const char *buf, size_t len, oks_event_envelope *out, oks_err *err);
void oks_event_envelope_free(oks_event_envelope *env);

#endif
