/* The worker's settings (one table, in oks_worker_config.c; docs/configuration.md comes from it).
 */
#ifndef OKS_WORKER_CONFIG_H
#define OKS_WORKER_CONFIG_H

#include "core/oks_config.h"

#include <stdint.h>

typedef struct oks_worker_cfg {
    int log_level;
    char *admin_listen;
    char *ready_file;
    char *database_url;
    char *redis_url;
    char *kafka_brokers;
    char *kafka_config;
    char *group_id;
    char *events_topic;
    char *jobs_topic;
    char *dead_letter_topic;
    char *secret_key;
    int64_t dedupe_ttl_ms;
    int64_t okta_timeout_ms;
    int64_t okta_max_retries;
    int64_t retry_backoff_min_ms;
    int64_t retry_backoff_max_ms;
    int64_t db_statement_timeout_ms;
    int64_t redis_timeout_ms;
    int64_t dead_letter_timeout_ms;
    int64_t shutdown_timeout_ms;
    int64_t lag_interval_ms;
    int64_t dead_letter_max_bytes;
    /* intake (oks_worker_intake*.c, oks_worker_consumer.c) */
    int reconcile_mode; /* oks_worker_mode */
    int64_t intake_batch;
    int64_t intake_linger_ms;
    int64_t message_max_attempts;
    int64_t message_max_age_ms;
    int64_t prune_interval_ms;
    int64_t prune_batch;
    /* reconcilers (oks_worker_reconcile*.c) */
    int64_t reconcile_threads;
    int64_t reconcile_inflight;
    int64_t reconcile_batch;
    int64_t apply_concurrency;
    int64_t apply_plan_uses;
    int64_t coalesce_window_ms;
    int64_t backlog_linger_ms;
    int64_t cover_slack_ms;
    int64_t okta_max_url_bytes;
    int64_t tenant_backoff_min_ms;
    int64_t tenant_backoff_max_ms;
    int64_t parked_recheck_ms;
    int64_t user_max_attempts;
    int64_t poll_interval_ms;
    /* full sync (issue 11) */
    int64_t full_sync_takeover_ms;
    int64_t full_sync_pages_per_turn;
} oks_worker_cfg;

/* reconcile-mode: coalesce (events mark users dirty, reconcilers read Okta per dirty user) or
 * naive (one Okta fetch and one transaction per event: the benchmark baseline). */
typedef enum oks_worker_mode {
    OKS_WORKER_MODE_COALESCE = 0,
    OKS_WORKER_MODE_NAIVE = 1,
} oks_worker_mode;

extern const oks_cfg_program oks_worker_program;

#endif
