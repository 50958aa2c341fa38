/*
 * One reconcile round for one tenant (held under its advisory lock by the caller): load the
 * tenant, read its due marks, ask Okta in bulk, decide, and apply everything in ONE
 * transaction. See docs/worker-reconcile.md.
 */
#include "oks_worker_reconcile_int.h"

#include "core/oks_log.h"
#include "core/oks_time.h"
#include "oks_worker_decide.h"
#include "oks_worker_fetch_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { APP_OK_TTL_MS = 300000, LISTING_BATCH_FACTOR = 10, LISTING_BATCH_MAX = 10000 };

/* Was this tenant's app id (this very id: it may have been changed since) proven right
 * lately? */
static bool app_ok(oks_worker_rthread *t, const char *tenant, const char *app_id)
{
    int64_t now = oks_now_mono_ms();
    for (int i = 0; i < OKS_WORKER_APP_OK_SLOTS; i++)
        if (strcmp(t->app_ok[i].tenant, tenant) == 0)
            return t->app_ok[i].until_ms > now && strcmp(t->app_ok[i].app_id, app_id) == 0;
    return false;
}

static void app_ok_set(oks_worker_rthread *t, const char *tenant, const char *app_id)
{
    int slot = 0;
    for (int i = 0; i < OKS_WORKER_APP_OK_SLOTS; i++) {
        if (strcmp(t->app_ok[i].tenant, tenant) == 0) {
            slot = i;
            break;
        }
        if (t->app_ok[i].until_ms < t->app_ok[slot].until_ms)
            slot = i;
    }
    snprintf(t->app_ok[slot].tenant, sizeof t->app_ok[slot].tenant, "%s", tenant);
    snprintf(t->app_ok[slot].app_id, sizeof t->app_ok[slot].app_id, "%s", app_id);
    t->app_ok[slot].until_ms = oks_now_mono_ms() + APP_OK_TTL_MS;
}

static void ascii_only(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

struct oks_worker_round {
    oks_worker_rthread *t;
    oks_db *db;
    uint64_t lock_gen; /* oks_db_reconnects(db) when the tenant's lock was taken */
    char tenant[40];
    oks_worker_tenant ten;
    oks_worker_mark *marks;
    oks_worker_read *reads;
    oks_worker_state *st;
    size_t *st_read; /* st[k] answers for reads[st_read[k]] */
    oks_worker_ufail *uf;
    oks_worker_group_set groups; /* the tenant's mapped groups (read only when a mark may need
                                    them); empty: no groups call at all */
    oks_worker_user_groups *ug;
    bool *want_groups;
    size_t n, ns, nf;
    /* the Okta reads (oks_worker_round_read) */
    oks_worker_fetch f;
    int frc;
    oks_okta_stats before, after;
};
typedef struct oks_worker_round round;

/* The tenant's advisory lock lives in the session the thread took it on. oks_db reconnects by
 * itself outside a transaction, and after that the lock is gone: another reconciler may hold
 * the tenant (docs/worker-reconcile.md "Reads in flight"). Nothing is written for the round
 * then; its marks stay for the next one. Checked inside the writing transaction, after BEGIN
 * (which is where a reconnect would happen). */
static bool lock_lost(const round *r, oks_err *err)
{
    if (oks_db_reconnects(r->db) == r->lock_gen)
        return false;
    oks_err_set(err, OKS_E_UNAVAILABLE,
                "the connection that held tenant %s's lock was lost: nothing written", r->tenant);
    return true;
}

static oks_worker_round_rc tenant_fault(round *r, oks_worker_fail f, const oks_err *why)
{
    if (f == OKS_WORKER_FAIL_INTERNAL || !oks_worker_fail_fault(f)) {
        OKS_LOG_WARN("reconcile: tenant %s round failed on our side (retried): %s", r->tenant,
                     why->msg);
        return OKS_WORKER_ROUND_INTERNAL;
    }
    char reason[OKS_ERR_MSG_MAX];
    snprintf(reason, sizeof reason, "%s", why->msg);
    ascii_only(reason);
    oks_err err = {0};
    if (oks_db_begin(r->db, &err) != 0 || lock_lost(r, &err) ||
        oks_worker_rstate_fault(r->db, r->t->r->cfg, r->tenant, f, reason, &err) != 0 ||
        oks_db_commit(r->db, &err) != 0) {
        oks_db_rollback(r->db);
        OKS_LOG_WARN("reconcile: recording fault of tenant %s failed: %s", r->tenant, err.msg);
        return OKS_WORKER_ROUND_INTERNAL;
    }
    oks_log_fields(OKS_LOG_WARN, "tenant fault", "tenant", r->tenant, "fault",
                   oks_worker_fail_fault(f), "parked", oks_worker_fail_parked(f) ? "yes" : "no",
                   "reason", reason, NULL);
    return OKS_WORKER_ROUND_FAULT;
}

/* Per-user failures → reasons; dead-letter the ones out of attempts (before the transaction
 * deletes their marks: a failed produce keeps the mark). Once the reconciler is stopping no
 * new dead letter is tried: with Kafka gone each would wait dead-letter-timeout, one after the
 * other, before the process could exit; their marks stay (as after a failed produce). */
static void prepare_failures(oks_worker_rthread *t, const char *tenant, oks_worker_ufail *uf,
                             size_t nf)
{
    const oks_worker_cfg *cfg = t->r->cfg;
    for (size_t i = 0; i < nf; i++) {
        ascii_only(uf[i].why);
        if (uf[i].mark->attempts + 1 < cfg->user_max_attempts)
            continue;
        oks_err err = {0};
        if (!t->r->dlq || atomic_load(&t->r->stop))
            continue;
        if (oks_worker_rdlq_send(t->r->dlq, cfg, tenant, uf[i].mark, uf[i].why, &err) == 0) {
            uf[i].dead = true;
            oks_log_fields(OKS_LOG_WARN, "dirty user dead-lettered", "tenant", tenant,
                           "okta_user_id", uf[i].mark->okta_id, "reason", uf[i].why, NULL);
        } else {
            OKS_LOG_WARN("reconcile: dead-letter of %s failed (kept, retried): %s",
                         uf[i].mark->okta_id, err.msg);
        }
    }
}

/* The round's transaction: states, the teams from the groups read for them (after the users
 * rows exist), per-user failures, the tenant's fault reset while *fault_to_clear (set by its
 * tenant read; faults are recorded only under the tenant's lock, which this round holds, and
 * once reset the round's later transactions have none to reset); in one of the reconciler's
 * apply slots, which the batch is made ready before. */
static int commit_round(round *r, const oks_worker_state *st, size_t ns,
                        const oks_worker_user_groups *ug, size_t nug, const oks_worker_ufail *uf,
                        size_t nf, oks_worker_apply_result *res, oks_err *err)
{
    oks_worker_reconciler *rec = r->t->r;
    oks_db *db = r->db;
    const char *tenant = r->tenant;
    bool *fault_to_clear = &r->ten.okta_fault;
    oks_worker_apply_batch batch;
    if (oks_worker_apply_batch_prepare(db, tenant, st, ns, &batch, err) != 0)
        return -1;
    long group_changes = 0;
    int rc = -1;
    oks_worker_apply_slot_take(rec);
    if (oks_db_begin(db, err) != 0)
        goto out;
    if (lock_lost(r, err) ||
        oks_worker_apply_batch_round_tx(db, tenant, &batch, rec->cfg->apply_plan_uses, res, err) !=
            0 ||
        oks_worker_group_teams_apply_tx(db, tenant, ug, nug, "event", "reconcile", 0,
                                        &group_changes, err) != 0 ||
        oks_worker_rstate_user_failures(db, rec->cfg, tenant, uf, nf, err) != 0 ||
        (*fault_to_clear && oks_worker_rstate_clear(db, tenant, err) != 0) ||
        oks_db_commit(db, err) != 0) {
        oks_db_rollback(db);
        goto out;
    }
    *fault_to_clear = false;
    res->memberships += group_changes;
    rc = 0;
out:
    oks_worker_apply_slot_give(rec);
    oks_worker_apply_batch_free(&batch);
    return rc;
}

static void round_free(round *r)
{
    if (!r)
        return;
    if (r->reads)
        oks_worker_reads_free(r->reads, r->n);
    oks_worker_group_set_free(&r->groups);
    free(r->ug);
    free(r->want_groups);
    free(r->st_read);
    free(r->reads);
    free(r->marks);
    free(r->st);
    free(r->uf);
    oks_worker_tenant_free(&r->ten);
    free(r);
}

static bool needs_groups(const round *r, size_t i)
{
    return r->groups.n > 0 &&
           oks_worker_read_needs_groups(&r->marks[i], &r->reads[i], r->ten.okta_app_id != NULL);
}

/* The groups read for states st[from..from+count) (users whose groups were read), into r->ug. */
static size_t groups_for(round *r, size_t from, size_t count)
{
    size_t k = 0;
    for (size_t s = from; s < from + count; s++) {
        const oks_worker_read *rd = &r->reads[r->st_read[s]];
        if (!rd->groups_read || !r->st[s].status)
            continue;
        r->ug[k++] = (oks_worker_user_groups){
            .okta_id = r->st[s].okta_id, .group_ids = rd->groups, .n_groups = rd->n_groups};
    }
    return k;
}

/* Every state decided so far (and its groups) in one transaction. */
static int commit_states(round *r, oks_worker_apply_result *res, oks_err *err)
{
    size_t nug = groups_for(r, 0, r->ns);
    return commit_round(r, r->st, r->ns, r->ug, nug, NULL, 0, res, err);
}

/* A batch the database refused for one row's sake: apply users one by one so the bad row
 * becomes a per-user failure and the rest go through. */
static int isolate(round *r, oks_worker_apply_result *total, oks_err *err)
{
    memset(total, 0, sizeof *total);
    for (size_t i = 0; i < r->ns; i++) {
        oks_worker_apply_result one;
        oks_err e1 = {0};
        size_t nug = groups_for(r, i, 1);
        if (commit_round(r, &r->st[i], 1, r->ug, nug, NULL, 0, &one, &e1) == 0) {
            total->written += one.written;
            total->audited += one.audited;
            total->stale += one.stale;
            total->marks_cleared += one.marks_cleared;
            total->memberships += one.memberships;
            continue;
        }
        if (oks_worker_fail_classify(OKS_WORKER_SRC_DB, &e1, -1, NULL) != OKS_WORKER_FAIL_USER) {
            *err = e1;
            return -1;
        }
        for (size_t k = 0; k < r->n; k++) {
            if (strcmp(r->marks[k].okta_id, r->st[i].okta_id) == 0) {
                oks_worker_ufail *u = &r->uf[r->nf++];
                u->mark = &r->marks[k];
                snprintf(u->why, sizeof u->why, "database refused the row: %.200s", e1.msg);
                break;
            }
        }
    }
    r->ns = 0;
    return 0;
}

/* Everything Okta had fully answered before a tenant-level failure (e.g. the apps quota ran
 * out halfway) is applied, so a round that always hits its quota still makes progress; then
 * the fault is recorded (with its backoff starting over when something was applied). */
static oks_worker_round_rc partial(round *r, const oks_worker_fetch *f)
{
    bool has_app = r->ten.okta_app_id != NULL;
    for (size_t i = 0; i < r->n; i++) {
        const oks_worker_mark *m = &r->marks[i];
        const oks_worker_read *rd = &r->reads[i];
        bool need = has_app && oks_worker_mark_needs_assignment(m);
        /* "not assigned" counts only once the app id is proven right (a wrong one answers the
         * same 404): the round may have stopped at that very check */
        if (rd->assigned == 0 && !f->app_verified)
            continue;
        bool complete = rd->kind == OKS_WORKER_READ_GONE ||
                        (rd->kind == OKS_WORKER_READ_FOUND && !oks_worker_fetch__stale(m, rd) &&
                         (!need || rd->assigned >= 0)) ||
                        (rd->kind == OKS_WORKER_READ_NONE && rd->assigned == 0 && !m->stored);
        /* the groups a user's mark asks for must be read too: the mark goes with the apply */
        if (complete && needs_groups(r, i) && !rd->groups_read)
            complete = false;
        char why[OKS_ERR_MSG_MAX];
        if (complete && oks_worker_decide(m, rd, has_app, &r->st[r->ns], why, sizeof why) == 0)
            r->st_read[r->ns++] = i;
    }
    if (r->ns > 0) {
        oks_worker_apply_result res;
        oks_err err = {0};
        if (commit_states(r, &res, &err) != 0)
            OKS_LOG_WARN("reconcile: applying the partial round of tenant %s: %s", r->tenant,
                         err.msg);
        else
            OKS_LOG_DEBUG("reconcile: tenant %s: %zu of %zu users applied before: %s", r->tenant,
                          r->ns, r->n, f->err.msg);
    }
    return tenant_fault(r, f->fail, &f->err);
}

/* Phase 1: the tenant, its due marks and what Okta must be asked, on the thread's connection.
 * Anything but 1 ("read Okta now") ends the round here with *rc. */
static int prepare(round *r, oks_worker_round_rc *rc)
{
    oks_worker_rthread *t = r->t;
    const oks_worker_cfg *cfg = t->r->cfg;
    oks_err err = {0};
    if (oks_worker_tenant_load(&t->pg, t->r->key, r->tenant, &r->ten, &err) != 0) {
        *rc =
            tenant_fault(r, oks_worker_fail_classify(OKS_WORKER_SRC_TENANT, &err, -1, NULL), &err);
        return 0;
    }
    oks_okta_client *client = oks_worker_okta_client(&t->okta, r->tenant, &r->ten, &err);
    if (!client) {
        *rc = tenant_fault(
            r, err.code == OKS_E_INVALID ? OKS_WORKER_FAIL_NOT_CONNECTED : OKS_WORKER_FAIL_INTERNAL,
            &err);
        return 0;
    }
    bool has_app = r->ten.okta_app_id != NULL;
    long limit = cfg->reconcile_batch;
    if (has_app) /* an app listing answers many users at once: look further ahead */
        limit = limit * LISTING_BATCH_FACTOR < LISTING_BATCH_MAX ? limit * LISTING_BATCH_FACTOR
                                                                 : LISTING_BATCH_MAX;
    if (oks_worker_rstate_marks(r->db, cfg, r->tenant, limit, &r->marks, &r->n, &err) != 0) {
        *rc = tenant_fault(r, OKS_WORKER_FAIL_INTERNAL, &err);
        return 0;
    }
    if (r->n == 0) {
        *rc = OKS_WORKER_ROUND_IDLE;
        return 0;
    }
    r->f = (oks_worker_fetch){.client = client,
                              .app_id = r->ten.okta_app_id,
                              .max_url_bytes = (size_t)cfg->okta_max_url_bytes,
                              .app_verified = has_app && app_ok(t, r->tenant, r->ten.okta_app_id)};
    if (has_app) {
        size_t needed = 0, unstored = 0;
        for (size_t i = 0; i < r->n; i++) {
            const oks_worker_mark *m = &r->marks[i];
            needed += oks_worker_mark_needs_assignment(m);
            unstored += !m->stored; /* a user we never stored may be assigned */
        }
        /* the estimate only matters when some user needs an assignment answer */
        int64_t est = 0;
        if (needed > 0) {
            est = oks_worker_rstate_assigned_estimate(
                r->db, r->tenant, oks_worker_fetch_listing_max_rows(needed), &err);
            if (est < 0) {
                *rc = tenant_fault(r, OKS_WORKER_FAIL_INTERNAL, &err);
                return 0;
            }
        }
        est += (int64_t)unstored;
        r->f.assigned_estimate = est;
        /* No listing: the look-ahead would only be per-user reads; keep the batch. */
        if (!oks_worker_fetch_use_listing(needed, est) && r->n > (size_t)cfg->reconcile_batch)
            r->n = (size_t)cfg->reconcile_batch;
    }
    r->reads = calloc(r->n, sizeof *r->reads);
    r->st = calloc(r->n, sizeof *r->st);
    r->st_read = calloc(r->n, sizeof *r->st_read);
    r->uf = calloc(r->n, sizeof *r->uf);
    r->ug = calloc(r->n, sizeof *r->ug);
    r->want_groups = calloc(r->n, sizeof *r->want_groups);
    if (!r->reads || !r->st || !r->st_read || !r->uf || !r->ug || !r->want_groups) {
        oks_err_set(&err, OKS_E_NOMEM, "reconcile: out of memory");
        *rc = tenant_fault(r, OKS_WORKER_FAIL_INTERNAL, &err);
        return 0;
    }
    /* The tenant's group map, only when a mark may need groups (a group membership event, or a
     * user not stored yet): read before Okta is asked, so a round cut short knows who needed
     * them (docs/worker-reconcile.md). */
    bool maybe_groups = false;
    for (size_t i = 0; i < r->n && !maybe_groups; i++)
        maybe_groups = r->marks[i].check_groups || !r->marks[i].stored;
    if (maybe_groups && oks_worker_group_set_load(r->db, r->tenant, &r->groups, &err) != 0) {
        *rc = tenant_fault(r, OKS_WORKER_FAIL_INTERNAL, &err);
        return 0;
    }
    return 1;
}

oks_worker_round *oks_worker_round_begin(oks_worker_rthread *t, oks_db *db, const char *tenant,
                                         uint64_t lock_gen, oks_worker_round_rc *rc)
{
    round *r = calloc(1, sizeof *r);
    if (!r) {
        OKS_LOG_WARN("reconcile: tenant %s: out of memory (retried)", tenant);
        *rc = OKS_WORKER_ROUND_INTERNAL;
        return NULL;
    }
    r->t = t;
    r->db = db;
    r->lock_gen = lock_gen;
    snprintf(r->tenant, sizeof r->tenant, "%s", tenant);
    if (prepare(r, rc) == 1)
        return r;
    round_free(r);
    return NULL;
}

const char *oks_worker_round_tenant(const oks_worker_round *r)
{
    return r->tenant;
}

oks_worker_rthread *oks_worker_round_owner(const oks_worker_round *r)
{
    return r->t;
}

void oks_worker_round_read(oks_worker_round *r)
{
    oks_worker_rmetrics_reads(0, 1);
    oks_okta_client_stats(r->f.client, &r->before);
    r->frc = oks_worker_fetch_run(&r->f, r->marks, r->reads, r->n);
    if (r->frc == 0 && r->groups.n > 0) {
        for (size_t i = 0; i < r->n; i++)
            r->want_groups[i] = needs_groups(r, i);
        r->frc =
            oks_worker_fetch_groups(&r->f, r->marks, r->reads, r->want_groups, r->n, &r->groups);
    }
    oks_okta_client_stats(r->f.client, &r->after);
    oks_worker_rmetrics_reads(0, -1);
}

/* Phase 3, on the thread that began the round: decide and apply what Okta said. */
static oks_worker_round_rc finish(round *r)
{
    oks_worker_rthread *t = r->t;
    bool has_app = r->ten.okta_app_id != NULL;
    oks_worker_fetch *f = &r->f;
    oks_err err = {0};
    oks_worker_rmetrics_okta(r->tenant, &r->before, &r->after);
    if (f->app_verified && has_app)
        app_ok_set(t, r->tenant, r->ten.okta_app_id);
    if (r->frc != 0)
        return partial(r, f);
    long events = 0;
    for (size_t i = 0; i < r->n; i++) {
        char why[OKS_ERR_MSG_MAX];
        if (oks_worker_decide(&r->marks[i], &r->reads[i], has_app, &r->st[r->ns], why,
                              sizeof why) == 0) {
            r->st_read[r->ns++] = i;
            events += r->marks[i].events;
        } else {
            r->uf[r->nf].mark = &r->marks[i];
            snprintf(r->uf[r->nf].why, sizeof r->uf[r->nf].why, "%s", why);
            r->nf++;
        }
    }
    oks_worker_apply_result res;
    int64_t t0 = oks_now_mono_ms();
    if (commit_states(r, &res, &err) != 0) {
        if (oks_worker_fail_classify(OKS_WORKER_SRC_DB, &err, -1, NULL) != OKS_WORKER_FAIL_USER ||
            isolate(r, &res, &err) != 0)
            return tenant_fault(r, OKS_WORKER_FAIL_INTERNAL, &err);
    }
    if (r->nf) {
        prepare_failures(t, r->tenant, r->uf, r->nf);
        oks_worker_apply_result none;
        if (commit_round(r, NULL, 0, NULL, 0, r->uf, r->nf, &none, &err) != 0)
            OKS_LOG_WARN("reconcile: recording user failures of tenant %s: %s", r->tenant, err.msg);
    }
    oks_worker_rmetrics_round(r->tenant, events, (long)r->n);
    OKS_LOG_DEBUG("reconcile: tenant %s: %zu users, %ld events, written %ld, audited %ld, "
                  "stale %ld, marks cleared %ld, group team changes %ld, failed %zu; okta lists %d "
                  "gets %d app pages %d app gets %d group reads %d (%s); %lld ms",
                  r->tenant, r->n, events, res.written, res.audited, res.stale, res.marks_cleared,
                  res.memberships, r->nf, f->stats.user_lists, f->stats.user_gets,
                  f->stats.app_pages, f->stats.app_user_gets, f->stats.group_reads,
                  f->stats.listing ? "listing" : "per-user", (long long)(oks_now_mono_ms() - t0));
    return OKS_WORKER_ROUND_DONE;
}

oks_worker_round_rc oks_worker_round_end(oks_worker_round *r)
{
    oks_worker_round_rc rc = finish(r);
    round_free(r);
    return rc;
}
