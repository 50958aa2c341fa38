/* Integration: connection errors, timeouts, reconnect, transactions, LISTEN/NOTIFY on the
 * stack's real PostgreSQL. */
#include "db_test_util.h"

#include "core/oks_time.h"
#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>

OKS_TEST(connection_refused_is_retriable)
{
    char url[128];
    snprintf(url, sizeof url, "postgresql://oktasync@127.0.0.1:%d/oktasync", dbt_closed_port());
    oks_err err = {0};
    oks_db_opts o = {.url = url, .connect_timeout_s = 2};
    OKS_ASSERT(oks_db_connect(&o, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    OKS_ASSERT(oks_errcode_is_retriable(err.code));
    OKS_ASSERT_CONTAINS(err.msg, "cannot connect to PostgreSQL");
}

OKS_TEST(syntax_error_is_permanent_with_sqlstate)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    char state[6];
    oks_errcode code = dbt_fails(db, "SELEC 1", state);
    OKS_ASSERT_EQ_INT(code, OKS_E_PERMANENT);
    OKS_ASSERT_EQ_STR(state, "42601");
    code = dbt_fails(db, "SELECT 'x'::int", state);
    OKS_ASSERT_EQ_INT(code, OKS_E_INVALID);
    /* the handle is still usable after an error */
    char *one = dbt_scalar(db, "SELECT 1");
    OKS_ASSERT_EQ_STR(one, "1");
    free(one);
    oks_db_close(db);
    free(url);
}

OKS_TEST(statement_timeout_is_retriable_timeout)
{
    char *url = oks_test_fresh_database();
    oks_err err = {0};
    oks_db_opts o = {.url = url, .statement_timeout_ms = 100};
    oks_db *db = oks_db_connect(&o, &err);
    OKS_ASSERT(db != NULL);
    OKS_ASSERT(oks_db_exec(db, "SELECT pg_sleep(3)", &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TIMEOUT);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "57014");
    oks_db_close(db);
    free(url);
}

/* A statement sent without waiting: send returns while the server works, the result comes after;
 * failures map as for oks_db_exec_params; the handle serves the next statement after each. */
OKS_TEST(sent_statement_result_and_failures)
{
    char *url = oks_test_fresh_database();
    oks_err err = {0};
    oks_db_opts o = {.url = url, .statement_timeout_ms = 1000};
    oks_db *db = oks_db_connect(&o, &err), *killer = dbt_connect(url);
    OKS_ASSERT(db != NULL);
    const char *p[] = {"41"};
    int64_t t0 = oks_now_mono_ms();
    OKS_ASSERT(oks_db_send_params(db, "SELECT pg_sleep(0.4), $1::int + 1", 1, p, &err) == 0);
    OKS_ASSERT(oks_now_mono_ms() - t0 < 300);
    PGresult *r = oks_db_result(db, &err);
    OKS_ASSERT(oks_now_mono_ms() - t0 >= 350);
    OKS_ASSERT(r != NULL);
    OKS_ASSERT_EQ_STR(PQgetvalue(r, 0, 1), "42");
    PQclear(r);
    /* a data error: OKS_E_INVALID with its SQLSTATE, the handle still usable */
    OKS_ASSERT(oks_db_send_params(db, "SELECT 1 / $1::int", 1, (const char *[]){"0"}, &err) == 0);
    OKS_ASSERT(oks_db_result(db, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "22012");
    /* the server's statement_timeout bounds the wait */
    OKS_ASSERT(oks_db_send_params(db, "SELECT pg_sleep(3)", 0, NULL, &err) == 0);
    OKS_ASSERT(oks_db_result(db, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TIMEOUT);
    /* the connection dies while the statement runs: retriable, and the next call reconnects */
    OKS_ASSERT(oks_db_send_params(db, "SELECT pg_sleep(0.5)", 0, NULL, &err) == 0);
    dbt_terminate(killer, db);
    OKS_ASSERT(oks_db_result(db, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    char *one = dbt_scalar(db, "SELECT 1");
    OKS_ASSERT_EQ_STR(one, "1");
    free(one);
    /* not inside a transaction (its result would be lost to the transaction's bookkeeping) */
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT(oks_db_send_params(db, "SELECT 1", 0, NULL, &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    oks_db_rollback(db);
    oks_db_close(killer);
    oks_db_close(db);
    free(url);
}

OKS_TEST(terminated_connection_is_retriable_then_reconnects)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url), *killer = dbt_connect(url);
    dbt_terminate(killer, db);
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(db, "SELECT 1", 0, NULL, &err);
    OKS_ASSERT(r == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(oks_db_reconnects(db), 0);
    char *one = dbt_scalar(db, "SELECT 1"); /* next call reconnects */
    OKS_ASSERT_EQ_STR(one, "1");
    OKS_ASSERT_EQ_INT(oks_db_reconnects(db), 1);
    free(one);
    oks_db_close(killer);
    oks_db_close(db);
    free(url);
}

OKS_TEST(connection_lost_in_transaction_needs_rollback)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url), *killer = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_exec(db, "CREATE TABLE t (x int)", &err) == 0);
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT(oks_db_exec(db, "INSERT INTO t VALUES (1)", &err) == 0);
    dbt_terminate(killer, db);
    OKS_ASSERT(oks_db_exec(db, "INSERT INTO t VALUES (2)", &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    /* no silent reconnect in the middle of a transaction */
    OKS_ASSERT(oks_db_exec(db, "INSERT INTO t VALUES (3)", &err) == -1);
    OKS_ASSERT_CONTAINS(err.msg, "inside a transaction");
    oks_db_rollback(db);
    OKS_ASSERT(!oks_db_in_transaction(db));
    char *n = dbt_scalar(db, "SELECT count(*) FROM t");
    OKS_ASSERT_EQ_STR(n, "0");
    free(n);
    oks_db_close(killer);
    oks_db_close(db);
    free(url);
}

OKS_TEST(commit_of_failed_transaction_reports_failure)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_exec(db, "CREATE TABLE t (x int PRIMARY KEY)", &err) == 0);
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT(oks_db_exec(db, "INSERT INTO t VALUES (1)", &err) == 0);
    OKS_ASSERT(oks_db_exec(db, "INSERT INTO t VALUES (1)", &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_CONFLICT);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "23505");
    OKS_ASSERT(oks_db_commit(db, &err) == -1);
    OKS_ASSERT_CONTAINS(err.msg, "rolled back");
    OKS_ASSERT(!oks_db_in_transaction(db));
    char *n = dbt_scalar(db, "SELECT count(*) FROM t");
    OKS_ASSERT_EQ_STR(n, "0");
    free(n);
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT(oks_db_exec(db, "INSERT INTO t VALUES (7)", &err) == 0);
    OKS_ASSERT(oks_db_commit(db, &err) == 0);
    n = dbt_scalar(db, "SELECT count(*) FROM t");
    OKS_ASSERT_EQ_STR(n, "1");
    free(n);
    oks_db_close(db);
    free(url);
}

OKS_TEST(deadlock_is_retriable)
{
    char *url = oks_test_fresh_database();
    oks_db *a = dbt_connect(url), *b = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_exec(a, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1),(2)",
                           &err) == 0);
    /* b detects the deadlock (short deadlock_timeout), a waits patiently */
    OKS_ASSERT(oks_db_exec(a, "SET deadlock_timeout = '20s'", &err) == 0);
    OKS_ASSERT(oks_db_exec(b, "SET deadlock_timeout = '50ms'", &err) == 0);
    OKS_ASSERT(oks_db_begin(a, &err) == 0 && oks_db_begin(b, &err) == 0);
    OKS_ASSERT(oks_db_exec(a, "UPDATE t SET id = id WHERE id = 1", &err) == 0);
    OKS_ASSERT(oks_db_exec(b, "UPDATE t SET id = id WHERE id = 2", &err) == 0);
    OKS_ASSERT(PQsendQuery(oks_db_pg(a), "UPDATE t SET id = id WHERE id = 2") == 1);
    OKS_ASSERT(oks_db_exec(b, "UPDATE t SET id = id WHERE id = 1", &err) == -1);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(b), "40P01");
    OKS_ASSERT_EQ_INT(err.code, OKS_E_TRANSIENT);
    OKS_ASSERT(oks_errcode_is_retriable(err.code));
    oks_db_rollback(b);
    PGresult *r;
    while ((r = PQgetResult(oks_db_pg(a))) != NULL)
        PQclear(r);
    oks_db_rollback(a);
    oks_db_close(a);
    oks_db_close(b);
    free(url);
}

OKS_TEST(wait_notify_times_out)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_listen(db, "nothing_here", &err) == 0);
    OKS_ASSERT_EQ_INT(oks_db_wait_notify(db, 150, NULL, 0, NULL, 0, &err), 0);
    OKS_ASSERT(oks_db_listen(db, "", &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    oks_db_close(db);
    free(url);
}

OKS_TEST(listen_survives_reconnect)
{
    char *url = oks_test_fresh_database();
    oks_db *l = dbt_connect(url), *other = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_listen(l, "Mixed Case", &err) == 0);
    dbt_terminate(other, l);
    OKS_ASSERT_EQ_INT(oks_db_wait_notify(l, 2000, NULL, 0, NULL, 0, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    OKS_ASSERT(oks_db_ensure(l, &err) == 0); /* reconnect re-issues LISTEN */
    OKS_ASSERT(oks_db_exec(other, "NOTIFY \"Mixed Case\", 'hello'", &err) == 0);
    char ch[64], payload[64];
    OKS_ASSERT_EQ_INT(oks_db_wait_notify(l, 5000, ch, sizeof ch, payload, sizeof payload, &err), 1);
    OKS_ASSERT_EQ_STR(ch, "Mixed Case");
    OKS_ASSERT_EQ_STR(payload, "hello");
    oks_db_close(other);
    oks_db_close(l);
    free(url);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
