/* The Kafka envelope: built from a LogEvent, parsed back by the worker. */
#include "event/oks_event.h"
#include "oks_test.h"

#include <stdlib.h>
#include <string.h>

/* Targets in the order seen in a third-party sample: AppUser, AppInstance, User. */
static const char *APP_EVENT =
    "{\"uuid\":\"b1e0c3d4\",\"published\":\"2025-03-04T10:15:30.112Z\","
    "\"eventType\":\"application.user_membership.add\",\"actor\":{\"id\":\"00uadmin\","
    "\"type\":\"User\"},\"target\":["
    "{\"id\":\"0ua5appuser\",\"type\":\"AppUser\"},"
    "{\"id\":\"0oa2learnapp\",\"type\":\"AppInstance\",\"displayName\":\"Acme Learning\"},"
    "{\"id\":\"00u9jdoe\",\"type\":\"User\",\"alternateId\":\"jane@acme.example\"}]}";

/* Group first, then the user: the user must still be picked by type. */
static const char *GROUP_EVENT =
    "{\"uuid\":\"a81c6f2e\",\"published\":\"2025-03-04T10:15:29.877Z\","
    "\"eventType\":\"group.user_membership.add\",\"target\":["
    "{\"id\":\"00g3sales\",\"type\":\"UserGroup\",\"alternateId\":\"unknown\"},"
    "{\"id\":\"00u9jdoe\",\"type\":\"User\"}]}";

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    OKS_ASSERT(j != NULL);
    return j;
}

static oks_err extract_err(const char *s)
{
    oks_err err = {0};
    oks_event_fields f;
    json_t *j = load(s);
    OKS_ASSERT(oks_event_fields_extract(j, &f, &err) != 0);
    json_decref(j);
    return err;
}

OKS_TEST(envelope_roundtrip_picks_ids_by_type)
{
    oks_err err = {0};
    oks_event_fields f;
    char *out = NULL;
    size_t len = 0;
    oks_event_envelope env;
    json_t *ev = load(APP_EVENT);

    OKS_ASSERT_EQ_INT(oks_event_fields_extract(ev, &f, &err), 0);
    OKS_ASSERT_EQ_STR(f.okta_user_id, "00u9jdoe");
    OKS_ASSERT_EQ_STR(f.app_id, "0oa2learnapp");
    OKS_ASSERT(f.group_id == NULL);
    OKS_ASSERT_EQ_INT(oks_event_envelope_build(ev, &f, "7d1e0c1a-0000-4000-8000-000000000001",
                                               1741083331402, &out, &len, &err),
                      0);
    OKS_ASSERT_EQ_INT(len, strlen(out));
    OKS_ASSERT_CONTAINS(out, "\"v\":1,");
    OKS_ASSERT_CONTAINS(out, "\"group_id\":null");
    OKS_ASSERT_EQ_INT(oks_event_envelope_parse(out, len, &env, &err), 0);
    OKS_ASSERT_EQ_INT(env.v, 1);
    OKS_ASSERT_EQ_STR(env.tenant, "7d1e0c1a-0000-4000-8000-000000000001");
    OKS_ASSERT_EQ_STR(env.event_uuid, "b1e0c3d4");
    OKS_ASSERT_EQ_STR(env.event_type, "application.user_membership.add");
    OKS_ASSERT_EQ_STR(env.published, "2025-03-04T10:15:30.112Z");
    OKS_ASSERT_EQ_STR(env.okta_user_id, "00u9jdoe");
    OKS_ASSERT_EQ_STR(env.app_id, "0oa2learnapp");
    OKS_ASSERT(env.group_id == NULL);
    OKS_ASSERT_EQ_STR(env.received_at, "2025-03-04T10:15:31.402Z");
    OKS_ASSERT(json_equal(env.event, ev)); /* the raw event travels unchanged */
    oks_event_envelope_free(&env);
    free(out);
    json_decref(ev);
}

OKS_TEST(group_event_user_after_group)
{
    oks_err err = {0};
    oks_event_fields f;
    json_t *ev = load(GROUP_EVENT);

    OKS_ASSERT_EQ_INT(oks_event_fields_extract(ev, &f, &err), 0);
    OKS_ASSERT_EQ_STR(f.okta_user_id, "00u9jdoe");
    OKS_ASSERT_EQ_STR(f.group_id, "00g3sales");
    OKS_ASSERT(f.app_id == NULL);
    json_decref(ev);
}

OKS_TEST(extract_rejects_incomplete_events)
{
    OKS_ASSERT_CONTAINS(extract_err("[1]").msg, "not an object");
    OKS_ASSERT_CONTAINS(extract_err("{\"eventType\":\"x\",\"target\":[]}").msg, "uuid");
    OKS_ASSERT_CONTAINS(extract_err("{\"uuid\":\"u\",\"target\":[]}").msg, "eventType");
    OKS_ASSERT_CONTAINS(extract_err("{\"uuid\":\"u\",\"eventType\":\"x\"}").msg, "target");
    /* Only a UserGroup, and a "User" without an id: no Okta user. */
    oks_err e = extract_err("{\"uuid\":\"u\",\"eventType\":\"x\",\"target\":[{\"id\":\"00g\","
                            "\"type\":\"UserGroup\"},{\"type\":\"User\"}]}");
    OKS_ASSERT_CONTAINS(e.msg, "User target");
    OKS_ASSERT_EQ_INT(e.code, OKS_E_INVALID);
}

OKS_TEST(parse_rejects_bad_envelopes)
{
    oks_err err = {0};
    oks_event_envelope env;
    const char *v2 = "{\"v\":2,\"tenant\":\"t\",\"event_uuid\":\"u\",\"event_type\":\"x\","
                     "\"okta_user_id\":\"00u\",\"received_at\":\"r\",\"event\":{}}";
    const char *no_tenant = "{\"v\":1,\"event_uuid\":\"u\",\"event_type\":\"x\","
                            "\"okta_user_id\":\"00u\",\"received_at\":\"r\",\"event\":{}}";
    const char *no_event = "{\"v\":1,\"tenant\":\"t\",\"event_uuid\":\"u\",\"event_type\":\"x\","
                           "\"okta_user_id\":\"00u\",\"received_at\":\"r\"}";

    OKS_ASSERT(oks_event_envelope_parse(v2, strlen(v2), &env, &err) != 0);
    OKS_ASSERT_CONTAINS(err.msg, "version");
    OKS_ASSERT(oks_event_envelope_parse(no_tenant, strlen(no_tenant), &env, &err) != 0);
    OKS_ASSERT_CONTAINS(err.msg, "tenant");
    OKS_ASSERT(oks_event_envelope_parse(no_event, strlen(no_event), &env, &err) != 0);
    OKS_ASSERT_CONTAINS(err.msg, "event object");
    OKS_ASSERT(oks_event_envelope_parse("{", 1, &env, &err) != 0);
    OKS_ASSERT(env.tenant == NULL); /* nothing leaks out of a failed parse */
}

/* "Routing headers": the same text the envelope carries, or none at all (ok false) when a field
 * does not fit or the value must judge it. */
static oks_event_route route_of(const char *event)
{
    oks_err err = {0};
    oks_event_fields f;
    oks_event_route r;
    json_t *j = load(event);
    OKS_ASSERT_EQ_INT(oks_event_fields_extract(j, &f, &err), 0);
    memset(&r, 0x55, sizeof r);
    oks_event_route_fill(&f, 1741083331402, &r);
    json_decref(j);
    return r;
}

OKS_TEST(routing_headers_carry_the_envelopes_fields_or_nothing)
{
    oks_event_route r = route_of(APP_EVENT);
    OKS_ASSERT(r.ok);
    OKS_ASSERT_EQ_STR(r.uuid, "b1e0c3d4");
    OKS_ASSERT_EQ_STR(r.okta_user_id, "00u9jdoe");
    OKS_ASSERT_EQ_STR(r.published, "2025-03-04T10:15:30.112Z");
    OKS_ASSERT_EQ_STR(r.received_at, "2025-03-04T10:15:31.402Z");
    r = route_of("{\"uuid\":\"u1\",\"eventType\":\"user.lifecycle.create\","
                 "\"target\":[{\"id\":\"00u1\",\"type\":\"User\"}]}");
    OKS_ASSERT(r.ok);
    OKS_ASSERT_EQ_STR(r.published, ""); /* none: received_at orders it */
    r = route_of("{\"uuid\":\"u1\",\"published\":\"\",\"eventType\":\"user.lifecycle.create\","
                 "\"target\":[{\"id\":\"00u1\",\"type\":\"User\"}]}");
    OKS_ASSERT(!r.ok); /* "published":"" is the value's to refuse */
    char ev[1024], id[OKS_EVENT_ID_MAX + 1];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0'; /* one byte over */
    snprintf(ev, sizeof ev,
             "{\"uuid\":\"u1\",\"eventType\":\"user.lifecycle.create\","
             "\"target\":[{\"id\":\"%s\",\"type\":\"User\"}]}",
             id);
    OKS_ASSERT(!route_of(ev).ok);
    snprintf(ev, sizeof ev,
             "{\"uuid\":\"u1\",\"eventType\":\"%s\","
             "\"target\":[{\"id\":\"00u1\",\"type\":\"User\"}]}",
             id);
    OKS_ASSERT(!route_of(ev).ok); /* an event type one byte over: the type header would be cut */
    id[sizeof id - 2] = '\0';     /* fits */
    snprintf(ev, sizeof ev,
             "{\"uuid\":\"u1\",\"eventType\":\"user.lifecycle.create\","
             "\"target\":[{\"id\":\"%s\",\"type\":\"User\"}]}",
             id);
    r = route_of(ev);
    OKS_ASSERT(r.ok);
    OKS_ASSERT_EQ_STR(r.okta_user_id, id);
}

OKS_TEST(subscribed_types)
{
    OKS_ASSERT(oks_event_type_subscribed("user.lifecycle.deactivate"));
    OKS_ASSERT(oks_event_type_subscribed("user.lifecycle.delete.initiated"));
    OKS_ASSERT(oks_event_type_subscribed("application.user_membership.update"));
    OKS_ASSERT(oks_event_type_subscribed("group.user_membership.remove"));
    OKS_ASSERT(!oks_event_type_subscribed("user.session.start"));
    OKS_ASSERT(!oks_event_type_subscribed("user.lifecycle.delete.completed"));
    OKS_ASSERT(!oks_event_type_subscribed("user.lifecycle"));
    OKS_ASSERT(!oks_event_type_subscribed(NULL));
    size_t n = 0;
    while (oks_event_subscribed_types[n])
        n++;
    OKS_ASSERT_EQ_INT(n, 13);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
