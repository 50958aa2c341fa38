/* Pure scheduling rules: the latest due slot, per-tenant jitter (time of day: core/oks_time.h; the
 * job message: common/sync/oks_sync_job.h). */
#ifndef OKS_SCHED_SLOT_H
#define OKS_SCHED_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#define OKS_SCHED_DAY_MS 86400000LL

/* The latest slot (epoch ms) at tod_s after midnight UTC that is <= now_ms. It is always within
 * the last 24 h, which is what makes a restarted scheduler catch up a missed run. */
int64_t oks_sched_latest_slot(int64_t now_ms, int tod_s);

/* The tenant's jitter: a deterministic offset in [0, max_ms) from the tenant id (FNV-1a of the
 * text, so every replica and every restart agrees); 0 when max_ms <= 0. */
int64_t oks_sched_jitter_ms(const char *tenant, int64_t max_ms);

/* oks_sched_latest_slot with the tenant's jitter added to the time of day: the latest
 * (midnight + tod + jitter) <= now_ms. Still within the last 24 h (jitter < 24 h), so catch-up
 * after downtime is unchanged. */
int64_t oks_sched_latest_slot_jittered(int64_t now_ms, int tod_s, const char *tenant,
                                       int64_t jitter_max_ms);

#endif
