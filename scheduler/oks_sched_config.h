/* The scheduler's settings (one table, oks_sched_config.c). */
#ifndef OKS_SCHED_CONFIG_H
#define OKS_SCHED_CONFIG_H

#include "core/oks_config.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct oks_sched_cfg {
    int log_level;
    char *admin_listen;
    char *ready_file;
    char *database_url;
    char *kafka_brokers;
    char *kafka_config;
    char *jobs_topic;
    char *default_time;
    int64_t tick_interval_ms;
    int64_t produce_timeout_ms;
    int64_t db_statement_timeout_ms;
    int64_t jitter_max_ms;
    int64_t gap_fill_interval_ms;
    int64_t gap_fill_margin_ms;
    int64_t gap_fill_max_pages;
    char *events_topic;
    char *secret_key;
    char *redis_url;
    int64_t okta_timeout_ms;
    bool once;
} oks_sched_cfg;

extern const oks_cfg_program oks_sched_program;

#endif
