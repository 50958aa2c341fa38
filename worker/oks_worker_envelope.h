/*
 * The event envelope as the worker reads it (contract in the fleet brief; producer: ingest).
 * Parsing is pure (bytes in, struct out) so it is unit-tested without any service.
 */
#ifndef OKS_WORKER_ENVELOPE_H
#define OKS_WORKER_ENVELOPE_H

#include "core/oks_err.h"
#include "event/oks_event.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

enum {
    OKS_WORKER_UUID_MAX = 37,             /* 36 chars + NUL */
    OKS_WORKER_ID_MAX = OKS_EVENT_ID_MAX, /* event uuid, event type, Okta ids: 128 chars */
    OKS_WORKER_ENVELOPE_MAX = 1024 * 1024,
};

typedef struct oks_worker_envelope {
    char tenant[OKS_WORKER_UUID_MAX];
    char event_uuid[OKS_WORKER_ID_MAX];
    char event_type[OKS_WORKER_ID_MAX];
    char okta_user_id[OKS_WORKER_ID_MAX]; /* "" when the event names no user */
    int64_t published_ms;
} oks_worker_envelope;

/* Parse and validate one Kafka message value. OKS_E_INVALID (permanent) on anything malformed;
 * err says which field. */
int oks_worker_envelope_parse(const void *data, size_t len, oks_worker_envelope *out, oks_err *err);

/*
 * The same from the routing headers ingest sets (event/oks_event.h), without the value. -1 when
 * one is missing or fails a check the value's field would fail (err says which): then read the
 * value with oks_worker_envelope_parse, which is the truth and gives the reason to reject it.
 */
int oks_worker_envelope_from_headers(const rd_kafka_headers_t *h, oks_worker_envelope *out,
                                     oks_err *err);

/* True for a canonical textual UUID (8-4-4-4-12 hex digits). */
bool oks_worker_is_uuid(const char *s);

#endif
