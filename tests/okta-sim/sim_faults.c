/* Injected faults: counters ("next N requests") and rates, shared by every API thread; all of
 * them optionally scoped to one route template ("route"). */
#include "sim.h"

#include <stdio.h>
#include <string.h>

void sim_faults_init(sim_faults *f, const sim_cfg *cfg)
{
    pthread_mutex_init(&f->mu, NULL);
    f->latency_ms = cfg->latency_ms;
    f->jitter_ms = cfg->jitter_ms;
    f->fail_next = cfg->fail_next;
    f->fail_status = cfg->fail_status;
    f->error_permille = cfg->error_permille;
    f->hang_next = cfg->hang_next;
    f->hang_ms = cfg->hang_ms;
    f->truncate_next = cfg->truncate_next;
    f->malformed_next = cfg->malformed_next;
    f->force_429_next = cfg->force_429_next;
    f->bad_token = cfg->bad_token;
    f->route[0] = '\0';
    f->rng = (uint64_t)cfg->seed * 7919u + 1;
}

static bool take(int64_t *n)
{
    if (*n <= 0)
        return false;
    (*n)--;
    return true;
}

/* Decide everything for one request at once, so concurrent requests split "next N" exactly. */
void sim_faults_plan(sim_faults *f, const char *route, sim_fault_plan *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_lock(&f->mu);
    if (f->route[0] && strcmp(f->route, route) != 0) { /* scoped to another route */
        pthread_mutex_unlock(&f->mu);
        return;
    }
    f->rng = sim_mix64(f->rng);
    p->delay_ms =
        f->latency_ms + (f->jitter_ms > 0 ? (int64_t)(f->rng % (uint64_t)(f->jitter_ms + 1)) : 0);
    p->hang = take(&f->hang_next);
    p->hang_ms = f->hang_ms;
    p->bad_token = f->bad_token;
    p->force_429 = take(&f->force_429_next);
    if (take(&f->fail_next))
        p->fail_status = (int)f->fail_status;
    else if (f->error_permille > 0 && (int64_t)((f->rng >> 20) % 1000) < f->error_permille)
        p->fail_status = (f->rng >> 40) % 2 ? 500 : 503;
    /* Body faults only consume their counter on requests that would otherwise succeed. */
    if (!p->force_429 && !p->fail_status && !p->bad_token) {
        p->truncate = take(&f->truncate_next);
        if (!p->truncate)
            p->malformed = take(&f->malformed_next);
    }
    pthread_mutex_unlock(&f->mu);
}

static int get_int(json_t *obj, const char *key, int64_t *out, int64_t min, int64_t max,
                   oks_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return oks_err_set(err, OKS_E_INVALID, "%s must be an integer in %lld..%lld", key,
                           (long long)min, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

/* Settings only: the mutex is never copied. */
static void copy_settings(sim_faults *dst, const sim_faults *src)
{
    dst->latency_ms = src->latency_ms;
    dst->jitter_ms = src->jitter_ms;
    dst->fail_next = src->fail_next;
    dst->fail_status = src->fail_status;
    dst->error_permille = src->error_permille;
    dst->hang_next = src->hang_next;
    dst->hang_ms = src->hang_ms;
    dst->truncate_next = src->truncate_next;
    dst->malformed_next = src->malformed_next;
    dst->force_429_next = src->force_429_next;
    dst->bad_token = src->bad_token;
    memcpy(dst->route, src->route, sizeof dst->route);
}

int sim_faults_set(sim_faults *f, json_t *obj, oks_err *err)
{
    static const char *const known[] = {
        "latency_ms",     "jitter_ms",
        "fail_next",      "fail_status",
        "error_permille", "hang_next",
        "hang_ms",        "truncate_next",
        "malformed_next", "force_429_next",
        "bad_token",      "route",
        "clear",          NULL,
    };
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok = ok || strcmp(known[i], key) == 0;
        if (!ok)
            return oks_err_set(err, OKS_E_INVALID, "unknown fault setting '%s'", key);
    }
    sim_faults n;
    pthread_mutex_lock(&f->mu);
    copy_settings(&n, f);
    pthread_mutex_unlock(&f->mu);
    if (json_is_true(json_object_get(obj, "clear"))) {
        n.latency_ms = n.jitter_ms = n.fail_next = n.error_permille = n.hang_next = 0;
        n.truncate_next = n.malformed_next = n.force_429_next = 0;
        n.bad_token = false;
        n.route[0] = '\0';
    }
    if (get_int(obj, "latency_ms", &n.latency_ms, 0, 600000, err) ||
        get_int(obj, "jitter_ms", &n.jitter_ms, 0, 600000, err) ||
        get_int(obj, "fail_next", &n.fail_next, 0, 1000000, err) ||
        get_int(obj, "fail_status", &n.fail_status, 500, 599, err) ||
        get_int(obj, "error_permille", &n.error_permille, 0, 1000, err) ||
        get_int(obj, "hang_next", &n.hang_next, 0, 1000000, err) ||
        get_int(obj, "hang_ms", &n.hang_ms, 0, 3600000, err) ||
        get_int(obj, "truncate_next", &n.truncate_next, 0, 1000000, err) ||
        get_int(obj, "malformed_next", &n.malformed_next, 0, 1000000, err) ||
        get_int(obj, "force_429_next", &n.force_429_next, 0, 1000000, err))
        return -1;
    json_t *bt = json_object_get(obj, "bad_token");
    if (bt && !json_is_boolean(bt))
        return oks_err_set(err, OKS_E_INVALID, "bad_token must be true or false");
    if (bt)
        n.bad_token = json_is_true(bt);
    json_t *rt = json_object_get(obj, "route");
    if (rt) {
        const char *v = json_string_value(rt);
        if (!v || (*v && strncmp(v, "/api/v1/", 8) != 0) || strlen(v) >= sizeof n.route)
            return oks_err_set(err, OKS_E_INVALID,
                               "route must be \"\" or a route template such as "
                               "/api/v1/users/{id}/groups (shorter than %zu)",
                               sizeof n.route);
        snprintf(n.route, sizeof n.route, "%s", v);
    }
    pthread_mutex_lock(&f->mu);
    copy_settings(f, &n);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

json_t *sim_faults_json(sim_faults *f)
{
    pthread_mutex_lock(&f->mu);
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:s}", "latency_ms",
        (json_int_t)f->latency_ms, "jitter_ms", (json_int_t)f->jitter_ms, "fail_next",
        (json_int_t)f->fail_next, "fail_status", (json_int_t)f->fail_status, "error_permille",
        (json_int_t)f->error_permille, "hang_next", (json_int_t)f->hang_next, "hang_ms",
        (json_int_t)f->hang_ms, "truncate_next", (json_int_t)f->truncate_next, "malformed_next",
        (json_int_t)f->malformed_next, "force_429_next", (json_int_t)f->force_429_next, "bad_token",
        f->bad_token, "route", f->route);
    pthread_mutex_unlock(&f->mu);
    return o;
}
