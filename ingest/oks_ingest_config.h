/* oktasync-ingest's settings: the one declarative table (flags, OKTASYNC_* env, file, --help). */
#ifndef OKS_INGEST_CONFIG_H
#define OKS_INGEST_CONFIG_H

#include "core/oks_config.h"

#include <stdint.h>

typedef struct oks_ingest_cfg {
    int log_level;
    char *admin_listen;
    char *http_listen;
    char *ready_file;
    char *database_url;
    char *kafka_brokers;
    char *kafka_config;
    char *kafka_topic;
    char *dead_letter_topic;
    char *base_domain;
    char *tls_cert;
    char *tls_key;
    int64_t ack_deadline_ms;
    int64_t max_body;
    int64_t max_json_depth;
    int64_t max_events;
    int64_t max_header_bytes;
    int64_t max_headers;
    int64_t max_connections;
    int64_t max_in_flight;
    int64_t http_threads;
    int64_t connection_timeout_ms;
    int64_t tenant_poll_ms;
    int64_t startup_wait_ms;
    int64_t shutdown_flush_ms;
} oks_ingest_cfg;

extern const oks_cfg_program oks_ingest_program;

#endif
