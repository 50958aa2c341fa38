/*
 * ingest against the shared stack's PostgreSQL and dev broker, driven as a real process.
 * Every rejected request is followed by a check that the topic got no message from it.
 */
#include "event/oks_event.h"
#include "ingest_harness.h"
#include "oks_test.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *SECRET = "Basic c2VjcmV0OnMzY3JldA==";
static const char *const DEACT[] = {"user.lifecycle.deactivate"};

static struct {
    bool up;
    PGconn *db;
    char *db_url;
    char topic[96];
    char dlq[96];
    char dlq_arg[128];
    const char *brokers;
    ih_proc ing;
    char sub[64];
    char tenant[64];
} F;

static void fixture(void)
{
    if (F.up)
        return;
    F.brokers = oks_test_service("OKTASYNC_KAFKA_BROKERS");
    F.db_url = ih_db_fresh(&F.db);
    snprintf(F.topic, sizeof(F.topic), "%s", oks_test_unique("ingest-it"));
    ih_topic_create_shared(F.topic);
    snprintf(F.dlq, sizeof(F.dlq), "%s", oks_test_unique("ingest-it-dlq"));
    ih_topic_create_shared(F.dlq);
    snprintf(F.dlq_arg, sizeof(F.dlq_arg), "--dead-letter-topic=%s", F.dlq);
    snprintf(F.sub, sizeof(F.sub), "%s", ih_subdomain("acme"));
    ih_db_add_tenant(F.db, F.sub, SECRET, F.tenant);
    const char *args[] = {"--base-domain=hooks.test",  "--max-body=64KiB", "--max-headers=20",
                          "--tenant-poll-interval=2s", F.dlq_arg,          NULL};
    ih_ingest_start(&F.ing, F.db_url, F.brokers, F.topic, args);
    F.up = true;
}

/* Send one good single-event request (its 200 means Kafka acked it): a barrier after which
 * anything a rejected request had produced would be visible too. */
static void barrier(void)
{
    ih_resp r;
    char *body = ih_body(oks_test_unique("barrier"), 1, DEACT, 1);
    ih_post_hook(&F.ing, F.sub, SECRET, body, &r);
    free(body);
    OKS_ASSERT_EQ_INT(r.status, 200);
}

/* Expect the status and a short JSON error, then prove nothing was produced. */
static void expect_rejected(const ih_req *rq, long status)
{
    ih_resp r;
    int64_t before = ih_topic_count(F.brokers, F.topic);
    ih_http(rq, &r);
    if (r.status != status)
        oks_test_fail(__FILE__, __LINE__, "%s %s: status %ld, want %ld (%s)",
                      rq->method ? rq->method : "GET", rq->url, r.status, status, r.body);
    OKS_ASSERT_CONTAINS(r.body, "{\"error\":\"");
    OKS_ASSERT_CONTAINS(r.content_type, "application/json");
    barrier();
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), before + 1);
}

OKS_TEST(verification_challenge)
{
    ih_resp r;
    char url[256], auth[256];

    fixture();
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", F.ing.http, F.sub);
    snprintf(auth, sizeof(auth), "Authorization: %s", SECRET);
    const char *ok[] = {auth, "x-okta-verification-challenge: chal-123", NULL};
    ih_req rq = {.url = url, .headers = ok};
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_STR(r.body, "{\"verification\":\"chal-123\"}");
    OKS_ASSERT_CONTAINS(r.content_type, "application/json");

    const char *bad[] = {"Authorization: nope", "x-okta-verification-challenge: c", NULL};
    rq.headers = bad;
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 401);
    const char *none[] = {auth, NULL};
    rq.headers = none;
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 400);
}

OKS_TEST(batch_of_100_events)
{
    static const char *const types[] = {"group.user_membership.add", "user.lifecycle.deactivate",
                                        "application.user_membership.remove"};
    ih_resp r;
    ih_msg *msgs = NULL;
    oks_err err = {0};

    fixture();
    int64_t before = ih_topic_count(F.brokers, F.topic);
    const char *prefix = oks_test_unique("b100");
    char *body = ih_body(prefix, 100, types, 3);
    ih_post_hook(&F.ing, F.sub, SECRET, body, &r);
    free(body);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_STR(r.body, "");
    /* 200 is only sent after every ack: the messages are already in the log. */
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), before + 100);
    size_t n = ih_topic_read(F.brokers, F.topic, (size_t)before + 100, &msgs);
    OKS_ASSERT_EQ_INT(n, before + 100);
    bool seen[100] = {false};
    for (size_t i = 0; i < n; i++) {
        oks_event_envelope env;
        OKS_ASSERT_EQ_INT(oks_event_envelope_parse(msgs[i].value, msgs[i].len, &env, &err), 0);
        size_t plen = strlen(prefix);
        if (strncmp(env.event_uuid, prefix, plen) == 0) {
            int idx = atoi(env.event_uuid + plen + 1);
            char user[32];
            snprintf(user, sizeof(user), "00u%d", idx);
            OKS_ASSERT(idx >= 0 && idx < 100 && !seen[idx]);
            seen[idx] = true;
            OKS_ASSERT_EQ_STR(env.okta_user_id, user);
            OKS_ASSERT_EQ_STR(env.group_id, "00g3sales");
            OKS_ASSERT_EQ_STR(env.event_type, types[idx % 3]);
            OKS_ASSERT_EQ_STR(msgs[i].hdr_type, types[idx % 3]);
            /* the routing headers: the envelope's own fields (event/oks_event.h) */
            OKS_ASSERT_EQ_STR(msgs[i].hdr_uuid, env.event_uuid);
            OKS_ASSERT_EQ_STR(msgs[i].hdr_user, env.okta_user_id);
            OKS_ASSERT_EQ_STR(msgs[i].hdr_published, env.published);
            OKS_ASSERT_EQ_STR(msgs[i].hdr_received_at, env.received_at);
        }
        OKS_ASSERT_EQ_STR(env.tenant, F.tenant);
        OKS_ASSERT_EQ_STR(msgs[i].key, F.tenant);
        OKS_ASSERT_EQ_STR(msgs[i].hdr_tenant, F.tenant);
        oks_event_envelope_free(&env);
    }
    for (int i = 0; i < 100; i++)
        OKS_ASSERT(seen[i]);
    ih_msgs_free(msgs, n);
}

#define SKIPPED(reason) "oktasync_ingest_events_skipped_total{reason=\"" reason "\"}"

static double skipped_by(const char *reason)
{
    char series[128];
    snprintf(series, sizeof(series), SKIPPED("%s"), reason);
    return ih_metric(&F.ing, series);
}

OKS_TEST(unsubscribed_types_are_counted_and_skipped)
{
    static const char *const types[] = {"user.lifecycle.create", "user.session.start",
                                        "policy.lifecycle.update", "user.lifecycle.suspend"};
    ih_resp r;

    fixture();
    double skipped = ih_metric(&F.ing, SKIPPED("unsubscribed"));
    int64_t before = ih_topic_count(F.brokers, F.topic);
    char *body = ih_body(oks_test_unique("skip"), 4, types, 4);
    ih_post_hook(&F.ing, F.sub, SECRET, body, &r);
    free(body);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), before + 2);
    OKS_ASSERT_EQ_INT(ih_metric(&F.ing, SKIPPED("unsubscribed")), skipped + 2);
}

/* The delivery that used to be lost as a whole (400, never retried by Okta): good events are
 * produced, malformed subscribed ones dead-lettered, the rest counted by reason; 200 only once
 * both kinds are acknowledged. */
OKS_TEST(mixed_delivery_keeps_good_events_and_dead_letters_malformed_subscribed)
{
    static const char *const reasons[] = {"unsubscribed", "malformed", "no_uuid", "no_user_target"};
    double skipped[4];
    ih_resp r;
    ih_msg *msgs = NULL;
    oks_err err = {0};
    char body[2048];

    fixture();
    const char *p = oks_test_unique("mixed");
    snprintf(body, sizeof(body),
             "{\"eventType\":\"com.okta.event_hook\",\"data\":{\"events\":["
             "{\"uuid\":\"%s-good-0\",\"eventType\":\"user.lifecycle.deactivate\",\"target\":["
             "{\"id\":\"00u1\",\"type\":\"User\"}]},"
             /* another type, no User target: the lost delivery */
             "{\"uuid\":\"%s-other\",\"eventType\":\"user.session.start\",\"target\":["
             "{\"id\":\"0oa1\",\"type\":\"AppInstance\"}]},"
             "{\"uuid\":\"%s-nouser\",\"eventType\":\"group.user_membership.add\",\"target\":["
             "{\"id\":\"00g1\",\"type\":\"UserGroup\"}]},"
             "{\"eventType\":\"user.lifecycle.create\",\"published\":\"%s\",\"target\":["
             "{\"id\":\"00u2\",\"type\":\"User\"}]},"
             "\"not an event\","
             "{\"uuid\":\"%s-good-1\",\"eventType\":\"group.user_membership.add\",\"target\":["
             "{\"id\":\"00g1\",\"type\":\"UserGroup\"},{\"id\":\"00u3\",\"type\":\"User\"}]}"
             "]}}",
             p, p, p, p, p);
    for (int i = 0; i < 4; i++)
        skipped[i] = skipped_by(reasons[i]);
    double dead = ih_metric(&F.ing, "oktasync_ingest_events_dead_lettered_total");
    int64_t ev_before = ih_topic_count(F.brokers, F.topic);
    int64_t dl_before = ih_topic_count(F.brokers, F.dlq);

    ih_post_hook(&F.ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_STR(r.body, "");
    /* 200 only after every ack: both topics already hold exactly this delivery's messages. */
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), ev_before + 2);
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.dlq), dl_before + 2);
    for (int i = 0; i < 4; i++)
        OKS_ASSERT_EQ_INT(skipped_by(reasons[i]), skipped[i] + 1);
    OKS_ASSERT_EQ_INT(ih_metric(&F.ing, "oktasync_ingest_events_dead_lettered_total"), dead + 2);

    /* The events topic: exactly the two good events of this delivery. */
    size_t n = ih_topic_read(F.brokers, F.topic, (size_t)ev_before + 2, &msgs);
    OKS_ASSERT_EQ_INT(n, ev_before + 2);
    int good = 0;
    for (size_t i = 0; i < n; i++) {
        oks_event_envelope env;
        OKS_ASSERT_EQ_INT(oks_event_envelope_parse(msgs[i].value, msgs[i].len, &env, &err), 0);
        if (strncmp(env.event_uuid, p, strlen(p)) == 0) {
            OKS_ASSERT_CONTAINS(env.event_uuid, "-good-");
            OKS_ASSERT_EQ_STR(msgs[i].hdr_uuid, env.event_uuid);
            OKS_ASSERT_EQ_STR(msgs[i].hdr_received_at, env.received_at);
            OKS_ASSERT_EQ_STR(msgs[i].hdr_published, ""); /* the event has none */
            good++;
        }
        oks_event_envelope_free(&env);
    }
    OKS_ASSERT_EQ_INT(good, 2);
    ih_msgs_free(msgs, n);

    /* The dead-letter topic: the two malformed subscribed events, raw, with their reasons. */
    n = ih_topic_read(F.brokers, F.dlq, (size_t)dl_before + 2, &msgs);
    OKS_ASSERT_EQ_INT(n, dl_before + 2);
    bool seen_nouser = false, seen_nouuid = false;
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *dl = json_loadb(msgs[i].value, msgs[i].len, 0, &je);
        OKS_ASSERT(dl != NULL);
        const char *mine = json_string_value(json_object_get(dl, "value"));
        if (!mine || !strstr(mine, p)) { /* another test's dead letter */
            json_decref(dl);
            continue;
        }
        OKS_ASSERT_EQ_STR(msgs[i].key, F.tenant);
        OKS_ASSERT_EQ_STR(msgs[i].hdr_tenant, F.tenant);
        OKS_ASSERT_EQ_STR(json_string_value(json_object_get(dl, "error_class")), "invalid");
        OKS_ASSERT_EQ_STR(json_string_value(json_object_get(dl, "source_topic")), "");
        const char *reason = json_string_value(json_object_get(dl, "reason"));
        const char *raw = json_string_value(json_object_get(dl, "value"));
        OKS_ASSERT(reason && raw);
        if (strcmp(reason, "subscribed event without a User target") == 0) {
            OKS_ASSERT_CONTAINS(raw, "-nouser");
            OKS_ASSERT_EQ_STR(msgs[i].hdr_type, "group.user_membership.add");
            OKS_ASSERT(!seen_nouser);
            seen_nouser = true;
        } else {
            OKS_ASSERT_EQ_STR(reason, "subscribed event without uuid");
            OKS_ASSERT_CONTAINS(raw, p); /* carried in "published" */
            OKS_ASSERT_EQ_STR(msgs[i].hdr_type, "user.lifecycle.create");
            OKS_ASSERT(!seen_nouuid);
            seen_nouuid = true;
        }
        json_decref(dl);
    }
    OKS_ASSERT(seen_nouser && seen_nouuid);
    ih_msgs_free(msgs, n);
}

/* Nothing usable at all: 200 with nothing produced (a retry would never succeed), counted. */
/* An id longer than the worker accepts (OKS_EVENT_ID_MAX) is still produced, but without routing
 * headers: the worker reads the value and dead-letters it with the value's reason. */
OKS_TEST(an_event_whose_ids_do_not_fit_is_produced_without_routing_headers)
{
    ih_resp r;
    ih_msg *msgs = NULL;
    char body[2048], uuid[OKS_EVENT_ID_MAX + 40];
    fixture();
    const char *p = oks_test_unique("long");
    snprintf(uuid, sizeof uuid, "%s-%0*d", p, OKS_EVENT_ID_MAX, 7);
    snprintf(body, sizeof(body),
             "{\"eventType\":\"com.okta.event_hook\",\"data\":{\"events\":["
             "{\"uuid\":\"%s\",\"eventType\":\"user.lifecycle.deactivate\",\"target\":["
             "{\"id\":\"00u1\",\"type\":\"User\"}]}]}}",
             uuid);
    int64_t before = ih_topic_count(F.brokers, F.topic);
    ih_post_hook(&F.ing, F.sub, SECRET, body, &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), before + 1);
    size_t n = ih_topic_read(F.brokers, F.topic, (size_t)before + 1, &msgs);
    OKS_ASSERT_EQ_INT(n, before + 1);
    int mine = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strstr(msgs[i].value, uuid)) /* dup_bytes: NUL-terminated */
            continue;
        mine++;
        OKS_ASSERT_EQ_STR(msgs[i].hdr_tenant, F.tenant);
        OKS_ASSERT_EQ_STR(msgs[i].hdr_type, "user.lifecycle.deactivate");
        OKS_ASSERT_EQ_STR(msgs[i].hdr_uuid, "");
        OKS_ASSERT_EQ_STR(msgs[i].hdr_user, "");
        OKS_ASSERT_EQ_STR(msgs[i].hdr_received_at, "");
    }
    OKS_ASSERT_EQ_INT(mine, 1);
    ih_msgs_free(msgs, n);
}

OKS_TEST(delivery_with_every_event_skipped_is_200_and_produces_nothing)
{
    ih_resp r;

    fixture();
    double unsub = ih_metric(&F.ing, SKIPPED("unsubscribed"));
    double malformed = ih_metric(&F.ing, SKIPPED("malformed"));
    int64_t ev_before = ih_topic_count(F.brokers, F.topic);
    int64_t dl_before = ih_topic_count(F.brokers, F.dlq);
    ih_post_hook(&F.ing, F.sub, SECRET,
                 "{\"data\":{\"events\":[{\"uuid\":\"s\",\"eventType\":\"user.session.start\"},"
                 "{\"uuid\":\"u\",\"target\":[{\"id\":\"00u1\",\"type\":\"User\"}]},null]}}",
                 &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(ih_metric(&F.ing, SKIPPED("unsubscribed")), unsub + 1);
    OKS_ASSERT_EQ_INT(ih_metric(&F.ing, SKIPPED("malformed")), malformed + 2);
    barrier(); /* one good event after it: the only new message */
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), ev_before + 1);
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.dlq), dl_before);
}

OKS_TEST(tenant_from_host_header)
{
    ih_resp r;
    char url[256], host[160], auth[256];

    fixture();
    int64_t before = ih_topic_count(F.brokers, F.topic);
    snprintf(url, sizeof(url), "http://%s/webhooks/okta", F.ing.http);
    snprintf(host, sizeof(host), "Host: %s.hooks.test", F.sub);
    snprintf(auth, sizeof(auth), "Authorization: %s", SECRET);
    char *body = ih_body(oks_test_unique("host"), 1, DEACT, 1);
    const char *hdrs[] = {host, auth, "Content-Type: application/json", NULL};
    ih_req rq = {.method = "POST", .url = url, .headers = hdrs, .body = body};
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), before + 1);
    const char *other[] = {"Host: nobody.hooks.test", auth, "Content-Type: application/json", NULL};
    rq.headers = other;
    expect_rejected(&rq, 404);
    free(body);
}

OKS_TEST(bad_requests_get_4xx_and_produce_nothing)
{
    char url[256], unknown[256], auth[256];
    fixture();
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", F.ing.http, F.sub);
    snprintf(unknown, sizeof(unknown), "http://%s/webhooks/okta/nobody-here", F.ing.http);
    snprintf(auth, sizeof(auth), "Authorization: %s", SECRET);
    char *good = ih_body(oks_test_unique("bad"), 1, DEACT, 1);
    const char *ok_h[] = {auth, "Content-Type: application/json", NULL};
    const char *noauth[] = {"Content-Type: application/json", NULL};
    const char *wrong[] = {"Authorization: Basic d3Jvbmc=", "Content-Type: application/json", NULL};
    const char *text[] = {auth, "Content-Type: text/plain", NULL};
    ih_req rq = {.method = "POST", .url = unknown, .headers = ok_h, .body = good};

    expect_rejected(&rq, 404);
    rq.url = url;
    rq.headers = noauth;
    expect_rejected(&rq, 401);
    rq.headers = wrong;
    expect_rejected(&rq, 401);
    rq.headers = ok_h;
    rq.method = "PUT";
    expect_rejected(&rq, 405);
    rq.method = "POST";
    rq.headers = text;
    expect_rejected(&rq, 415);
    rq.headers = ok_h;

    static const char *const bodies400[] = {
        "{\"data\":{\"events\":[",
        ("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]"
         "]"), /* deeper than max-json-depth */
        "{\"data\":{}}",
        "{\"data\":{\"events\":{}}}",
    };
    for (size_t i = 0; i < sizeof(bodies400) / sizeof(bodies400[0]); i++) {
        rq.body = bodies400[i];
        expect_rejected(&rq, 400);
    }
    size_t big_len = 70 * 1024; /* max-body is 64 KiB in this fixture */
    char *big = malloc(big_len + 1);
    memset(big, ' ', big_len);
    big[big_len] = '\0';
    rq.body = big;
    expect_rejected(&rq, 413); /* refused from Content-Length, before reading */
    rq.chunked = true;
    expect_rejected(&rq, 413); /* no length: refused once the limit is crossed while reading */
    rq.chunked = false;
    free(big);

    const char *many[24];
    int n = 0;
    many[n++] = auth;
    many[n++] = "Content-Type: application/json";
    static char extra[20][32];
    for (int i = 0; i < 20; i++) {
        snprintf(extra[i], sizeof(extra[i]), "X-Filler-%d: %d", i, i);
        many[n++] = extra[i];
    }
    many[n] = NULL;
    rq.headers = many;
    rq.body = good;
    expect_rejected(&rq, 431);

    /* Headers over max-header-bytes (32 KiB here): libmicrohttpd itself answers 431. */
    size_t hlen = 40 * 1024;
    char *huge = malloc(hlen + 16);
    memcpy(huge, "X-Huge: ", 8);
    memset(huge + 8, 'a', hlen);
    huge[8 + hlen] = '\0';
    const char *big_h[] = {auth, "Content-Type: application/json", huge, NULL};
    rq.headers = big_h;
    int64_t before = ih_topic_count(F.brokers, F.topic);
    ih_resp r;
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 431);
    barrier();
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), before + 1);
    free(huge);
    free(good);
}

OKS_TEST(tenant_added_at_runtime_usable_within_5s)
{
    ih_resp r;
    char id[64];

    fixture();
    const char *sub = ih_subdomain("late");
    char *body = ih_body(oks_test_unique("late"), 1, DEACT, 1);
    ih_post_hook(&F.ing, sub, "late-secret", body, &r);
    OKS_ASSERT_EQ_INT(r.status, 404);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ih_db_add_tenant(F.db, sub, "late-secret", id);
    do {
        ih_post_hook(&F.ing, sub, "late-secret", body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 6);
    free(body);
    OKS_ASSERT_EQ_INT(r.status, 200);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    OKS_ASSERT(secs < 5.0);
}

OKS_TEST(chunked_body_accepted)
{
    ih_resp r;
    char url[256], auth[256];

    fixture();
    int64_t before = ih_topic_count(F.brokers, F.topic);
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", F.ing.http, F.sub);
    snprintf(auth, sizeof(auth), "Authorization: %s", SECRET);
    char *body = ih_body(oks_test_unique("chunk"), 30, DEACT, 1); /* several 4 KiB chunks */
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    ih_req rq = {.method = "POST", .url = url, .headers = hdrs, .body = body, .chunked = true};
    ih_http(&rq, &r);
    free(body);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(ih_topic_count(F.brokers, F.topic), before + 30);
}

/* With the NOTIFY trigger disabled, only the fallback poll can bring a new tenant in. */
OKS_TEST(tenant_poll_fallback_without_notify)
{
    ih_resp r;
    char id[64];

    fixture();
    const char *sub = ih_subdomain("poll");
    char *body = ih_body(oks_test_unique("poll"), 1, DEACT, 1);
    ih_db_exec(F.db, "ALTER TABLE tenants DISABLE TRIGGER tenants_notify");
    ih_db_add_tenant(F.db, sub, "poll-secret", id);
    ih_db_exec(F.db, "ALTER TABLE tenants ENABLE TRIGGER tenants_notify");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        ih_post_hook(&F.ing, sub, "poll-secret", body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 6);
    free(body);
    OKS_ASSERT_EQ_INT(r.status, 200);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    OKS_ASSERT(secs < 5.0); /* tenant-poll-interval is 2 s in this fixture */
}

/* max-connections: libmicrohttpd refuses connections beyond the limit. */
OKS_TEST(connection_limit)
{
    ih_proc ing;
    ih_resp r;
    char url[256];
    int fds[2];

    fixture();
    const char *args[] = {"--max-connections=2", NULL};
    ih_ingest_start(&ing, F.db_url, F.brokers, F.topic, args);
    snprintf(url, sizeof(url), "http://%s/webhooks/okta/%s", ing.http, F.sub);
    ih_req rq = {.url = url, .timeout_ms = 3000};
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 401); /* reachable: no secret given */
    for (int i = 0; i < 2; i++)
        fds[i] = ih_tcp_connect(ing.http);
    ih_http(&rq, &r);
    OKS_ASSERT_EQ_INT(r.status, 0); /* third connection refused */
    close(fds[0]);
    close(fds[1]);
    bool served = false;
    for (int i = 0; i < 50 && !served; i++) { /* the server notices the closes shortly */
        ih_http(&rq, &r);
        served = r.status == 401;
    }
    OKS_ASSERT(served);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&ing, 10000), 0);
}

OKS_TEST(rotation_window)
{
    ih_resp r;
    char id[64], sql[512];

    fixture();
    const char *sub = ih_subdomain("rot");
    ih_db_add_tenant(F.db, sub, "old-secret", id);
    char *body = ih_body(oks_test_unique("rot"), 1, DEACT, 1);
    /* Rotate: new current secret, the old one stays valid for 4 more seconds. */
    snprintf(sql, sizeof(sql),
             "UPDATE tenants SET webhook_secret_prev_hash = webhook_secret_hash, "
             "webhook_secret_prev_expires_at = now() + interval '4 seconds', "
             "webhook_secret_hash = sha256('new-secret'::bytea) WHERE id = '%s'",
             id);
    ih_db_exec(F.db, sql);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { /* wait for the rotation to reach the cache */
        ih_post_hook(&F.ing, sub, "new-secret", body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 5);
    OKS_ASSERT_EQ_INT(r.status, 200);
    ih_post_hook(&F.ing, sub, "old-secret", body, &r);
    OKS_ASSERT_EQ_INT(r.status, 200); /* inside the window */
    ih_post_hook(&F.ing, sub, "other-secret", body, &r);
    OKS_ASSERT_EQ_INT(r.status, 401);
    do { /* past the expiry the old secret is refused, without any reload needed */
        ih_post_hook(&F.ing, sub, "old-secret", body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status == 200 && t1.tv_sec - t0.tv_sec < 7);
    OKS_ASSERT_EQ_INT(r.status, 401);
    ih_post_hook(&F.ing, sub, "new-secret", body, &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    free(body);
}

OKS_TEST(health_ready_metrics)
{
    ih_resp r;

    fixture();
    ih_admin_get(&F.ing, "/healthz", &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    ih_admin_get(&F.ing, "/readyz", &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    barrier();
    OKS_ASSERT(ih_metric(&F.ing, "oktasync_ingest_requests_total{status=\"200\"}") >= 1);
    OKS_ASSERT(ih_metric(&F.ing, "oktasync_ingest_events_produced_total") >= 1);
    OKS_ASSERT(ih_metric(&F.ing, "oktasync_ingest_ack_latency_seconds_count") >= 1);
    OKS_ASSERT_EQ_INT(ih_metric_settle(&F.ing, "oktasync_ingest_requests_in_flight", 0, 2000), 0);
}

/* Last: takes PostgreSQL away from ingest (connections to its database refused). */
OKS_TEST(zz_postgres_gone_keeps_serving_cached_tenants)
{
    char sql[512];
    ih_resp r;

    fixture();
    PGconn *admin = PQconnectdb(oks_test_service("OKTASYNC_DATABASE_URL"));
    OKS_ASSERT(PQstatus(admin) == CONNECTION_OK);
    const char *dbname = PQdb(F.db);
    snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS false", dbname);
    ih_db_exec(admin, sql);
    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' "
             "AND pid <> pg_backend_pid()",
             dbname);
    ih_db_exec(admin, sql);
    /* Several refresh intervals without a database: the cached tenant still works. */
    for (int i = 0; i < 3; i++) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL); /* the point is that time passes with PostgreSQL gone */
        barrier();
    }
    snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS true", dbname);
    ih_db_exec(admin, sql);
    PQfinish(admin);
    ih_admin_get(&F.ing, "/healthz", &r);
    OKS_ASSERT_EQ_INT(r.status, 200);
    /* Back again: the loader reconnects by itself and a new tenant is served. */
    PGconn *db = PQconnectdb(F.db_url);
    OKS_ASSERT(PQstatus(db) == CONNECTION_OK);
    char id[64];
    const char *sub = ih_subdomain("back");
    ih_db_add_tenant(db, sub, "back-secret", id);
    PQfinish(db);
    char *body = ih_body(oks_test_unique("back"), 1, DEACT, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        ih_post_hook(&F.ing, sub, "back-secret", body, &r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (r.status != 200 && t1.tv_sec - t0.tv_sec < 10);
    free(body);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(ih_proc_stop(&F.ing, 10000), 0);
    F.up = false;
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
