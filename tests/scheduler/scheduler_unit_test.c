/* Pure scheduling rules: time of day, latest due slot, per-tenant jitter, job message shape. */
#include "oks_sched_slot.h"
#include "oks_test.h"
#include "sync/oks_sync_job.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#define DAY 86400000LL
#define T0 (20000 * DAY) /* some midnight UTC */

OKS_TEST(latest_slot_is_today_once_due)
{
    /* 03:00 slot, now 10:00 → today 03:00 */
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot(T0 + 10 * 3600000LL, 3 * 3600), T0 + 3 * 3600000LL);
    /* exactly at the slot → that slot */
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot(T0 + 3 * 3600000LL, 3 * 3600), T0 + 3 * 3600000LL);
}

OKS_TEST(latest_slot_is_yesterday_before_due)
{
    /* now 02:59:59.999 → yesterday 03:00 (the run a restarted scheduler must catch up) */
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot(T0 + 3 * 3600000LL - 1, 3 * 3600),
                      T0 - DAY + 3 * 3600000LL);
    /* midnight slot at 00:00:00 exactly */
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot(T0, 0), T0);
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot(T0 - 1, 0), T0 - DAY);
}

OKS_TEST(latest_slot_always_within_a_day)
{
    for (int64_t now = T0; now < T0 + 2 * DAY; now += 7 * 60 * 1000 + 13) {
        for (int tod = 0; tod < 86400; tod += 3607) {
            int64_t slot = oks_sched_latest_slot(now, tod);
            OKS_ASSERT(slot <= now);
            OKS_ASSERT(now - slot < DAY);
            OKS_ASSERT_EQ_INT(((slot % DAY) + DAY) % DAY, (int64_t)tod * 1000);
        }
    }
}

OKS_TEST(job_message_has_contract_shape)
{
    char *s = oks_sync_job_json("0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a", 42, T0 + 3 * 3600000LL);
    OKS_ASSERT(s != NULL);
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    OKS_ASSERT(j != NULL);
    OKS_ASSERT_EQ_INT(json_object_size(j), 5);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(j, "v")), 1);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "kind")), "full_sync");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "tenant")),
                      "0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(j, "run_id")), 42);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "scheduled_for")),
                      "2024-10-04T03:00:00.000Z");
    json_decref(j);
    free(s);
}

OKS_TEST(jitter_is_deterministic_bounded_and_spread)
{
    const char *t = "0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a";
    OKS_ASSERT_EQ_INT(oks_sched_jitter_ms(t, 0), 0);
    OKS_ASSERT_EQ_INT(oks_sched_jitter_ms(t, 3600000), oks_sched_jitter_ms(t, 3600000));
    /* 2000 tenants over one hour: within bounds, and not all in a handful of seconds */
    static char seen[3600];
    int distinct = 0;
    for (int i = 0; i < 2000; i++) {
        char id[64];
        snprintf(id, sizeof id, "0b6f2c1e-8f1d-4a57-9a3c-%012d", i);
        int64_t j = oks_sched_jitter_ms(id, 3600000);
        OKS_ASSERT(j >= 0 && j < 3600000);
        if (!seen[j / 1000]++)
            distinct++;
    }
    OKS_ASSERT(distinct > 1000);
}

OKS_TEST(jittered_slot_with_injected_clock_keeps_catch_up)
{
    const char *t = "0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a";
    int64_t max = 3600000, j = oks_sched_jitter_ms(t, max);
    OKS_ASSERT(j > 0);
    int64_t due = T0 + 3 * 3600000LL + j; /* today 03:00 + the tenant's offset */
    /* without jitter: today 03:00 */
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot_jittered(due - 1, 3 * 3600, t, 0), T0 + 3 * 3600000LL);
    /* just before its offset: still yesterday's slot (catch-up after downtime) */
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot_jittered(due - 1, 3 * 3600, t, max), due - DAY);
    OKS_ASSERT_EQ_INT(oks_sched_latest_slot_jittered(due, 3 * 3600, t, max), due);
    /* always within the last day and in the future never */
    for (int64_t now = T0; now < T0 + 2 * DAY; now += 7 * 60 * 1000 + 13) {
        int64_t slot = oks_sched_latest_slot_jittered(now, 3 * 3600, t, 12 * 3600000LL);
        OKS_ASSERT(slot <= now);
        OKS_ASSERT(now - slot < DAY);
    }
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
