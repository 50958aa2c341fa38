/* libpq wrapper: connection with timeouts, error mapping, transactions, reconnect. */
#include "db/oks_db_internal.h"

#include "core/oks_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

oks_errcode oks_db_errcode_for_sqlstate(const char *s)
{
    if (!s || strlen(s) != 5)
        return OKS_E_PERMANENT;
    if (strncmp(s, "08", 2) == 0) /* connection exception */
        return OKS_E_UNAVAILABLE;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0) /* serialization, deadlock */
        return OKS_E_TRANSIENT;
    if (strcmp(s, "57014") == 0) /* query_canceled: statement_timeout */
        return OKS_E_TIMEOUT;
    if (strncmp(s, "57P0", 4) == 0) /* admin/crash shutdown, cannot connect now */
        return OKS_E_UNAVAILABLE;
    if (strncmp(s, "53", 2) == 0 || strcmp(s, "55P03") == 0) /* resources, lock_not_available */
        return OKS_E_TRANSIENT;
    if (strcmp(s, "55006") == 0) /* object_in_use */
        return OKS_E_TRANSIENT;
    if (strncmp(s, "23", 2) == 0) /* integrity constraint violation */
        return OKS_E_CONFLICT;
    if (strncmp(s, "22", 2) == 0) /* data exception: bad input value */
        return OKS_E_INVALID;
    if (strncmp(s, "28", 2) == 0) /* invalid authorization */
        return OKS_E_AUTH;
    if (strcmp(s, "42501") == 0) /* insufficient_privilege */
        return OKS_E_FORBIDDEN;
    return OKS_E_PERMANENT; /* syntax errors, undefined objects, everything else */
}

/* libpq messages end with "\n" and may span lines; keep the log one line. */
void oks_db__one_line(const char *in, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; in && in[i] && j + 1 < cap; i++)
        out[j++] = (in[i] == '\n' || in[i] == '\r' || in[i] == '\t') ? ' ' : in[i];
    while (j > 0 && out[j - 1] == ' ')
        j--;
    out[j] = '\0';
}

/* NOTICEs ("relation already exists, skipping") would otherwise go raw to stderr and break
 * the JSON-lines log format. */
static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    char line[512];
    oks_db__one_line(message, line, sizeof line);
    OKS_LOG_DEBUG("postgres notice: %s", line);
}

static oks_errcode classify_connect_failure(PGconn *pg)
{
    const char *m = pg ? PQerrorMessage(pg) : "";
    if (pg && PQconnectionNeedsPassword(pg))
        return OKS_E_AUTH;
    if (strstr(m, "authentication failed") || strstr(m, "no pg_hba.conf entry"))
        return OKS_E_AUTH;
    return OKS_E_UNAVAILABLE;
}

static PGconn *open_pg(const oks_db *db, oks_err *err)
{
    char timeout[32], options[128];
    snprintf(timeout, sizeof timeout, "%d", db->connect_timeout_s);
    /* jit=off: our statements are short batch writes whose CTE row estimates run high (a
     * recursive walk is estimated at thousands of rows); above jit_above_cost PostgreSQL spent
     * ~100 ms compiling each one, more than the statement itself (docs/benchmarks.md "Full
     * sync"). random_page_cost=1.1: our reads are key lookups into data that lives in memory
     * or on SSD; at the default 4 the planner preferred hashing a seq scan of a whole table
     * (all tenants' team memberships) over 200 index probes for a 200-user batch. */
    snprintf(options, sizeof options,
             "-c statement_timeout=%lld -c jit=off -c random_page_cost=1.1",
             (long long)db->statement_timeout_ms);
    /* Keepalives make a silently dead server (power loss, partition) show up as an error in a
     * LISTEN wait instead of a hang. */
    const char *keys[] = {"dbname",
                          "connect_timeout",
                          "options",
                          "application_name",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          NULL};
    const char *vals[] = {db->url, timeout, options, db->app_name, "1", "30", "10", "3", NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory creating a PostgreSQL connection");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[200];
        oks_db__one_line(PQerrorMessage(pg), msg, sizeof msg);
        oks_err_set(err, classify_connect_failure(pg), "cannot connect to PostgreSQL: %s", msg);
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, notice_to_log, NULL);
    return pg;
}

oks_db *oks_db_connect(const oks_db_opts *opts, oks_err *err)
{
    oks_db *db = NULL;
    char *perr = NULL;
    if (!opts || !opts->url || !*opts->url) {
        oks_err_set(err, OKS_E_INVALID, "database URL is empty");
        goto fail;
    }
    PQconninfoOption *parsed = PQconninfoParse(opts->url, &perr);
    if (!parsed) {
        char msg[160];
        oks_db__one_line(perr ? perr : "out of memory", msg, sizeof msg);
        oks_err_set(err, OKS_E_INVALID, "invalid database URL: %s", msg);
        goto fail;
    }
    PQconninfoFree(parsed);
    db = calloc(1, sizeof *db);
    if (!db || !(db->url = strdup(opts->url)) ||
        !(db->app_name = strdup(opts->application_name ? opts->application_name : "oktasync"))) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto fail;
    }
    db->connect_timeout_s = opts->connect_timeout_s > 0 ? opts->connect_timeout_s : 5;
    db->statement_timeout_ms = opts->statement_timeout_ms > 0 ? opts->statement_timeout_ms : 0;
    db->pg = open_pg(db, err);
    if (!db->pg)
        goto fail;
    return db;
fail:
    PQfreemem(perr);
    oks_db_close(db);
    return NULL;
}

void oks_db_close(oks_db *db)
{
    if (!db)
        return;
    if (db->pg)
        PQfinish(db->pg);
    for (int i = 0; i < db->n_channels; i++)
        free(db->channels[i]);
    free(db->url);
    free(db->app_name);
    free(db);
}

PGconn *oks_db_pg(oks_db *db)
{
    return db->pg;
}

uint64_t oks_db_reconnects(const oks_db *db)
{
    return db->reconnects;
}

bool oks_db_in_transaction(const oks_db *db)
{
    return db->in_tx;
}

const char *oks_db_last_sqlstate(const oks_db *db)
{
    return db->sqlstate;
}

int oks_db_ensure(oks_db *db, oks_err *err)
{
    if (db->pg && PQstatus(db->pg) == CONNECTION_OK)
        return 0;
    if (db->in_tx)
        return oks_err_set(err, OKS_E_UNAVAILABLE,
                           "PostgreSQL connection lost inside a transaction; roll back and retry");
    PGconn *pg = open_pg(db, err);
    if (!pg)
        return -1;
    if (db->pg)
        PQfinish(db->pg);
    db->pg = pg;
    db->reconnects++;
    OKS_LOG_WARN("reconnected to PostgreSQL (reconnect #%llu)", (unsigned long long)db->reconnects);
    return oks_db__relisten(db, err);
}

/* Turn a failed result into err; the connection state decides retriable vs. not when the
 * server could not send a SQLSTATE. */
void oks_db__result_error(oks_db *db, const PGresult *res, oks_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[200];
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", state ? state : "");
    oks_db__one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(db->pg), msg, sizeof msg);
    if (!*msg)
        oks_db__one_line(PQerrorMessage(db->pg), msg, sizeof msg);
    oks_errcode code = oks_db_errcode_for_sqlstate(state);
    if (PQstatus(db->pg) != CONNECTION_OK)
        code = OKS_E_UNAVAILABLE;
    else if (!state && !res)
        code = OKS_E_UNAVAILABLE;
    oks_err_set(err, code, "postgres%s%s: %s", state ? " " : "", state ? state : "", msg);
}

/* res if it succeeded, else NULL with err (res freed). */
static PGresult *checked(oks_db *db, PGresult *res, oks_err *err)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    oks_db__result_error(db, res, err);
    PQclear(res);
    return NULL;
}

PGresult *oks_db_exec_params_ex(oks_db *db, const char *sql, int n_params,
                                const char *const *values, const int *lengths, const int *formats,
                                int result_format, oks_err *err)
{
    db->sqlstate[0] = '\0';
    if (oks_db_ensure(db, err) != 0)
        return NULL;
    return checked(
        db, PQexecParams(db->pg, sql, n_params, NULL, values, lengths, formats, result_format),
        err);
}

PGresult *oks_db_exec_params(oks_db *db, const char *sql, int n_params, const char *const *values,
                             oks_err *err)
{
    return oks_db_exec_params_ex(db, sql, n_params, values, NULL, NULL, 0, err);
}

int oks_db_send_params(oks_db *db, const char *sql, int n_params, const char *const *values,
                       oks_err *err)
{
    db->sqlstate[0] = '\0';
    if (db->in_tx)
        return oks_err_set(err, OKS_E_INVALID, "oks_db_send_params inside a transaction");
    if (oks_db_ensure(db, err) != 0)
        return -1;
    if (PQsendQueryParams(db->pg, sql, n_params, NULL, values, NULL, NULL, 0) == 1)
        return 0;
    oks_db__result_error(db, NULL, err);
    return -1;
}

PGresult *oks_db_result(oks_db *db, oks_err *err)
{
    /* one statement, so one result, then NULL (read too: the connection is free after it) */
    PGresult *res = NULL, *next;
    while ((next = PQgetResult(db->pg)) != NULL) {
        if (!res)
            res = next;
        else
            PQclear(next);
    }
    return checked(db, res, err);
}

int oks_db_exec(oks_db *db, const char *sql, oks_err *err)
{
    db->sqlstate[0] = '\0';
    if (oks_db_ensure(db, err) != 0)
        return -1;
    /* PQexec (not PQexecParams) so a migration file with many statements runs as one call. */
    PGresult *res = PQexec(db->pg, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        oks_db__result_error(db, res, err);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

int oks_db_begin(oks_db *db, oks_err *err)
{
    if (db->in_tx)
        return oks_err_set(err, OKS_E_PERMANENT, "BEGIN while a transaction is open (bug)");
    if (oks_db_exec(db, "BEGIN", err) != 0)
        return -1;
    db->in_tx = true;
    return 0;
}

int oks_db_commit(oks_db *db, oks_err *err)
{
    if (!db->in_tx)
        return oks_err_set(err, OKS_E_PERMANENT, "COMMIT without a transaction (bug)");
    db->sqlstate[0] = '\0';
    PGresult *res = PQexec(db->pg, "COMMIT");
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    db->in_tx = false;
    /* COMMIT of an aborted transaction "succeeds" with status ROLLBACK: treat it as failure. */
    if (st != PGRES_COMMAND_OK) {
        oks_db__result_error(db, res, err);
        rc = -1;
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        oks_err_set(err, OKS_E_PERMANENT, "transaction was rolled back by an earlier error");
        rc = -1;
    }
    PQclear(res);
    return rc;
}

void oks_db_rollback(oks_db *db)
{
    db->in_tx = false;
    if (!db->pg || PQstatus(db->pg) != CONNECTION_OK)
        return; /* the server discards the transaction with the connection */
    PGresult *res = PQexec(db->pg, "ROLLBACK");
    PQclear(res);
}
