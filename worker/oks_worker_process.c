#include "oks_worker_process.h"

#include "oks_worker_fullsync.h"

#include "core/oks_log.h"
#include "core/oks_time.h"
#include "oks_worker_apply.h"
#include "oks_worker_envelope.h"
#include "oks_worker_job.h"
#include "oks_worker_rules.h"

#include <stdio.h>
#include <string.h>

/* A value the table could not check (needs the parser): the same one-line form as its errors. */
static int bad_setting(oks_err *err, const char *setting)
{
    if (err->code != OKS_E_INVALID)
        return -1; /* out of memory: not the setting's fault */
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg);
    return oks_cfg_invalid(err, setting, why);
}

int oks_worker_ctx_init(oks_worker_ctx *ctx, const oks_worker_cfg *cfg, oks_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = cfg;
    if (oks_crypto_key_parse(cfg->secret_key, ctx->key, err) != 0)
        return bad_setting(err, "secret-key");
    if (oks_worker_dedupe_init(&ctx->dedupe, cfg->redis_url, cfg->redis_timeout_ms,
                               cfg->dedupe_ttl_ms / 1000, err) != 0)
        return bad_setting(err, "redis-url");
    if (oks_worker_pg_init(&ctx->pg, cfg->database_url, cfg->db_statement_timeout_ms, err) != 0)
        return -1;
    ctx->okta.base.connect_timeout_ms = cfg->okta_timeout_ms < 5000 ? cfg->okta_timeout_ms : 5000;
    ctx->okta.base.request_timeout_ms = cfg->okta_timeout_ms;
    ctx->okta.base.max_retries = cfg->okta_max_retries == 0 ? -1 : (int)cfg->okta_max_retries;
    ctx->okta.base.max_backoff_ms = cfg->retry_backoff_max_ms;
    ctx->okta.base.redis_url = cfg->redis_url;
    oks_worker_metrics_register(&ctx->m);
    return 0;
}

void oks_worker_ctx_free(oks_worker_ctx *ctx)
{
    oks_worker_okta_cache_free(&ctx->okta);
    oks_worker_dedupe_close(&ctx->dedupe);
    oks_worker_pg_close(&ctx->pg);
    memset(ctx->key, 0, sizeof ctx->key);
}

static oks_worker_verdict verdict_for(const oks_err *e)
{
    return oks_errcode_is_retriable(e->code) ? OKS_WORKER_RETRY : OKS_WORKER_DEAD;
}

/* Active in Okta is not enough: the platform only keeps users assigned to the tenant's app
 * (directly or through a group). Not assigned → deactivated. */
static int check_assignment(oks_worker_ctx *ctx, oks_okta_client *client, const char *app_id,
                            const char *user_id, oks_worker_change *c, oks_err *why)
{
    int64_t asked_ms = oks_now_wall_ms();
    oks_okta_app_user au;
    memset(&au, 0, sizeof au);
    if (oks_okta_get_app_user(client, app_id, user_id, &au, why) == 0) {
        oks_counter_add(ctx->m.okta_ok, 1);
        /* The assignment has its own clock: a (re-)assignment, also through a group, moves
         * the AppUser's lastUpdated, not the user's. */
        if (au.last_updated_ms > c->watermark_ms)
            c->watermark_ms = au.last_updated_ms;
        oks_okta_app_user_free(&au);
        return 0;
    }
    if (why->code != OKS_E_NOTFOUND) {
        oks_counter_add(ctx->m.okta_error, 1);
        return -1;
    }
    oks_counter_add(ctx->m.okta_notfound, 1);
    oks_err_clear(why);
    /* Not assigned as of the moment we asked. An unassignment does not move the user's
     * lastUpdated, and the stored row may carry an assignment event's later published time. */
    c->status = "deactivated";
    if (asked_ms > c->watermark_ms)
        c->watermark_ms = asked_ms;
    return 0;
}

static bool is_assignment_event(const char *type)
{
    return strcmp(type, "application.user_membership.add") == 0 ||
           strcmp(type, "application.user_membership.update") == 0;
}

/* Okta's view of the user → the change to apply. Returns a verdict only on failure. */
static int fetch_change(oks_worker_ctx *ctx, const oks_worker_envelope *env,
                        const oks_worker_tenant *t, oks_okta_user *user, oks_worker_change *c,
                        oks_err *why)
{
    oks_okta_client *client = oks_worker_okta_client(&ctx->okta, env->tenant, t, why);
    if (!client)
        return -1;
    int64_t asked_ms = oks_now_wall_ms();
    int rc = oks_okta_get_user(client, env->okta_user_id, user, why);
    oks_okta_stats st;
    oks_okta_client_stats(client, &st);
    oks_worker_metrics_rate_limits(env->tenant, &st);
    if (rc != 0) {
        if (why->code != OKS_E_NOTFOUND) {
            oks_counter_add(ctx->m.okta_error, 1);
            return -1;
        }
        /* Gone from Okta: deleted as of the moment we asked. */
        oks_counter_add(ctx->m.okta_notfound, 1);
        c->status = "deleted";
        c->watermark_ms = asked_ms;
        return 0;
    }
    oks_counter_add(ctx->m.okta_ok, 1);
    c->status = oks_worker_status_from_okta(user->status);
    if (!c->status)
        return oks_err_set(why, OKS_E_PERMANENT, "unknown Okta user status \"%s\"",
                           user->status ? user->status : "(none)");
    c->user = user;
    c->watermark_ms = user->last_updated_ms > 0 ? user->last_updated_ms : env->published_ms;
    /* An app assignment does not move the user's lastUpdated, but an unassignment is stored
     * with its event's published time. The state fetched for an assignment event is at least
     * as new as that event, so stamp it so: otherwise the guard calls a re-assignment stale. */
    if (is_assignment_event(env->event_type) && env->published_ms > c->watermark_ms)
        c->watermark_ms = env->published_ms;
    if (strcmp(c->status, "active") == 0 && t->okta_app_id)
        return check_assignment(ctx, client, t->okta_app_id, env->okta_user_id, c, why);
    return 0;
}

static oks_worker_verdict record(oks_worker_ctx *ctx, const oks_worker_envelope *env,
                                 oks_worker_outcome outcome)
{
    switch (outcome) {
    case OKS_WORKER_APPLIED:
        oks_counter_add(ctx->m.applied, 1);
        break;
    case OKS_WORKER_UNCHANGED:
        oks_counter_add(ctx->m.unchanged, 1);
        break;
    case OKS_WORKER_STALE:
        oks_counter_add(ctx->m.stale, 1);
        break;
    case OKS_WORKER_DUPLICATE:
        oks_counter_add(ctx->m.dup_db, 1);
        break;
    }
    oks_log_fields(OKS_LOG_INFO, "event handled", "tenant", env->tenant, "event_uuid",
                   env->event_uuid, "event_type", env->event_type, "okta_user_id",
                   env->okta_user_id, "outcome", oks_worker_outcome_name(outcome), NULL);
    /* Fast path for the next copy of this event. The table already holds the truth, so a Redis
     * failure here only costs a later duplicate its Okta call. */
    oks_err e = {0};
    if (oks_worker_dedupe_mark(&ctx->dedupe, env->tenant, env->event_uuid, &e) != 0)
        OKS_LOG_WARN("dedupe mark failed (event stays deduplicated by the database): %s", e.msg);
    return OKS_WORKER_DONE;
}

/* Everything after dedupe: tenant, Okta, transaction. */
static oks_worker_verdict apply_event(oks_worker_ctx *ctx, const oks_worker_envelope *env,
                                      oks_worker_action action, oks_err *why)
{
    oks_worker_verdict v = OKS_WORKER_DONE;
    oks_worker_tenant t;
    oks_okta_user user;
    memset(&user, 0, sizeof user);
    oks_worker_change c = {.tenant = env->tenant,
                           .okta_id = env->okta_user_id,
                           .event_uuid = env->event_uuid,
                           .event_type = env->event_type,
                           .watermark_ms = env->published_ms};
    if (oks_worker_tenant_load(&ctx->pg, ctx->key, env->tenant, &t, why) != 0)
        return verdict_for(why);
    if (action == OKS_WORKER_FETCH) {
        if (fetch_change(ctx, env, &t, &user, &c, why) != 0) {
            ctx->retry_from_okta = true;
            v = verdict_for(why);
            goto out;
        }
    } else {
        c.status = action == OKS_WORKER_DELETE ? "deleted" : "deactivated";
    }
    oks_db *db = oks_worker_pg_get(&ctx->pg, why);
    if (!db) {
        v = OKS_WORKER_RETRY;
        goto out;
    }
    oks_worker_outcome outcome;
    int64_t t0 = oks_now_mono_ms();
    int rc = oks_worker_apply(db, &c, &outcome, why);
    oks_histogram_observe(ctx->m.db_seconds, (double)(oks_now_mono_ms() - t0) / 1000.0);
    if (rc != 0) {
        v = verdict_for(why);
        goto out;
    }
    v = record(ctx, env, outcome);
out:
    oks_okta_user_free(&user);
    oks_worker_tenant_free(&t);
    return v;
}

oks_worker_verdict oks_worker_process(oks_worker_ctx *ctx, const void *value, size_t len,
                                      oks_err *why)
{
    oks_worker_envelope env;
    oks_counter_add(ctx->m.events_in, 1);
    if (oks_worker_envelope_parse(value, len, &env, why) != 0)
        return OKS_WORKER_DEAD;
    oks_worker_action action = oks_worker_action_for(env.event_type);
    if (action == OKS_WORKER_IGNORE) {
        oks_counter_add(ctx->m.ignored, 1);
        OKS_LOG_DEBUG("ignoring event type %s", env.event_type);
        return OKS_WORKER_DONE;
    }
    if (!env.okta_user_id[0]) {
        oks_err_set(why, OKS_E_INVALID, "event %s names no Okta user", env.event_type);
        return OKS_WORKER_DEAD;
    }
    bool seen = false;
    if (oks_worker_dedupe_seen(&ctx->dedupe, env.tenant, env.event_uuid, &seen, why) != 0)
        return OKS_WORKER_RETRY;
    if (seen) {
        oks_counter_add(ctx->m.dup_redis, 1);
        return OKS_WORKER_DONE;
    }
    return apply_event(ctx, &env, action, why);
}

oks_worker_verdict oks_worker_process_job(oks_worker_ctx *ctx, const void *value, size_t len,
                                          oks_err *why)
{
    oks_worker_job job;
    oks_counter_add(ctx->m.events_in, 1);
    if (oks_worker_job_parse(value, len, &job, why) != 0)
        return OKS_WORKER_DEAD;
    if (strcmp(job.kind, "full_sync") != 0) {
        oks_err_set(why, OKS_E_PERMANENT,
                    "%s jobs are not implemented by this worker version (run %lld, tenant %s); "
                    "replay when they are",
                    job.kind, (long long)job.run_id, job.tenant);
        return OKS_WORKER_DEAD;
    }
    /* The job marks its (tenant, kind, scheduled_for) run to be executed; the reconciler
     * threads run it a page at a time (oks_worker_fullsync.h), never on this thread. */
    oks_db *db = oks_worker_pg_get(&ctx->pg, why);
    if (!db || oks_worker_fullsync_request(db, &job, why) != 0)
        return OKS_WORKER_RETRY;
    return OKS_WORKER_DONE;
}
