/*
 * Thin PostgreSQL (libpq) wrapper used by every program.
 *
 * - One oks_db per thread (libpq connections are not shared across threads).
 * - Errors are mapped to oks_err codes so callers can decide retry vs. dead-letter:
 *   connection loss, 40001 serialization failure, 40P01 deadlock, 57P0x shutdown, 53xxx out of
 *   resources, 55P03 lock timeout → retriable; 57014 statement timeout → OKS_E_TIMEOUT;
 *   23xxx constraint violations → OKS_E_CONFLICT; 22xxx data errors → OKS_E_INVALID;
 *   syntax / undefined object and anything else → OKS_E_PERMANENT.
 *   The SQLSTATE of the last failure is kept (oks_db_last_sqlstate) for finer decisions,
 *   e.g. "23505" unique violation.
 * - A broken connection is re-established at the next call made outside a transaction
 *   (oks_db_ensure). Inside a transaction the failure is reported and the caller rolls back
 *   and retries the whole unit, because the server already forgot the transaction.
 *
 * - statement_timeout is sent as the libpq "options" startup parameter. PgBouncer refuses
 *   that unless `ignore_startup_parameters = options`, and then drops it: behind PgBouncer set
 *   statement_timeout on the database role (ALTER ROLE ... SET statement_timeout) as well.
 *
 *     oks_db_opts o = {.url = cfg.database_url, .connect_timeout_s = 5,
 *                      .statement_timeout_ms = 10000, .application_name = "oktasync-worker"};
 *     oks_db *db = oks_db_connect(&o, &err);
 *     const char *p[] = {tenant_id};
 *     PGresult *r = oks_db_exec_params(db, "SELECT subdomain FROM tenants WHERE id=$1", 1, p,
 * &err);
 *     ... PQclear(r);
 */
#ifndef OKS_DB_H
#define OKS_DB_H

#include "core/oks_err.h"

#include <libpq-fe.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oks_db oks_db;

typedef struct oks_db_opts {
    const char *url;              /* libpq connection string or postgresql:// URL */
    int connect_timeout_s;        /* 0 → 5 s; libpq's minimum effective value is 2 s */
    int64_t statement_timeout_ms; /* 0 → no server-side limit (not recommended) */
    const char *application_name; /* shown in pg_stat_activity; may be NULL */
} oks_db_opts;

/* Connect. On failure returns NULL and err (OKS_E_UNAVAILABLE for unreachable/refused,
 * OKS_E_AUTH for authentication, OKS_E_INVALID for a malformed URL). */
oks_db *oks_db_connect(const oks_db_opts *opts, oks_err *err) __attribute__((warn_unused_result));
void oks_db_close(oks_db *db);

/* The raw connection, for libpq calls this wrapper does not cover. Borrowed; may change after
 * a reconnect, so do not keep it across calls. */
PGconn *oks_db_pg(oks_db *db);

/* Reconnect when the connection is bad (and re-issue LISTENs). No-op when healthy or inside a
 * transaction. 0 or -1 with OKS_E_UNAVAILABLE. */
int oks_db_ensure(oks_db *db, oks_err *err) __attribute__((warn_unused_result));

/* Number of successful reconnects since connect (for metrics and tests). */
uint64_t oks_db_reconnects(const oks_db *db);

/* Run one statement with text parameters ($1..$n; a NULL value is SQL NULL). Returns the
 * result (PGRES_COMMAND_OK or PGRES_TUPLES_OK; caller PQclear()s it) or NULL with err. */
PGresult *oks_db_exec_params(oks_db *db, const char *sql, int n_params, const char *const *values,
                             oks_err *err) __attribute__((warn_unused_result));

/* As oks_db_exec_params but with per-parameter lengths/formats (1 = binary, e.g. bytea) and a
 * result format (0 text, 1 binary). lengths/formats may be NULL (all text). */
PGresult *oks_db_exec_params_ex(oks_db *db, const char *sql, int n_params,
                                const char *const *values, const int *lengths, const int *formats,
                                int result_format, oks_err *err)
    __attribute__((warn_unused_result));

/* Send one statement as oks_db_exec_params does, without waiting for it: the caller does other
 * work while the server runs it, then takes its result with oks_db_result. Nothing else may use
 * the handle in between. Outside a transaction only. 0, or -1 with err (not sent). */
int oks_db_send_params(oks_db *db, const char *sql, int n_params, const char *const *values,
                       oks_err *err) __attribute__((warn_unused_result));
/* Wait for the result of the statement oks_db_send_params sent (bounded as every call is: the
 * server's statement_timeout and the connection's keepalives). As oks_db_exec_params. */
PGresult *oks_db_result(oks_db *db, oks_err *err) __attribute__((warn_unused_result));

/* Run SQL (may hold several statements when it has no parameters) and discard the result. */
int oks_db_exec(oks_db *db, const char *sql, oks_err *err) __attribute__((warn_unused_result));

/* A statement prepared by name on this connection (oks_db_prepared.c). PostgreSQL plans a
 * statement sent with parameters on every call; for one run often the planning can cost as much
 * as the run (the worker's apply; its small per-round lookups). Prepared on first use on each
 * connection and prepared again after max_uses runs or max_age_ms (0: never), so a plan made
 * while a table was small cannot outlive its growth by more than that. Named statements need a
 * session of their own: behind PgBouncer, session pooling (or 1.21+ with prepared-statement
 * support). */
typedef struct oks_db_stmt {
    const char *name; /* [a-z_]+, unique per connection; at most 16 per connection */
    const char *sql;
    int n_params;
    int64_t max_uses;
    int64_t max_age_ms;
} oks_db_stmt;

/* Run st with text parameters, planned as PostgreSQL's plan_cache_mode "auto" decides: custom
 * plans for its first five runs, then its generic plan (no planning) while that costs no more.
 * In or outside a transaction. One round trip (a pipeline: [DEALLOCATE, PREPARE,] EXECUTE).
 * Result as oks_db_exec_params. */
PGresult *oks_db_exec_prepared(oks_db *db, const oks_db_stmt *st, const char *const *values,
                               oks_err *err) __attribute__((warn_unused_result));

/* Run st from its generic plan always (plan_cache_mode force_generic_plan for this statement
 * only): for a statement whose custom plans always look cheaper because they fold its
 * parameters, though planning it costs more than the difference. Inside a transaction only (SET
 * LOCAL before the EXECUTE and back after it, in the same pipeline). */
PGresult *oks_db_exec_generic(oks_db *db, const oks_db_stmt *st, const char *const *values,
                              oks_err *err) __attribute__((warn_unused_result));

/* Runs of st on this connection since it was last prepared; -1 when not prepared here. */
int64_t oks_db_prepared_uses(const oks_db *db, const char *name);

/* Transactions. begin reconnects first when needed. rollback is safe to call after any failure
 * (also when the connection is gone) and always leaves the handle outside a transaction. */
int oks_db_begin(oks_db *db, oks_err *err) __attribute__((warn_unused_result));
int oks_db_commit(oks_db *db, oks_err *err) __attribute__((warn_unused_result));
void oks_db_rollback(oks_db *db);
bool oks_db_in_transaction(const oks_db *db);

/* SQLSTATE of the last failed statement ("" when none / not from the server). */
const char *oks_db_last_sqlstate(const oks_db *db);

/* Map a SQLSTATE to an error code (exposed for tests and callers with raw PGresults). */
oks_errcode oks_db_errcode_for_sqlstate(const char *sqlstate);

/* ---- LISTEN / NOTIFY ---- */

/* LISTEN on channel (an identifier, quoted safely). Remembered, and re-issued after a
 * reconnect; at most 8 channels per handle. */
int oks_db_listen(oks_db *db, const char *channel, oks_err *err)
    __attribute__((warn_unused_result));

/* Wait up to timeout_ms for one notification. Returns 1 and fills channel/payload
 * (truncated to their caps; either may be NULL), 0 on timeout, -1 with err when the
 * connection failed. After -1 (or a reconnect), notifications may have been missed: callers
 * must reload whatever they cache. */
int oks_db_wait_notify(oks_db *db, int timeout_ms, char *channel, size_t channel_cap, char *payload,
                       size_t payload_cap, oks_err *err) __attribute__((warn_unused_result));

/* ---- Migrations (oks_db_migrate.c) ---- */

/* Apply every migration not yet recorded in schema_migrations, in version order, one
 * transaction per file, under a session advisory lock so concurrent runners serialize.
 * dir NULL or "" → the migrations embedded into the binary at build time (a copy of
 * common/db/migrations); otherwise the NNNN_name.sql files in dir. A recorded migration whose
 * checksum differs from the file → OKS_E_CONFLICT naming the file. Safe to run again. */
int oks_db_migrate(oks_db *db, const char *dir, oks_err *err) __attribute__((warn_unused_result));
/* Same; *applied / *total (may be NULL) receive the number applied by this call and the
 * number of migrations known to this binary or directory. */
int oks_db_migrate_ex(oks_db *db, const char *dir, int *applied, int *total, oks_err *err)
    __attribute__((warn_unused_result));

/* One migration source (used for the embedded list). */
typedef struct oks_db_migration_src {
    const char *name; /* "0001_init.sql" */
    const char *sql;
} oks_db_migration_src;

extern const oks_db_migration_src oks_db_embedded_migrations[];
extern const size_t oks_db_embedded_migrations_count;

#endif
