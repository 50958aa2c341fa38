/*
 * Statements prepared by name on the connection (oks_db.h, oks_db_stmt).
 *
 * PostgreSQL plans a statement sent with parameters on every call (a custom plan). A prepared
 * statement is planned by PostgreSQL's plan_cache_mode "auto": custom plans for its first five
 * runs, then its generic plan while that costs no more than they did, with no planning at all
 * (oks_db_exec_prepared). For the worker's apply "auto" is no different from not preparing: the
 * custom plans fold its parameters and so always look cheaper than the generic one. So there the
 * generic plan is asked for, for this statement only (oks_db_exec_generic): SET LOCAL
 * plan_cache_mode before the EXECUTE and back after it.
 * Either way the call is one pipeline, with the (re-)PREPARE when one is due, so it costs one
 * round trip. Inside a transaction, errors anywhere abort it, as any failed statement does.
 */
#include "db/oks_db_internal.h"

#include "core/oks_time.h"

#include <stdio.h>
#include <string.h>

enum { MAX_COMMANDS = 5 };

static oks_db_prepared *slot(oks_db *db, const char *name, bool create)
{
    oks_db_prepared *free_slot = NULL;
    for (int i = 0; i < OKS_DB_MAX_PREPARED; i++) {
        oks_db_prepared *p = &db->prepared[i];
        if (p->name && strcmp(p->name, name) == 0)
            return p;
        if (!p->name && !free_slot)
            free_slot = p;
    }
    if (create && free_slot)
        free_slot->name = name;
    return create ? free_slot : NULL;
}

static bool valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
            return false;
    return true;
}

int64_t oks_db_prepared_uses(const oks_db *db, const char *name)
{
    const oks_db_prepared *p = slot((oks_db *)db, name, false);
    return p && p->gen == db->reconnects + 1 ? p->uses : -1;
}

/* Read the pipeline's results: each command's (followed by NULL), then the sync. ok[k] says
 * whether command k ran; the result of command `want` is returned, the first error goes to err.
 * After a failed command the server skips the rest (PGRES_PIPELINE_ABORTED). */
static PGresult *read_results(oks_db *db, int n, int want, bool *ok, oks_err *err)
{
    PGresult *kept = NULL;
    bool failed = false;
    for (int k = 0; k < n; k++) {
        PGresult *res;
        ok[k] = false;
        while ((res = PQgetResult(db->pg)) != NULL) {
            ExecStatusType st = PQresultStatus(res);
            if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
                ok[k] = true;
                if (k == want && !kept) {
                    kept = res;
                    continue;
                }
            } else if (!failed && st != PGRES_PIPELINE_ABORTED) {
                oks_db__result_error(db, res, err);
                failed = true;
            }
            PQclear(res);
        }
        if (PQstatus(db->pg) != CONNECTION_OK)
            break;
    }
    PGresult *res; /* the sync point (after a lost connection, whatever libpq has left) */
    while ((res = PQgetResult(db->pg)) != NULL) {
        bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync)
            break;
    }
    if (failed || !kept) {
        if (!failed)
            oks_db__result_error(db, NULL, err);
        PQclear(kept);
        return NULL;
    }
    return kept;
}

/* force_generic: SET LOCAL around the EXECUTE, so inside a transaction only. */
static PGresult *run(oks_db *db, const oks_db_stmt *st, const char *const *values,
                     bool force_generic, oks_err *err)
{
    db->sqlstate[0] = '\0';
    if ((force_generic && !db->in_tx) || !valid_name(st->name)) {
        oks_err_set(
            err, OKS_E_PERMANENT, "prepared statement %s: %s (bug)", st->name ? st->name : "(null)",
            valid_name(st->name) ? "generic plan outside a transaction" : "bad statement name");
        return NULL;
    }
    if (oks_db_ensure(db, err) != 0)
        return NULL;
    oks_db_prepared *p = slot(db, st->name, true);
    if (!p) {
        oks_err_set(err, OKS_E_PERMANENT, "prepared statement %s: more than %d statements (bug)",
                    st->name, OKS_DB_MAX_PREPARED);
        return NULL;
    }
    int64_t now = oks_now_mono_ms();
    bool here = p->gen == db->reconnects + 1;
    bool stale = here && ((st->max_uses > 0 && p->uses >= st->max_uses) ||
                          (st->max_age_ms > 0 && now - p->at_ms >= st->max_age_ms));
    if (PQenterPipelineMode(db->pg) != 1) {
        oks_db__result_error(db, NULL, err);
        return NULL;
    }
    char deallocate[80];
    snprintf(deallocate, sizeof deallocate, "DEALLOCATE %s", st->name);
    int n = 0, dealloc_at = -1, prepare_at = -1, sent = 1;
    if (stale) {
        dealloc_at = n++;
        sent &= PQsendQueryParams(db->pg, deallocate, 0, NULL, NULL, NULL, NULL, 0);
    }
    if (!here || stale) {
        prepare_at = n++;
        sent &= PQsendPrepare(db->pg, st->name, st->sql, st->n_params, NULL);
    }
    if (force_generic) {
        n++;
        sent &= PQsendQueryParams(db->pg, "SET LOCAL plan_cache_mode = force_generic_plan", 0, NULL,
                                  NULL, NULL, NULL, 0);
    }
    int execute_at = n++;
    sent &= PQsendQueryPrepared(db->pg, st->name, st->n_params, values, NULL, NULL, 0);
    if (force_generic) {
        n++;
        sent &= PQsendQueryParams(db->pg, "SET LOCAL plan_cache_mode TO DEFAULT", 0, NULL, NULL,
                                  NULL, NULL, 0);
    }
    sent &= PQpipelineSync(db->pg);
    bool ok[MAX_COMMANDS] = {false};
    PGresult *res = NULL;
    if (sent) {
        res = read_results(db, n, execute_at, ok, err);
        PQexitPipelineMode(db->pg);
    } else {
        /* a half-sent pipeline cannot be read to its end (no sync): drop the connection, the
         * caller rolls back and the next call reconnects */
        oks_db__result_error(db, NULL, err);
        err->code = OKS_E_UNAVAILABLE;
        PQfinish(db->pg);
        db->pg = NULL;
    }
    /* what the server has now: prepared statements outlive a rolled-back transaction */
    if (dealloc_at >= 0 && ok[dealloc_at])
        p->gen = 0;
    if (prepare_at >= 0 && ok[prepare_at])
        *p = (oks_db_prepared){.name = st->name, .gen = db->reconnects + 1, .at_ms = now};
    if (res)
        p->uses++;
    return res;
}

PGresult *oks_db_exec_generic(oks_db *db, const oks_db_stmt *st, const char *const *values,
                              oks_err *err)
{
    return run(db, st, values, true, err);
}

PGresult *oks_db_exec_prepared(oks_db *db, const oks_db_stmt *st, const char *const *values,
                               oks_err *err)
{
    return run(db, st, values, false, err);
}
