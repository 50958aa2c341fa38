#include "oks_sched_slot.h"

int64_t oks_sched_latest_slot(int64_t now_ms, int tod_s)
{
    /* floor division: correct for times before 1970 too */
    int64_t day = now_ms / OKS_SCHED_DAY_MS;
    if (now_ms % OKS_SCHED_DAY_MS < 0)
        day--;
    int64_t slot = day * OKS_SCHED_DAY_MS + (int64_t)tod_s * 1000;
    return slot > now_ms ? slot - OKS_SCHED_DAY_MS : slot;
}

int64_t oks_sched_jitter_ms(const char *tenant, int64_t max_ms)
{
    if (max_ms <= 0)
        return 0;
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)tenant; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (int64_t)(h % (uint64_t)max_ms);
}

int64_t oks_sched_latest_slot_jittered(int64_t now_ms, int tod_s, const char *tenant,
                                       int64_t jitter_max_ms)
{
    int64_t jitter = oks_sched_jitter_ms(tenant, jitter_max_ms);
    /* shift the clock back by the jitter, take the plain slot, shift forward again */
    return oks_sched_latest_slot(now_ms - jitter, tod_s) + jitter;
}
