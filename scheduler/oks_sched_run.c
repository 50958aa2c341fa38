#include "oks_sched_run.h"

#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "kafka/oks_kafka_close.h"
#include "kafka/oks_kafka_produce.h"
#include "oks_sched_slot.h"
#include "sync/oks_sync_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oks_sched_init(oks_sched *s, const oks_sched_cfg *cfg, oks_err *err)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    /* the config table checked default-time (oks_sched_config.c); this only converts it */
    if (!oks_time_of_day_parse(cfg->default_time, &s->default_tod_s))
        return oks_cfg_invalid(err, "default-time", "expected HH:MM or HH:MM:SS (UTC)");
    s->producer = oks_kafka_wait_producer_new(cfg->kafka_brokers, cfg->kafka_config,
                                              (int)cfg->produce_timeout_ms, "kafka producer", err);
    if (!s->producer)
        return -1;
    s->published = oks_metrics_counter("oktasync_scheduler_jobs_published_total",
                                       "Full-sync jobs acknowledged by Kafka", NULL);
    s->failures = oks_metrics_counter("oktasync_scheduler_publish_failures_total",
                                      "Jobs that could not be published (retried next tick)", NULL);
    s->tenants =
        oks_metrics_gauge("oktasync_scheduler_tenants", "Tenants seen in the last pass", NULL);
    s->gap_events = oks_metrics_counter("oktasync_scheduler_gap_fill_events_total",
                                        "System Log events the hooks had not delivered, "
                                        "republished by the gap fill",
                                        NULL);
    s->gap_failures = oks_metrics_counter("oktasync_scheduler_gap_fill_failures_total",
                                          "Tenant gap fills that failed (retried next pass)", NULL);
    return 0;
}

void oks_sched_free(oks_sched *s)
{
    if (s->producer)
        oks_kafka_producer_stop(s->producer, s->cfg->produce_timeout_ms, "kafka producer");
    if (s->db)
        oks_db_close(s->db);
    memset(s, 0, sizeof *s);
}

oks_db *oks_sched_db(oks_sched *s, oks_err *err)
{
    if (s->db)
        return oks_db_ensure(s->db, err) == 0 ? s->db : NULL;
    oks_db_opts o = {.url = s->cfg->database_url,
                     .connect_timeout_s = 5,
                     .statement_timeout_ms = s->cfg->db_statement_timeout_ms,
                     .application_name = "oktasync-scheduler"};
    s->db = oks_db_connect(&o, err);
    return s->db;
}

static void set_last_run(const char *tenant, int64_t slot_ms)
{
    /* One gauge per tenant, created on first sight (the registry is locked). Bounded by the
     * tenant count; the table keeps them so a tenant's gauge is created once. */
    enum { MAX_TRACKED = 4096 };
    static struct {
        char tenant[40];
        oks_gauge *g;
    } seen[MAX_TRACKED];
    static int n_seen;
    for (int i = 0; i < n_seen; i++) {
        if (strcmp(seen[i].tenant, tenant) == 0) {
            oks_gauge_set(seen[i].g, (double)slot_ms / 1000.0);
            return;
        }
    }
    if (n_seen == MAX_TRACKED)
        return;
    char labels[80];
    snprintf(labels, sizeof labels, "tenant=\"%s\"", tenant);
    oks_gauge *g =
        oks_metrics_gauge("oktasync_scheduler_last_run_timestamp_seconds",
                          "scheduled_for of the tenant's latest published full sync", labels);
    if (!g)
        return;
    snprintf(seen[n_seen].tenant, sizeof seen[n_seen].tenant, "%s", tenant);
    seen[n_seen++].g = g;
    oks_gauge_set(g, (double)slot_ms / 1000.0);
}

/* 1 = published, 0 = nothing to do (another replica or an earlier pass did it), -1 = failed. */
static int schedule_tenant(oks_sched *s, const char *tenant, int64_t slot_ms, oks_err *err)
{
    char when[32], run_id_text[24];
    int64_t run_id = 0;
    oks_sync_queue_req q = {.tenant = tenant,
                            .scheduled_for_ms = slot_ms,
                            .trigger = "schedule",
                            .producer = s->producer,
                            .jobs_topic = s->cfg->jobs_topic};
    int rc = oks_sync_queue_run(s->db, &q, &run_id, err);
    if (rc < 0) {
        oks_counter_add(s->failures, 1);
        return -1;
    }
    if (rc == 0)
        return 0;
    oks_time_format_iso8601(slot_ms, when, sizeof when);
    snprintf(run_id_text, sizeof run_id_text, "%" PRId64, run_id);
    oks_counter_add(s->published, 1);
    set_last_run(tenant, slot_ms);
    oks_log_fields(OKS_LOG_INFO, "full sync job published", "tenant", tenant, "run_id", run_id_text,
                   "scheduled_for", when, NULL);
    return 1;
}

/* Connected tenants only (OKS_SYNC_TENANT_CONNECTED: `tenant connect` proved the credentials;
 * a tenant merely added, or whose connect failed, gets no job) with their time of day, when
 * they were connected and their last run (for the gauge after a restart). */
static const char sql_tenants[] =
    "SELECT t.id::text, COALESCE(EXTRACT(EPOCH FROM t.full_sync_time)::int, -1), "
    "(EXTRACT(EPOCH FROM t.connected_at) * 1000)::bigint, "
    "(SELECT (EXTRACT(EPOCH FROM max(r.scheduled_for)) * 1000)::bigint FROM sync_runs r "
    " WHERE r.tenant_id = t.id AND r.kind = 'full_sync') "
    "FROM tenants t WHERE " OKS_SYNC_TENANT_CONNECTED " ORDER BY t.id";

int oks_sched_pass(oks_sched *s, int64_t now_ms, int *n_published, oks_err *err)
{
    int failed = 0, published = 0;
    if (n_published)
        *n_published = 0;
    if (!oks_sched_db(s, err))
        return -1;
    PGresult *r = oks_db_exec_params(s->db, sql_tenants, 0, NULL, err);
    if (!r)
        return -1;
    oks_gauge_set(s->tenants, PQntuples(r));
    for (int i = 0; i < PQntuples(r); i++) {
        /* Each tenant may wait produce-timeout for Kafka: on SIGTERM the rest wait for the next
         * pass (this replica's or another's), or a pass with Kafka gone would hold the process
         * for tenants x produce-timeout. */
        if (oks_shutdown_requested()) {
            failed++;
            oks_err_set(err, OKS_E_TRANSIENT, "shutting down: %d tenants left to the next pass",
                        PQntuples(r) - i);
            break;
        }
        const char *tenant = PQgetvalue(r, i, 0);
        int tod = (int)strtol(PQgetvalue(r, i, 1), NULL, 10);
        int64_t connected_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        if (!PQgetisnull(r, i, 3))
            set_last_run(tenant, strtoll(PQgetvalue(r, i, 3), NULL, 10));
        int64_t slot = oks_sched_latest_slot_jittered(
            now_ms, tod >= 0 ? tod % 86400 : s->default_tod_s, tenant, s->cfg->jitter_max_ms);
        if (slot < connected_ms)
            continue; /* not connected yet at that slot: nothing was missed (connecting queued
                         the first full sync itself) */
        oks_err e = {0};
        int rc = schedule_tenant(s, tenant, slot, &e);
        if (rc < 0) {
            failed++;
            oks_log_fields(OKS_LOG_WARN, "full sync job not published, retried next tick", "tenant",
                           tenant, "error", e.msg, NULL);
            *err = e;
        }
        published += rc > 0;
    }
    PQclear(r);
    if (n_published)
        *n_published = published;
    return failed ? -1 : 0;
}
