/*
 * The System Log: a bounded ring of LogEvents (oldest dropped first) served by /api/v1/logs and
 * handed to the event-hook deliverer as they are recorded. Cursors are "<published ms>_<seq>".
 */
#include "sim.h"

#include "core/oks_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct log_ev {
    int64_t published_ms;
    char type[64];
    char *json;
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
    for (size_t i = 0; i < l->cap; i++)
        free(l->ring[i].json);
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
        "00uadmin000000000001", "type", "User", "alternateId", "admin@okta-sim.example",
        "displayName", "Sim Admin", "detailEntry", "client", "userAgent", "rawUserAgent",
        "okta-sim/1.0", "os", "Unknown", "browser", "UNKNOWN", "zone", "null", "device", "Computer",
        "id", "ipAddress", "127.0.0.1", "geographicalContext", "device", "authenticationContext",
        "authenticationProvider", "credentialProvider", "credentialType", "issuer", "interface",
        "WEB", "authenticationStep", 0, "externalSessionId", "outcome", "result", "SUCCESS",
        "reason", "target", tg, "transaction", "type", "WEB", "id", txid, "detail", "debugContext",
        "debugData", "requestId", txid, "requestUri", request_uri, "request", "ipChain",
        "securityContext", "asNumber", "asOrg", "isp", "domain", "isProxy");
}

void sim_logs_add(sim_logs *l, sim_hooks *hooks, const char *event_type, const char *message,
                  const sim_target *targets, size_t n_targets, const char *request_uri)
{
    char uuid[37];
    sim_uuid(uuid);
    pthread_mutex_lock(&l->mu);
    int64_t now = oks_now_wall_ms();
    json_t *ev = build_event(uuid, now, event_type, message, targets, n_targets,
                             request_uri ? request_uri : "/");
    char *s = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(ev);
    if (!s) {
        pthread_mutex_unlock(&l->mu);
        return;
    }
    log_ev *slot = &l->ring[l->next_seq % l->cap];
    free(slot->json);
    slot->json = s;
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

static const char *ev_attr(void *p, const char *attr, char *buf, size_t cap)
{
    (void)buf;
    (void)cap;
    const log_ev *e = p;
    return strcmp(attr, "eventType") == 0 ? e->type : NULL;
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

void sim_api_logs(sim_req *r, sim_resp *resp)
{
    sim_logs *l = r->srv->logs;
    int64_t limit, since, until, now = oks_now_wall_ms();
    oks_err err = {0};
    static const char *const attrs[] = {"eventType", NULL};
    if (!sim_parse_limit(r, resp, 100, 1000, &limit))
        return;
    if (!parse_time_arg(r, "since", now - 7LL * 86400000, &since) ||
        !parse_time_arg(r, "until", INT64_MAX, &until)) {
        sim_resp_error(resp, 400, "E0000001", "Api validation failed: since/until", r->request_id);
        return;
    }
    const char *filter = sim_req_arg(r, "filter"), *after = sim_req_arg(r, "after");
    sim_expr *ex = filter ? sim_expr_parse(filter, attrs, NULL, &err) : NULL;
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
        if (ex && !sim_expr_eval(ex, ev_attr, e))
            continue;
        if (n++)
            sim_buf_add(&resp->body, ",", 1);
        sim_buf_adds(&resp->body, e->json);
    }
    sim_buf_add(&resp->body, "]", 1);
    /* The System Log always links a next page, so pollers can keep following it. */
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%lld_%llu", (long long)now, (unsigned long long)scanned);
    resp->link_self = sim_link(r, after);
    resp->link_next = sim_link(r, cursor);
out:
    pthread_mutex_unlock(&l->mu);
    sim_expr_free(ex);
}
