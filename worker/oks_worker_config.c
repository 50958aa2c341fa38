#include "oks_worker_config.h"
#include "core/oks_config_common.h"

static const char *const reconcile_modes[] = {"coalesce", "naive", NULL};

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
    OKS_CFG_DURATION("shutdown-timeout", C, shutdown_timeout_ms, "10s", 100, 600000,
                     "Longest wait for Kafka after SIGTERM (final offset commit, leaving the "
                     "group, dead-letter flush); then what is left is skipped and the worker "
                     "exits. Keep it below the orchestrator's grace period."),
    OKS_CFG_DURATION("lag-interval", C, lag_interval_ms, "5s", 100, 600000,
                     "How often consumer lag per partition is refreshed."),
    OKS_CFG_SIZE("dead-letter-max-bytes", C, dead_letter_max_bytes, "512KiB", 4096, 64LL << 20,
                 "Largest dead-letter value; a longer original message is cut to fit (flagged "
                 "\"value_truncated\")."),
    OKS_CFG_ENUM("reconcile-mode", C, reconcile_mode, "coalesce", reconcile_modes,
                 "coalesce: events mark users dirty and reconcilers re-read them from Okta in "
                 "bulk; naive: one Okta fetch and one transaction per event (benchmark baseline)."),
    OKS_CFG_INT("intake-batch", C, intake_batch, "500", 1, 10000,
                "Most messages taken in one intake transaction."),
    OKS_CFG_DURATION("intake-linger", C, intake_linger_ms, "20ms", 0, 5000,
                     "How long the intake waits to fill a batch once it has a message."),
    OKS_CFG_INT("message-max-attempts", C, message_max_attempts, "10", 1, 100000,
                "Transient failures of one message (not the database or Redis being down) "
                "before it is dead-lettered."),
    OKS_CFG_DURATION("message-max-age", C, message_max_age_ms, "15m", 1000, 7LL * 86400000,
                     "How long one message may keep failing transiently (same rule) before it is "
                     "dead-lettered."),
    OKS_CFG_DURATION("prune-interval", C, prune_interval_ms, "10m", 1000, 86400000,
                     "How often processed_events rows older than dedupe-ttl are deleted (one "
                     "replica at a time)."),
    OKS_CFG_INT("prune-batch", C, prune_batch, "5000", 1, 1000000,
                "Rows deleted per prune statement."),
    OKS_CFG_INT("reconcile-threads", C, reconcile_threads, "4", 1, 64,
                "Reconciler threads (each with its own PostgreSQL connection)."),
    OKS_CFG_INT("reconcile-inflight", C, reconcile_inflight, "8", 1, 32,
                "Tenants whose Okta reads one reconciler thread keeps in flight at once (reader "
                "threads do the reads; the thread and its connection apply each round as its "
                "reads come back). 1: one tenant at a time, read on the thread itself."),
    OKS_CFG_INT("apply-concurrency", C, apply_concurrency, "2", 1, 64,
                "Reconciler threads writing to PostgreSQL at once; the others wait with what they "
                "read from Okta (more writers than PostgreSQL has cores only contend)."),
    OKS_CFG_INT("apply-plan-uses", C, apply_plan_uses, "100", 0, 1000000,
                "A round's apply runs from a generic plan, made again after this many rounds on "
                "the thread's connection or a minute (0: planned on every round)."),
    OKS_CFG_INT("reconcile-batch", C, reconcile_batch, "1000", 1, 10000,
                "Most dirty users of one tenant resolved in one round (one transaction)."),
    OKS_CFG_DURATION("coalesce-window", C, coalesce_window_ms, "50ms", 0, 60000,
                     "A dirty mark younger than this waits, so a burst becomes one read."),
    OKS_CFG_DURATION("backlog-linger", C, backlog_linger_ms, "1s", 0, 60000,
                     "While the intake is behind Kafka, a tenant's round waits until it has "
                     "reconcile-batch due users or its oldest due change is this old (0: never "
                     "waits)."),
    OKS_CFG_DURATION("cover-slack", C, cover_slack_ms, "5s", 0, 3600000,
                     "A profile-update event published at least this long before the last "
                     "applied read of its user is covered by that read: recorded, no mark (0: "
                     "every event marks its user)."),
    OKS_CFG_SIZE("okta-max-url-bytes", C, okta_max_url_bytes, "4096", 512, 65536,
                 "Longest Okta request URL built for a bulk read (halved on 414)."),
    OKS_CFG_DURATION("tenant-backoff-min", C, tenant_backoff_min_ms, "1s", 10, 3600000,
                     "First wait of a tenant whose Okta org failed."),
    OKS_CFG_DURATION("tenant-backoff-max", C, tenant_backoff_max_ms, "5m", 10, 86400000,
                     "Longest wait of a failing tenant (doubling from tenant-backoff-min)."),
    OKS_CFG_DURATION("parked-recheck", C, parked_recheck_ms, "10m", 1000, 7LL * 86400000,
                     "How often a parked tenant (credentials_invalid, not_connected) is retried "
                     "when its tenants row has not changed."),
    OKS_CFG_INT("user-max-attempts", C, user_max_attempts, "10", 1, 1000,
                "Failures of one dirty user before its mark is dead-lettered and dropped."),
    OKS_CFG_DURATION(
        "poll-interval", C, poll_interval_ms, "250ms", 10, 60000,
        "How often an idle reconciler looks for due tenants marked by other replicas."),
    /* full sync (issue 11) */
    OKS_CFG_DURATION("full-sync-takeover", C, full_sync_takeover_ms, "30s", 100, 3600000,
                     "A running full sync whose worker has not moved its heartbeat (every page) "
                     "for this long is taken over by another worker, from its saved cursor."),
    OKS_CFG_INT("full-sync-pages-per-turn", C, full_sync_pages_per_turn, "4", 1, 1000,
                "Pages of a full sync fetched and applied in one turn under the tenant's lock "
                "before the thread gives the tenant's events and other tenants a turn."),
};
#undef C

const oks_cfg_program oks_worker_program =
    OKS_CFG_PROGRAM("oktasync-worker",
                    "Consumes Okta events from Kafka, fetches users from Okta and applies them "
                    "to PostgreSQL",
                    NULL, entries);
