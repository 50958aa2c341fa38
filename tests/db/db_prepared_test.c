/* Integration: prepared statements (oks_db_exec_prepared) on the stack's real PostgreSQL —
 * prepared once per connection, again after a reconnect or when the server lost them, never
 * remembered when the prepare failed, and still run when the handle's table is full. */
#include "db_test_util.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>

static const char add_sql[] = "SELECT $1::int + $2::int";

static long add(oks_db *db, const char *a, const char *b, oks_err *err)
{
    const char *p[] = {a, b};
    PGresult *r = oks_db_exec_prepared(db, add_sql, 2, p, err);
    if (!r)
        return -1;
    long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static long prepared_count(oks_db *db)
{
    char *n = dbt_scalar(db, "SELECT count(*) FROM pg_prepared_statements");
    long v = strtol(n, NULL, 10);
    free(n);
    return v;
}

OKS_TEST(prepared_once_per_connection)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(add(db, "1", "2", &err), 3);
    OKS_ASSERT_EQ_INT(add(db, "40", "2", &err), 42);
    OKS_ASSERT_EQ_INT(add(db, "-5", "5", &err), 0);
    OKS_ASSERT_EQ_INT(prepared_count(db), 1);
    oks_db_close(db);
    free(url);
}

/* Parsed once, planned for its parameters on every call: never a generic plan (oks_db.c,
 * open_pg). Without the connection's plan_cache_mode PostgreSQL switches this one to a generic
 * plan after five calls. */
OKS_TEST(planned_for_its_parameters_on_every_call)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    for (int i = 0; i < 8; i++)
        OKS_ASSERT_EQ_INT(add(db, "1", "2", &err), 3);
    char *plans = dbt_scalar(db, "SELECT generic_plans || '/' || custom_plans "
                                 "FROM pg_prepared_statements");
    OKS_ASSERT_EQ_STR(plans, "0/8");
    free(plans);
    oks_db_close(db);
    free(url);
}

OKS_TEST(an_error_in_execution_keeps_the_statement)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    static const char div_sql[] = "SELECT 10 / $1::int";
    const char *zero[] = {"0"}, *two[] = {"2"};
    OKS_ASSERT(oks_db_exec_prepared(db, div_sql, 1, zero, &err) == NULL);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "22012");
    PGresult *r = oks_db_exec_prepared(db, div_sql, 1, two, &err);
    OKS_ASSERT(r != NULL);
    OKS_ASSERT_EQ_STR(PQgetvalue(r, 0, 0), "5");
    PQclear(r);
    OKS_ASSERT_EQ_INT(prepared_count(db), 1);
    oks_db_close(db);
    free(url);
}

/* pg_terminate_backend from another session: the call on the dead connection fails retriable,
 * the next one reconnects and prepares again on the new connection. */
OKS_TEST(prepared_again_after_a_reconnect)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url), *killer = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(add(db, "1", "1", &err), 2);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(oks_db_pg(db)));
    free(dbt_scalar(killer, sql));
    long v = add(db, "2", "2", &err);
    if (v == -1) {
        OKS_ASSERT(oks_errcode_is_retriable(err.code));
        v = add(db, "2", "2", &err);
    }
    OKS_ASSERT_EQ_INT(v, 4);
    OKS_ASSERT_EQ_INT(oks_db_reconnects(db), 1);
    OKS_ASSERT_EQ_INT(prepared_count(db), 1);
    oks_db_close(killer);
    oks_db_close(db);
    free(url);
}

/* DEALLOCATE ALL (as DISCARD ALL or a pooler would): outside a transaction the statement is
 * prepared again at once; inside one the call fails retriable and the next transaction works. */
OKS_TEST(a_statement_the_server_lost_is_prepared_again)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(add(db, "1", "1", &err), 2);
    OKS_ASSERT(oks_db_exec(db, "DEALLOCATE ALL", &err) == 0);
    OKS_ASSERT_EQ_INT(add(db, "3", "4", &err), 7);
    OKS_ASSERT(oks_db_exec(db, "DEALLOCATE ALL", &err) == 0);
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT_EQ_INT(add(db, "3", "4", &err), -1);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "26000");
    OKS_ASSERT(oks_errcode_is_retriable(err.code));
    oks_db_rollback(db);
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT_EQ_INT(add(db, "5", "6", &err), 11);
    OKS_ASSERT(oks_db_commit(db, &err) == 0);
    oks_db_close(db);
    free(url);
}

/* A prepare refused in an aborted transaction is not remembered: after the rollback the
 * statement is prepared and runs. */
OKS_TEST(a_failed_prepare_is_not_remembered)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    char state[6];
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    dbt_fails(db, "SELECT 1 / 0", state);
    OKS_ASSERT_EQ_INT(add(db, "1", "2", &err), -1);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "25P02");
    oks_db_rollback(db);
    OKS_ASSERT_EQ_INT(add(db, "1", "2", &err), 3);
    OKS_ASSERT_EQ_INT(prepared_count(db), 1);
    oks_db_close(db);
    free(url);
}

/* More distinct statements than the handle remembers: the rest are planned on each call. */
OKS_TEST(more_statements_than_the_table_still_run)
{
    enum { N = 40 };
    static char texts[N][48];
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            snprintf(texts[i], sizeof texts[i], "SELECT %d + $1::int", i);
            const char *p[] = {"1000"};
            PGresult *r = oks_db_exec_prepared(db, texts[i], 1, p, &err);
            OKS_ASSERT(r != NULL);
            OKS_ASSERT_EQ_INT(strtol(PQgetvalue(r, 0, 0), NULL, 10), 1000 + i);
            PQclear(r);
        }
    }
    OKS_ASSERT_EQ_INT(prepared_count(db), 32);
    oks_db_close(db);
    free(url);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
