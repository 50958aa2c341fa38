#include "oks_ingest_tenants.h"

#include "core/oks_log.h"
#include "core/oks_subdomain.h"
#include "core/oks_time.h"
#include "db/oks_db.h"
#include "oks_ingest_metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_SQL                                                                                   \
    "SELECT id::text, subdomain, webhook_secret_hash, webhook_secret_prev_hash, "                  \
    "(extract(epoch FROM webhook_secret_prev_expires_at) * 1000)::bigint FROM tenants"

typedef struct snapshot {
    size_t n;
    oks_ingest_tenant *items; /* sorted by subdomain */
} snapshot;

struct oks_ingest_tenants {
    char *url;
    int64_t poll_ms;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool loaded;
    pthread_rwlock_t lock;
    snapshot *snap; /* guarded by lock */
    oks_db *db;     /* loader thread only; NULL while PostgreSQL is unreachable */
};

static void snapshot_free(snapshot *s)
{
    if (!s)
        return;
    free(s->items);
    free(s);
}

static int cmp_tenant(const void *a, const void *b)
{
    return strcmp(((const oks_ingest_tenant *)a)->subdomain,
                  ((const oks_ingest_tenant *)b)->subdomain);
}

/* bytea (text format) → exactly 32 bytes, else false. */
static bool decode_hash(const PGresult *res, int row, int col, uint8_t out[OKS_CRYPTO_HASH_LEN])
{
    size_t n = 0;

    if (PQgetisnull(res, row, col))
        return false;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
    bool ok = raw && n == OKS_CRYPTO_HASH_LEN;
    if (ok)
        memcpy(out, raw, OKS_CRYPTO_HASH_LEN);
    PQfreemem(raw);
    return ok;
}

static bool row_to_tenant(const PGresult *res, int row, oks_ingest_tenant *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", PQgetvalue(res, row, 0));
    /* The table's CHECK is the subdomain rule (core/oks_subdomain.h): stored names are already
     * in the canonical lower-case form routing looks up. */
    const char *sub = PQgetvalue(res, row, 1);
    if (!oks_subdomain_valid(sub, strlen(sub), NULL, 0))
        return false;
    snprintf(t->subdomain, sizeof t->subdomain, "%s", sub);
    if (!decode_hash(res, row, 2, t->hash))
        return false;
    t->has_prev = decode_hash(res, row, 3, t->prev_hash);
    if (t->has_prev && !PQgetisnull(res, row, 4))
        t->prev_expires_ms = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    else
        t->has_prev = false; /* a previous secret without an expiry is not honoured */
    return true;
}

static int load(oks_ingest_tenants *tc, oks_err *err)
{
    int rc = -1;
    snapshot *s = NULL;
    PGresult *res = oks_db_exec_params(tc->db, LOAD_SQL, 0, NULL, err);

    if (!res) {
        oks_err_wrap(err, "loading tenants");
        goto out;
    }
    int rows = PQntuples(res);
    s = calloc(1, sizeof(*s));
    if (!s || !(s->items = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*s->items)))) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        goto out;
    }
    for (int r = 0; r < rows; r++) {
        if (row_to_tenant(res, r, &s->items[s->n]))
            s->n++;
        else
            OKS_LOG_WARN("tenant %s has an unusable subdomain or webhook secret hash; ignored",
                         PQgetvalue(res, r, 0));
    }
    qsort(s->items, s->n, sizeof(*s->items), cmp_tenant);
    pthread_rwlock_wrlock(&tc->lock);
    snapshot *old = tc->snap;
    tc->snap = s;
    pthread_rwlock_unlock(&tc->lock);
    snapshot_free(old);
    s = NULL;
    if (oks_ingest_m.tenants)
        oks_gauge_set(oks_ingest_m.tenants, (double)rows);
    if (!atomic_exchange(&tc->loaded, true))
        OKS_LOG_INFO("tenant cache loaded: %d tenants", rows);
    rc = 0;
out:
    snapshot_free(s);
    PQclear(res);
    return rc;
}

static int connect_and_listen(oks_ingest_tenants *tc, oks_err *err)
{
    oks_db_opts o = {.url = tc->url,
                     .connect_timeout_s = 3,
                     .statement_timeout_ms = 5000,
                     .application_name = "oktasync-ingest"};
    tc->db = oks_db_connect(&o, err);
    if (!tc->db)
        return -1;
    if (oks_db_listen(tc->db, "oktasync_tenants", err) != 0) {
        oks_db_close(tc->db);
        tc->db = NULL;
        return -1;
    }
    return 0;
}

/* Sleep up to ms in short slices so stop is noticed quickly. */
static void pause_ms(oks_ingest_tenants *tc, int64_t ms)
{
    for (int64_t t = 0; t < ms && !atomic_load(&tc->stop); t += 100)
        oks_sleep_ms(100);
}

/* Wait for a notification or until the poll interval passes; -1 when the connection broke
 * (oks_db reconnects and LISTENs again at the next call). */
static int wait_notify(oks_ingest_tenants *tc, oks_err *err)
{
    int64_t until = oks_now_mono_ms() + tc->poll_ms;

    while (!atomic_load(&tc->stop) && oks_now_mono_ms() < until) {
        /* short slices so stop is noticed quickly */
        int rc = oks_db_wait_notify(tc->db, 200, NULL, 0, NULL, 0, err);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    return 0;
}

static void *loader_main(void *arg)
{
    oks_ingest_tenants *tc = arg;
    oks_err err = {0};

    while (!atomic_load(&tc->stop)) {
        if (!tc->db && connect_and_listen(tc, &err) != 0) {
            OKS_LOG_WARN("tenant cache: %s (serving the cached tenants)", err.msg);
            pause_ms(tc, tc->poll_ms);
            continue;
        }
        if (load(tc, &err) != 0) {
            OKS_LOG_WARN("tenant cache: %s (serving the cached tenants)", err.msg);
            pause_ms(tc, tc->poll_ms);
            continue;
        }
        if (wait_notify(tc, &err) != 0)
            OKS_LOG_WARN("tenant cache: %s; reconnecting", err.msg);
    }
    oks_db_close(tc->db);
    tc->db = NULL;
    return NULL;
}

oks_ingest_tenants *oks_ingest_tenants_start(const char *database_url, int64_t poll_ms,
                                             oks_err *err)
{
    oks_ingest_tenants *tc = calloc(1, sizeof(*tc));

    if (!tc || !(tc->url = strdup(database_url))) {
        free(tc);
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    tc->poll_ms = poll_ms;
    pthread_rwlock_init(&tc->lock, NULL);
    if (pthread_create(&tc->thread, NULL, loader_main, tc) != 0) {
        pthread_rwlock_destroy(&tc->lock);
        free(tc->url);
        free(tc);
        oks_err_set(err, OKS_E_NOMEM, "cannot start the tenant loader thread");
        return NULL;
    }
    return tc;
}

void oks_ingest_tenants_stop(oks_ingest_tenants *tc)
{
    if (!tc)
        return;
    atomic_store(&tc->stop, true);
    pthread_join(tc->thread, NULL);
    snapshot_free(tc->snap);
    pthread_rwlock_destroy(&tc->lock);
    free(tc->url);
    free(tc);
}

bool oks_ingest_tenants_loaded(oks_ingest_tenants *tc)
{
    return atomic_load(&tc->loaded);
}

bool oks_ingest_tenants_wait_loaded(oks_ingest_tenants *tc, int64_t timeout_ms)
{
    int64_t until = oks_now_mono_ms() + timeout_ms;

    while (!atomic_load(&tc->loaded) && oks_now_mono_ms() < until)
        oks_sleep_ms(20);
    return atomic_load(&tc->loaded);
}

bool oks_ingest_tenants_lookup(oks_ingest_tenants *tc, const char *subdomain,
                               oks_ingest_tenant *out)
{
    oks_ingest_tenant key;
    bool found = false;

    snprintf(key.subdomain, sizeof(key.subdomain), "%s", subdomain);
    pthread_rwlock_rdlock(&tc->lock);
    if (tc->snap) {
        const oks_ingest_tenant *t =
            bsearch(&key, tc->snap->items, tc->snap->n, sizeof(key), cmp_tenant);
        if (t) {
            *out = *t;
            found = true;
        }
    }
    pthread_rwlock_unlock(&tc->lock);
    return found;
}

bool oks_ingest_tenant_authorized(const oks_ingest_tenant *t, const char *authorization,
                                  int64_t now_wall_ms)
{
    uint8_t h[OKS_CRYPTO_HASH_LEN];

    if (!authorization || !authorization[0])
        return false;
    oks_crypto_secret_hash(authorization, h);
    /* Both comparisons always run so timing does not reveal which secret matched. */
    bool cur = oks_crypto_hash_equal(h, t->hash);
    bool prev = t->has_prev && oks_crypto_hash_equal(h, t->prev_hash);
    bool prev_valid = prev && now_wall_ms < t->prev_expires_ms;
    return cur || prev_valid;
}
