#include "oks_worker_intake.h"

#include "core/oks_json_arena.h"
#include "core/oks_log.h"
#include "core/oks_time.h"
#include "oks_worker_envelope.h"
#include "oks_worker_rules.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct oks_worker_intake_ev {
    size_t msg; /* index into the batch */
    oks_worker_envelope env;
    bool check_assignment, check_groups, moves_last_updated;
};

/* One statement, so one transaction: the new event uuids and their users' dirty marks commit
 * together or not at all. Duplicates (inside the batch or already recorded) add nothing. A mark
 * that exists is bumped (seq + 1: a reconciler that read the old seq will not delete it) and
 * keeps its first_marked_at (the age of the oldest unapplied change).
 * A new event that a stored read already covers is recorded and marks nothing ("covered"): a
 * profile update (p: it moves lastUpdated; not c: no assignment or groups to ask, which a read
 * of the user does not answer) published at least
 * cover-slack ($2 ms, 0 = never) before the Date of the user's last applied read
 * (users.okta_last_updated). That read saw the change, so reading again would apply the same
 * state; the slack is for Okta's eventually consistent list reads (docs/worker-reconcile.md
 * "Events a read already covers"). */
static const char record_sql[] =
    "WITH ev AS ("
    "  SELECT DISTINCT ON (t, e) x.t::uuid AS t, x.e, x.o, x.c::boolean AS c, x.g::boolean AS g,"
    "    x.p::timestamptz AS p"
    /* the document is parsed once (OFFSET 0: not pulled up into each column's call) */
    "  FROM (SELECT $1::jsonb AS j OFFSET 0) d,"
    "    ROWS FROM (jsonb_array_elements_text(d.j->'t'), jsonb_array_elements_text(d.j->'e'),"
    "    jsonb_array_elements_text(d.j->'o'), jsonb_array_elements_text(d.j->'c'),"
    "    jsonb_array_elements_text(d.j->'g'), jsonb_array_elements_text(d.j->'p'))"
    "    AS x(t, e, o, c, g, p)"
    "), new AS ("
    "  INSERT INTO processed_events (tenant_id, event_uuid) SELECT t, e FROM ev"
    "  ON CONFLICT DO NOTHING RETURNING tenant_id, event_uuid"
    "), nv AS ("
    "  SELECT ev.*, k.covered IS NOT NULL AS covered"
    "  FROM ev JOIN new ON new.tenant_id = ev.t AND new.event_uuid = ev.e"
    /* a key lookup per event (OFFSET 0 keeps it one: as a join or a hashed subplan, stale
     * statistics could have it read the whole users table for every batch) */
    "  LEFT JOIN LATERAL (SELECT true AS covered FROM users u WHERE ev.p IS NOT NULL"
    "    AND NOT ev.c AND $2::bigint > 0 AND u.tenant_id = ev.t AND u.okta_id = ev.o"
    "    AND u.okta_last_updated >= ev.p + $2::bigint * interval '1 millisecond' OFFSET 0) k"
    "    ON true"
    "), dirty AS ("
    "  INSERT INTO dirty_users AS d (tenant_id, okta_id, events, check_assignment, check_groups,"
    "    max_published)"
    "  SELECT t, o, count(*), bool_or(c), bool_or(g), max(p) FROM nv WHERE NOT covered"
    "  GROUP BY t, o"
    "  ON CONFLICT (tenant_id, okta_id) DO UPDATE SET seq = d.seq + 1,"
    "    events = d.events + EXCLUDED.events,"
    "    check_assignment = d.check_assignment OR EXCLUDED.check_assignment,"
    "    check_groups = d.check_groups OR EXCLUDED.check_groups,"
    "    max_published = GREATEST(d.max_published, EXCLUDED.max_published),"
    "    next_attempt_at = LEAST(d.next_attempt_at, now()), attempts = 0"
    "  RETURNING 1"
    ") SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM dirty),"
    "  (SELECT count(*) FROM nv WHERE covered)";

void oks_worker_intake_init(oks_worker_intake *in, oks_worker_ctx *ctx)
{
    memset(in, 0, sizeof *in);
    in->ctx = ctx;
}

void oks_worker_intake_free(oks_worker_intake *in)
{
    oks_worker_intake_tenants_free(&in->tenants);
    memset(in, 0, sizeof *in);
}

void oks_worker_intake_batch_free(oks_worker_intake_batch *b)
{
    oks_worker_intake_batch_reset(b);
    free(b->ev);
    b->ev = NULL;
    b->ev_cap = 0;
}

void oks_worker_intake_batch_reset(oks_worker_intake_batch *b)
{
    b->classified = b->checked = b->tenants_known = b->sent = false;
    b->k = 0;
    free(b->json);
    b->json = NULL;
}

static bool is_job(const oks_worker_intake *in, const rd_kafka_message_t *m)
{
    const char *jobs = in->ctx->cfg->jobs_topic;
    return jobs && jobs[0] && m->rkt && strcmp(rd_kafka_topic_name(m->rkt), jobs) == 0;
}

static void dead(oks_worker_intake_msg *m, oks_worker_intake_stats *st)
{
    m->verdict = OKS_WORKER_DEAD;
    st->dead++;
}

/* The routing headers ingest sets, when they are all there and pass (event/oks_event.h):
 * then the value, ~1.3 KB of JSON, is not parsed. Otherwise the value decides. */
static bool from_headers(const rd_kafka_message_t *m, oks_worker_envelope *env)
{
    rd_kafka_headers_t *h = NULL;
    oks_err ignored = {0};
    return rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           oks_worker_envelope_from_headers(h, env, &ignored) == 0;
}

/* Envelope, type, user: what needs no service, except a full-sync job (recorded at once). Fills
 * b->ev and b->k; a job that could not be recorded (database down) is left in *job_err. */
static void classify(oks_worker_intake *in, oks_worker_intake_batch *b, oks_err *job_err)
{
    oks_worker_intake_stats *st = &b->st;
    oks_worker_intake_msg *msgs = b->msgs;
    size_t k = 0;
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = msgs[i].m;
        msgs[i].verdict = OKS_WORKER_DONE;
        oks_err_clear(&msgs[i].why);
        if (is_job(in, m)) {
            /* a full_sync job marks its run; the database down fails the batch (retried) */
            oks_worker_verdict v =
                oks_worker_process_job(in->ctx, m->payload, m->len, &msgs[i].why);
            if (v == OKS_WORKER_DEAD)
                dead(&msgs[i], st);
            else if (v == OKS_WORKER_RETRY && !job_err->code)
                *job_err = msgs[i].why;
            continue;
        }
        st->events++;
        oks_worker_intake_ev *e = &b->ev[k];
        if (!from_headers(m, &e->env) &&
            oks_worker_envelope_parse(m->payload, m->len, &e->env, &msgs[i].why) != 0) {
            dead(&msgs[i], st);
            continue;
        }
        if (oks_worker_action_for(e->env.event_type) == OKS_WORKER_IGNORE) {
            st->ignored++;
            continue;
        }
        if (!e->env.okta_user_id[0]) {
            oks_err_set(&msgs[i].why, OKS_E_INVALID, "event %s names no Okta user",
                        e->env.event_type);
            dead(&msgs[i], st);
            continue;
        }
        oks_worker_mark_for(e->env.event_type, &e->check_assignment, &e->check_groups,
                            &e->moves_last_updated);
        e->msg = i;
        k++;
    }
    b->k = k;
    b->classified = true;
}

/* Drop events of tenants that do not exist (dead-lettered: replayable once the tenant is
 * added). With db NULL, from the cache only: 1 when it cannot answer (nothing changed). */
static int check_tenants(oks_worker_intake *in, oks_db *db, oks_worker_intake_batch *b,
                         oks_err *err)
{
    size_t n = b->k;
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    bool *exists = calloc(n ? n : 1, sizeof *exists);
    int rc = -1;
    if (!ids || !exists) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = b->ev[i].env.tenant;
    rc = oks_worker_intake_tenants_check(&in->tenants, db, n, ids, exists, err);
    if (rc != 0)
        goto out;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (exists[i]) {
            b->ev[w++] = b->ev[i];
            continue;
        }
        oks_worker_intake_msg *m = &b->msgs[b->ev[i].msg];
        oks_err_set(&m->why, OKS_E_NOTFOUND, "unknown tenant %s", b->ev[i].env.tenant);
        dead(m, &b->st);
    }
    b->k = w;
    b->tenants_known = true;
out:
    free(ids);
    free(exists);
    return rc;
}

/* The dedupe keys (tenant, event uuid) of ev[0..n), as two arrays (NULL, NULL when out of
 * memory; free both). */
static void event_keys(const oks_worker_intake_ev *ev, size_t n, const char ***t, const char ***u)
{
    *t = calloc(n ? n : 1, sizeof **t);
    *u = calloc(n ? n : 1, sizeof **u);
    if (!*t || !*u) {
        free(*t);
        free(*u);
        *t = *u = NULL;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        (*t)[i] = ev[i].env.tenant;
        (*u)[i] = ev[i].env.event_uuid;
    }
}

static int drop_seen(oks_worker_intake *in, oks_worker_intake_batch *b, oks_err *err)
{
    size_t n = b->k;
    const char **t, **u;
    event_keys(b->ev, n, &t, &u);
    bool *seen = calloc(n ? n : 1, sizeof *seen);
    int rc = -1;
    if (!t || !seen) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    if (oks_worker_dedupe_seen_many(&in->ctx->dedupe, n, t, u, seen, err) != 0)
        goto out;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (seen[i])
            b->st.dup_redis++;
        else
            b->ev[w++] = b->ev[i];
    }
    b->k = w;
    b->checked = true;
    rc = 0;
out:
    free(t);
    free(u);
    free(seen);
    return rc;
}

/* The batch's events as one JSON document (malloc'd): a column per field, {"t":[tenants],
 * "e":[uuids], "o":[users], "c":[..], "g":[..], "p":[published or null]}, row i across them.
 * Not an object per event: jansson's dump checks every container for loops (a formatted
 * pointer and a hash insert each), which made a 500-event batch ~24,000 instructions an event
 * (docs/benchmarks.md "Nineteenth session"). Built in this thread's jansson arena
 * (core/oks_json_arena.h). */
static char *events_json(const oks_worker_intake_ev *ev, size_t n)
{
    static const char *const names[] = {"t", "e", "o", "c", "g", "p"};
    enum { NCOL = sizeof names / sizeof names[0] };
    bool scoped = oks_json_arena_begin();
    json_t *doc = json_object(), *col[NCOL];
    bool bad = doc == NULL;
    for (size_t k = 0; k < NCOL; k++) {
        col[k] = json_array();
        bad = bad || json_object_set_new(doc, names[k], col[k]) != 0;
    }
    for (size_t i = 0; i < n && !bad; i++) {
        char when[32];
        oks_time_format_iso8601(ev[i].env.published_ms, when, sizeof when);
        json_t *v[NCOL] = {json_string(ev[i].env.tenant),
                           json_string(ev[i].env.event_uuid),
                           json_string(ev[i].env.okta_user_id),
                           json_boolean(ev[i].check_assignment),
                           json_boolean(ev[i].check_groups),
                           ev[i].moves_last_updated ? json_string(when) : json_null()};
        for (size_t k = 0; k < NCOL; k++) /* steals v[k], also on failure */
            bad = json_array_append_new(col[k], v[k]) != 0 || bad;
    }
    char *s = bad ? NULL : oks_json_dumps_malloc(doc, JSON_COMPACT);
    oks_json_arena_release(doc); /* it holds nothing from outside */
    if (scoped)
        oks_json_arena_end();
    return s;
}

/* Send the statement over the events in json (oks_db_send_params: the caller works on while it
 * runs). */
static int record_send(oks_worker_intake *in, oks_db *db, const char *json, oks_err *err)
{
    char slack[24];
    snprintf(slack, sizeof slack, "%lld", (long long)in->ctx->cfg->cover_slack_ms);
    const char *params[] = {json, slack};
    return oks_db_send_params(db, record_sql, 2, params, err);
}

/* Its result: adds the rows new, the marks touched and the events covered to st. */
static int record_take(oks_db *db, oks_worker_intake_stats *st, oks_err *err)
{
    PGresult *r = oks_db_result(db, err);
    if (!r)
        return -1;
    st->recorded += (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    st->marks += (size_t)strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    st->covered += (size_t)strtoull(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    return 0;
}

static int record_one(oks_worker_intake *in, oks_db *db, const oks_worker_intake_ev *ev,
                      oks_worker_intake_stats *st, oks_err *err)
{
    char *json = events_json(ev, 1);
    if (!json)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory building the intake batch");
    int rc = record_send(in, db, json, err);
    free(json);
    return rc == 0 ? record_take(db, st, err) : -1;
}

/* The batch failed for a reason that is not the database being down (a tenant deleted since
 * the cache said it exists, a value the table rejects): take each event alone so only the
 * guilty ones are dead-lettered. */
static int record_one_by_one(oks_worker_intake *in, oks_db *db, oks_worker_intake_batch *b,
                             oks_err *err)
{
    oks_worker_intake_tenants_forget(&in->tenants);
    size_t w = 0;
    for (size_t i = 0; i < b->k; i++) {
        oks_err e = {0};
        if (record_one(in, db, &b->ev[i], &b->st, &e) != 0) {
            if (oks_errcode_is_retriable(e.code)) {
                *err = e;
                return -1;
            }
            oks_worker_intake_msg *m = &b->msgs[b->ev[i].msg];
            oks_err_set(&m->why, OKS_E_PERMANENT, "recording the event failed: %s", e.msg);
            dead(m, &b->st);
            continue;
        }
        b->ev[w++] = b->ev[i];
    }
    b->k = w;
    return 0;
}

static int ensure_ev(oks_worker_intake_batch *b, oks_err *err)
{
    if (b->n <= b->ev_cap)
        return 0;
    oks_worker_intake_ev *grown = realloc(b->ev, b->n * sizeof *grown);
    if (!grown)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    b->ev = grown;
    b->ev_cap = b->n;
    return 0;
}

static bool has_job(const oks_worker_intake *in, const oks_worker_intake_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (is_job(in, b->msgs[i].m))
            return true;
    return false;
}

/* What is left to do before the statement, each stage once: classify, Redis, tenants, the
 * statement's parameter. ahead: another batch's statement runs, so nothing may use the database;
 * a full-sync job or a tenant not cached leaves the rest for later (1). */
static int prepare(oks_worker_intake *in, oks_worker_intake_batch *b, bool ahead, oks_err *err)
{
    if (!b->classified) {
        if (ahead && has_job(in, b))
            return 1;
        oks_err job_err = {0};
        if (ensure_ev(b, err) != 0)
            return -1;
        classify(in, b, &job_err);
        if (job_err.code) {
            *err = job_err;
            return -1;
        }
    }
    if (b->k > 0 && !b->checked && drop_seen(in, b, err) != 0)
        return -1;
    if (b->k > 0 && !b->tenants_known) {
        oks_db *db = ahead ? NULL : oks_worker_pg_get(&in->ctx->pg, err);
        if (!ahead && !db)
            return -1;
        int rc = check_tenants(in, db, b, err);
        if (rc != 0)
            return rc;
    }
    if (b->k > 0 && !b->json && !(b->json = events_json(b->ev, b->k)))
        return oks_err_set(err, OKS_E_NOMEM, "out of memory building the intake batch");
    return 0;
}

void oks_worker_intake_ahead(oks_worker_intake *in, oks_worker_intake_batch *b)
{
    oks_err ignored = {0};
    (void)prepare(in, b, true, &ignored); /* what failed or waited is done by begin */
}

int oks_worker_intake_begin(oks_worker_intake *in, oks_worker_intake_batch *b, oks_err *err)
{
    b->sent = false;
    if (prepare(in, b, false, err) != 0)
        return -1;
    if (b->k == 0)
        return 0;
    oks_db *db = oks_worker_pg_get(&in->ctx->pg, err);
    if (!db)
        return -1;
    b->sent_ms = oks_now_mono_ms();
    int rc = record_send(in, db, b->json, err);
    free(b->json);
    b->json = NULL;
    if (rc != 0)
        return -1;
    b->sent = true;
    return 0;
}

int oks_worker_intake_end(oks_worker_intake *in, oks_worker_intake_batch *b, oks_err *err)
{
    oks_worker_intake_stats *st = &b->st;
    if (b->sent) {
        b->sent = false;
        oks_db *db = oks_worker_pg_get(&in->ctx->pg, err);
        if (!db)
            return -1;
        if (record_take(db, st, err) != 0) {
            if (oks_errcode_is_retriable(err->code) || !oks_db_pg(db) ||
                PQstatus(oks_db_pg(db)) != CONNECTION_OK)
                return -1;
            OKS_LOG_WARN("intake batch rejected (%s); recording its events one by one", err->msg);
            oks_err_clear(err);
            if (record_one_by_one(in, db, b, err) != 0)
                return -1;
        }
        oks_histogram_observe(in->ctx->m.db_seconds,
                              (double)(oks_now_mono_ms() - b->sent_ms) / 1000.0);
        st->dup_db = b->k - st->recorded;
    }
    b->taken = b->k;
    oks_counter_add(in->ctx->m.events_in, st->events);
    oks_counter_add(in->ctx->m.ignored, st->ignored);
    oks_counter_add(in->ctx->m.dup_redis, st->dup_redis);
    oks_counter_add(in->ctx->m.dup_db, st->dup_db);
    oks_counter_add(in->ctx->m.recorded, st->recorded);
    oks_counter_add(in->ctx->m.covered, st->covered);
    return 0;
}

void oks_worker_intake_mark_seen(oks_worker_intake *in, oks_worker_intake_batch *b)
{
    oks_err why = {0};
    unsigned failed = oks_worker_dedupe_failed_marks(&in->ctx->dedupe, &why);
    if (failed > 0)
        OKS_LOG_WARN("dedupe marks of earlier batches failed (events stay deduplicated by the "
                     "database): %s",
                     why.msg);
    size_t n = b->taken;
    if (n == 0)
        return;
    const char **t, **u;
    event_keys(b->ev, n, &t, &u);
    oks_err e = {0};
    if (t) {
        if (oks_worker_dedupe_mark_many(&in->ctx->dedupe, n, t, u, &e) != 0)
            OKS_LOG_WARN("dedupe marks failed (events stay deduplicated by the database): %s",
                         e.msg);
    }
    free(t);
    free(u);
    b->taken = 0;
}
