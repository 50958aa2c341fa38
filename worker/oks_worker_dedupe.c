#include "oks_worker_dedupe.h"

#include <stdio.h>
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
    if (d->r)
        oks_redis_free(d->r);
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
