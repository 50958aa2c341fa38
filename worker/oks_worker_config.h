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
    int64_t lag_interval_ms;
} oks_worker_cfg;

extern const oks_cfg_program oks_worker_program;

#endif
