/*
 * Request validation for the webhook endpoint. Pure: method/path/headers/body in, a routed
 * request or a parsed batch out, or a rejection (HTTP status + short JSON body). No I/O, no
 * tenant lookup, no Kafka; this is what the fuzz target drives.
 */
#ifndef OKS_INGEST_REQUEST_H
#define OKS_INGEST_REQUEST_H

#include "core/oks_subdomain.h"
#include "event/oks_event.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OKS_INGEST_SUBDOMAIN_MAX OKS_SUBDOMAIN_MAX /* core/oks_subdomain.h */

typedef struct oks_ingest_reject {
    unsigned status; /* 0 = not rejected */
    char body[160];  /* {"error":"..."} */
} oks_ingest_reject;

typedef enum oks_ingest_kind {
    OKS_INGEST_VERIFY = 1, /* GET: one-time verification challenge */
    OKS_INGEST_DELIVERY,   /* POST: event batch */
} oks_ingest_kind;

typedef struct oks_ingest_route {
    oks_ingest_kind kind;
    char subdomain[OKS_INGEST_SUBDOMAIN_MAX + 1];
} oks_ingest_route;

typedef struct oks_ingest_limits {
    size_t max_body;   /* bytes */
    int max_depth;     /* JSON nesting depth */
    size_t max_events; /* events per request */
} oks_ingest_limits;

/*
 * What happens to one event of a delivery. Only whole-body problems reject a delivery; an event
 * is never the reason the others are lost (Okta does not retry a 4xx).
 */
typedef enum oks_ingest_action {
    OKS_INGEST_PRODUCE = 0, /* envelope to the events topic */
    OKS_INGEST_DEAD_LETTER, /* subscribed type but unusable: raw event to the dead-letter topic */
    OKS_INGEST_SKIP,        /* counted only */
} oks_ingest_action;

/* Why an event was not produced to the events topic (the `reason` label of
 * oktasync_ingest_events_skipped_total). */
typedef enum oks_ingest_skip_reason {
    OKS_INGEST_SKIP_NONE = 0,
    OKS_INGEST_SKIP_UNSUBSCRIBED,   /* eventType outside the subscribed set (skip) */
    OKS_INGEST_SKIP_MALFORMED,      /* not an object or no string eventType (skip); a subscribed
                                       event whose envelope cannot be built (dead letter) */
    OKS_INGEST_SKIP_NO_UUID,        /* subscribed, no string uuid (dead letter) */
    OKS_INGEST_SKIP_NO_USER_TARGET, /* subscribed, no target of type User with an id (dead letter)
                                     */
    OKS_INGEST_SKIP__COUNT,
} oks_ingest_skip_reason;

/* "unsubscribed", "malformed", "no_uuid", "no_user_target" ("none" for NONE). */
const char *oks_ingest_skip_reason_name(oks_ingest_skip_reason r);

/* The verdict on event i of data.events[]. */
typedef struct oks_ingest_verdict {
    oks_ingest_action action;
    oks_ingest_skip_reason reason; /* NONE when produced */
} oks_ingest_verdict;

/* Longest original event kept in a dead-letter message (the rest is cut and marked, see
 * kafka/oks_kafka_dead_letter.h): the message must stay under Kafka's message size. */
#define OKS_INGEST_DEAD_LETTER_VALUE_MAX (256 * 1024)

/* One Kafka message to produce: an envelope (events topic) or a dead letter. */
typedef struct oks_ingest_msg {
    char *value; /* JSON (owned; jansson's allocator, see core/oks_json_arena.h) */
    size_t len;
    char event_type[OKS_EVENT_ID_MAX]; /* the `type` header (cut to fit for a dead letter) */
    oks_event_route route;             /* an envelope's routing headers (event/oks_event.h) */
    bool dead_letter;                  /* to the dead-letter topic */
    const char *dl_reason;             /* dead letter: the `reason` header text (static) */
} oks_ingest_msg;

typedef struct oks_ingest_batch {
    oks_ingest_msg *msgs; /* envelopes and dead letters, in the delivery's order */
    size_t n_msgs;
    size_t n_dead_letters;        /* of n_msgs */
    oks_ingest_verdict *verdicts; /* one per event of data.events[] */
    size_t n_events;
    size_t n_skipped;                       /* events not produced to the events topic */
    size_t skipped[OKS_INGEST_SKIP__COUNT]; /* by reason (dead-lettered ones included) */
} oks_ingest_batch;

/* Fill r with status and {"error":msg}; returns -1. */
int oks_ingest_reject_set(oks_ingest_reject *r, unsigned status, const char *msg);

/*
 * Route: path `/webhooks/okta` (tenant from Host `<subdomain>.<base_domain>`, port ignored) or
 * `/webhooks/okta/<subdomain>`. Query strings are ignored. Rejects: unknown path or no tenant
 * 404, method other than GET/POST 405.
 */
int oks_ingest_route_parse(const char *method, const char *url, const char *host,
                           const char *base_domain, oks_ingest_route *out, oks_ingest_reject *rej);

/* Content-Type must be application/json (parameters such as charset allowed), else 415. */
int oks_ingest_check_content_type(const char *content_type, oks_ingest_reject *rej);

/* Maximum nesting depth of a JSON text (strings skipped). Stops counting above limit. */
int oks_ingest_json_depth(const char *body, size_t len, int limit);

/*
 * Parse a delivery body: a verdict per event, one envelope per subscribed well-formed event, one
 * dead-letter value (kafka/oks_kafka_dead_letter.h, failed_at = received_at_ms) per subscribed
 * event without uuid or User target. Rejects the whole body only for what is wrong with the
 * whole body: 413 (over max_body), 400 (malformed JSON, too deep, no data.events array, too many
 * events), 503 (out of memory). On success the caller owns out (oks_ingest_batch_free).
 * Inside an arena scope (core/oks_json_arena.h) the batch lives in the arena: free it before the
 * scope ends and hand librdkafka copies.
 */
int oks_ingest_body_parse(const char *body, size_t len, const oks_ingest_limits *lim,
                          const char *tenant_id, int64_t received_at_ms, oks_ingest_batch *out,
                          oks_ingest_reject *rej);
void oks_ingest_batch_free(oks_ingest_batch *b);

/* Body of the verification answer: {"verification":"<challenge>"} (malloc'd) or 400. */
char *oks_ingest_verification_body(const char *challenge, oks_ingest_reject *rej);

#endif
