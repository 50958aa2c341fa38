/* What the intake's tenant check costs when the cache holds the answer (the common case), by how
 * many tenants it holds. In a scratch schema of the given database it makes a `tenants` table of
 * --tenants ids, asks once for all of them (so every id is cached), then times --batches checks
 * of 500 ids drawn from them, as the intake asks per batch, with no query. One line:
 *
 *   tenants=N batches=B ns_per_batch=X ns_per_id=Y
 *
 * The schema is dropped at the end. Exit 0; 1 when the database fails; 2 on bad usage. */
#include "core/oks_config.h"
#include "core/oks_time.h"
#include "db/oks_db.h"
#include "oks_worker_intake_tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { BATCH = 500 };

typedef struct tc_cfg {
    char *database_url;
    int64_t tenants, batches;
} tc_cfg;

static const oks_cfg_entry entries[] = {
    OKS_CFG_STR("database-url", tc_cfg, database_url, "", OKS_CFG_REQUIRED,
                "PostgreSQL URL (a scratch schema is made there and dropped)"),
    OKS_CFG_INT("tenants", tc_cfg, tenants, "4096", 1, OKS_WORKER_TENANTS_MAX,
                "tenants cached (the cache holds at most 4096)"),
    OKS_CFG_INT("batches", tc_cfg, batches, "20000", 1, 10000000, "checks of 500 ids timed"),
};
static const oks_cfg_program program = OKS_CFG_PROGRAM(
    "oktasync-bench-tenant-cache",
    "Times the worker intake's tenant check from its cache: 500 ids a check, by the number of "
    "tenants cached.",
    NULL, entries);

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int run(oks_db *db, const tc_cfg *cfg, const char *schema, oks_err *err)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE SCHEMA %s; SET search_path = %s; CREATE TABLE tenants (id uuid PRIMARY KEY); "
             "INSERT INTO tenants SELECT gen_random_uuid() FROM generate_series(1, %lld)",
             schema, schema, (long long)cfg->tenants);
    if (oks_db_exec(db, sql, err) != 0)
        return -1;
    PGresult *r = oks_db_exec_params(db, "SELECT id::text FROM tenants", 0, NULL, err);
    if (!r)
        return -1;
    size_t n = (size_t)PQntuples(r);
    char **ids = calloc(n, sizeof *ids);
    const char **q = calloc(n > BATCH ? n : BATCH, sizeof *q);
    bool *exists = calloc(n > BATCH ? n : BATCH, sizeof *exists);
    oks_worker_intake_tenants c = {0};
    int rc = -1;
    if (!ids || !q || !exists) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        q[i] = ids[i] = strdup(PQgetvalue(r, (int)i, 0));
    if (oks_worker_intake_tenants_check(&c, db, n, q, exists, err) != 0) /* cache them all */
        goto out;
    srand(1);
    int64_t spent = 0, found = 0;
    for (int64_t b = 0; b < cfg->batches; b++) {
        for (size_t i = 0; i < BATCH; i++)
            q[i] = ids[(size_t)rand() % n];
        int64_t t0 = now_ns();
        if (oks_worker_intake_tenants_check(&c, db, BATCH, q, exists, err) != 0)
            goto out;
        spent += now_ns() - t0;
        for (size_t i = 0; i < BATCH; i++)
            found += exists[i];
    }
    if (found != cfg->batches * BATCH) {
        oks_err_set(err, OKS_E_PERMANENT, "%lld of %lld ids not found", (long long)found,
                    (long long)(cfg->batches * BATCH));
        goto out;
    }
    printf("tenants=%zu batches=%lld ns_per_batch=%lld ns_per_id=%.1f\n", n,
           (long long)cfg->batches, (long long)(spent / cfg->batches),
           (double)spent / (double)(cfg->batches * BATCH));
    rc = 0;
out:
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
    free(q);
    free(exists);
    oks_worker_intake_tenants_free(&c);
    PQclear(r);
    return rc;
}

int main(int argc, char **argv)
{
    tc_cfg cfg = {0};
    oks_err err = {0};
    oks_cfg_result cr = oks_cfg_load(&program, &cfg, argc, argv, NULL, NULL, &err);
    if (cr == OKS_CFG_EXIT)
        return 0;
    if (cr == OKS_CFG_ERROR) {
        fprintf(stderr, "oktasync-bench-tenant-cache: %s\n", err.msg);
        return 2;
    }
    oks_db_opts o = {.url = cfg.database_url, .statement_timeout_ms = 60000};
    oks_db *db = oks_db_connect(&o, &err);
    int rc = 1;
    if (db) {
        char schema[64];
        snprintf(schema, sizeof schema, "oks_bench_tc_%ld", (long)getpid());
        rc = run(db, &cfg, schema, &err) == 0 ? 0 : 1;
        char drop[128];
        oks_err ignored = {0};
        snprintf(drop, sizeof drop, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        if (oks_db_exec(db, drop, &ignored) != 0)
            fprintf(stderr, "oktasync-bench-tenant-cache: %s\n", ignored.msg);
        oks_db_close(db);
    }
    if (rc != 0)
        fprintf(stderr, "oktasync-bench-tenant-cache: %s\n", err.msg);
    oks_cfg_free(&program, &cfg);
    return rc;
}
