/* Benchmark: one batch of N users through oks_worker_apply_batch_run_tx (the reconciler's and
 * the full sync's apply) with plain user fields vs with the product's rules (department teams,
 * managers across the batch, three custom fields, team mode, auto-invite), in one run on one
 * database. Each repeat uses fresh tenants; prints the median of create and update passes.
 *   oktasync-bench-worker-rules --database-url URL [--users 10000] [--repeat 3]
 * URL: a database this program may migrate and fill (bench/worker/rules/run makes one). */
#include "core/oks_time.h"
#include "db/oks_db.h"
#include "oks_worker_apply_batch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static oks_db *db;

static void die(const char *what, const oks_err *err)
{
    fprintf(stderr, "bench-rules: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static char *tenant(int rules, int k)
{
    char sub[64], q[512];
    snprintf(sub, sizeof sub, "bench-%s-%d-%d", rules ? "rules" : "plain", k, (int)getpid());
    snprintf(q, sizeof q,
             "INSERT INTO tenants (subdomain, webhook_secret_hash, auto_invite, manager_mode) "
             "VALUES ($1, decode(repeat('00', 32), 'hex'), %s, '%s') RETURNING id",
             rules ? "true" : "false", rules ? "team" : "individual");
    const char *p[] = {sub};
    oks_err err = {0};
    PGresult *r = oks_db_exec_params(db, q, 1, p, &err);
    if (!r)
        die("tenant", &err);
    char *id = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (rules) {
        const char *pp[] = {id};
        r = oks_db_exec_params(db,
                               "INSERT INTO custom_fields (tenant_id, name) VALUES ($1::uuid, "
                               "'costCenter'), ($1::uuid, 'badge'), ($1::uuid, 'site')",
                               1, pp, &err);
        if (!r)
            die("custom fields", &err);
        PQclear(r);
    }
    return id;
}

/* profile of user i: plain fields, plus department / manager / custom attributes when rules */
static json_t *profile(int i, int rules, int gen)
{
    char email[64], mgr[32], dep[32], cc[32];
    snprintf(email, sizeof email, "user%d@bench.test", i);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "email", email, "login", email,
                          "firstName", "First", "lastName", gen ? "Last2" : "Last", "title",
                          "Engineer", "city", "Paris", "locale", "fr_FR");
    if (rules) {
        snprintf(dep, sizeof dep, "Dept %d", (i + gen) % 50);
        snprintf(cc, sizeof cc, "CC-%d", (i + gen) % 200);
        json_object_set_new(p, "department", json_string(dep));
        json_object_set_new(p, "costCenter", json_string(cc));
        json_object_set_new(p, "badge", json_integer(i));
        json_object_set_new(p, "site", json_string("HQ"));
        if (i > 0) {
            snprintf(mgr, sizeof mgr, "00ub%07d", (i - 1) / 10);
            json_object_set_new(p, "managerId", json_string(mgr));
        }
    }
    return p;
}

static double run_batch(const char *t, int n, int rules, int gen, oks_worker_apply_result *res)
{
    oks_worker_state *st = calloc((size_t)n, sizeof *st);
    oks_okta_user *u = calloc((size_t)n, sizeof *u);
    char(*ids)[16] = calloc((size_t)n, sizeof *ids);
    if (!st || !u || !ids)
        die("out of memory", NULL);
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "00ub%07d", i);
        u[i].id = ids[i];
        u[i].profile = profile(i, rules, gen);
        st[i] = (oks_worker_state){.okta_id = ids[i],
                                   .status = "active",
                                   .user = &u[i],
                                   .app_assigned = 1,
                                   .as_of_ms = 1764547200000 + gen * 1000};
    }
    oks_err err = {0};
    int64_t t0 = oks_now_mono_ms();
    if (oks_db_begin(db, &err) != 0 ||
        oks_worker_apply_batch_run_tx(db, t, st, (size_t)n, "full_sync", "bench", 0, res, &err) !=
            0 ||
        oks_db_commit(db, &err) != 0)
        die("apply", &err);
    double ms = (double)(oks_now_mono_ms() - t0);
    for (int i = 0; i < n; i++)
        json_decref(u[i].profile);
    free(st);
    free(u);
    free(ids);
    return ms;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    int n = 10000, repeat = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--database-url") && i + 1 < argc)
            url = argv[++i];
        else if (!strcmp(argv[i], "--users") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--help")) {
            printf("Usage: oktasync-bench-worker-rules --database-url URL [--users N] "
                   "[--repeat R]\n");
            return 0;
        } else {
            fprintf(stderr, "oktasync-bench-worker-rules: unknown option %s (see --help)\n",
                    argv[i]);
            return 2;
        }
    }
    if (!url || n < 1 || n > 1000000 || repeat < 1 || repeat > 50) {
        fprintf(stderr, "bench-rules: --database-url is required (see --help)\n");
        return 2;
    }
    oks_err err = {0};
    oks_db_opts o = {.url = url, .connect_timeout_s = 5, .statement_timeout_ms = 600000};
    db = oks_db_connect(&o, &err);
    if (!db)
        die("connect", &err);
    if (oks_db_migrate(db, NULL, &err) != 0)
        die("migrate", &err);
    if (getenv("OKS_BENCH_EXPLAIN")) { /* slow statements' plans go to the server log */
        PGresult *x = oks_db_exec_params(db, "LOAD 'auto_explain'", 0, NULL, &err);
        PQclear(x);
        x = oks_db_exec_params(db, "SET auto_explain.log_min_duration = 200", 0, NULL, &err);
        PQclear(x);
        x = oks_db_exec_params(db, "SET auto_explain.log_analyze = on", 0, NULL, &err);
        PQclear(x);
        x = oks_db_exec_params(db, "SET auto_explain.log_buffers = on", 0, NULL, &err);
        PQclear(x);
    }
    double m[2][2][50]; /* [rules][create|update][repeat] */
    oks_worker_apply_result res[2];
    for (int k = 0; k < repeat; k++)
        for (int rules = 0; rules < 2; rules++) {
            char *t = tenant(rules, k);
            m[rules][0][k] = run_batch(t, n, rules, 0, &res[rules]);
            m[rules][1][k] = run_batch(t, n, rules, 1, &res[rules]);
            free(t);
        }
    double med[2][2];
    for (int r = 0; r < 2; r++)
        for (int p = 0; p < 2; p++) {
            qsort(m[r][p], (size_t)repeat, sizeof(double), cmp);
            med[r][p] = m[r][p][repeat / 2];
        }
    printf("users=%d repeat=%d (median ms of one batch in one transaction)\n", n, repeat);
    printf("create: plain %.0f ms, rules %.0f ms, ratio %.2f\n", med[0][0], med[1][0],
           med[1][0] / med[0][0]);
    printf("update: plain %.0f ms, rules %.0f ms, ratio %.2f (department moved, custom field "
           "changed for every user)\n",
           med[0][1], med[1][1], med[1][1] / med[0][1]);
    printf("last update with rules: written %ld, custom values %ld, managers %ld, memberships "
           "%ld, invitations %ld\n",
           res[1].written, res[1].custom_values, res[1].managers, res[1].memberships,
           res[1].invitations);
    oks_db_close(db);
    return 0;
}
