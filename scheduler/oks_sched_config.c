#include "oks_sched_config.h"
#include "core/oks_config_common.h"
#include "core/oks_time.h"

#include <stdio.h>

static bool check_time_of_day(const char *value, char *why, size_t cap)
{
    int tod;
    if (oks_time_of_day_parse(value, &tod))
        return true;
    snprintf(why, cap, "expected HH:MM or HH:MM:SS (UTC)");
    return false;
}

#define C oks_sched_cfg
static const oks_cfg_entry entries[] = {
    OKS_CFG_LOG_LEVEL(C, "info"),
    OKS_CFG_ADMIN_LISTEN(C, "127.0.0.1:9103"),
    OKS_CFG_READY_FILE(C, "Written once start-up is done (line admin=HOST:PORT); empty = none."),
    OKS_CFG_DATABASE_URL(C),
    OKS_CFG_KAFKA(C),
    OKS_CFG_STR("jobs-topic", C, jobs_topic, "jobs", OKS_CFG_REQUIRED,
                "Topic the full-sync jobs are produced to."),
    OKS_CFG_STR_CHECKED(
        "default-time", C, default_time, "03:00", OKS_CFG_REQUIRED, check_time_of_day,
        "Full-sync time of day (UTC, HH:MM or HH:MM:SS) for a tenant without its own."),
    OKS_CFG_DURATION("tick-interval", C, tick_interval_ms, "30s", 100, 3600000,
                     "How often the scheduler looks for due runs."),
    OKS_CFG_DURATION("produce-timeout", C, produce_timeout_ms, "10s", 100, 300000,
                     "How long to wait for Kafka to acknowledge a job (acks=all)."),
    OKS_CFG_DURATION("db-statement-timeout", C, db_statement_timeout_ms, "30s", 100, 600000,
                     "PostgreSQL statement_timeout (covers waiting on another replica's run "
                     "insert)."),
    OKS_CFG_DURATION("jitter", C, jitter_max_ms, "0s", 0, 43200000,
                     "Spread full syncs: each tenant starts up to this long after its time of "
                     "day, by a fixed offset derived from its id (0 = no jitter)."),
    OKS_CFG_DURATION("gap-fill-interval", C, gap_fill_interval_ms, "5m", 0, 86400000,
                     "How often each connected tenant's System Log is read for events the hooks "
                     "did not deliver (0 = gap fill off)."),
    OKS_CFG_DURATION("gap-fill-margin", C, gap_fill_margin_ms, "2m", 0, 3600000,
                     "The gap fill reads up to now minus this (events still arriving by hook)."),
    OKS_CFG_INT("gap-fill-max-pages", C, gap_fill_max_pages, "20", 1, 10000,
                "System Log pages (1000 events each) read per tenant per pass; the rest waits "
                "for the next pass."),
    OKS_CFG_STR("events-topic", C, events_topic, "events", OKS_CFG_REQUIRED,
                "Topic the gap fill publishes recovered events to (the workers' events topic)."),
    OKS_CFG_STR("secret-key", C, secret_key, "", OKS_CFG_SECRET,
                "64 hex characters: the key sealing tenants' Okta API tokens (the gap fill "
                "reads the System Log with them; empty = gap fill off)."),
    OKS_CFG_REDIS_URL(C, "Redis for the shared per-org Okta request budget (gap fill)."),
    OKS_CFG_DURATION("okta-timeout", C, okta_timeout_ms, "30s", 100, 300000,
                     "Per-request timeout of the gap fill's Okta calls."),
    OKS_CFG_BOOL("once", C, once, "false", "Do one pass and exit (0 = every due job published)."),
};
#undef C

const oks_cfg_program oks_sched_program = OKS_CFG_PROGRAM(
    "oktasync-scheduler",
    "Publishes one full-sync job per tenant per day (safe with several replicas)", NULL, entries);
