/* Pure rules of the worker: envelope validation, event actions, status mapping, retry backoff
 * and the dead-letter value. No services. (The Okta base URL is core_okta_domain_test's.) */
#include "oks_test.h"
#include "oks_worker_consumer.h"
#include "oks_worker_dlq.h"
#include "oks_worker_envelope.h"
#include "oks_worker_job.h"
#include "oks_worker_rules.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>

static const char good[] =
    "{\"v\":1,\"tenant\":\"0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a\",\"event_uuid\":\"e-1\","
    "\"event_type\":\"user.lifecycle.deactivate\",\"published\":\"2025-03-04T10:15:29.877Z\","
    "\"okta_user_id\":\"00u1\",\"group_id\":null,\"app_id\":null,"
    "\"received_at\":\"2025-03-04T10:15:31.000Z\",\"event\":{}}";

OKS_TEST(envelope_parses_contract_shape)
{
    oks_worker_envelope env;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_envelope_parse(good, strlen(good), &env, &err), 0);
    OKS_ASSERT_EQ_STR(env.tenant, "0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a");
    OKS_ASSERT_EQ_STR(env.event_uuid, "e-1");
    OKS_ASSERT_EQ_STR(env.event_type, "user.lifecycle.deactivate");
    OKS_ASSERT_EQ_STR(env.okta_user_id, "00u1");
    OKS_ASSERT_EQ_INT(env.published_ms, 1741083329877LL);
}

static void expect_bad(const char *json, const char *why)
{
    oks_worker_envelope env;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_envelope_parse(json, strlen(json), &env, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, why);
}

OKS_TEST(envelope_rejects_bad_input)
{
    expect_bad("not json", "not a JSON object");
    expect_bad("[1]", "not a JSON object");
    char buf[2048];
    /* wrong version */
    snprintf(buf, sizeof buf, "%s", good);
    buf[5] = '2';
    expect_bad(buf, "version");
    expect_bad("{\"v\":1,\"tenant\":\"not-a-uuid\",\"event_uuid\":\"e\",\"event_type\":\"t\","
               "\"okta_user_id\":\"00u1\",\"published\":\"2025-03-04T10:15:29.877Z\","
               "\"received_at\":\"2025-03-04T10:15:29.877Z\",\"event\":{}}",
               "uuid");
    expect_bad("{\"v\":1,\"tenant\":\"0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a\",\"event_uuid\":\"e\","
               "\"event_type\":\"t\",\"okta_user_id\":\"00u1\",\"published\":\"yesterday\","
               "\"received_at\":\"2025-03-04T10:15:29.877Z\",\"event\":{}}",
               "ISO-8601");
    oks_worker_envelope env;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_envelope_parse("", 0, &env, &err), -1);
}

OKS_TEST(envelope_rejects_overlong_ids)
{
    char id[300];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"v\":1,\"tenant\":\"0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a\",\"event_uuid\":\"%s\","
             "\"event_type\":\"t\",\"okta_user_id\":\"00u1\","
             "\"published\":\"2025-03-04T10:15:29.877Z\","
             "\"received_at\":\"2025-03-04T10:15:29.877Z\",\"event\":{}}",
             id);
    expect_bad(buf, "longer than");
}

static rd_kafka_headers_t *routing(const char *tenant, const char *uuid, const char *type,
                                   const char *user, const char *published, const char *received_at)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    const char *kv[][2] = {{"tenant", tenant},       {"event_uuid", uuid},
                           {"type", type},           {"okta_user_id", user},
                           {"published", published}, {"received_at", received_at}};
    for (size_t i = 0; i < 6; i++)
        if (kv[i][1])
            rd_kafka_header_add(h, kv[i][0], -1, kv[i][1], -1);
    return h;
}

static void expect_same(rd_kafka_headers_t *h, const char *value)
{
    oks_worker_envelope a, b;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_envelope_from_headers(h, &a, &err), 0);
    OKS_ASSERT_EQ_INT(oks_worker_envelope_parse(value, strlen(value), &b, &err), 0);
    OKS_ASSERT_EQ_STR(a.tenant, b.tenant);
    OKS_ASSERT_EQ_STR(a.event_uuid, b.event_uuid);
    OKS_ASSERT_EQ_STR(a.event_type, b.event_type);
    OKS_ASSERT_EQ_STR(a.okta_user_id, b.okta_user_id);
    OKS_ASSERT_EQ_INT(a.published_ms, b.published_ms);
    rd_kafka_headers_destroy(h);
}

static void expect_refused(rd_kafka_headers_t *h)
{
    oks_worker_envelope env;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_envelope_from_headers(h, &env, &err), -1);
    OKS_ASSERT(err.msg[0] != '\0');
    rd_kafka_headers_destroy(h);
}

/* event/oks_event.h "Routing headers": the headers give what the value gives, and anything the
 * value's checks would refuse (or a missing header) is refused, so the value decides it. */
OKS_TEST(envelope_from_routing_headers_is_the_values_and_refuses_what_it_would)
{
    static const char T[] = "0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a",
                      P[] = "2025-03-04T10:15:29.877Z", R[] = "2025-03-04T10:15:31.000Z",
                      Y[] = "user.lifecycle.deactivate";
    expect_same(routing(T, "e-1", Y, "00u1", P, R), good);
    /* no published: received_at orders the change, as for a value without one */
    static const char pub[] = "\"published\":\"2025-03-04T10:15:29.877Z\",";
    char nopub[1024];
    snprintf(nopub, sizeof nopub, "%s", good);
    char *at = strstr(nopub, pub);
    OKS_ASSERT(at != NULL);
    memmove(at, at + strlen(pub), strlen(at + strlen(pub)) + 1);
    expect_same(routing(T, "e-1", Y, "00u1", NULL, R), nopub);

    expect_refused(rd_kafka_headers_new(1)); /* none at all */
    expect_refused(routing(NULL, "e-1", Y, "00u1", P, R));
    expect_refused(routing(T, NULL, Y, "00u1", P, R));
    expect_refused(routing(T, "e-1", NULL, "00u1", P, R));
    expect_refused(routing(T, "e-1", Y, NULL, P, R));
    expect_refused(routing(T, "e-1", Y, "", P, R));
    expect_refused(routing(T, "e-1", Y, "00u1", P, NULL));
    expect_refused(routing("not-a-uuid", "e-1", Y, "00u1", P, R));
    expect_refused(routing(T, "e-1", Y, "00u1", "yesterday", R));
    expect_refused(routing(T, "e-1", Y, "00u1", NULL, "soon"));
    char id[OKS_EVENT_ID_MAX + 1];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0'; /* 129 bytes: one over */
    expect_refused(routing(T, id, Y, "00u1", P, R));
    id[sizeof id - 2] = '\0'; /* 128 fit */
    rd_kafka_headers_t *h = routing(T, id, Y, "00u1", P, R);
    oks_worker_envelope env;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_worker_envelope_from_headers(h, &env, &err), 0);
    OKS_ASSERT_EQ_STR(env.event_uuid, id);
    rd_kafka_headers_destroy(h);
    /* a NUL inside a value, and a header with no value */
    h = routing(T, NULL, Y, "00u1", P, R);
    rd_kafka_header_add(h, "event_uuid", -1, "e-1\0x", 5);
    expect_refused(h);
    h = routing(T, NULL, Y, "00u1", P, R);
    rd_kafka_header_add(h, "event_uuid", -1, NULL, 0);
    expect_refused(h);
    OKS_ASSERT_EQ_INT(oks_worker_envelope_from_headers(NULL, &env, &err), -1);
}

OKS_TEST(event_actions)
{
    OKS_ASSERT_EQ_INT(oks_worker_action_for("user.account.update_profile"), OKS_WORKER_FETCH);
    OKS_ASSERT_EQ_INT(oks_worker_action_for("user.lifecycle.deactivate"), OKS_WORKER_FETCH);
    OKS_ASSERT_EQ_INT(oks_worker_action_for("user.lifecycle.reactivate"), OKS_WORKER_FETCH);
    OKS_ASSERT_EQ_INT(oks_worker_action_for("application.user_membership.add"), OKS_WORKER_FETCH);
    OKS_ASSERT_EQ_INT(oks_worker_action_for("application.user_membership.remove"),
                      OKS_WORKER_DEACTIVATE);
    OKS_ASSERT_EQ_INT(oks_worker_action_for("user.lifecycle.delete.initiated"), OKS_WORKER_DELETE);
    OKS_ASSERT_EQ_INT(oks_worker_action_for("user.session.start"), OKS_WORKER_IGNORE);
    OKS_ASSERT_EQ_INT(oks_worker_action_for(NULL), OKS_WORKER_IGNORE);
}

OKS_TEST(okta_status_mapping)
{
    const char *active[] = {"ACTIVE", "PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"};
    for (size_t i = 0; i < sizeof active / sizeof active[0]; i++)
        OKS_ASSERT_EQ_STR(oks_worker_status_from_okta(active[i]), "active");
    OKS_ASSERT_EQ_STR(oks_worker_status_from_okta("DEPROVISIONED"), "deactivated");
    OKS_ASSERT_EQ_STR(oks_worker_status_from_okta("SUSPENDED"), "deactivated");
    OKS_ASSERT_EQ_STR(oks_worker_status_from_okta("STAGED"), "deactivated");
    OKS_ASSERT(oks_worker_status_from_okta("ACTIVATING_SOMETHING") == NULL);
    OKS_ASSERT(oks_worker_status_from_okta("active") == NULL); /* Okta spells it upper case */
    OKS_ASSERT(oks_worker_status_from_okta(NULL) == NULL);
}

OKS_TEST(backoff_doubles_and_caps)
{
    OKS_ASSERT_EQ_INT(oks_worker_next_backoff(0, 200, 10000), 200);
    OKS_ASSERT_EQ_INT(oks_worker_next_backoff(200, 200, 10000), 400);
    OKS_ASSERT_EQ_INT(oks_worker_next_backoff(6000, 200, 10000), 10000);
    OKS_ASSERT_EQ_INT(oks_worker_next_backoff(10000, 200, 10000), 10000);
    OKS_ASSERT_EQ_INT(oks_worker_next_backoff(0, 500, 100), 100);
}

OKS_TEST(dead_letter_value_carries_original_and_reason)
{
    rd_kafka_message_t m;
    memset(&m, 0, sizeof m);
    char payload[] = "not json at all";
    m.payload = payload;
    m.len = strlen(payload);
    m.partition = 3;
    m.offset = 42;
    char *v = oks_worker_dlq_value(&m, "envelope is not a JSON object", "invalid", 0, 65536);
    OKS_ASSERT(v != NULL);
    json_error_t je;
    json_t *j = json_loads(v, 0, &je);
    OKS_ASSERT(j != NULL);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "value")), payload);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "reason")),
                      "envelope is not a JSON object");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "error_class")), "invalid");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(j, "source_offset")), 42);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(j, "source_partition")), 3);
    json_decref(j);
    free(v);
    /* invalid UTF-8 travels as base64 */
    unsigned char bin[] = {0xff, 0xfe, 0x00, 0x41};
    m.payload = bin;
    m.len = sizeof bin;
    v = oks_worker_dlq_value(&m, "r", "invalid", 0, 65536);
    OKS_ASSERT(v != NULL);
    j = json_loads(v, 0, &je);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "value_base64")), "//4AQQ==");
    OKS_ASSERT(json_object_get(j, "value") == NULL);
    json_decref(j);
    free(v);
}

/* The reason rule itself is tested in tests/kafka (oks_dead_letter_reason); here: the worker's
 * value goes through it. */
OKS_TEST(dead_letter_value_survives_a_reason_that_is_not_utf8)
{
    /* a reason with invalid UTF-8 still gives a value (it used to give NULL: a wedge) */
    rd_kafka_message_t m;
    memset(&m, 0, sizeof m);
    m.payload = "x";
    m.len = 1;
    char *v = oks_worker_dlq_value(&m, "status \xff\xfe", "permanent", 0, 65536);
    OKS_ASSERT(v != NULL);
    OKS_ASSERT_CONTAINS(v, "status \\\\xFF\\\\xFE");
    free(v);
}

OKS_TEST(dead_letter_value_of_an_oversize_message_is_cut_to_the_budget)
{
    rd_kafka_message_t m;
    memset(&m, 0, sizeof m);
    size_t len = 300000;
    char *payload = malloc(len);
    OKS_ASSERT(payload != NULL);
    memset(payload, '"', len); /* escaping doubles every byte: the worst printable case */
    m.payload = payload;
    m.len = len;
    char *v = oks_worker_dlq_value(&m, "too big", "invalid", 0, 65536);
    OKS_ASSERT(v != NULL);
    OKS_ASSERT(strlen(v) <= 65536);
    json_t *j = json_loads(v, 0, NULL);
    OKS_ASSERT(j != NULL);
    OKS_ASSERT(json_is_true(json_object_get(j, "value_truncated")));
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(j, "value_length")), (long long)len);
    OKS_ASSERT(json_string_length(json_object_get(j, "value")) > 1000);
    json_decref(j);
    free(v);
    /* binary: base64 of a prefix */
    memset(payload, 0xff, len);
    v = oks_worker_dlq_value(&m, "too big", "invalid", 0, 65536);
    OKS_ASSERT(v != NULL);
    OKS_ASSERT(strlen(v) <= 65536);
    j = json_loads(v, 0, NULL);
    OKS_ASSERT(json_is_true(json_object_get(j, "value_truncated")));
    OKS_ASSERT(json_string_length(json_object_get(j, "value_base64")) > 1000);
    json_decref(j);
    free(v);
    /* under the budget: whole, not flagged */
    m.len = 100;
    memset(payload, 'a', 100);
    v = oks_worker_dlq_value(&m, "r", "invalid", 0, 65536);
    j = json_loads(v, 0, NULL);
    OKS_ASSERT(json_object_get(j, "value_truncated") == NULL);
    OKS_ASSERT_EQ_INT(json_string_length(json_object_get(j, "value")), 100);
    json_decref(j);
    free(v);
    free(payload);
}

OKS_TEST(lag_is_measured_from_the_committed_offset_while_the_position_is_unknown)
{
    /* position known: it wins */
    OKS_ASSERT_EQ_INT(oks_worker_lag_base(900, 500, 0), 900);
    /* restarted, nothing read yet: committed, not the low watermark (was: hi - lo) */
    OKS_ASSERT_EQ_INT(oks_worker_lag_base(RD_KAFKA_OFFSET_INVALID, 1000, 0), 1000);
    /* committed below the retained range (deleted by retention): the low watermark */
    OKS_ASSERT_EQ_INT(oks_worker_lag_base(RD_KAFKA_OFFSET_INVALID, 5, 40), 40);
    /* never committed: auto.offset.reset=earliest reads from the low watermark */
    OKS_ASSERT_EQ_INT(oks_worker_lag_base(RD_KAFKA_OFFSET_INVALID, RD_KAFKA_OFFSET_INVALID, 7), 7);
}

OKS_TEST(every_subscribed_event_marks_dirty_with_the_right_flags)
{
    bool chk, grp, moves;
    oks_worker_mark_for("user.account.update_profile", &chk, &grp, &moves);
    OKS_ASSERT(!chk && !grp && moves);
    oks_worker_mark_for("application.user_membership.remove", &chk, &grp, &moves);
    OKS_ASSERT(chk && !grp && !moves);
    oks_worker_mark_for("group.user_membership.add", &chk, &grp, &moves);
    OKS_ASSERT(chk && grp && !moves);
    oks_worker_mark_for("group.user_membership.remove", &chk, &grp, &moves);
    OKS_ASSERT(chk && grp && !moves);
    oks_worker_mark_for("user.lifecycle.delete.initiated", &chk, &grp, &moves);
    OKS_ASSERT(chk && !grp && moves);
    oks_worker_mark_for("user.lifecycle.deactivate", &chk, &grp, &moves);
    OKS_ASSERT(chk && !grp && moves);
    oks_worker_mark_for("user.lifecycle.create", &chk, &grp, &moves);
    OKS_ASSERT(chk && !grp && moves);
}

OKS_TEST(job_parse_accepts_contract_and_rejects_garbage)
{
    oks_worker_job job;
    oks_err err = {0};
    const char ok[] = "{\"v\":1,\"kind\":\"full_sync\",\"tenant\":"
                      "\"0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a\",\"run_id\":12,"
                      "\"scheduled_for\":\"2026-11-28T03:00:00.000Z\"}";
    OKS_ASSERT_EQ_INT(oks_worker_job_parse(ok, strlen(ok), &job, &err), 0);
    OKS_ASSERT_EQ_STR(job.kind, "full_sync");
    OKS_ASSERT_EQ_INT(job.run_id, 12);
    const char *bad[] = {
        "",
        "{}",
        "nope",
        "{\"v\":2,\"kind\":\"full_sync\",\"tenant\":\"0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a\","
        "\"run_id\":1,\"scheduled_for\":\"2026-11-28T03:00:00.000Z\"}",
        "{\"v\":1,\"kind\":\"full_sync\",\"tenant\":\"x\",\"run_id\":1,"
        "\"scheduled_for\":\"2026-11-28T03:00:00.000Z\"}",
        "{\"v\":1,\"kind\":\"full_sync\",\"tenant\":\"0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a\","
        "\"run_id\":1,\"scheduled_for\":\"soon\"}",
        "{\"v\":1,\"kind\":\"full_sync\",\"tenant\":\"0b6f2c1e-8f1d-4a57-9a3c-2f1e5d6c7b8a\","
        "\"run_id\":1,\"scheduled_for\":\"2026-11-28T03:00:00.000Z\",\"extra\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        OKS_ASSERT_EQ_INT(oks_worker_job_parse(bad[i], strlen(bad[i]), &job, &err), -1);
        OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    }
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
