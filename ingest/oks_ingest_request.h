/*
 * Request validation for the webhook endpoint. Pure: method/path/headers/body in, a routed
 * request or a parsed batch out, or a rejection (HTTP status + short JSON body). No I/O, no
 * tenant lookup, no Kafka; this is what the fuzz target drives.
 */
#ifndef OKS_INGEST_REQUEST_H
#define OKS_INGEST_REQUEST_H

#include "core/oks_subdomain.h"

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

/* One Kafka message to produce. */
typedef struct oks_ingest_msg {
    char *value; /* envelope JSON (owned; jansson's allocator, see ingest_arena.h) */
    size_t len;
    char event_type[96]; /* for the `type` header */
} oks_ingest_msg;

typedef struct oks_ingest_batch {
    oks_ingest_msg *msgs;
    size_t n_msgs;
    size_t n_skipped; /* events of types outside the subscribed set */
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
 * Parse a delivery body into one envelope per subscribed event. Rejects 413 (over max_body),
 * 400 (malformed, too deep, no data.events array, too many events, an event without
 * uuid/eventType/User target). On success the caller owns out (oks_ingest_batch_free).
 * Inside an arena scope (ingest_arena.h) the batch lives in the arena: free it before the
 * scope ends and hand librdkafka copies.
 */
int oks_ingest_body_parse(const char *body, size_t len, const oks_ingest_limits *lim,
                          const char *tenant_id, int64_t received_at_ms, oks_ingest_batch *out,
                          oks_ingest_reject *rej);
void oks_ingest_batch_free(oks_ingest_batch *b);

/* Body of the verification answer: {"verification":"<challenge>"} (malloc'd) or 400. */
char *oks_ingest_verification_body(const char *challenge, oks_ingest_reject *rej);

#endif
