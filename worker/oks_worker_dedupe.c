#include "oks_worker_dedupe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oks_worker_dedupe_init(oks_worker_dedupe *d, const char *url, int64_t timeout_ms, int64_t ttl_s,
                           oks_err *err)
{
    memset(d, 0, sizeof *d);
    d->ttl_s = ttl_s;
    d->r = oks_redis_new(url, (int)timeout_ms, (int)timeout_ms, err);
    return d->r ? 0 : -1;
}

void oks_worker_dedupe_close(oks_worker_dedupe *d)
{
    if (d->r) {
        oks_err ignored = {0};
        (void)oks_redis_settle(d->r,
                               &ignored); /* the last marks' replies: bounded by the timeout */
        oks_redis_free(d->r);
    }
    d->r = NULL;
}

void oks_worker_dedupe_key(const char *tenant, const char *event_uuid, char *buf, size_t cap)
{
    snprintf(buf, cap, "oks:dedupe:%s:%s", tenant, event_uuid);
}

int oks_worker_dedupe_seen(oks_worker_dedupe *d, const char *tenant, const char *event_uuid,
                           bool *seen, oks_err *err)
{
    char key[400];
    oks_worker_dedupe_key(tenant, event_uuid, key, sizeof key);
    redisReply *r = oks_redis_command(d->r, err, "EXISTS %s", key);
    if (!r)
        return -1;
    *seen = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return 0;
}

int oks_worker_dedupe_mark(oks_worker_dedupe *d, const char *tenant, const char *event_uuid,
                           oks_err *err)
{
    char key[400];
    oks_worker_dedupe_key(tenant, event_uuid, key, sizeof key);
    redisReply *r = oks_redis_command(d->r, err, "SET %s 1 NX EX %lld", key, (long long)d->ttl_s);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}

enum { KEY_MAX = 400 };

/* argv = prefix args, then one key per event; keys live in one block. */
static int build_argv(size_t n, size_t pre, const char *const *tenants,
                      const char *const *event_uuids, const char ***argv_out, char **keys_out,
                      oks_err *err)
{
    const char **argv = calloc(n + pre + 1, sizeof *argv);
    char *keys = malloc(n * KEY_MAX + 1);
    if (!argv || !keys) {
        free(argv);
        free(keys);
        return oks_err_set(err, OKS_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        oks_worker_dedupe_key(tenants[i], event_uuids[i], keys + i * KEY_MAX, KEY_MAX);
        argv[pre + i] = keys + i * KEY_MAX;
    }
    *argv_out = argv;
    *keys_out = keys;
    return 0;
}

int oks_worker_dedupe_seen_many(oks_worker_dedupe *d, size_t n, const char *const *tenants,
                                const char *const *event_uuids, bool *seen, oks_err *err)
{
    if (n == 0)
        return 0;
    const char **argv;
    char *keys;
    if (build_argv(n, 1, tenants, event_uuids, &argv, &keys, err) != 0)
        return -1;
    argv[0] = "MGET";
    int rc = -1;
    redisReply *r = oks_redis_command_argv(d->r, err, (int)(n + 1), argv, NULL);
    if (!r)
        goto out;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        oks_err_set(err, OKS_E_TRANSIENT, "MGET: unexpected reply");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        seen[i] = r->element[i]->type != REDIS_REPLY_NIL;
    rc = 0;
out:
    if (r)
        freeReplyObject(r);
    free(argv);
    free(keys);
    return rc;
}

int oks_worker_dedupe_mark_many(oks_worker_dedupe *d, size_t n, const char *const *tenants,
                                const char *const *event_uuids, oks_err *err)
{
    static const char script[] = "for i, k in ipairs(KEYS) do "
                                 "redis.call('SET', k, '1', 'NX', 'EX', ARGV[1]) end return #KEYS";
    if (n == 0)
        return 0;
    const char **argv;
    char *keys;
    if (build_argv(n, 3, tenants, event_uuids, &argv, &keys, err) != 0)
        return -1;
    char nkeys[24], ttl[24];
    snprintf(nkeys, sizeof nkeys, "%zu", n);
    snprintf(ttl, sizeof ttl, "%lld", (long long)d->ttl_s);
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = nkeys;
    argv[n + 3] = ttl;
    int rc = oks_redis_send_argv(d->r, err, (int)(n + 4), argv, NULL);
    free(argv);
    free(keys);
    return rc;
}

unsigned oks_worker_dedupe_failed_marks(oks_worker_dedupe *d, oks_err *last)
{
    return oks_redis_deferred_failures(d->r, last);
}
