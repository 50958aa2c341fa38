/* Unit tests of the pure request validation (routing, content type, body → batch). */
#include "event/oks_event.h"
#include "oks_ingest_request.h"
#include "oks_test.h"
#include "subdomain_cases.h"

#include <stdlib.h>

static const oks_ingest_limits LIM = {.max_body = 4096, .max_depth = 8, .max_events = 3};
static const char *TENANT = "7d1e0c1a-0000-4000-8000-000000000001";

#define EV(uuid, type)                                                                             \
    "{\"uuid\":\"" uuid "\",\"eventType\":\"" type                                                 \
    "\",\"published\":\"2025-03-04T10:15:29.877Z\","                                               \
    "\"target\":[{\"id\":\"00u1\",\"type\":\"User\"}]}"

static unsigned parse_status(const char *body, oks_ingest_batch *b, oks_ingest_reject *rej)
{
    memset(rej, 0, sizeof(*rej));
    if (oks_ingest_body_parse(body, strlen(body), &LIM, TENANT, 0, b, rej) == 0)
        return 0;
    OKS_ASSERT_CONTAINS(rej->body, "{\"error\":\"");
    OKS_ASSERT(b->msgs == NULL); /* nothing left to produce after a rejection */
    return rej->status;
}

OKS_TEST(route_by_path_and_host)
{
    oks_ingest_route r;
    oks_ingest_reject rej = {0};

    OKS_ASSERT_EQ_INT(oks_ingest_route_parse("POST", "/webhooks/okta/Acme", NULL, "", &r, &rej), 0);
    OKS_ASSERT_EQ_STR(r.subdomain, "acme");
    OKS_ASSERT_EQ_INT(r.kind, OKS_INGEST_DELIVERY);
    OKS_ASSERT_EQ_INT(oks_ingest_route_parse("GET", "/webhooks/okta?x=1", "acme.hooks.example:8443",
                                             "hooks.example", &r, &rej),
                      0);
    OKS_ASSERT_EQ_STR(r.subdomain, "acme");
    OKS_ASSERT_EQ_INT(r.kind, OKS_INGEST_VERIFY);
    OKS_ASSERT_EQ_INT(oks_ingest_route_parse("POST", "/webhooks/okta/", "b.hooks.example",
                                             "hooks.example", &r, &rej),
                      0);
    OKS_ASSERT_EQ_STR(r.subdomain, "b");
}

OKS_TEST(route_rejections)
{
    oks_ingest_route r;
    oks_ingest_reject rej = {0};

    OKS_ASSERT(oks_ingest_route_parse("POST", "/other", NULL, "", &r, &rej) != 0);
    OKS_ASSERT_EQ_INT(rej.status, 404);
    /* Host of another domain, nested subdomain, no base domain configured. */
    OKS_ASSERT(oks_ingest_route_parse("POST", "/webhooks/okta", "acme.evil.example",
                                      "hooks.example", &r, &rej) != 0);
    OKS_ASSERT_EQ_INT(rej.status, 404);
    OKS_ASSERT(oks_ingest_route_parse("POST", "/webhooks/okta", "a.b.hooks.example",
                                      "hooks.example", &r, &rej) != 0);
    OKS_ASSERT(
        oks_ingest_route_parse("POST", "/webhooks/okta", "acme.hooks.example", "", &r, &rej) != 0);
    OKS_ASSERT(oks_ingest_route_parse("POST", "/webhooks/okta/a/b", NULL, "", &r, &rej) != 0);
    OKS_ASSERT(oks_ingest_route_parse("POST", "/webhooks/oktax", NULL, "", &r, &rej) != 0);
    OKS_ASSERT_EQ_INT(rej.status, 404);
    OKS_ASSERT(oks_ingest_route_parse("PUT", "/webhooks/okta/acme", NULL, "", &r, &rej) != 0);
    OKS_ASSERT_EQ_INT(rej.status, 405);
    OKS_ASSERT_EQ_STR(rej.body, "{\"error\":\"method not allowed\"}");
}

/* Routing uses the one subdomain rule (core/oks_subdomain.h) after folding case: the shared
 * table of good and bad names, as a path segment. */
OKS_TEST(route_subdomain_rule_table)
{
    for (size_t i = 0; i < SUBDOMAIN_CASES_N; i++) {
        const char *name = subdomain_cases[i].name;
        bool has_upper = false;
        for (const char *c = name; *c; c++)
            has_upper |= *c >= 'A' && *c <= 'Z';
        if (has_upper)
            continue; /* folded below */
        char url[128];
        snprintf(url, sizeof url, "/webhooks/okta/%s", name);
        oks_ingest_route r;
        oks_ingest_reject rej = {0};
        bool ok = oks_ingest_route_parse("POST", url, NULL, "", &r, &rej) == 0;
        if (ok != subdomain_cases[i].valid)
            oks_test_fail(__FILE__, __LINE__, "route %s: got %d, want %d", url, ok,
                          subdomain_cases[i].valid);
        if (ok)
            OKS_ASSERT_EQ_STR(r.subdomain, name);
        else
            OKS_ASSERT_EQ_INT(rej.status, 404);
    }
    oks_ingest_route r;
    oks_ingest_reject rej = {0};
    OKS_ASSERT_EQ_INT(oks_ingest_route_parse("POST", "/webhooks/okta", "ACME-1.hooks.example",
                                             "hooks.example", &r, &rej),
                      0);
    OKS_ASSERT_EQ_STR(r.subdomain, "acme-1");
    /* '_' and a leading '-' were accepted before the rule was shared; no tenant can have them. */
    OKS_ASSERT(oks_ingest_route_parse("POST", "/webhooks/okta", "a_b.hooks.example",
                                      "hooks.example", &r, &rej) != 0);
    OKS_ASSERT(oks_ingest_route_parse("POST", "/webhooks/okta/-acme", NULL, "", &r, &rej) != 0);
}

OKS_TEST(content_type)
{
    oks_ingest_reject rej = {0};

    OKS_ASSERT_EQ_INT(oks_ingest_check_content_type("application/json", &rej), 0);
    OKS_ASSERT_EQ_INT(oks_ingest_check_content_type("Application/JSON; charset=utf-8", &rej), 0);
    OKS_ASSERT(oks_ingest_check_content_type("text/plain", &rej) != 0);
    OKS_ASSERT_EQ_INT(rej.status, 415);
    OKS_ASSERT(oks_ingest_check_content_type("application/jsonx", &rej) != 0);
    OKS_ASSERT(oks_ingest_check_content_type(NULL, &rej) != 0);
}

OKS_TEST(json_depth_ignores_strings)
{
    OKS_ASSERT_EQ_INT(oks_ingest_json_depth("{\"a\":[[1]]}", 11, 100), 3);
    OKS_ASSERT_EQ_INT(oks_ingest_json_depth("{\"a\":\"[[[[\\\"[[\"}", 16, 100), 1);
}

/* The scan's model of strings: a quote ends a string unless an odd run of backslashes precedes
 * it. Byte-at-a-time reference, to check the memchr-based scan against. */
static int depth_reference(const char *body, size_t len)
{
    int depth = 0, max = 0;
    bool in_str = false;

    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            max = ++depth > max ? depth : max;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

OKS_TEST(json_depth_escape_runs_and_unterminated_strings)
{
    static const char *const cases[] = {
        "[\"\\\\\",[[1]]]",               /* even run: the string ends before [[ -> depth 3 */
        "[\"\\\\\\\",[[1]]\"]",           /* odd run: the quote is escaped -> depth 1 */
        "[\"\\\"]",                       /* unterminated string after an escaped quote */
        "[\"abc",                         /* unterminated */
        "{\"k\\\"[\":[{\"x\":\"]]]\"}]}", /* brackets in keys and values */
        "\"\"[[]]",                       /* empty string first */
        "[\"\\\\\"]",                     /* string holding one backslash */
    };
    static const int want[] = {3, 1, 1, 1, 3, 2, 1};
    unsigned seed = 12345;
    char buf[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i]);
        OKS_ASSERT_EQ_INT(oks_ingest_json_depth(cases[i], n, 100), want[i]);
        OKS_ASSERT_EQ_INT(depth_reference(cases[i], n), want[i]);
    }
    /* Random strings over the characters that matter agree with the reference. */
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof(buf));
        for (size_t i = 0; i < n; i++)
            buf[i] = "[]{}\"\\a"[rand_r(&seed) % 7];
        OKS_ASSERT_EQ_INT(oks_ingest_json_depth(buf, n, 1000), depth_reference(buf, n));
    }
}

OKS_TEST(body_batch_and_skipped_types)
{
    oks_ingest_batch b;
    oks_ingest_reject rej;
    const char *body = "{\"data\":{\"events\":[" EV("e1", "user.lifecycle.deactivate") "," EV(
        "e2", "user.session.start") "," EV("e3", "group.user_membership.add") "]}}";

    OKS_ASSERT_EQ_INT(parse_status(body, &b, &rej), 0);
    OKS_ASSERT_EQ_INT(b.n_msgs, 2);
    OKS_ASSERT_EQ_INT(b.n_skipped, 1);
    OKS_ASSERT_EQ_STR(b.msgs[0].event_type, "user.lifecycle.deactivate");
    OKS_ASSERT_EQ_STR(b.msgs[1].event_type, "group.user_membership.add");
    oks_event_envelope env;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_event_envelope_parse(b.msgs[1].value, b.msgs[1].len, &env, &err), 0);
    OKS_ASSERT_EQ_STR(env.event_uuid, "e3");
    OKS_ASSERT_EQ_STR(env.tenant, TENANT);
    oks_event_envelope_free(&env);
    oks_ingest_batch_free(&b);

    OKS_ASSERT_EQ_INT(parse_status("{\"data\":{\"events\":[]}}", &b, &rej), 0);
    OKS_ASSERT_EQ_INT(b.n_msgs, 0);
    oks_ingest_batch_free(&b);
}

OKS_TEST(body_rejections)
{
    oks_ingest_batch b;
    oks_ingest_reject rej;
    char big[5000];

    OKS_ASSERT_EQ_INT(parse_status("", &b, &rej), 400);
    OKS_ASSERT_EQ_INT(parse_status("{\"data\":{\"events\":[", &b, &rej), 400);
    OKS_ASSERT_EQ_STR(rej.body, "{\"error\":\"malformed JSON\"}");
    OKS_ASSERT_EQ_INT(parse_status("{\"data\":{}}", &b, &rej), 400);
    OKS_ASSERT_CONTAINS(rej.body, "data.events");
    OKS_ASSERT_EQ_INT(parse_status("{\"data\":{\"events\":{}}}", &b, &rej), 400);
    OKS_ASSERT_EQ_INT(parse_status("{\"a\":[[[[[[[[[[1]]]]]]]]]]}", &b, &rej), 400);
    OKS_ASSERT_CONTAINS(rej.body, "deeply");
    OKS_ASSERT_EQ_INT(parse_status("{\"data\":{\"events\":[1,2,3,4]}}", &b, &rej), 400);
    OKS_ASSERT_CONTAINS(rej.body, "too many");
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    OKS_ASSERT_EQ_INT(parse_status(big, &b, &rej), 413);
}

/* Per-event verdicts: one bad or unsubscribed event never rejects the delivery. Good events
 * become envelopes, malformed subscribed ones dead letters, the rest is counted by reason. */
OKS_TEST(body_verdicts_per_event)
{
    static const oks_ingest_limits lim = {.max_body = 65536, .max_depth = 8, .max_events = 100};
    const char *body = "{\"data\":{\"events\":["
        /* 0 */ EV(
            "e0",
            "user.lifecycle.deactivate") ","
                                         /* 1: unsubscribed, no User target (the delivery that used
                                            to be lost as a whole) */
                                         "{\"uuid\":\"e1\",\"eventType\":\"user.session.start\","
                                         "\"target\":[{\"id\":\"x\","
                                         "\"type\":\"AppInstance\"}]},"
                                         /* 2: subscribed, no User target */
                                         "{\"uuid\":\"e2\",\"eventType\":\"group.user_membership."
                                         "add\",\"target\":[{\"id\":"
                                         "\"00g1\",\"type\":\"UserGroup\"}]},"
                                         /* 3: subscribed, no uuid */
                                         "{\"eventType\":\"user.lifecycle.create\",\"target\":[{"
                                         "\"id\":\"00u1\",\"type\":"
                                         "\"User\"}]},"
                                         /* 4: not an object */ "42,"
                                         /* 5: no eventType */ "{\"uuid\":\"e5\",\"target\":[]},"
        /* 6 */ EV("e6", "group.user_membership.add") ","
                                                      /* 7: eventType not a string */
                                                      "{\"uuid\":\"e7\",\"eventType\":7},"
                                                      /* 8: subscribed, target not an array */
                                                      "{\"uuid\":\"e8\",\"eventType\":\"user."
                                                      "lifecycle.suspend\",\"target\":{}},"
                                                      /* 9: unsubscribed and no uuid */
                                                      "{\"eventType\":\"policy.lifecycle.update\"}"
                                                      "]}}";
    static const struct {
        oks_ingest_action action;
        oks_ingest_skip_reason reason;
    } want[] = {
        {OKS_INGEST_PRODUCE, OKS_INGEST_SKIP_NONE},
        {OKS_INGEST_SKIP, OKS_INGEST_SKIP_UNSUBSCRIBED},
        {OKS_INGEST_DEAD_LETTER, OKS_INGEST_SKIP_NO_USER_TARGET},
        {OKS_INGEST_DEAD_LETTER, OKS_INGEST_SKIP_NO_UUID},
        {OKS_INGEST_SKIP, OKS_INGEST_SKIP_MALFORMED},
        {OKS_INGEST_SKIP, OKS_INGEST_SKIP_MALFORMED},
        {OKS_INGEST_PRODUCE, OKS_INGEST_SKIP_NONE},
        {OKS_INGEST_SKIP, OKS_INGEST_SKIP_MALFORMED},
        {OKS_INGEST_DEAD_LETTER, OKS_INGEST_SKIP_NO_USER_TARGET},
        {OKS_INGEST_SKIP, OKS_INGEST_SKIP_UNSUBSCRIBED},
    };
    oks_ingest_batch b;
    oks_ingest_reject rej = {0};
    oks_err err = {0};
    json_error_t je;

    OKS_ASSERT_EQ_INT(
        oks_ingest_body_parse(body, strlen(body), &lim, TENANT, 1764550000123, &b, &rej), 0);
    OKS_ASSERT_EQ_INT(b.n_events, 10);
    for (size_t i = 0; i < 10; i++) {
        if (b.verdicts[i].action != want[i].action || b.verdicts[i].reason != want[i].reason)
            oks_test_fail(__FILE__, __LINE__, "event %zu: action %d reason %s", i,
                          (int)b.verdicts[i].action,
                          oks_ingest_skip_reason_name(b.verdicts[i].reason));
    }
    OKS_ASSERT_EQ_INT(b.n_skipped, 8);
    OKS_ASSERT_EQ_INT(b.skipped[OKS_INGEST_SKIP_UNSUBSCRIBED], 2);
    OKS_ASSERT_EQ_INT(b.skipped[OKS_INGEST_SKIP_MALFORMED], 3);
    OKS_ASSERT_EQ_INT(b.skipped[OKS_INGEST_SKIP_NO_UUID], 1);
    OKS_ASSERT_EQ_INT(b.skipped[OKS_INGEST_SKIP_NO_USER_TARGET], 2);
    /* Messages in the delivery's order: e0, dead(e2), dead(no uuid), e6, dead(e8). */
    OKS_ASSERT_EQ_INT(b.n_msgs, 5);
    OKS_ASSERT_EQ_INT(b.n_dead_letters, 3);
    static const bool dead[] = {false, true, true, false, true};
    static const char *const types[] = {"user.lifecycle.deactivate", "group.user_membership.add",
                                        "user.lifecycle.create", "group.user_membership.add",
                                        "user.lifecycle.suspend"};
    for (size_t i = 0; i < 5; i++) {
        OKS_ASSERT_EQ_INT(b.msgs[i].dead_letter, dead[i]);
        OKS_ASSERT_EQ_STR(b.msgs[i].event_type, types[i]);
        OKS_ASSERT_EQ_INT(strlen(b.msgs[i].value), b.msgs[i].len);
    }
    oks_event_envelope env;
    OKS_ASSERT_EQ_INT(oks_event_envelope_parse(b.msgs[3].value, b.msgs[3].len, &env, &err), 0);
    OKS_ASSERT_EQ_STR(env.event_uuid, "e6");
    oks_event_envelope_free(&env);

    /* A dead letter: the fleet's format, no source topic, the raw event as Okta sent it. */
    json_t *dl = json_loadb(b.msgs[1].value, b.msgs[1].len, 0, &je);
    OKS_ASSERT(dl != NULL);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(dl, "v")), 1);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(dl, "reason")),
                      "subscribed event without a User target");
    OKS_ASSERT_EQ_STR(b.msgs[1].dl_reason, "subscribed event without a User target");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(dl, "error_class")), "invalid");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(dl, "source_topic")), "");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(dl, "source_partition")), -1);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(dl, "source_offset")), -1);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(dl, "failed_at")),
                      "2025-12-01T00:46:40.123Z");
    const char *raw = json_string_value(json_object_get(dl, "value"));
    OKS_ASSERT(raw != NULL);
    json_t *got = json_loads(raw, 0, &je);
    json_t *sent = json_loads("{\"uuid\":\"e2\",\"eventType\":\"group.user_membership.add\","
                              "\"target\":[{\"id\":\"00g1\",\"type\":\"UserGroup\"}]}",
                              0, &je);
    OKS_ASSERT(got && sent && json_equal(got, sent));
    json_decref(got);
    json_decref(sent);
    json_decref(dl);
    dl = json_loadb(b.msgs[2].value, b.msgs[2].len, 0, &je);
    OKS_ASSERT(dl != NULL);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(dl, "reason")),
                      "subscribed event without uuid");
    json_decref(dl);
    oks_ingest_batch_free(&b);

    /* Every event skipped: a batch with nothing to produce (answered 200, not retried). */
    const char *none = "{\"data\":{\"events\":[{\"eventType\":\"user.session.start\"},1]}}";
    OKS_ASSERT_EQ_INT(oks_ingest_body_parse(none, strlen(none), &lim, TENANT, 0, &b, &rej), 0);
    OKS_ASSERT_EQ_INT(b.n_msgs, 0);
    OKS_ASSERT_EQ_INT(b.n_skipped, 2);
    oks_ingest_batch_free(&b);
}

OKS_TEST(skip_reason_names)
{
    OKS_ASSERT_EQ_STR(oks_ingest_skip_reason_name(OKS_INGEST_SKIP_UNSUBSCRIBED), "unsubscribed");
    OKS_ASSERT_EQ_STR(oks_ingest_skip_reason_name(OKS_INGEST_SKIP_MALFORMED), "malformed");
    OKS_ASSERT_EQ_STR(oks_ingest_skip_reason_name(OKS_INGEST_SKIP_NO_UUID), "no_uuid");
    OKS_ASSERT_EQ_STR(oks_ingest_skip_reason_name(OKS_INGEST_SKIP_NO_USER_TARGET),
                      "no_user_target");
    OKS_ASSERT_EQ_STR(oks_ingest_skip_reason_name(OKS_INGEST_SKIP__COUNT), "none");
}

OKS_TEST(verification_body)
{
    oks_ingest_reject rej = {0};
    char *s = oks_ingest_verification_body("abc\"def", &rej);
    OKS_ASSERT_EQ_STR(s, "{\"verification\":\"abc\\\"def\"}");
    free(s);
    OKS_ASSERT(oks_ingest_verification_body(NULL, &rej) == NULL);
    OKS_ASSERT_EQ_INT(rej.status, 400);
    OKS_ASSERT(oks_ingest_verification_body("", &rej) == NULL);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
