/* Integration: the migration runner (idempotence, concurrency, checksums, failures). */
#include "db_test_util.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    OKS_ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
}

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/oks-migrate-XXXXXX";
    char *d = mkdtemp(tmpl);
    OKS_ASSERT(d != NULL);
    return strdup(d);
}

static void remove_dir(char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    OKS_ASSERT(system(cmd) == 0);
    free(dir);
}

OKS_TEST(embedded_matches_source_directory)
{
    /* The built-in copy and common/db/migrations must be the same files: migrating with one
     * and then the other applies nothing the second time (checksums equal). */
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    int applied = -1, total = -1;
    OKS_ASSERT(oks_db_migrate_ex(db, NULL, &applied, &total, &err) == 0);
    OKS_ASSERT(total >= 1);
    OKS_ASSERT_EQ_INT(applied, total);
    OKS_ASSERT(oks_db_migrate_ex(db, OKS_MIGRATIONS_DIR, &applied, &total, &err) == 0);
    OKS_ASSERT_EQ_INT(applied, 0);
    OKS_ASSERT_EQ_INT(total, (long long)oks_db_embedded_migrations_count);
    oks_db_close(db);
    free(url);
}

OKS_TEST(migrate_twice_is_idempotent)
{
    char *url = oks_test_fresh_database();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    int applied = -1, total = -1;
    OKS_ASSERT(oks_db_migrate_ex(db, NULL, &applied, &total, &err) == 0);
    OKS_ASSERT_EQ_INT(applied, total);
    OKS_ASSERT(oks_db_migrate_ex(db, NULL, &applied, &total, &err) == 0);
    OKS_ASSERT_EQ_INT(applied, 0);
    char *n = dbt_scalar(db, "SELECT count(*) FROM schema_migrations");
    OKS_ASSERT_EQ_INT(atoi(n), total);
    free(n);
    n = dbt_scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'tenants'");
    OKS_ASSERT_EQ_STR(n, "1");
    free(n);
    oks_db_close(db);
    free(url);
}

/* Child: wait for the parent's go signal, migrate, exit 0 on success. */
static void child_migrate(const char *url, int go_fd)
{
    char c;
    if (read(go_fd, &c, 1) < 0)
        _exit(3);
    oks_err err = {0};
    oks_db_opts o = {.url = url, .connect_timeout_s = 5, .statement_timeout_ms = 30000};
    oks_db *db = oks_db_connect(&o, &err);
    int rc = db && oks_db_migrate(db, NULL, &err) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "child migrate failed: %s\n", err.msg);
    oks_db_close(db);
    _exit(rc);
}

OKS_TEST(concurrent_migrate_from_two_processes)
{
    char *url = oks_test_fresh_database();
    int go[2];
    OKS_ASSERT(pipe(go) == 0);
    pid_t pids[2];
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        OKS_ASSERT(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            child_migrate(url, go[0]);
        }
    }
    close(go[0]);
    close(go[1]); /* both children's read() returns now: they start together */
    for (int i = 0; i < 2; i++) {
        int status = 0;
        OKS_ASSERT(waitpid(pids[i], &status, 0) == pids[i]);
        OKS_ASSERT(WIFEXITED(status));
        OKS_ASSERT_EQ_INT(WEXITSTATUS(status), 0);
    }
    oks_db *db = dbt_connect(url);
    char *n = dbt_scalar(db, "SELECT count(*) FROM schema_migrations");
    OKS_ASSERT_EQ_INT(atoi(n), (long long)oks_db_embedded_migrations_count);
    free(n);
    oks_db_close(db);
    free(url);
}

OKS_TEST(changed_applied_migration_is_a_clear_error)
{
    char *url = oks_test_fresh_database(), *dir = temp_dir();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    write_file(dir, "0001_first.sql", "CREATE TABLE a (x int);\n");
    OKS_ASSERT(oks_db_migrate(db, dir, &err) == 0);
    write_file(dir, "0001_first.sql", "CREATE TABLE a (x bigint);\n");
    write_file(dir, "0002_second.sql", "CREATE TABLE b (x int);\n");
    OKS_ASSERT(oks_db_migrate(db, dir, &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_CONFLICT);
    OKS_ASSERT_CONTAINS(err.msg, "0001_first.sql was changed after it was applied");
    /* nothing newer was applied either */
    char *n = dbt_scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'b'");
    OKS_ASSERT_EQ_STR(n, "0");
    free(n);
    oks_db_close(db);
    remove_dir(dir);
    free(url);
}

OKS_TEST(failed_migration_rolls_back_and_is_retried_later)
{
    char *url = oks_test_fresh_database(), *dir = temp_dir();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    int applied = 0;
    write_file(dir, "0001_ok.sql", "CREATE TABLE a (x int);\n");
    write_file(dir, "0002_bad.sql", "CREATE TABLE b (x int);\nCREATE TABLE c (x nosuchtype);\n");
    OKS_ASSERT(oks_db_migrate_ex(db, dir, &applied, NULL, &err) == -1);
    OKS_ASSERT_EQ_INT(applied, 1);
    OKS_ASSERT_CONTAINS(err.msg, "migration 0002_bad.sql");
    OKS_ASSERT_EQ_INT(err.code, OKS_E_PERMANENT);
    char *n = dbt_scalar(db, "SELECT count(*) FROM pg_tables WHERE tablename IN ('b', 'c')");
    OKS_ASSERT_EQ_STR(n, "0");
    free(n);
    n = dbt_scalar(db, "SELECT string_agg(name, ',') FROM schema_migrations");
    OKS_ASSERT_EQ_STR(n, "0001_ok.sql");
    free(n);
    write_file(dir, "0002_bad.sql", "CREATE TABLE b (x int);\n"); /* fixed before it applied */
    OKS_ASSERT(oks_db_migrate_ex(db, dir, &applied, NULL, &err) == 0);
    OKS_ASSERT_EQ_INT(applied, 1);
    oks_db_close(db);
    remove_dir(dir);
    free(url);
}

OKS_TEST(bad_migration_directories)
{
    char *url = oks_test_fresh_database(), *dir = temp_dir();
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_migrate(db, dir, &err) == -1); /* empty */
    OKS_ASSERT_CONTAINS(err.msg, "no migrations found");
    OKS_ASSERT(oks_db_migrate(db, "/nonexistent/oks", &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    write_file(dir, "1_Bad Name.sql", "SELECT 1;\n");
    OKS_ASSERT(oks_db_migrate(db, dir, &err) == -1);
    OKS_ASSERT_CONTAINS(err.msg, "1_Bad Name.sql");
    remove_dir(dir);
    dir = temp_dir();
    write_file(dir, "0001_a.sql", "SELECT 1;\n");
    write_file(dir, "001_b.sql", "SELECT 1;\n");
    OKS_ASSERT(oks_db_migrate(db, dir, &err) == -1);
    write_file(dir, "README.md", "ignored\n");
    remove_dir(dir);
    dir = temp_dir();
    write_file(dir, "0001_a.sql", "SELECT 1;\n");
    write_file(dir, "00001_b.sql", "SELECT 1;\n");
    OKS_ASSERT(oks_db_migrate(db, dir, &err) == -1);
    OKS_ASSERT_CONTAINS(err.msg, "share version 1");
    oks_db_close(db);
    remove_dir(dir);
    free(url);
}

OKS_TEST(users_active_before_rules_get_first_active_at)
{
    /* 0006: a user active before 0004 has first_active_at = created_at (else the next write
     * would take them for newly active and invite them); other users are left as they are. */
    char *url = oks_test_fresh_database(), *dir = temp_dir();
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s'/000[1-5]_*.sql '%s'/", OKS_MIGRATIONS_DIR, dir);
    OKS_ASSERT(system(cmd) == 0);
    oks_db *db = dbt_connect(url);
    oks_err err = {0};
    OKS_ASSERT(oks_db_migrate(db, dir, &err) == 0);
    char *t = dbt_tenant(db, "backfill");
    char sql[1024];
    snprintf(sql, sizeof sql,
             "WITH i AS (INSERT INTO users (tenant_id, okta_id, status, created_at, "
             "first_active_at) VALUES ('%s', 'old_active', 'active', '2020-01-02T03:04:05Z', "
             "NULL), ('%s', 'old_deactivated', 'deactivated', '2020-01-02Z', NULL), "
             "('%s', 'seen', 'active', '2020-01-02Z', '2021-06-07T00:00:00Z') RETURNING 1) "
             "SELECT count(*) FROM i",
             t, t, t);
    char *n = dbt_scalar(db, sql);
    OKS_ASSERT_EQ_INT(atoi(n), 3);
    free(n);
    OKS_ASSERT(oks_db_migrate(db, OKS_MIGRATIONS_DIR, &err) == 0);
    n = dbt_scalar(db, "SELECT string_agg(okta_id || '=' || coalesce(to_char(first_active_at AT "
                       "TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), 'null'), ',' ORDER BY okta_id) "
                       "FROM users");
    OKS_ASSERT_EQ_STR(n, "old_active=2020-01-02 03:04:05,old_deactivated=null,"
                         "seen=2021-06-07 00:00:00");
    free(n);
    free(t);
    oks_db_close(db);
    remove_dir(dir);
    free(url);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
