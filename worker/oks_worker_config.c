#include "oks_worker_config.h"
#include "core/oks_config_common.h"

#define C oks_worker_cfg
static const oks_cfg_entry entries[] = {
    OKS_CFG_LOG_LEVEL(C, "info"),
    OKS_CFG_ADMIN_LISTEN(C, "127.0.0.1:9102"),
    OKS_CFG_READY_FILE(C, "Written once start-up is done (line admin=HOST:PORT); empty = none."),
    OKS_CFG_DATABASE_URL(C),
    OKS_CFG_REDIS_URL(C, "Redis URL (duplicate detection fast path, Okta rate budget)."),
    OKS_CFG_KAFKA(C),
    OKS_CFG_STR("group-id", C, group_id, "oktasync-workers", OKS_CFG_REQUIRED,
                "Kafka consumer group shared by every worker replica."),
    OKS_CFG_STR("events-topic", C, events_topic, "events", OKS_CFG_REQUIRED,
                "Topic of Okta events (from ingest)."),
    OKS_CFG_STR("jobs-topic", C, jobs_topic, "", 0,
                "Topic of scheduler jobs; empty = not consumed (full sync is not in this build, "
                "so jobs wait in Kafka for a worker that runs them)."),
    OKS_CFG_STR("dead-letter-topic", C, dead_letter_topic, "dead-letter", OKS_CFG_REQUIRED,
                "Where messages that can never succeed go, with the reason."),
    OKS_CFG_STR("secret-key", C, secret_key, "", OKS_CFG_SECRET,
                "64 hex chars: AES-256-GCM key that opens the tenants' API tokens (required; "
                "checked at start-up)."),
    OKS_CFG_DURATION("dedupe-ttl", C, dedupe_ttl_ms, "168h", 60000, 8760LL * 3600000,
                     "How long Redis remembers a processed event."),
    OKS_CFG_DURATION("okta-timeout", C, okta_timeout_ms, "10s", 100, 120000,
                     "Total time of one Okta HTTP request."),
    OKS_CFG_INT("okta-max-retries", C, okta_max_retries, "2", 0, 10,
                "Retries inside one Okta call before the message is retried as a whole."),
    OKS_CFG_DURATION("retry-backoff-min", C, retry_backoff_min_ms, "200ms", 10, 60000,
                     "First wait before re-reading a message after a transient failure."),
    OKS_CFG_DURATION("retry-backoff-max", C, retry_backoff_max_ms, "10s", 10, 120000,
                     "Longest wait between retries (doubling from retry-backoff-min)."),
    OKS_CFG_DURATION("db-statement-timeout", C, db_statement_timeout_ms, "10s", 100, 600000,
                     "PostgreSQL statement_timeout of the worker's session."),
    OKS_CFG_DURATION("redis-timeout", C, redis_timeout_ms, "2s", 10, 60000,
                     "Connect and command timeout for Redis."),
    OKS_CFG_DURATION("dead-letter-timeout", C, dead_letter_timeout_ms, "10s", 100, 120000,
                     "How long to wait for Kafka to acknowledge a dead-letter message."),
    OKS_CFG_DURATION("lag-interval", C, lag_interval_ms, "5s", 100, 600000,
                     "How often consumer lag per partition is refreshed."),
};
#undef C

const oks_cfg_program oks_worker_program =
    OKS_CFG_PROGRAM("oktasync-worker",
                    "Consumes Okta events from Kafka, fetches users from Okta and applies them "
                    "to PostgreSQL",
                    NULL, entries);
