/* Ingest's metrics, registered once at start-up (oks_ingest_metrics_init). */
#ifndef OKS_INGEST_METRICS_H
#define OKS_INGEST_METRICS_H

#include "core/oks_metrics.h"
#include "oks_ingest_request.h"

typedef struct oks_ingest_metrics {
    oks_counter *status_200, *status_400, *status_401, *status_404, *status_405;
    oks_counter *status_413, *status_415, *status_431, *status_503, *status_other;
    oks_counter *events_produced;
    oks_counter *events_dead_lettered;
    oks_counter *events_skipped[OKS_INGEST_SKIP__COUNT]; /* by reason; [NONE] unused */
    oks_counter *delivery_failures;
    oks_counter *ack_timeouts;
    oks_histogram *ack_latency;
    oks_gauge *in_flight;
    oks_gauge *tenants;
} oks_ingest_metrics;

extern oks_ingest_metrics oks_ingest_m;

void oks_ingest_metrics_init(void);
/* Count one answered request by its status. */
void oks_ingest_metrics_status(unsigned status);

#endif
