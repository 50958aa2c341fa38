/*
 * The System Log: a bounded ring of LogEvents (oldest dropped first) served by /api/v1/logs and
 * handed to the event-hook deliverer as they are recorded. Cursors are "<published ms>_<seq>".
 * A polling query (no `until`) always links a next page; a bounded query (`until` given) ends
 * with no next link once nothing more matches before `until`. `filter` works on eventType,
 * uuid, published, severity, actor.id/type/alternateId and target.id/type (any target).
 */
#include "sim.h"

#include "core/oks_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_ACTOR_ID "00uadmin000000000001"
#define SIM_ACTOR_LOGIN "admin@okta-sim.example"

typedef struct log_ev {
    int64_t published_ms;
    char type[64];
    char uuid[37];
    char *json;
    char *targets; /* "id\0type\0id\0type\0...\0": what filters on target.* look at */
} log_ev;

struct sim_logs {
    pthread_mutex_t mu;
    log_ev *ring;
    size_t cap, count;
    uint64_t next_seq; /* seq of the next event; the first is 1 */
};

sim_logs *sim_logs_new(size_t max_events)
{
    sim_logs *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->cap = max_events ? max_events : 1;
    l->ring = calloc(l->cap, sizeof *l->ring);
    if (!l->ring) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->next_seq = 1;
    return l;
}

void sim_logs_free(sim_logs *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->cap; i++) {
        free(l->ring[i].json);
        free(l->ring[i].targets);
    }
    free(l->ring);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static const char *legacy_type(const char *t)
{
    static const char *const map[][2] = {
        {"user.lifecycle.create", "core.user.config.user_creation.success"},
        {"user.lifecycle.activate", "core.user.config.user_activated"},
        {"user.lifecycle.deactivate", "core.user.config.user_deactivated"},
        {"user.lifecycle.reactivate", "core.user.config.user_reactivated"},
        {"user.lifecycle.suspend", "core.user.config.user_suspended"},
        {"user.lifecycle.unsuspend", "core.user.config.user_unsuspended"},
        {"user.lifecycle.delete.initiated", "core.user.config.user_deleted"},
        {"user.account.update_profile", "core.user.config.profile_update.success"},
        {"group.user_membership.add", "core.user_group_member.user_add"},
        {"group.user_membership.remove", "core.user_group_member.user_remove"},
        {"application.user_membership.add", "app.generic.provision.assign_user_to_app"},
        {"application.user_membership.remove", "app.generic.unauth_app_access_attempt"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], t) == 0)
            return map[i][1];
    return NULL;
}

static json_t *build_event(const char *uuid, int64_t now, const char *event_type,
                           const char *message, const sim_target *targets, size_t n_targets,
                           const char *request_uri)
{
    char published[32], txid[28];
    oks_time_format_iso8601(now, published, sizeof published);
    sim_random_token(txid, sizeof txid);
    json_t *tg = json_array();
    for (size_t i = 0; i < n_targets; i++)
        json_array_append_new(tg, json_pack("{s:s,s:s,s:s,s:s,s:n}", "id", targets[i].id, "type",
                                            targets[i].type, "alternateId", targets[i].alternate_id,
                                            "displayName", targets[i].display_name, "detailEntry"));
    const char *legacy = legacy_type(event_type);
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,"
        "s:{s:s,s:s,s:s,s:s,s:n},"
        "s:{s:{s:s,s:s,s:s},s:s,s:s,s:n,s:s,s:n},s:n,"
        "s:{s:n,s:n,s:n,s:n,s:s,s:i,s:n},"
        "s:{s:s,s:n},s:o,s:{s:s,s:s,s:{}},"
        "s:{s:{s:s,s:s}},s:{s:[]},s:{s:n,s:n,s:n,s:n,s:n}}",
        "uuid", uuid, "published", published, "eventType", event_type, "version", "0",
        "displayMessage", message, "severity", "INFO", "legacyEventType", legacy, "actor", "id",
        SIM_ACTOR_ID, "type", "User", "alternateId", SIM_ACTOR_LOGIN, "displayName", "Sim Admin",
        "detailEntry", "client", "userAgent", "rawUserAgent", "okta-sim/1.0", "os", "Unknown",
        "browser", "UNKNOWN", "zone", "null", "device", "Computer", "id", "ipAddress", "127.0.0.1",
        "geographicalContext", "device", "authenticationContext", "authenticationProvider",
        "credentialProvider", "credentialType", "issuer", "interface", "WEB", "authenticationStep",
        0, "externalSessionId", "outcome", "result", "SUCCESS", "reason", "target", tg,
        "transaction", "type", "WEB", "id", txid, "detail", "debugContext", "debugData",
        "requestId", txid, "requestUri", request_uri, "request", "ipChain", "securityContext",
        "asNumber", "asOrg", "isp", "domain", "isProxy");
}

static char *pack_targets(const sim_target *targets, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(targets[i].id) + strlen(targets[i].type) + 2;
    char *p = malloc(len), *w = p;
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *f[2] = {targets[i].id, targets[i].type};
        for (int k = 0; k < 2; k++) {
            size_t fl = strlen(f[k]) + 1;
            memcpy(w, f[k], fl);
            w += fl;
        }
    }
    *w = '\0';
    return p;
}

void sim_logs_add(sim_logs *l, sim_hooks *hooks, const char *event_type, const char *message,
                  const sim_target *targets, size_t n_targets, const char *request_uri)
{
    char uuid[37];
    sim_uuid(uuid);
    char *packed = pack_targets(targets, n_targets);
    pthread_mutex_lock(&l->mu);
    int64_t now = oks_now_wall_ms();
    json_t *ev = build_event(uuid, now, event_type, message, targets, n_targets,
                             request_uri ? request_uri : "/");
    char *s = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ev);
    if (!s || !packed) {
        pthread_mutex_unlock(&l->mu);
        free(s);
        free(packed);
        return;
    }
    log_ev *slot = &l->ring[l->next_seq % l->cap];
    free(slot->json);
    free(slot->targets);
    slot->json = s;
    slot->targets = packed;
    memcpy(slot->uuid, uuid, sizeof slot->uuid);
    slot->published_ms = now;
    snprintf(slot->type, sizeof slot->type, "%s", event_type);
    l->next_seq++;
    if (l->count < l->cap)
        l->count++;
    /* Enqueue under the log lock so hook order follows System Log order. */
    if (hooks)
        sim_hooks_enqueue(hooks, s);
    pthread_mutex_unlock(&l->mu);
}

/* nth target's id (field 0) or type (field 1), or NULL past the last target. */
static const char *target_field(const log_ev *e, int nth, int field)
{
    const char *p = e->targets;
    for (int i = 0; p && *p; i++) {
        const char *type = p + strlen(p) + 1;
        if (i == nth)
            return field == 0 ? p : type;
        p = type + strlen(type) + 1;
    }
    return NULL;
}

static const char *ev_attr(void *p, const char *attr, int nth, char *buf, size_t cap)
{
    const log_ev *e = p;
    if (strcmp(attr, "target.id") == 0)
        return target_field(e, nth, 0);
    if (strcmp(attr, "target.type") == 0)
        return target_field(e, nth, 1);
    if (nth > 0)
        return NULL;
    if (strcmp(attr, "eventType") == 0)
        return e->type;
    if (strcmp(attr, "uuid") == 0)
        return e->uuid;
    if (strcmp(attr, "severity") == 0)
        return "INFO";
    if (strcmp(attr, "actor.id") == 0)
        return SIM_ACTOR_ID;
    if (strcmp(attr, "actor.type") == 0)
        return "User";
    if (strcmp(attr, "actor.alternateId") == 0)
        return SIM_ACTOR_LOGIN;
    if (strcmp(attr, "published") == 0 && cap >= 25) {
        oks_time_format_iso8601(e->published_ms, buf, cap);
        return buf;
    }
    return NULL;
}

static bool parse_time_arg(sim_req *r, const char *name, int64_t def, int64_t *out)
{
    const char *s = sim_req_arg(r, name);
    *out = def;
    return !s || oks_time_parse_iso8601(s, out);
}

/* First seq to look at, from `after` or `since`; 0 on a bad cursor. */
static uint64_t start_seq(sim_logs *l, const char *after, int64_t since)
{
    uint64_t first = l->next_seq - l->count;
    if (after) {
        long long ms;
        unsigned long long seq;
        if (sscanf(after, "%lld_%llu", &ms, &seq) != 2 || seq >= l->next_seq)
            return 0;
        return seq + 1 < first ? first : seq + 1;
    }
    uint64_t s = first;
    while (s < l->next_seq && l->ring[s % l->cap].published_ms < since)
        s++;
    return s;
}

static const char *const log_attrs[] = {
    "eventType",         "uuid",      "published",   "severity", "actor.id", "actor.type",
    "actor.alternateId", "target.id", "target.type", NULL,
};
/* "All operators except [ ] are supported" (spec listLogEvents); values compare exactly. */
static const sim_expr_rules log_rules = {.attrs = log_attrs,
                                         .ops = SIM_OP_EQ | SIM_OP_RANGE | SIM_OP_SW | SIM_OP_CO |
                                                SIM_OP_PR,
                                         .exact = true};

static bool ev_matches(const sim_expr *ex, log_ev *e)
{
    return !ex || sim_expr_eval(ex, ev_attr, e);
}

void sim_api_logs(sim_req *r, sim_resp *resp)
{
    sim_logs *l = r->srv->logs;
    int64_t limit, since, until, now = oks_now_wall_ms();
    oks_err err = {0};
    if (!sim_parse_limit(r, resp, 100, 1000, &limit))
        return;
    bool bounded = sim_req_arg(r, "until") != NULL;
    if (!parse_time_arg(r, "until", INT64_MAX, &until) ||
        !parse_time_arg(r, "since", (bounded ? until : now) - 7LL * 86400000, &since) ||
        (bounded && since >= until)) {
        sim_resp_error(resp, 400, "E0000001", "Api validation failed: since/until", r->request_id);
        return;
    }
    const char *filter = sim_req_arg(r, "filter"), *after = sim_req_arg(r, "after");
    sim_expr *ex = filter ? sim_expr_parse(filter, &log_rules, &err) : NULL;
    if (filter && !ex) {
        sim_resp_error(resp, 400, "E0000031", "Invalid search criteria.", r->request_id);
        return;
    }
    pthread_mutex_lock(&l->mu);
    uint64_t s = start_seq(l, after, since), scanned = s ? s - 1 : 0;
    int64_t n = 0;
    if (s == 0) {
        sim_resp_error(resp, 400, "E0000054", "Invalid paging request.", r->request_id);
        goto out;
    }
    sim_buf_add(&resp->body, "[", 1);
    for (; s < l->next_seq && n < limit; s++) {
        log_ev *e = &l->ring[s % l->cap];
        if (e->published_ms >= until)
            break;
        scanned = s;
        if (!ev_matches(ex, e))
            continue;
        if (n++)
            sim_buf_add(&resp->body, ",", 1);
        sim_buf_adds(&resp->body, e->json);
    }
    sim_buf_add(&resp->body, "]", 1);
    /* Polling: always a next link, so pollers keep following it. Bounded: a next link only
     * while another matching event lies before `until`. */
    bool more = !bounded;
    for (; bounded && s < l->next_seq && !more; s++) {
        log_ev *e = &l->ring[s % l->cap];
        if (e->published_ms >= until)
            break;
        more = ev_matches(ex, e);
    }
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%lld_%llu", (long long)now, (unsigned long long)scanned);
    resp->link_self = sim_link(r, after);
    if (more)
        resp->link_next = sim_link(r, cursor);
out:
    pthread_mutex_unlock(&l->mu);
    sim_expr_free(ex);
}
