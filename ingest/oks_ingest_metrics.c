#include "oks_ingest_metrics.h"

#include <stdio.h>

oks_ingest_metrics oks_ingest_m;

#define REQ_NAME "oktasync_ingest_requests_total"
#define REQ_HELP "Webhook requests answered, by HTTP status"

void oks_ingest_metrics_init(void)
{
    oks_ingest_metrics *m = &oks_ingest_m;

    m->status_200 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"200\"");
    m->status_400 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"400\"");
    m->status_401 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"401\"");
    m->status_404 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"404\"");
    m->status_405 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"405\"");
    m->status_413 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"413\"");
    m->status_415 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"415\"");
    m->status_431 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"431\"");
    m->status_503 = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"503\"");
    m->status_other = oks_metrics_counter(REQ_NAME, REQ_HELP, "status=\"other\"");
    m->events_produced = oks_metrics_counter("oktasync_ingest_events_produced_total",
                                             "Events acknowledged by Kafka", NULL);
    m->events_dead_lettered = oks_metrics_counter(
        "oktasync_ingest_events_dead_lettered_total",
        "Malformed subscribed events acknowledged on the dead-letter topic", NULL);
    for (int r = OKS_INGEST_SKIP_NONE + 1; r < OKS_INGEST_SKIP__COUNT; r++) {
        char label[64];
        snprintf(label, sizeof(label), "reason=\"%s\"", oks_ingest_skip_reason_name(r));
        m->events_skipped[r] = oks_metrics_counter(
            "oktasync_ingest_events_skipped_total",
            "Events not produced to the events topic, by reason (dead-lettered ones included)",
            label);
    }
    m->delivery_failures = oks_metrics_counter("oktasync_ingest_delivery_failures_total",
                                               "Kafka produce or delivery failures", NULL);
    m->ack_timeouts =
        oks_metrics_counter("oktasync_ingest_ack_timeouts_total",
                            "Requests answered 503 because acks missed the deadline", NULL);
    m->ack_latency = oks_metrics_histogram("oktasync_ingest_ack_latency_seconds",
                                           "Produce-to-acknowledgement latency per message", NULL,
                                           oks_latency_buckets, oks_latency_buckets_n);
    m->in_flight = oks_metrics_gauge("oktasync_ingest_requests_in_flight",
                                     "Requests waiting for Kafka acknowledgements", NULL);
    m->tenants = oks_metrics_gauge("oktasync_ingest_tenants", "Tenants in the cache", NULL);
}

void oks_ingest_metrics_status(unsigned status)
{
    oks_ingest_metrics *m = &oks_ingest_m;
    oks_counter *c;

    switch (status) {
    case 200:
        c = m->status_200;
        break;
    case 400:
        c = m->status_400;
        break;
    case 401:
        c = m->status_401;
        break;
    case 404:
        c = m->status_404;
        break;
    case 405:
        c = m->status_405;
        break;
    case 413:
        c = m->status_413;
        break;
    case 415:
        c = m->status_415;
        break;
    case 431:
        c = m->status_431;
        break;
    case 503:
        c = m->status_503;
        break;
    default:
        c = m->status_other;
        break;
    }
    if (c)
        oks_counter_add(c, 1);
}
