#include "oks_worker_dedupe.h"

#include "core/oks_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

int oks_worker_dedupe_init(oks_worker_dedupe *d, const char *url, int64_t timeout_ms, int64_t ttl_s,
                           oks_err *err)
{
    memset(d, 0, sizeof *d);
    d->port = 6379;
    d->timeout_ms = timeout_ms;
    d->ttl_s = ttl_s;
    if (!url || strncasecmp(url, "redis://", 8) != 0)
        return oks_err_set(err, OKS_E_INVALID, "redis url must start with redis://");
    const char *h = url + 8;
    size_t hl = strcspn(h, ":/");
    if (hl == 0 || hl >= sizeof d->host)
        return oks_err_set(err, OKS_E_INVALID, "redis url has no host");
    memcpy(d->host, h, hl);
    d->host[hl] = '\0';
    const char *p = h + hl;
    char num[16];
    int64_t v;
    if (*p == ':') {
        size_t n = strcspn(p + 1, "/");
        if (n == 0 || n >= sizeof num)
            return oks_err_set(err, OKS_E_INVALID, "redis url has a bad port");
        memcpy(num, p + 1, n);
        num[n] = '\0';
        if (!oks_parse_int64(num, &v) || v < 1 || v > 65535)
            return oks_err_set(err, OKS_E_INVALID, "redis url has a bad port");
        d->port = (int)v;
        p += 1 + n;
    }
    if (*p == '/' && p[1]) {
        if (!oks_parse_int64(p + 1, &v) || v < 0 || v > 1000)
            return oks_err_set(err, OKS_E_INVALID, "redis url has a bad database number");
        d->db = (int)v;
    }
    return 0;
}

static void drop(oks_worker_dedupe *d)
{
    if (d->rc)
        redisFree(d->rc);
    d->rc = NULL;
}

void oks_worker_dedupe_close(oks_worker_dedupe *d)
{
    drop(d);
}

static redisReply *command(oks_worker_dedupe *d, oks_err *err, const char *fmt, ...);

static int connect_redis(oks_worker_dedupe *d, oks_err *err)
{
    struct timeval tv = {.tv_sec = d->timeout_ms / 1000, .tv_usec = (d->timeout_ms % 1000) * 1000};
    d->rc = redisConnectWithTimeout(d->host, d->port, tv);
    if (!d->rc || d->rc->err) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "redis connect %s:%d: %s", d->host, d->port,
                    d->rc ? d->rc->errstr : "out of memory");
        drop(d);
        return -1;
    }
    if (redisSetTimeout(d->rc, tv) != REDIS_OK) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "redis set timeout failed");
        drop(d);
        return -1;
    }
    if (d->db != 0) {
        redisReply *r = command(d, err, "SELECT %d", d->db);
        if (!r)
            return -1;
        freeReplyObject(r);
    }
    return 0;
}

static redisReply *command(oks_worker_dedupe *d, oks_err *err, const char *fmt, ...)
{
    if (!d->rc && connect_redis(d, err) != 0)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(d->rc, fmt, ap);
    va_end(ap);
    if (!r) {
        oks_err_set(err, OKS_E_UNAVAILABLE, "redis: %s", d->rc->errstr);
        drop(d); /* a hiredis context is unusable after an I/O error */
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        oks_err_set(err, OKS_E_TRANSIENT, "redis: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
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
    redisReply *r = command(d, err, "EXISTS %s", key);
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
    redisReply *r = command(d, err, "SET %s 1 NX EX %lld", key, (long long)d->ttl_s);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}
