/*
 * Settings every daemon shares, so they have the same name, default, flags and wording in
 * every program (and the local-stack defaults live in one place). Use inside an
 * oks_cfg_entry table; the program's config struct needs the named fields.
 *
 * URLs and librdkafka settings may carry passwords, so they are secrets: never printed.
 */
#ifndef OKS_CONFIG_COMMON_H
#define OKS_CONFIG_COMMON_H

#include "oks_config.h"

/* The local stack's addresses (scripts/stack): the embedded defaults. */
#define OKS_DEFAULT_DATABASE_URL "postgresql://oktasync@127.0.0.1:55432/oktasync"
#define OKS_DEFAULT_REDIS_URL "redis://127.0.0.1:56379/0"
#define OKS_DEFAULT_KAFKA_BROKERS "127.0.0.1:9092"

extern const char *const oks_cfg_log_levels[]; /* debug, info, warn, error */

#define OKS_CFG_LOG_LEVEL(type, def)                                                               \
    OKS_CFG_ENUM("log-level", type, log_level, def, oks_cfg_log_levels,                            \
                 "Lowest level logged (JSON lines on stderr).")
#define OKS_CFG_ADMIN_LISTEN(type, def)                                                            \
    OKS_CFG_STR("admin-listen", type, admin_listen, def, OKS_CFG_REQUIRED,                         \
                "host:port of /metrics, /healthz, /readyz (port 0 picks a free port).")
#define OKS_CFG_READY_FILE(type, doc) OKS_CFG_STR("ready-file", type, ready_file, "", 0, doc)
#define OKS_CFG_DATABASE_URL(type)                                                                 \
    OKS_CFG_STR("database-url", type, database_url, OKS_DEFAULT_DATABASE_URL,                      \
                OKS_CFG_REQUIRED | OKS_CFG_SECRET, "PostgreSQL connection URL (libpq).")
#define OKS_CFG_REDIS_URL(type, doc)                                                               \
    OKS_CFG_STR("redis-url", type, redis_url, OKS_DEFAULT_REDIS_URL,                               \
                OKS_CFG_REQUIRED | OKS_CFG_SECRET, doc)
/* Two entries: kafka-brokers and kafka-config. */
#define OKS_CFG_KAFKA(type)                                                                        \
    OKS_CFG_STR("kafka-brokers", type, kafka_brokers, OKS_DEFAULT_KAFKA_BROKERS, OKS_CFG_REQUIRED, \
                "Kafka bootstrap servers (host:port,...)."),                                       \
        OKS_CFG_STR("kafka-config", type, kafka_config, "", OKS_CFG_SECRET,                        \
                    "Extra librdkafka settings key=value;key=value, applied last.")

#endif
