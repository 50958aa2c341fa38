/*
 * Per-Okta-org request budget shared by every worker process through Redis, so N workers
 * together stay under what one org allows (okta-reference §5):
 *   - rate: a sorted set per (org, bucket) holding one member per request sent in the last
 *     60 s (score = Redis TIME in ms). A request may go when fewer than
 *     floor(limit * fraction) members remain, where limit is the X-Rate-Limit-Limit any process
 *     last observed for that bucket (hash "limits"). A sliding minute bounds every fixed
 *     minute too, whatever Okta's (unsynchronised) window boundaries are.
 *   - concurrency: a sorted set per org of in-flight leases (score = expiry ms). A crashed
 *     worker's lease simply expires, so slots cannot leak.
 * Both checks and both inserts happen in one Lua script, so they are atomic across processes.
 * Connection handling (URL, timeouts, AUTH/SELECT, reconnect) is common/redis.
 */
#include "okta/oks_okta_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/oks_log.h"
#include "core/oks_signal.h"
#include "core/oks_time.h"
#include "redis/oks_redis.h"

struct oks_okta_budget {
    oks_redis *r;     /* connected lazily again after a failure */
    char prefix[300]; /* "oktasync:okta:{org}:" */
    int max_in_flight;
    double fraction;
    int64_t lease_ms;
    int64_t window_ms;
    uint64_t seq;
    uint32_t rnd;
    int64_t observed[8];    /* last limit written per bucket, to skip redundant writes */
    int64_t observed_at[8]; /* when (monotonic ms); rewritten every minute in case the key
                               was lost (Redis restart, eviction) */
};

/* KEYS: rate zset, inflight zset, limits hash.
 * ARGV: max_in_flight, lease_ms, member, fraction, bucket, window_ms.
 * Returns 0 when granted, else a wait hint in ms. */
static const char ACQUIRE_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local max_inflight = tonumber(ARGV[1])\n"
    "local lease = tonumber(ARGV[2])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
    "if redis.call('ZCARD', KEYS[2]) >= max_inflight then return 15 end\n"
    "local lim = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0') or 0\n"
    "local win = tonumber(ARGV[6])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)\n"
    "if lim > 0 then\n"
    "  local cap = math.max(1, math.floor(lim * tonumber(ARGV[4])))\n"
    "  if redis.call('ZCARD', KEYS[1]) >= cap then\n"
    "    local o = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
    "    return math.max(1, tonumber(o[2]) + win - now)\n"
    "  end\n"
    "end\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[3])\n"
    "redis.call('PEXPIRE', KEYS[1], win + 1000)\n"
    "redis.call('ZADD', KEYS[2], now + lease, ARGV[3])\n"
    "redis.call('PEXPIRE', KEYS[2], lease + 60000)\n"
    "return 0\n";

/* Any Redis failure is OKS_E_UNAVAILABLE here, whatever class oks_redis gave it (timeout, a
 * refused AUTH, an error reply): an unusable budget says nothing about the Okta call itself, so
 * callers must retry it later, never dead-letter it. Returns -1. */
static int budget_unavailable(oks_err *err, const char *what)
{
    oks_err_wrap(err, "okta budget: redis %s", what);
    if (err)
        err->code = OKS_E_UNAVAILABLE;
    return -1;
}

/* Run one command; NULL with err set on I/O errors (connection dropped) or error replies. */
static redisReply *cmd(oks_okta_budget *b, int argc, const char **argv, oks_err *err)
{
    redisReply *r = oks_redis_command_argv(b->r, err, argc, argv, NULL);
    if (!r)
        budget_unavailable(err, argv[0]);
    return r;
}

oks_okta_budget *oks_okta__budget_new(const char *redis_url, const char *org_key, int max_in_flight,
                                      double fraction, int64_t window_ms, int64_t lease_ms,
                                      int64_t timeout_ms, oks_err *err)
{
    oks_okta_budget *b = calloc(1, sizeof *b);
    if (!b) {
        oks_err_set(err, OKS_E_NOMEM, "okta budget: out of memory");
        return NULL;
    }
    b->max_in_flight = max_in_flight;
    b->fraction = fraction;
    b->lease_ms = lease_ms;
    b->window_ms = window_ms;
    b->rnd = (uint32_t)getpid() ^ (uint32_t)oks_now_wall_ms() ^ (uint32_t)(uintptr_t)b;
    snprintf(b->prefix, sizeof b->prefix, "oktasync:okta:{%.200s}:", org_key);
    /* A bad URL stays OKS_E_INVALID; connecting now shows an unreachable Redis at start-up. */
    b->r = oks_redis_new(redis_url, (int)timeout_ms, (int)timeout_ms, err);
    if (!b->r)
        goto fail;
    if (oks_redis_connect(b->r, err) != 0) {
        budget_unavailable(err, "connect");
        goto fail;
    }
    return b;
fail:
    oks_okta__budget_free(b);
    return NULL;
}

void oks_okta__budget_free(oks_okta_budget *b)
{
    if (!b)
        return;
    oks_redis_free(b->r);
    free(b);
}

static uint32_t next_rnd(oks_okta_budget *b)
{
    b->rnd ^= b->rnd << 13;
    b->rnd ^= b->rnd >> 17;
    b->rnd ^= b->rnd << 5;
    return b->rnd;
}

/* One script run: 0 granted, >0 wait hint, -1 error. */
static int64_t try_acquire(oks_okta_budget *b, const char *bucket, const char *member, oks_err *err)
{
    char k_rate[400], k_inf[400], k_lim[400], maxs[16], lease[24], frac[32], win[24];
    snprintf(k_rate, sizeof k_rate, "%srate:%s", b->prefix, bucket);
    snprintf(k_inf, sizeof k_inf, "%sinflight", b->prefix);
    snprintf(k_lim, sizeof k_lim, "%slimits", b->prefix);
    snprintf(maxs, sizeof maxs, "%d", b->max_in_flight);
    snprintf(lease, sizeof lease, "%lld", (long long)b->lease_ms);
    snprintf(frac, sizeof frac, "%.4f", b->fraction);
    snprintf(win, sizeof win, "%lld", (long long)b->window_ms);
    const char *argv[] = {"EVAL", ACQUIRE_LUA, "3",    k_rate, k_inf,  k_lim,
                          maxs,   lease,       member, frac,   bucket, win};
    redisReply *r = cmd(b, (int)(sizeof argv / sizeof argv[0]), argv, err);
    if (!r)
        return -1;
    int64_t v = r->type == REDIS_REPLY_INTEGER ? (int64_t)r->integer : -1;
    freeReplyObject(r);
    if (v < 0)
        oks_err_set(err, OKS_E_UNAVAILABLE, "okta budget: unexpected script reply");
    return v;
}

int oks_okta__budget_acquire(oks_okta_budget *b, const char *bucket, int64_t max_wait_ms,
                             char *lease, size_t cap, int64_t *waited_ms, oks_err *err)
{
    snprintf(lease, cap, "%d:%llu:%08x", (int)getpid(), (unsigned long long)++b->seq, next_rnd(b));
    int64_t start = oks_now_mono_ms();
    *waited_ms = 0;
    for (;;) {
        int64_t hint = try_acquire(b, bucket, lease, err);
        if (hint < 0)
            return -1;
        if (hint == 0)
            return 0;
        if (oks_shutdown_requested())
            return oks_err_set(err, OKS_E_UNAVAILABLE, "okta budget: shutting down");
        int64_t elapsed = oks_now_mono_ms() - start;
        if (elapsed >= max_wait_ms)
            return oks_err_set(err, OKS_E_RATELIMIT,
                               "okta budget: no request slot for bucket %s within %lld ms", bucket,
                               (long long)max_wait_ms);
        /* Sleep at most 250 ms per round: slots freed by other processes show up sooner, and a
         * shutdown request is noticed. */
        int64_t ms = hint > 250 ? 250 : hint;
        ms += (int64_t)(next_rnd(b) % 10);
        if (ms > max_wait_ms - elapsed)
            ms = max_wait_ms - elapsed;
        oks_sleep_ms(ms);
        *waited_ms = oks_now_mono_ms() - start;
    }
}

void oks_okta__budget_release(oks_okta_budget *b, const char *lease)
{
    oks_err err = {0};
    char k_inf[400];
    snprintf(k_inf, sizeof k_inf, "%sinflight", b->prefix);
    const char *argv[] = {"ZREM", k_inf, lease};
    redisReply *r = cmd(b, 3, argv, &err);
    if (!r)
        OKS_LOG_WARN("okta budget: release failed (lease expires by itself): %s", err.msg);
    freeReplyObject(r);
}

void oks_okta__budget_observe(oks_okta_budget *b, const char *bucket, int64_t limit)
{
    int idx = -1;
    for (int i = 0; i < 8; i++)
        if (strcmp(oks_okta__bucket_names[i], bucket) == 0)
            idx = i;
    /* Limit 0 comes with concurrency 429s and says nothing about the per-minute quota. */
    int64_t now = oks_now_mono_ms();
    if (limit <= 0 || idx < 0 || (b->observed[idx] == limit && now - b->observed_at[idx] < 60000))
        return;
    oks_err err = {0};
    char k_lim[400], v[24];
    snprintf(k_lim, sizeof k_lim, "%slimits", b->prefix);
    snprintf(v, sizeof v, "%lld", (long long)limit);
    /* One day of TTL: an org nobody talks to any more leaves no key behind. */
    const char *argv[] = {"EVAL",
                          "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
                          "redis.call('PEXPIRE', KEYS[1], 86400000) return 1",
                          "1",
                          k_lim,
                          bucket,
                          v};
    redisReply *r = cmd(b, 6, argv, &err);
    if (r) {
        b->observed[idx] = limit;
        b->observed_at[idx] = now;
    } else {
        OKS_LOG_WARN("okta budget: recording limit failed: %s", err.msg);
    }
    freeReplyObject(r);
}
