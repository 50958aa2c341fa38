/*
 * Per-bucket quotas in fixed windows (per minute by default) that start at the first request
 * of a window, like Okta's ("not necessarily synchronized with wall clock minutes").
 */
#include "sim.h"

#include "core/oks_time.h"

static const char *const bucket_names[SIM_B__COUNT] = {
    "users_list", "user_get", "apps", "app_get", "groups", "group_get", "logs", "other",
};

const char *sim_bucket_name(int b)
{
    return b >= 0 && b < SIM_B__COUNT ? bucket_names[b] : "other";
}

bool sim_rl_take(sim_ratelimit *rl, int bucket, int64_t *limit, int64_t *remaining,
                 int64_t *reset_s)
{
    int64_t now = oks_now_wall_ms();
    pthread_mutex_lock(&rl->mu);
    sim_rl_bucket *b = &rl->b[bucket];
    if (b->window_start_ms == 0 || now >= b->window_start_ms + rl->window_ms) {
        b->window_start_ms = now;
        b->count = 0;
    }
    bool ok = b->count < b->limit;
    if (ok) {
        b->count++;
        b->served++;
    } else {
        b->limited++;
    }
    *limit = b->limit;
    *remaining = b->limit - b->count;
    /* Round up: the window is over by the second the header names. */
    *reset_s = (b->window_start_ms + rl->window_ms + 999) / 1000;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

void sim_rl_reset(sim_ratelimit *rl)
{
    pthread_mutex_lock(&rl->mu);
    for (int i = 0; i < SIM_B__COUNT; i++) {
        rl->b[i].count = 0;
        rl->b[i].window_start_ms = 0;
        rl->b[i].served = rl->b[i].limited = 0;
    }
    pthread_mutex_unlock(&rl->mu);
}

json_t *sim_rl_stats(sim_ratelimit *rl)
{
    json_t *o = json_object();
    pthread_mutex_lock(&rl->mu);
    for (int i = 0; i < SIM_B__COUNT; i++)
        json_object_set_new(o, bucket_names[i],
                            json_pack("{s:I,s:I,s:I,s:I}", "limit", (json_int_t)rl->b[i].limit,
                                      "used", (json_int_t)rl->b[i].count, "served",
                                      (json_int_t)rl->b[i].served, "limited",
                                      (json_int_t)rl->b[i].limited));
    pthread_mutex_unlock(&rl->mu);
    return o;
}
