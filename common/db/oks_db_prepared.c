/*
 * Prepared statements: a statement the worker runs every round (a batch apply, a rule) is
 * parsed and analysed once per connection instead of on every call. It is still planned for
 * its parameters on every call: every connection runs with plan_cache_mode=force_custom_plan
 * (oks_db.c, open_pg: why a generic plan is not safe for our statements).
 *
 * A statement is known by the address of its text, which must stay valid while the handle
 * lives (a static string, or one built once at start-up). The handle remembers which texts it
 * prepared on its current connection; a reconnect forgets them all, and so does a server that
 * lost them (SQLSTATE 26000, e.g. after DISCARD ALL): they are prepared again. A pooler
 * in transaction mode cannot keep prepared statements and is not supported (session mode is).
 */
#include "db/oks_db_internal.h"

#include <stdio.h>
#include <string.h>

static int find(const oks_db *db, const char *sql)
{
    for (int i = 0; i < db->n_prepared; i++) {
        if (db->prepared[i] == sql)
            return i;
    }
    return -1;
}

static int prepare(oks_db *db, const char *sql, int n_params, oks_err *err)
{
    char name[16];
    int i = db->n_prepared;
    snprintf(name, sizeof name, "oks_p%d", i);
    PGresult *res = PQprepare(db->pg, name, sql, n_params, NULL);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        oks_db__result_error(db, res, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    db->prepared[db->n_prepared++] = sql;
    return i;
}

static PGresult *run(oks_db *db, int i, int n_params, const char *const *values, oks_err *err)
{
    char name[16];
    snprintf(name, sizeof name, "oks_p%d", i);
    PGresult *res = PQexecPrepared(db->pg, name, n_params, values, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    oks_db__result_error(db, res, err);
    PQclear(res);
    return NULL;
}

PGresult *oks_db_exec_prepared(oks_db *db, const char *sql, int n_params, const char *const *values,
                               oks_err *err)
{
    db->sqlstate[0] = '\0';
    if (oks_db_ensure(db, err) != 0)
        return NULL;
    int i = find(db, sql);
    if (i < 0 && db->n_prepared == OKS_DB_MAX_PREPARED)
        return oks_db_exec_params(db, sql, n_params, values, err); /* table full: plan each call */
    if (i < 0 && (i = prepare(db, sql, n_params, err)) < 0)
        return NULL;
    PGresult *res = run(db, i, n_params, values, err);
    if (res || strcmp(db->sqlstate, "26000") != 0)
        return res;
    /* The server lost them: forget them all. Outside a transaction nothing was aborted, so
     * prepare this one again at once; inside, the caller's retry does. */
    db->n_prepared = 0;
    if (db->in_tx || (i = prepare(db, sql, n_params, err)) < 0)
        return NULL;
    return run(db, i, n_params, values, err);
}
