#include "oks_sched_slot.h"

#include "core/oks_time.h"

#include <jansson.h>
#include <string.h>

int64_t oks_sched_latest_slot(int64_t now_ms, int tod_s)
{
    /* floor division: correct for times before 1970 too */
    int64_t day = now_ms / OKS_SCHED_DAY_MS;
    if (now_ms % OKS_SCHED_DAY_MS < 0)
        day--;
    int64_t slot = day * OKS_SCHED_DAY_MS + (int64_t)tod_s * 1000;
    return slot > now_ms ? slot - OKS_SCHED_DAY_MS : slot;
}

char *oks_sched_job_json(const char *tenant, int64_t run_id, int64_t scheduled_for_ms)
{
    char when[32];
    oks_time_format_iso8601(scheduled_for_ms, when, sizeof when);
    json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:s}", "v", 1, "kind", "full_sync", "tenant",
                          tenant, "run_id", (json_int_t)run_id, "scheduled_for", when);
    if (!j)
        return NULL;
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}
