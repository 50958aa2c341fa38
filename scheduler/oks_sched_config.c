#include "oks_sched_config.h"

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

#define C oks_sched_cfg
static const oks_cfg_entry entries[] = {
    OKS_CFG_ENUM("log-level", C, log_level, "info", log_levels, "Lowest level logged."),
    OKS_CFG_STR("admin-listen", C, admin_listen, "127.0.0.1:9103", OKS_CFG_REQUIRED,
                "host:port of /metrics, /healthz, /readyz (port 0 picks a free port)."),
    OKS_CFG_STR("ready-file", C, ready_file, "", 0,
                "Written once start-up is done (line admin=HOST:PORT); empty = none."),
    OKS_CFG_STR("database-url", C, database_url, "postgresql://oktasync@127.0.0.1:55432/oktasync",
                OKS_CFG_REQUIRED, "PostgreSQL connection URL."),
    OKS_CFG_STR("kafka-brokers", C, kafka_brokers, "127.0.0.1:9092", OKS_CFG_REQUIRED,
                "Kafka bootstrap servers."),
    OKS_CFG_STR("kafka-config", C, kafka_config, "", 0,
                "Extra librdkafka settings key=value;key=value, applied last."),
    OKS_CFG_STR("jobs-topic", C, jobs_topic, "jobs", OKS_CFG_REQUIRED,
                "Topic the full-sync jobs are produced to."),
    OKS_CFG_STR("default-time", C, default_time, "03:00", OKS_CFG_REQUIRED,
                "Full-sync time of day (UTC, HH:MM or HH:MM:SS) for a tenant without its own."),
    OKS_CFG_DURATION("tick-interval", C, tick_interval_ms, "30s", 100, 3600000,
                     "How often the scheduler looks for due runs."),
    OKS_CFG_DURATION("produce-timeout", C, produce_timeout_ms, "10s", 100, 300000,
                     "How long to wait for Kafka to acknowledge a job (acks=all)."),
    OKS_CFG_DURATION("db-statement-timeout", C, db_statement_timeout_ms, "30s", 100, 600000,
                     "PostgreSQL statement_timeout (covers waiting on another replica's run "
                     "insert)."),
    OKS_CFG_BOOL("once", C, once, "false", "Do one pass and exit (0 = every due job published)."),
};
#undef C

const oks_cfg_program oks_sched_program = OKS_CFG_PROGRAM(
    "oktasync-scheduler",
    "Publishes one full-sync job per tenant per day (safe with several replicas)", NULL, entries);
