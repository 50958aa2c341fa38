/*
 * Versioned migrations: NNNN_name.sql applied in version order, each in its own transaction
 * together with its schema_migrations row, so a file is either fully applied and recorded or
 * not at all. A session advisory lock serializes concurrent runners (two replicas starting at
 * once): the second waits, then sees everything recorded and applies nothing.
 */
#include "db/oks_db_internal.h"

#include "core/oks_log.h"
#include "crypto/oks_crypto.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary constant shared by every oktasync migrator ("oks1"). */
#define MIGRATE_LOCK_KEY "1869312817"
#define MAX_MIGRATIONS 1000
#define MAX_FILE_BYTES (4 * 1024 * 1024)

typedef struct mig {
    int version;
    char name[128];
    char *sql;
    bool owned; /* sql was read from a file (free it) */
    char checksum[2 * OKS_CRYPTO_HASH_LEN + 1];
} mig;

typedef struct mig_list {
    mig *v;
    int n, cap;
} mig_list;

static void list_free(mig_list *l)
{
    for (int i = 0; i < l->n; i++)
        if (l->v[i].owned)
            free(l->v[i].sql);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* "0001_init.sql" → 1. Names must be 4+ digits, '_', [a-z0-9_]+, ".sql". */
static bool parse_name(const char *name, int *version)
{
    size_t len = strlen(name), i = 0;
    long v = 0;
    if (len < 10 || len >= sizeof(((mig *)0)->name) || strcmp(name + len - 4, ".sql") != 0)
        return false;
    for (; i < len && isdigit((unsigned char)name[i]); i++)
        v = v * 10 + (name[i] - '0');
    if (i < 4 || i > 6 || name[i] != '_' || i + 1 >= len - 4)
        return false;
    for (size_t j = i + 1; j < len - 4; j++)
        if (!islower((unsigned char)name[j]) && !isdigit((unsigned char)name[j]) && name[j] != '_')
            return false;
    *version = (int)v;
    return v > 0;
}

static int list_add(mig_list *l, const char *name, char *sql, bool owned, oks_err *err)
{
    int version = 0;
    if (!parse_name(name, &version)) {
        if (owned)
            free(sql);
        return oks_err_set(err, OKS_E_INVALID,
                           "migration file name \"%s\" is not NNNN_lowercase_name.sql", name);
    }
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        mig *nv = cap <= MAX_MIGRATIONS ? realloc(l->v, (size_t)cap * sizeof *nv) : NULL;
        if (!nv) {
            if (owned)
                free(sql);
            return oks_err_set(err, OKS_E_NOMEM, "too many migrations or out of memory");
        }
        l->v = nv;
        l->cap = cap;
    }
    mig *m = &l->v[l->n++];
    memset(m, 0, sizeof *m);
    m->version = version;
    snprintf(m->name, sizeof m->name, "%s", name);
    m->sql = sql;
    m->owned = owned;
    uint8_t sum[OKS_CRYPTO_HASH_LEN];
    oks_crypto_sha256(sql, strlen(sql), sum);
    oks_crypto_hex(sum, sizeof sum, m->checksum, sizeof m->checksum);
    return 0;
}

static char *read_file(const char *path, oks_err *err)
{
    char *buf = NULL, *result = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        oks_err_set(err, OKS_E_INVALID, "cannot open %s", path);
        goto out;
    }
    buf = malloc(MAX_FILE_BYTES + 1);
    if (!buf) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    size_t n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    if (ferror(f) || n > MAX_FILE_BYTES || memchr(buf, '\0', n)) {
        oks_err_set(err, OKS_E_INVALID, "cannot read %s (error, NUL byte or over 4 MiB)", path);
        goto out;
    }
    buf[n] = '\0';
    result = buf;
    buf = NULL;
out:
    free(buf);
    if (f)
        fclose(f);
    return result;
}

static int load_dir(const char *dir, mig_list *l, oks_err *err)
{
    int rc = -1;
    DIR *d = opendir(dir);
    if (!d)
        return oks_err_set(err, OKS_E_INVALID, "cannot open migrations directory %s", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 4, ".sql") != 0)
            continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path) {
            oks_err_set(err, OKS_E_INVALID, "migration path too long");
            goto out;
        }
        char *sql = read_file(path, err);
        if (!sql || list_add(l, de->d_name, sql, true, err) != 0)
            goto out;
    }
    rc = 0;
out:
    closedir(d);
    return rc;
}

static int by_version(const void *a, const void *b)
{
    const mig *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static int load(const char *dir, mig_list *l, oks_err *err)
{
    if (dir && *dir) {
        if (load_dir(dir, l, err) != 0)
            return -1;
    } else {
        for (size_t i = 0; i < oks_db_embedded_migrations_count; i++)
            if (list_add(l, oks_db_embedded_migrations[i].name,
                         (char *)oks_db_embedded_migrations[i].sql, false, err) != 0)
                return -1;
    }
    if (l->n == 0)
        return oks_err_set(err, OKS_E_INVALID, "no migrations found in %s",
                           dir && *dir ? dir : "the built-in set");
    qsort(l->v, (size_t)l->n, sizeof *l->v, by_version);
    for (int i = 1; i < l->n; i++)
        if (l->v[i].version == l->v[i - 1].version)
            return oks_err_set(err, OKS_E_INVALID, "migrations %s and %s share version %d",
                               l->v[i - 1].name, l->v[i].name, l->v[i].version);
    return 0;
}

static const char CREATE_TABLE_SQL[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version integer PRIMARY KEY,"
                                       " name text NOT NULL,"
                                       " checksum text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

/* Every recorded migration must match the file of the same version byte for byte. */
static int verify_recorded(oks_db *db, const mig_list *l, bool *recorded, oks_err *err)
{
    PGresult *r = oks_db_exec_params(
        db, "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0, NULL, err);
    if (!r)
        return oks_err_wrap(err, "reading schema_migrations");
    int rc = 0;
    for (int row = 0; row < PQntuples(r) && rc == 0; row++) {
        int version = atoi(PQgetvalue(r, row, 0));
        const mig *m = NULL;
        for (int i = 0; i < l->n; i++)
            if (l->v[i].version == version) {
                m = &l->v[i];
                recorded[i] = true;
            }
        if (!m) {
            /* Applied by a newer release: harmless for this binary, worth a warning. */
            OKS_LOG_WARN("database has migration %s that this binary does not know",
                         PQgetvalue(r, row, 1));
            continue;
        }
        if (strcmp(m->checksum, PQgetvalue(r, row, 2)) != 0)
            rc = oks_err_set(err, OKS_E_CONFLICT,
                             "migration %s was changed after it was applied (checksum %.12s, "
                             "recorded %.12s); never edit an applied migration, add a new one",
                             m->name, m->checksum, PQgetvalue(r, row, 2));
    }
    PQclear(r);
    return rc;
}

static int apply_one(oks_db *db, const mig *m, oks_err *err)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *p[] = {version, m->name, m->checksum};
    if (oks_db_begin(db, err) != 0)
        goto fail;
    if (oks_db_exec(db, m->sql, err) != 0)
        goto fail;
    PGresult *r = oks_db_exec_params(
        db, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3, p,
        err);
    if (!r)
        goto fail;
    PQclear(r);
    if (oks_db_commit(db, err) != 0)
        goto fail;
    OKS_LOG_INFO("applied migration %s", m->name);
    return 0;
fail:
    oks_db_rollback(db);
    return oks_err_wrap(err, "migration %s", m->name);
}

static int run_locked(oks_db *db, const mig_list *l, int *applied, oks_err *err)
{
    int rc = -1;
    bool *recorded = calloc((size_t)l->n, sizeof *recorded);
    if (!recorded)
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    if (oks_db_exec(db, CREATE_TABLE_SQL, err) != 0)
        goto out;
    if (verify_recorded(db, l, recorded, err) != 0)
        goto out;
    for (int i = 0; i < l->n; i++) {
        if (recorded[i])
            continue;
        if (apply_one(db, &l->v[i], err) != 0)
            goto out;
        (*applied)++;
    }
    rc = 0;
out:
    free(recorded);
    return rc;
}

int oks_db_migrate_ex(oks_db *db, const char *dir, int *applied, int *total, oks_err *err)
{
    int rc = -1, n_applied = 0;
    bool locked = false;
    mig_list l = {0};
    if (oks_db_in_transaction(db)) {
        oks_err_set(err, OKS_E_PERMANENT, "migrate called inside a transaction (bug)");
        goto out;
    }
    if (load(dir, &l, err) != 0)
        goto out;
    PGresult *r =
        oks_db_exec_params(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, err);
    if (!r) {
        oks_err_wrap(err, "waiting for the migration lock");
        goto out;
    }
    PQclear(r);
    locked = true;
    rc = run_locked(db, &l, &n_applied, err);
out:
    if (locked) {
        /* Not through oks_db_exec: that would reconnect, and a lost connection has released
         * the lock already. */
        if (PQstatus(db->pg) == CONNECTION_OK)
            PQclear(PQexec(db->pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    }
    if (applied)
        *applied = n_applied;
    if (total)
        *total = l.n;
    list_free(&l);
    return rc;
}

int oks_db_migrate(oks_db *db, const char *dir, oks_err *err)
{
    return oks_db_migrate_ex(db, dir, NULL, NULL, err);
}
