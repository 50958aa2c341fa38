/* Pure scheduling rules: the latest due slot, the job message (time of day: core/oks_time.h). */
#ifndef OKS_SCHED_SLOT_H
#define OKS_SCHED_SLOT_H

#include <stdbool.h>
#include <stdint.h>

#define OKS_SCHED_DAY_MS 86400000LL

/* The latest slot (epoch ms) at tod_s after midnight UTC that is <= now_ms. It is always within
 * the last 24 h, which is what makes a restarted scheduler catch up a missed run. */
int64_t oks_sched_latest_slot(int64_t now_ms, int tod_s);

/* Job message value (contract shape), malloc'd JSON; NULL on OOM. */
char *oks_sched_job_json(const char *tenant, int64_t run_id, int64_t scheduled_for_ms);

#endif
