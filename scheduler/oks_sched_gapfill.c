#include "oks_sched_gapfill.h"

#include "core/oks_log.h"
#include "core/oks_okta_domain.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "crypto/oks_crypto.h"
#include "event/oks_event.h"
#include "kafka/oks_kafka_produce.h"
#include "okta/oks_okta.h"
#include "sync/oks_sync_job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A watermark older than this (a tenant connected long ago, a scheduler down for days) is
 * clamped: older gaps are the nightly full sync's to repair. */
#define GAPFILL_MAX_LOOKBACK_MS (24LL * 3600 * 1000)

typedef struct gap_tenant {
    const char *id, *domain, *token_hex;
    int64_t since_ms;
} gap_tenant;

/* Connected tenants (OKS_SYNC_TENANT_CONNECTED; connecting required a domain and a token)
 * whose watermark is older than the interval (or that have none), with the point to read from:
 * the watermark, else the moment they were connected. */
static const char sql_due[] =
    "SELECT t.id::text, t.okta_domain, encode(t.api_token_enc, 'hex'), "
    " (EXTRACT(EPOCH FROM coalesce(w.since, t.connected_at)) * 1000)::bigint "
    "FROM tenants t LEFT JOIN tenant_log_watermarks w ON w.tenant_id = t.id "
    "WHERE " OKS_SYNC_TENANT_CONNECTED " AND t.okta_domain IS NOT NULL "
    " AND t.api_token_enc IS NOT NULL "
    " AND (w.updated_at IS NULL OR w.updated_at <= to_timestamp($1::bigint / 1000.0) - "
    "      $2::bigint * interval '1 millisecond') "
    "ORDER BY t.id";

static char *open_token(const oks_sched *s, const char *tenant, const char *hex, oks_err *err)
{
    uint8_t key[OKS_CRYPTO_KEY_LEN];
    if (oks_crypto_key_parse(s->cfg->secret_key, key, err) != 0)
        return NULL;
    char *token = oks_crypto_open_tenant_hex(key, tenant, hex, err);
    memset(key, 0, sizeof key);
    return token;
}

/* 1 when the tenant already processed this event (the hook delivered it). */
static int already_processed(oks_sched *s, const char *tenant, const char *uuid, oks_err *err)
{
    const char *p[] = {tenant, uuid};
    PGresult *r = oks_db_exec_params(s->db,
                                     "SELECT 1 FROM processed_events WHERE tenant_id = $1::uuid "
                                     "AND event_uuid = $2",
                                     2, p, err);
    if (!r)
        return -1;
    int found = PQntuples(r) > 0;
    PQclear(r);
    return found;
}

/* Publish one System Log event the way ingest does: envelope, key = tenant, headers. */
static int publish(oks_sched *s, const char *tenant, const json_t *event, const oks_event_fields *f,
                   int64_t now_ms, oks_err *err)
{
    char *value = NULL;
    size_t len = 0;
    if (oks_event_envelope_build(event, f, tenant, now_ms, &value, &len, err) != 0)
        return -1;
    const oks_kafka_header h[] = {{"tenant", tenant}, {"type", f->event_type}};
    int rc = oks_kafka_produce_wait(s->producer, s->cfg->events_topic, tenant, strlen(tenant),
                                    value, len, h, 2, err);
    free(value);
    return rc;
}

static int save_watermark(oks_sched *s, const char *tenant, int64_t since_ms, const char *last,
                          int found, int64_t now_ms, oks_err *err)
{
    char since[32], now[32], n[16];
    oks_time_format_iso8601(since_ms, since, sizeof since);
    oks_time_format_iso8601(now_ms, now, sizeof now);
    snprintf(n, sizeof n, "%d", found);
    const char *p[] = {tenant, since, last, n, now};
    PGresult *r = oks_db_exec_params(
        s->db,
        "INSERT INTO tenant_log_watermarks (tenant_id, since, last_event_uuid, events_found, "
        " updated_at) VALUES ($1::uuid, $2::timestamptz, $3, $4::bigint, $5::timestamptz) "
        "ON CONFLICT (tenant_id) DO UPDATE SET since = EXCLUDED.since, "
        " last_event_uuid = coalesce(EXCLUDED.last_event_uuid, "
        "   tenant_log_watermarks.last_event_uuid), "
        " events_found = tenant_log_watermarks.events_found + EXCLUDED.events_found, "
        " updated_at = EXCLUDED.updated_at",
        5, p, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* Read one tenant's window and publish what is missing. Returns events published or -1. */
static int fill_tenant(oks_sched *s, const gap_tenant *t, int64_t now_ms, oks_err *err)
{
    int64_t until = now_ms - s->cfg->gap_fill_margin_ms, since = t->since_ms;
    if (since < now_ms - GAPFILL_MAX_LOOKBACK_MS)
        since = now_ms - GAPFILL_MAX_LOOKBACK_MS;
    if (since >= until)
        return 0; /* connected less than a margin ago: nothing readable yet */
    char *token = open_token(s, t->id, t->token_hex, err);
    char *base = oks_okta_domain_base_url(t->domain);
    if (!token || !base) {
        free(token);
        free(base);
        return oks_err_wrap(err, "opening the tenant's API token");
    }
    oks_okta_client_opts o = {.base_url = base,
                              .token = token,
                              .request_timeout_ms = s->cfg->okta_timeout_ms,
                              .redis_url = s->cfg->redis_url,
                              .org_key = NULL};
    oks_okta_client *c = oks_okta_client_new(&o, err);
    memset(token, 0, strlen(token));
    free(token);
    free(base);
    if (!c)
        return -1;
    size_t n_types = 0;
    while (oks_event_subscribed_types[n_types])
        n_types++;
    int found = 0, rc = -1;
    int64_t pages = 0, reached = until;
    char last[128] = "";
    oks_okta_pager *p = oks_okta_list_log_events_range(c, since, until, oks_event_subscribed_types,
                                                       n_types, 1000, err);
    json_t *items = NULL;
    int more;
    while (p && (more = oks_okta_pager_next(p, &items, err)) == 1) {
        pages++;
        size_t i;
        json_t *ev;
        json_array_foreach(items, i, ev)
        {
            oks_event_fields f;
            oks_err e = {0};
            if (oks_event_fields_extract(ev, &f, &e) != 0 ||
                !oks_event_type_subscribed(f.event_type))
                continue; /* ingest would not publish it either */
            int seen = already_processed(s, t->id, f.uuid, err);
            if (seen < 0 || (!seen && publish(s, t->id, ev, &f, now_ms, err) != 0))
                goto out;
            found += !seen;
            snprintf(last, sizeof last, "%s", f.uuid);
            int64_t pub;
            if (f.published && oks_time_parse_iso8601(f.published, &pub))
                reached = pub; /* ascending: how far this pass got */
        }
        json_decref(items);
        items = NULL;
        if (pages >= s->cfg->gap_fill_max_pages && oks_okta_pager_next_url(p))
            goto partial; /* bounded work per pass: continue from the last event next time */
    }
    if (!p || more < 0)
        goto out;
    reached = until;
partial:
    if (save_watermark(s, t->id, reached, last[0] ? last : NULL, found, now_ms, err) == 0)
        rc = found;
out:
    json_decref(items);
    oks_okta_pager_free(p);
    oks_okta_client_free(c);
    return rc;
}

int oks_sched_gapfill_pass(oks_sched *s, int64_t now_ms, int *n_published, oks_err *err)
{
    if (n_published)
        *n_published = 0;
    if (s->cfg->gap_fill_interval_ms <= 0 || !s->cfg->secret_key[0] || !s->db)
        return 0;
    char now_text[24], interval[24];
    snprintf(now_text, sizeof now_text, "%" PRId64, now_ms);
    snprintf(interval, sizeof interval, "%" PRId64, s->cfg->gap_fill_interval_ms);
    const char *p[] = {now_text, interval};
    PGresult *r = oks_db_exec_params(s->db, sql_due, 2, p, err);
    if (!r)
        return -1;
    int failed = 0, total = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        if (oks_shutdown_requested()) { /* as in oks_sched_pass: the rest wait for next time */
            failed++;
            oks_err_set(err, OKS_E_TRANSIENT, "shutting down: %d tenants left to the next pass",
                        PQntuples(r) - i);
            break;
        }
        gap_tenant t = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                        strtoll(PQgetvalue(r, i, 3), NULL, 10)};
        oks_err e = {0};
        /* one replica per tenant at a time: a session lock, released below */
        const char *lp[] = {t.id};
        PGresult *l = oks_db_exec_params(
            s->db, "SELECT pg_try_advisory_lock(hashtextextended('oktasync.gapfill:' || $1, 0))", 1,
            lp, &e);
        bool locked = l && strcmp(PQgetvalue(l, 0, 0), "t") == 0;
        if (l)
            PQclear(l);
        if (!locked) {
            if (!l) {
                failed++;
                *err = e;
            }
            continue;
        }
        int n = fill_tenant(s, &t, now_ms, &e);
        PGresult *u = oks_db_exec_params(
            s->db, "SELECT pg_advisory_unlock(hashtextextended('oktasync.gapfill:' || $1, 0))", 1,
            lp, NULL);
        if (u)
            PQclear(u);
        if (n < 0) {
            failed++;
            oks_counter_add(s->gap_failures, 1);
            oks_log_fields(OKS_LOG_WARN, "gap fill failed, retried next pass", "tenant", t.id,
                           "error", e.msg, NULL);
            *err = e;
            continue;
        }
        total += n;
        oks_counter_add(s->gap_events, (uint64_t)n);
        if (n > 0) {
            char num[16];
            snprintf(num, sizeof num, "%d", n);
            oks_log_fields(OKS_LOG_INFO, "gap fill republished events the hooks missed", "tenant",
                           t.id, "events", num, NULL);
        }
    }
    PQclear(r);
    if (n_published)
        *n_published = total;
    return failed ? -1 : 0;
}
