/*
 * One page of a full sync: GET the next page of the app's assigned users (expand=user, 500 a
 * page, from the saved rel="next" cursor), then ONE transaction: the page's states through
 * oks_worker_apply_batch_tx (source full_sync, the page's Date as the watermark: the same guard
 * as events; the rows it writes are marked seen by the run in that write), last_seen_run_id for
 * the page's other listed users, and the run's cursor and counters. Memory: one page.
 *
 * A dry run writes no users: each page runs the same apply inside a savepoint that is rolled
 * back, so users_created/users_updated are what a real run would write; its removals were
 * seeded at its start (the stored active users) and each page deletes the ones it saw.
 */
#include "oks_worker_decide.h"
#include "oks_worker_sql.h"
#include "oks_worker_fullsync_int.h"

#include "core/oks_log.h"
#include "core/oks_thread.h"
#include "core/oks_time.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct page {
    oks_okta_app_user *au;
    oks_worker_state *st;
    size_t n_au, n_st;
    long errors;
    json_t *ids; /* every listed user id: seen by the run */
} page;

static void page_free(page *pg)
{
    for (size_t i = 0; i < pg->n_au; i++)
        oks_okta_app_user_free(&pg->au[i]);
    free(pg->au);
    free(pg->st);
    json_decref(pg->ids);
}

/* Parse and decide the page's users (pure, no I/O). */
static int build(page *pg, json_t *items, int64_t date_ms, const char *run)
{
    size_t n = json_array_size(items);
    pg->au = calloc(n ? n : 1, sizeof *pg->au);
    pg->st = calloc(n ? n : 1, sizeof *pg->st);
    pg->ids = json_array();
    if (!pg->au || !pg->st || !pg->ids)
        return -1;
    size_t j;
    json_t *it;
    json_array_foreach(items, j, it)
    {
        oks_okta_app_user *a = &pg->au[pg->n_au];
        oks_err perr = {0};
        if (oks_okta_app_user_parse(it, a, &perr) != 0) {
            pg->errors++;
            OKS_LOG_WARN("full sync: run %s: an app user Okta listed does not parse: %s", run,
                         perr.msg);
            continue;
        }
        pg->n_au++;
        json_array_append_new(pg->ids, json_string(a->id));
        if (!a->has_user) {
            pg->errors++;
            OKS_LOG_WARN("full sync: run %s: app user %s came without its user (expand=user)", run,
                         a->id);
            continue;
        }
        oks_worker_mark m = {.stored = true, .app_assigned = -1};
        snprintf(m.okta_id, sizeof m.okta_id, "%s", a->id);
        oks_worker_read rd = {.kind = OKS_WORKER_READ_FOUND,
                              .user = a->user,
                              .as_of_ms = date_ms,
                              .assigned = 1,
                              .assigned_as_of_ms = date_ms};
        char why[OKS_ERR_MSG_MAX];
        if (oks_worker_decide(&m, &rd, true, &pg->st[pg->n_st], why, sizeof why) != 0) {
            pg->errors++;
            OKS_LOG_WARN("full sync: run %s: user %s not applied: %s", run, a->id, why);
            continue;
        }
        pg->st[pg->n_st].okta_id = a->id; /* decide pointed it into the local mark */
        pg->st[pg->n_st].user = &a->user;
        pg->st[pg->n_st].mark_seq = 0;
        pg->n_st++;
    }
    return 0;
}

/* The page's one transaction. 1 = committed, 0 = the run moved meanwhile (not ours now),
 * -1 = database error. */
static int commit_page(oks_db *db, oks_worker_frun *run, page *pg, const char *next,
                       long okta_calls, long *seen_out, oks_err *err)
{
    char *ids = json_dumps(pg->ids, JSON_COMPACT);
    if (!ids)
        return oks_err_set(err, OKS_E_NOMEM, "full sync: out of memory");
    long created = 0, updated = 0;
    int rc = -1;
    if (oks_db_begin(db, err) != 0)
        goto out;
    PGresult *r;
    int64_t ta = oks_now_mono_ms(), tb = ta, tc = ta;
    if (!run->dry_run) {
        oks_worker_apply_result res = {0};
        if (pg->n_st &&
            oks_worker_apply_batch_run_tx(db, run->tenant, pg->st, pg->n_st, "full_sync",
                                          "full_sync", run->id, &res, err) != 0)
            goto fail;
        created = res.created;
        updated = res.audited - created > 0 ? res.audited - created : 0;
        tb = oks_now_mono_ms();
        const char *p[] = {run->tenant, run->id_s, ids};
        /* the apply marked the rows it wrote (all of the page, as a rule); the rest (a stale
         * read, a user whose listing did not parse) here */
        if ((size_t)res.written < pg->n_au) {
            r = oks_db_exec_params(db,
                                   "UPDATE users SET last_seen_run_id = $2::bigint "
                                   "WHERE tenant_id = " OKS_WORKER_SQL_TENANT " AND okta_id IN "
                                   "(SELECT jsonb_array_elements_text($3::jsonb)) "
                                   "AND last_seen_run_id IS DISTINCT FROM $2::bigint",
                                   3, p, err);
            if (!r)
                goto fail;
            PQclear(r);
        }
    } else {
        if (run->pages == 0) { /* the candidates: every stored active user */
            const char *p0[] = {run->id_s, run->tenant};
            r = oks_db_exec_params(db,
                                   "INSERT INTO sync_run_removals (run_id, tenant_id, okta_id, "
                                   "email) SELECT $1::bigint, tenant_id, okta_id, email FROM users "
                                   "WHERE tenant_id = $2::uuid AND status = 'active' "
                                   "ON CONFLICT DO NOTHING",
                                   2, p0, err);
            if (!r)
                goto fail;
            PQclear(r);
        }
        /* what a real run would change, by the same apply, undone: exact, and one rule */
        if (pg->n_st) {
            oks_worker_apply_result res = {0};
            if (oks_db_exec(db, "SAVEPOINT dry_run", err) != 0 ||
                oks_worker_apply_batch_run_tx(db, run->tenant, pg->st, pg->n_st, "full_sync",
                                              "full_sync", run->id, &res, err) != 0 ||
                oks_db_exec(db, "ROLLBACK TO SAVEPOINT dry_run", err) != 0)
                goto fail;
            created = res.created;
            updated = res.audited - created > 0 ? res.audited - created : 0;
        }
        const char *p[] = {run->id_s, ids};
        r = oks_db_exec_params(
            db,
            "DELETE FROM sync_run_removals WHERE run_id = $1::bigint AND okta_id "
            "IN (SELECT jsonb_array_elements_text($2::jsonb))",
            2, p, err);
        if (!r)
            goto fail;
        PQclear(r);
    }
    tc = oks_now_mono_ms();
    char pages[24], seen[24], cr[24], up[24], er[24], calls[24];
    snprintf(pages, sizeof pages, "%ld", run->pages);
    snprintf(seen, sizeof seen, "%zu", pg->n_au);
    snprintf(cr, sizeof cr, "%ld", created);
    snprintf(up, sizeof up, "%ld", updated);
    snprintf(er, sizeof er, "%ld", pg->errors);
    snprintf(calls, sizeof calls, "%ld", okta_calls);
    const char *p[] = {run->id_s, next, pages, seen, cr, up, er, calls, run->cursor};
    /* Guarded by the page count and cursor read: a turn that lost the run changes nothing. */
    r = oks_db_exec_params(
        db,
        "UPDATE sync_runs SET cursor = $2, pages = pages + 1, users_seen = users_seen + $4::int, "
        "  users_created = users_created + $5::int, users_updated = users_updated + $6::int, "
        "  errors = errors + $7::int, okta_calls = okta_calls + $8::int, heartbeat_at = now() "
        "WHERE id = $1::bigint AND status = 'running' AND pages = $3::int "
        "  AND cursor IS NOT DISTINCT FROM $9 RETURNING users_seen",
        9, p, err);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0) {
        PQclear(r);
        oks_db_rollback(db);
        rc = 0;
        goto out;
    }
    *seen_out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (oks_db_commit(db, err) != 0)
        goto fail;
    OKS_LOG_DEBUG("full sync: run %s: count+apply %lld ms, seen %lld ms, run+commit %lld ms",
                  run->id_s, (long long)(tb - ta), (long long)(tc - tb),
                  (long long)(oks_now_mono_ms() - tc));
    rc = 1;
    goto out;
fail:
    oks_db_rollback(db);
out:
    free(ids);
    return rc;
}

static long calls_of(const oks_okta_client *c)
{
    oks_okta_stats s;
    oks_okta_client_stats(c, &s);
    return (long)s.calls;
}

void oks_worker_fullsync_fetch(oks_okta_client *client, const char *app_id, const char *cursor,
                               oks_worker_fpage *out)
{
    memset(out, 0, sizeof *out);
    long calls0 = calls_of(client);
    int64_t t0 = oks_now_mono_ms();
    oks_okta_pager *p =
        cursor ? oks_okta_resume_app_users(client, cursor, &out->err)
               : oks_okta_list_app_users(client, app_id, OKS_WORKER_FULLSYNC_PAGE, &out->err);
    out->got = -1;
    if (p) {
        out->got = oks_okta_pager_next(p, &out->items, &out->err);
        oks_okta_last last;
        oks_okta_last_response(client, &last);
        out->date_ms = last.date_ms;
        out->http_status = last.status;
        const char *next = out->got == 1 ? oks_okta_pager_next_url(p) : NULL;
        if (next && !(out->next = strdup(next))) {
            out->got = -1;
            oks_err_set(&out->err, OKS_E_NOMEM, "full sync: out of memory");
        }
        oks_okta_pager_free(p);
    }
    if (out->got == 0) { /* a resumed pager always fetches; kept for safety */
        out->items = json_array();
        out->got = 1;
    }
    out->calls = calls_of(client) - calls0;
    out->ms = oks_now_mono_ms() - t0;
}

void oks_worker_fullsync_fpage_free(oks_worker_fpage *f)
{
    json_decref(f->items);
    free(f->next);
    memset(f, 0, sizeof *f);
}

typedef struct ahead_job {
    oks_okta_client *client;
    const char *app_id, *cursor;
    oks_worker_fpage *out;
} ahead_job;

static void *ahead_main(void *arg)
{
    ahead_job *j = arg;
    oks_thread_name("fullsync-ahead");
    oks_worker_fullsync_fetch(j->client, j->app_id, j->cursor, j->out);
    return NULL;
}

oks_worker_fstep oks_worker_fullsync_page(oks_db *db, oks_okta_client *client, const char *app_id,
                                          oks_worker_frun *run, oks_worker_fpage *cur,
                                          oks_worker_fpage *ahead)
{
    oks_err err = {0};
    oks_worker_fpage local;
    if (!cur) {
        oks_worker_fullsync_fetch(client, app_id, run->cursor, &local);
        cur = &local;
    }
    oks_worker_fstep rc;
    if (cur->got < 0) {
        if (cur->err.code == OKS_E_RATELIMIT || cur->err.code == OKS_E_NOMEM ||
            (cur->http_status == -1 && cur->err.code != OKS_E_INVALID)) {
            /* out of quota (after the client's retries and budget wait), or no request sent
             * (the shared budget's Redis failed): the run waits at its cursor; the next turn
             * asks again */
            OKS_LOG_DEBUG("full sync: run %s page %ld: %s (later)", run->id_s, run->pages + 1,
                          cur->err.msg);
            rc = OKS_WORKER_FSTEP_WAIT;
        } else {
            /* a failed listing, or one cut short: never "everyone left" */
            char why[OKS_ERR_MSG_MAX + 64];
            snprintf(why, sizeof why, "%s at page %ld: %s",
                     run->pages ? "listing cut short" : "listing failed", run->pages + 1,
                     cur->err.msg);
            oks_worker_fullsync_fail(db, run, why);
            rc = OKS_WORKER_FSTEP_FAILED;
        }
        oks_worker_fullsync_fpage_free(cur);
        return rc;
    }
    if (cur->date_ms < 0) {
        oks_worker_fullsync_fpage_free(cur);
        oks_worker_fullsync_fail(db, run, "Okta's answer has no Date header: no watermark");
        return OKS_WORKER_FSTEP_FAILED;
    }
    page pg = {0};
    int64_t t1 = oks_now_mono_ms();
    /* The next page is fetched while this one is applied (the client is used by that thread
     * alone until the join). */
    pthread_t tid;
    ahead_job job = {client, app_id, cur->next, ahead};
    bool started = ahead && cur->next && pthread_create(&tid, NULL, ahead_main, &job) == 0;
    if (build(&pg, cur->items, cur->date_ms, run->id_s) != 0) {
        rc = OKS_WORKER_FSTEP_INTERNAL;
    } else {
        long seen = 0;
        int c = commit_page(db, run, &pg, cur->next, cur->calls, &seen, &err);
        if (c < 0) {
            OKS_LOG_WARN("full sync: run %s page %ld: %s", run->id_s, run->pages + 1, err.msg);
            rc = OKS_WORKER_FSTEP_INTERNAL;
        } else if (c == 0) {
            rc = OKS_WORKER_FSTEP_WAIT;
        } else {
            run->pages++;
            run->users_seen = seen;
            free(run->cursor);
            run->cursor = cur->next;
            cur->next = NULL;
            rc = run->cursor ? OKS_WORKER_FSTEP_MORE : OKS_WORKER_FSTEP_LISTED;
            OKS_LOG_DEBUG("full sync: run %s page %ld: %zu users, Okta %lld ms, apply %lld ms",
                          run->id_s, run->pages, pg.n_au, (long long)cur->ms,
                          (long long)(oks_now_mono_ms() - t1));
        }
    }
    if (started) {
        pthread_join(tid, NULL);
        if (rc != OKS_WORKER_FSTEP_MORE) /* not the page the run continues with */
            oks_worker_fullsync_fpage_free(ahead);
    } else if (ahead) {
        memset(ahead, 0, sizeof *ahead);
    }
    page_free(&pg);
    oks_worker_fullsync_fpage_free(cur);
    return rc;
}
