/*
 * How long to wait: after a 429, between 5xx/timeout retries, and before a request when the
 * bucket is nearly empty. Pure arithmetic so the policy is unit-tested exactly.
 */
#include "okta/oks_okta_int.h"

#include <string.h>

const char *const oks_okta__bucket_names[8] = {
    "users", "user_get", "user_groups", "apps", "app_get", "logs", "groups", "other",
};

int64_t oks_okta__backoff_429_ms(int64_t reset_s, int64_t date_ms, int64_t max_ms, uint32_t rnd)
{
    if (reset_s <= 0 || date_ms <= 0)
        return -1;
    /* Okta's Date header has 1 s resolution and is "more reliable than system time" (Go SDK),
     * so the window end is measured against it, plus one second of safety. */
    int64_t ms = (reset_s - date_ms / 1000 + 1) * 1000;
    if (ms < 1000)
        ms = 1000;
    int64_t spread = ms / 10 < 1000 ? ms / 10 : 1000;
    ms += (int64_t)(rnd % (uint32_t)(spread + 1));
    return max_ms > 0 && ms > max_ms ? max_ms : ms;
}

int64_t oks_okta__backoff_exp_ms(int attempt, int64_t max_ms, uint32_t rnd)
{
    if (attempt < 0)
        attempt = 0;
    if (attempt > 20)
        attempt = 20;
    int64_t d = (int64_t)300 << attempt;
    if (max_ms > 0 && d > max_ms)
        d = max_ms;
    /* Equal jitter: never below half the step, so retries still back off, but workers that
     * failed together do not retry in lock-step. */
    return d / 2 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
}

int64_t oks_okta__pace_ms(int64_t limit, int64_t remaining, int64_t reset_ms, int64_t now_ms,
                          double fraction, int64_t max_ms)
{
    if (limit <= 0 || remaining < 0 || reset_ms <= 0 || fraction <= 0)
        return 0;
    if ((double)remaining >= (double)limit * fraction)
        return 0;
    int64_t left = reset_ms - now_ms;
    if (left <= 0)
        return 0; /* the window has already reset; the next response tells the new state */
    int64_t ms = remaining <= 0 ? left + 250 : left / (remaining + 1);
    return max_ms > 0 && ms > max_ms ? max_ms : ms;
}

int oks_okta__bucket_of(const char *url)
{
    const char *p = strstr(url, "/api/v1/");
    if (!p)
        return OKS_OKTA_B_OTHER;
    p += strlen("/api/v1/");
    size_t seg = strcspn(p, "/?#");
    const char *rest = p + seg; /* "" or "/..." or "?..." */
    bool has_sub = *rest == '/' && rest[1] && rest[1] != '?';
    const char *sub2 = has_sub ? rest + 1 + strcspn(rest + 1, "/?#") : rest;
    bool deeper = has_sub && *sub2 == '/';
    if (seg == 5 && strncmp(p, "users", 5) == 0) {
        if (!has_sub)
            return OKS_OKTA_B_USERS;
        if (!deeper)
            return OKS_OKTA_B_USER_GET;
        return strncmp(sub2, "/groups", 7) == 0 ? OKS_OKTA_B_USER_GROUPS : OKS_OKTA_B_OTHER;
    }
    if (seg == 4 && strncmp(p, "apps", 4) == 0)
        return has_sub && !deeper ? OKS_OKTA_B_APP_GET : OKS_OKTA_B_APPS;
    if (seg == 4 && strncmp(p, "logs", 4) == 0)
        return OKS_OKTA_B_LOGS;
    if (seg == 6 && strncmp(p, "groups", 6) == 0)
        return OKS_OKTA_B_GROUPS;
    return OKS_OKTA_B_OTHER;
}
