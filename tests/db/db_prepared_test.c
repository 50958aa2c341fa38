/* Integration: oks_db_exec_generic and oks_db_exec_prepared on the stack's real PostgreSQL. A
 * statement is prepared once per connection; the generic one runs from a generic plan with
 * plan_cache_mode back to its default after, the other as "auto" plans it, in or outside a
 * transaction; both are made again after max_uses runs, max_age_ms, or a reconnect, and a
 * failure in the middle leaves the handle knowing what the server has. */
#include "db_test_util.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const oks_db_stmt LOOKUP = {.name = "t_lookup",
                                   .sql = "SELECT 10 / b FROM t WHERE a = $1::int",
                                   .n_params = 1,
                                   .max_uses = 3};

static oks_db *table(char **url)
{
    *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(*url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_exec(db,
                           "CREATE TABLE t (a int PRIMARY KEY, b int);"
                           "INSERT INTO t SELECT g, g % 3 FROM generate_series(1, 100) g",
                           &err) == 0);
    return db;
}

/* "runs from a generic plan/from a custom plan prepare_time" of the statement on db's own
 * session (counted since its PREPARE) */
static char *plans(oks_db *db, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT generic_plans || '/' || custom_plans || ' ' || prepare_time "
             "FROM pg_prepared_statements WHERE name = '%s'",
             name);
    return dbt_scalar(db, sql);
}

static char *run_as(oks_db *db, const oks_db_stmt *st, const char *a, bool generic, oks_err *err)
{
    const char *p[] = {a};
    PGresult *r =
        generic ? oks_db_exec_generic(db, st, p, err) : oks_db_exec_prepared(db, st, p, err);
    if (!r)
        return NULL;
    char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return v;
}

static char *run(oks_db *db, const oks_db_stmt *st, const char *a, oks_err *err)
{
    return run_as(db, st, a, true, err);
}

static void expect_as(oks_db *db, const oks_db_stmt *st, const char *a, bool generic,
                      const char *want)
{
    oks_err err = {0};
    char *v = run_as(db, st, a, generic, &err);
    if (!v)
        fprintf(stderr, "# %s\n", err.msg);
    OKS_ASSERT(v != NULL);
    OKS_ASSERT_EQ_STR(v, want);
    free(v);
}

static void expect(oks_db *db, const oks_db_stmt *st, const char *a, const char *want)
{
    expect_as(db, st, a, true, want);
}

OKS_TEST(a_statement_runs_from_one_generic_plan_and_is_made_again_after_max_uses)
{
    char *url;
    oks_db *db = table(&url);
    oks_err err = {0};
    OKS_ASSERT(run(db, &LOOKUP, "1", &err) == NULL); /* only inside a transaction */
    OKS_ASSERT_CONTAINS(err.msg, "outside a transaction");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_lookup"), -1);

    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    expect(db, &LOOKUP, "1", "10");
    char *first = plans(db, "t_lookup");
    OKS_ASSERT(strncmp(first, "1/0 ", 4) == 0); /* generic, never a custom plan */
    char *mode = dbt_scalar(db, "SHOW plan_cache_mode");
    OKS_ASSERT_EQ_STR(mode, "auto"); /* back for the transaction's other statements */
    free(mode);
    expect(db, &LOOKUP, "2", "5");
    expect(db, &LOOKUP, "4", "10");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_lookup"), 3);
    char *same = plans(db, "t_lookup");
    OKS_ASSERT(strncmp(same, "3/0 ", 4) == 0); /* three runs of the generic plan */
    OKS_ASSERT_EQ_STR(same + 4, first + 4);    /* of one PREPARE */
    free(same);
    expect(db, &LOOKUP, "5", "5"); /* the fourth: prepared and planned again */
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_lookup"), 1);
    char *again = plans(db, "t_lookup");
    OKS_ASSERT(strncmp(again, "1/0 ", 4) == 0);
    OKS_ASSERT(strcmp(again + 4, first + 4) != 0); /* a later prepare_time */
    free(again);
    free(first);
    OKS_ASSERT(oks_db_commit(db, &err) == 0);

    /* max_age_ms: made again once it has passed, whatever the uses */
    oks_db_stmt aged = LOOKUP;
    aged.name = "t_aged";
    aged.max_uses = 0;
    aged.max_age_ms = 200;
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    expect(db, &aged, "1", "10");
    expect(db, &aged, "1", "10");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_aged"), 2);
    usleep(300 * 1000);
    expect(db, &aged, "1", "10");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_aged"), 1);
    OKS_ASSERT(oks_db_commit(db, &err) == 0);
    oks_db_close(db);
    free(url);
}

OKS_TEST(a_failed_run_keeps_what_the_server_has_and_a_reconnect_prepares_again)
{
    char *url;
    oks_db *db = table(&url);
    oks_db *killer = dbt_connect(url);
    oks_err err = {0};
    /* the first call's EXECUTE fails (10 / 0) after its PREPARE succeeded */
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT(run(db, &LOOKUP, "3", &err) == NULL);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "22012");
    oks_db_rollback(db);
    /* prepared statements outlive the rollback: the next call must not PREPARE again */
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    expect(db, &LOOKUP, "1", "10");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_lookup"), 1);
    /* a bad statement: its PREPARE fails, nothing is left, the handle stays usable */
    oks_db_stmt bad = {.name = "t_bad", .sql = "SELEC 1", .n_params = 0, .max_uses = 3};
    OKS_ASSERT(oks_db_exec_generic(db, &bad, NULL, &err) == NULL);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "42601");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_bad"), -1);
    oks_db_rollback(db);
    char *n = dbt_scalar(db, "SELECT count(*) FROM pg_prepared_statements");
    OKS_ASSERT_EQ_STR(n, "1");
    free(n);

    /* a new connection has no prepared statements: prepared again there */
    dbt_terminate(killer, db);
    OKS_ASSERT(oks_db_begin(db, &err) == -1); /* the loss is seen ... */
    OKS_ASSERT(oks_db_begin(db, &err) == 0);  /* ... and the next call reconnects */
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_lookup"), -1);
    expect(db, &LOOKUP, "2", "5");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_lookup"), 1);
    OKS_ASSERT(oks_db_commit(db, &err) == 0);
    oks_db_close(killer);
    oks_db_close(db);
    free(url);
}

OKS_TEST(a_prepared_statement_is_planned_as_auto_decides_in_or_outside_a_transaction)
{
    char *url;
    oks_db *db = table(&url);
    oks_err err = {0};
    oks_db_stmt st = LOOKUP;
    st.name = "t_auto";
    st.max_uses = 8;
    /* outside a transaction: PostgreSQL's five custom plans, then its generic plan */
    for (int i = 0; i < 7; i++)
        expect_as(db, &st, "1", false, "10");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_auto"), 7);
    char *counts = plans(db, "t_auto");
    OKS_ASSERT(strncmp(counts, "2/5 ", 4) == 0);
    char *mode = dbt_scalar(db, "SHOW plan_cache_mode");
    OKS_ASSERT_EQ_STR(mode, "auto"); /* nothing was SET */
    free(mode);
    /* inside one, the same statement: no PREPARE again, and the transaction sees its writes */
    OKS_ASSERT(oks_db_begin(db, &err) == 0);
    OKS_ASSERT(oks_db_exec(db, "UPDATE t SET b = 5 WHERE a = 1", &err) == 0);
    expect_as(db, &st, "1", false, "2");
    oks_db_rollback(db);
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_auto"), 8);
    /* the ninth run: prepared again (max_uses), custom plans again */
    expect_as(db, &st, "1", false, "10");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_auto"), 1);
    char *again = plans(db, "t_auto");
    OKS_ASSERT(strncmp(again, "0/1 ", 4) == 0);
    OKS_ASSERT(strcmp(again + 4, counts + 4) != 0);
    free(again);
    free(counts);

    /* a failed run outside a transaction (10 / 0) leaves the statement and the handle usable */
    OKS_ASSERT(run_as(db, &st, "3", false, &err) == NULL);
    OKS_ASSERT_EQ_STR(oks_db_last_sqlstate(db), "22012");
    OKS_ASSERT(!oks_db_in_transaction(db));
    expect_as(db, &st, "2", false, "5");
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_auto"), 2);

    /* a lost connection: the next call outside a transaction reconnects and prepares again */
    oks_db *killer = dbt_connect(url);
    dbt_terminate(killer, db);
    OKS_ASSERT(run_as(db, &st, "1", false, &err) == NULL); /* the loss is seen ... */
    expect_as(db, &st, "1", false, "10");                  /* ... and the next call recovers */
    OKS_ASSERT_EQ_INT(oks_db_prepared_uses(db, "t_auto"), 1);
    OKS_ASSERT_EQ_INT(oks_db_reconnects(db), 1);
    oks_db_close(killer);
    oks_db_close(db);
    free(url);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
