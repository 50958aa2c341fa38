/* The worker's Prometheus series (registered once at start-up; see docs/worker.md). */
#ifndef OKS_WORKER_METRICS_H
#define OKS_WORKER_METRICS_H

#include "core/oks_metrics.h"
#include "okta/oks_okta.h"

typedef struct oks_worker_metrics {
    oks_counter *events_in;
    oks_counter *applied;
    oks_counter *unchanged;
    oks_counter *stale;
    oks_counter *ignored;
    oks_counter *dup_redis;
    oks_counter *dup_db;
    oks_counter *dead_letter;
    oks_counter *retries;
    oks_counter *okta_ok;
    oks_counter *okta_notfound;
    oks_counter *okta_error;
    oks_counter *recorded;         /* coalesce: new events taken in (marks written) */
    oks_counter *covered;          /* coalesce: of those, covered by a stored read (no mark) */
    oks_counter *dead_letter_fail; /* dead-letter produce attempts that failed */
    oks_counter *pruned;           /* processed_events rows deleted after dedupe-ttl */
    oks_gauge *partitions_failing; /* partitions in backoff after a transient failure */
    oks_histogram *db_seconds;
    oks_histogram *process_seconds;
} oks_worker_metrics;

/* Register every series; idempotence is the caller's job (call once). */
void oks_worker_metrics_register(oks_worker_metrics *m);

/* Consumer lag of one partition: the gauge is created the first time the partition is seen
 * (the registry is locked, so this is safe while /metrics renders). */
void oks_worker_metrics_set_lag(const char *topic, int partition, double lag);
/* Around one refresh: partitions not set in between (revoked) read 0, so summing the gauge
 * over replicas gives the group's lag. */
void oks_worker_metrics_lag_begin(void);
void oks_worker_metrics_lag_end(void);

/* Rate-limit headroom per tenant (= Okta org) and bucket from the client's last responses. */
void oks_worker_metrics_rate_limits(const char *tenant, const oks_okta_stats *st);

/* Manager edges refused because they would close a cycle (docs/rules.md). */
void oks_worker_metrics_add_manager_cycles(long n);

#endif
