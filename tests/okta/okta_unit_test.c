/* Unit tests of the Okta client's pure parts: Link header, error bodies, classification,
 * backoff/pacing arithmetic, bucket mapping, user/app-user parsers, option validation. */
#include "core/oks_json_arena.h"
#include "oks_test.h"

#include <stdlib.h>

#include <curl/curl.h>

#include "okta/oks_okta.h"
#include "okta/oks_okta_client_int.h"
#include "okta/oks_okta_int.h"

static int next_of(const char *v, char *out, size_t cap)
{
    return oks_okta__link_find_next(v, strlen(v), out, cap);
}

OKS_TEST(link_single_next)
{
    char u[256];
    OKS_ASSERT_EQ_INT(
        next_of("<https://o.okta.com/api/v1/users?limit=200&after=00ud4>; rel=\"next\"", u,
                sizeof u),
        1);
    OKS_ASSERT_EQ_STR(u, "https://o.okta.com/api/v1/users?limit=200&after=00ud4");
}

OKS_TEST(link_self_only_is_not_next)
{
    char u[256];
    OKS_ASSERT_EQ_INT(next_of("<https://o/api/v1/users?limit=2>; rel=\"self\"", u, sizeof u), 0);
    OKS_ASSERT_EQ_STR(u, "");
}

OKS_TEST(link_several_in_one_header_odd_spacing)
{
    char u[256];
    const char *v = "  <https://o/a?after=1> ;rel = \"self\" ,<https://o/a?after=2>;  REL=next ; "
                    "title=\"x, y\"";
    OKS_ASSERT_EQ_INT(next_of(v, u, sizeof u), 1);
    OKS_ASSERT_EQ_STR(u, "https://o/a?after=2");
}

OKS_TEST(link_rel_list_and_commas_in_url)
{
    char u[256];
    OKS_ASSERT_EQ_INT(next_of("<https://o/a?x=1,2>; rel=\"prev next\"", u, sizeof u), 1);
    OKS_ASSERT_EQ_STR(u, "https://o/a?x=1,2");
    /* "nextpage" is not "next" */
    OKS_ASSERT_EQ_INT(next_of("<https://o/b>; rel=\"nextpage\"", u, sizeof u), 0);
}

OKS_TEST(link_malformed_rejected)
{
    char u[256];
    OKS_ASSERT_EQ_INT(next_of("https://o/a; rel=next", u, sizeof u), -1);     /* no <> */
    OKS_ASSERT_EQ_INT(next_of("<https://o/a; rel=next", u, sizeof u), -1);    /* no > */
    OKS_ASSERT_EQ_INT(next_of("<https://o/a>; rel=\"next", u, sizeof u), -1); /* open quote */
    OKS_ASSERT_EQ_INT(next_of("<https://o/a> rel=next", u, sizeof u), -1);    /* no ; */
    OKS_ASSERT_EQ_INT(next_of("<>; rel=next", u, sizeof u), -1);
    OKS_ASSERT_EQ_INT(next_of("<https://o/a b>; rel=next", u, sizeof u), -1); /* space in URL */
    OKS_ASSERT_EQ_INT(next_of("", u, sizeof u), 0);
}

OKS_TEST(link_url_too_long_for_buffer)
{
    char u[8];
    OKS_ASSERT_EQ_INT(next_of("<https://o/long/url>; rel=next", u, sizeof u), -1);
}

OKS_TEST(error_body_parsed)
{
    const char *b = "{\"errorCode\":\"E0000011\",\"errorSummary\":\"Invalid token provided\","
                    "\"errorLink\":\"E0000011\",\"errorId\":\"oaeX\",\"errorCauses\":[]}";
    oks_okta_error_body e;
    OKS_ASSERT_EQ_INT(oks_okta__error_parse(b, strlen(b), &e), 0);
    OKS_ASSERT_EQ_STR(e.code, "E0000011");
    OKS_ASSERT_EQ_STR(e.summary, "Invalid token provided");
    OKS_ASSERT_EQ_STR(e.id, "oaeX");
}

OKS_TEST(error_body_bad_inputs)
{
    oks_okta_error_body e;
    const char *bad[] = {"",
                         "not json",
                         "[]",
                         "{\"errorCode\":7}",
                         "{\"errorSummary\":\"x\"}",
                         "{\"errorCode\":\"E0000047\"",
                         "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        OKS_ASSERT_EQ_INT(oks_okta__error_parse(bad[i], strlen(bad[i]), &e), -1);
        OKS_ASSERT_EQ_STR(e.code, "");
    }
    OKS_ASSERT_EQ_INT(oks_okta__error_parse(NULL, 0, &e), -1);
    /* A huge summary is truncated, not overflowed. */
    char big[2048] = "{\"errorCode\":\"E0000001\",\"errorSummary\":\"";
    memset(big + strlen(big), 'x', 1500);
    strcat(big, "\"}");
    OKS_ASSERT_EQ_INT(oks_okta__error_parse(big, strlen(big), &e), 0);
    OKS_ASSERT_EQ_INT(strlen(e.summary), sizeof e.summary - 1);
}

OKS_TEST(classification_table)
{
    struct {
        long status;
        const char *code;
        oks_errcode want;
    } t[] = {
        {429, "E0000047", OKS_E_RATELIMIT},
        {429, NULL, OKS_E_RATELIMIT},
        {401, "E0000011", OKS_E_AUTH},
        {401, "E0000004", OKS_E_AUTH},
        {401, "", OKS_E_AUTH},
        {403, "E0000006", OKS_E_FORBIDDEN},
        {403, NULL, OKS_E_FORBIDDEN},
        {404, "E0000007", OKS_E_NOTFOUND},
        {404, NULL, OKS_E_NOTFOUND},
        {400, "E0000001", OKS_E_INVALID},
        {400, "E0000054", OKS_E_INVALID},
        {405, "E0000022", OKS_E_INVALID},
        {500, "E0000009", OKS_E_TRANSIENT},
        {502, NULL, OKS_E_TRANSIENT},
        {503, NULL, OKS_E_UNAVAILABLE},
        {504, NULL, OKS_E_TRANSIENT},
        {408, NULL, OKS_E_TIMEOUT},
        {409, NULL, OKS_E_CONFLICT},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        oks_errcode got = oks_okta__classify_status(t[i].status, t[i].code);
        if (got != t[i].want)
            oks_test_fail(__FILE__, __LINE__, "status %ld code %s: got %s want %s", t[i].status,
                          t[i].code ? t[i].code : "(null)", oks_errcode_name(got),
                          oks_errcode_name(t[i].want));
    }
    OKS_ASSERT_EQ_INT(oks_okta__classify_curl(CURLE_OPERATION_TIMEDOUT), OKS_E_TIMEOUT);
    OKS_ASSERT_EQ_INT(oks_okta__classify_curl(CURLE_COULDNT_CONNECT), OKS_E_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(oks_okta__classify_curl(CURLE_PARTIAL_FILE), OKS_E_TRANSIENT);
    OKS_ASSERT_EQ_INT(oks_okta__classify_curl(CURLE_GOT_NOTHING), OKS_E_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(oks_okta__classify_curl(CURLE_URL_MALFORMAT), OKS_E_INVALID);
}

OKS_TEST(backoff_429_from_reset_and_date)
{
    int64_t date_ms = 1609459170000; /* Date 30 s before the reset */
    /* rnd 0: exactly reset - date + 1 s */
    OKS_ASSERT_EQ_INT(oks_okta__backoff_429_ms(1609459200, date_ms, 0, 0), 31000);
    /* jitter adds at most 10%, max 1 s */
    int64_t j = oks_okta__backoff_429_ms(1609459200, date_ms, 0, 999);
    OKS_ASSERT(j >= 31000 && j <= 32000);
    /* cap */
    OKS_ASSERT_EQ_INT(oks_okta__backoff_429_ms(1609459200, date_ms, 5000, 12345), 5000);
    /* reset in the past (clock skew) still waits at least 1 s */
    OKS_ASSERT_EQ_INT(oks_okta__backoff_429_ms(1609459100, date_ms, 0, 0), 1000);
    /* sub-second Date part is floored like Okta's 1 s resolution */
    OKS_ASSERT_EQ_INT(oks_okta__backoff_429_ms(1609459200, date_ms + 999, 0, 0), 31000);
    OKS_ASSERT_EQ_INT(oks_okta__backoff_429_ms(0, date_ms, 0, 0), -1);
    OKS_ASSERT_EQ_INT(oks_okta__backoff_429_ms(1609459200, -1, 0, 0), -1);
}

OKS_TEST(backoff_exponential_with_jitter)
{
    for (int a = 0; a < 6; a++) {
        int64_t step = (int64_t)300 << a;
        OKS_ASSERT_EQ_INT(oks_okta__backoff_exp_ms(a, 0, 0), step / 2);
        int64_t hi = oks_okta__backoff_exp_ms(a, 0, (uint32_t)(step / 2));
        OKS_ASSERT_EQ_INT(hi, step);
    }
    OKS_ASSERT(oks_okta__backoff_exp_ms(30, 10000, 0xffffffffu) <= 10000);
    OKS_ASSERT(oks_okta__backoff_exp_ms(30, 10000, 0) >= 5000);
}

OKS_TEST(pacing)
{
    int64_t now = 1000000;
    /* plenty left: no wait */
    OKS_ASSERT_EQ_INT(oks_okta__pace_ms(600, 300, now + 30000, now, 0.2, 0), 0);
    /* below 20%: spread the rest over the window */
    OKS_ASSERT_EQ_INT(oks_okta__pace_ms(600, 99, now + 30000, now, 0.2, 0), 300);
    /* none left: wait for the reset */
    OKS_ASSERT_EQ_INT(oks_okta__pace_ms(600, 0, now + 30000, now, 0.2, 0), 30250);
    OKS_ASSERT_EQ_INT(oks_okta__pace_ms(600, 0, now + 30000, now, 0.2, 5000), 5000);
    /* window already over, unknown state, pacing off */
    OKS_ASSERT_EQ_INT(oks_okta__pace_ms(600, 0, now - 1, now, 0.2, 0), 0);
    OKS_ASSERT_EQ_INT(oks_okta__pace_ms(-1, -1, 0, now, 0.2, 0), 0);
    OKS_ASSERT_EQ_INT(oks_okta__pace_ms(600, 0, now + 30000, now, -1, 0), 0);
}

OKS_TEST(bucket_mapping)
{
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/users?limit=200"), OKS_OKTA_B_USERS);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/users"), OKS_OKTA_B_USERS);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/users/00u1"), OKS_OKTA_B_USER_GET);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/users/00u1/groups"),
                      OKS_OKTA_B_USER_GROUPS);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/apps/0oa1"), OKS_OKTA_B_APP_GET);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/apps/0oa1/users?limit=500"),
                      OKS_OKTA_B_APPS);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/apps/0oa1/users/00u1"),
                      OKS_OKTA_B_APPS);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/logs?since=x"), OKS_OKTA_B_LOGS);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/api/v1/groups"), OKS_OKTA_B_GROUPS);
    OKS_ASSERT_EQ_INT(oks_okta__bucket_of("https://o/oauth2/v1/keys"), OKS_OKTA_B_OTHER);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        oks_test_fail(__FILE__, __LINE__, "bad fixture: %s", e.text);
    return j;
}

OKS_TEST(user_parse_full)
{
    json_t *j = load("{\"id\":\"00u9\",\"status\":\"ACTIVE\",\"lastUpdated\":\"2025-03-04T10:15:"
                     "29.000Z\",\"profile\":{\"login\":\"j@a.ex\",\"email\":\"j@a.ex\","
                     "\"firstName\":\"Jane\",\"lastName\":\"Doe\",\"title\":\"AE\",\"locale\":"
                     "\"en_GB\",\"preferredLanguage\":\"en-GB\",\"city\":\"London\","
                     "\"countryCode\":\"GB\",\"department\":\"Sales\",\"managerId\":\"00u7\","
                     "\"profileUrl\":\"https://p\",\"learningCohort\":\"2025-Q1\"}}");
    oks_okta_user u;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_user_parse(j, &u, &err), 0);
    OKS_ASSERT_EQ_STR(u.id, "00u9");
    OKS_ASSERT_EQ_STR(u.status, "ACTIVE");
    OKS_ASSERT_EQ_INT(u.last_updated_ms, 1741083329000LL);
    OKS_ASSERT_EQ_STR(u.login, "j@a.ex");
    OKS_ASSERT_EQ_STR(u.first_name, "Jane");
    OKS_ASSERT_EQ_STR(u.last_name, "Doe");
    OKS_ASSERT_EQ_STR(u.title, "AE");
    OKS_ASSERT_EQ_STR(u.locale, "en_GB");
    OKS_ASSERT_EQ_STR(u.preferred_language, "en-GB");
    OKS_ASSERT_EQ_STR(u.city, "London");
    OKS_ASSERT_EQ_STR(u.country_code, "GB");
    OKS_ASSERT_EQ_STR(u.department, "Sales");
    OKS_ASSERT_EQ_STR(u.manager_id, "00u7");
    OKS_ASSERT_EQ_STR(u.profile_url, "https://p");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u.profile, "learningCohort")), "2025-Q1");
    json_decref(j); /* the user keeps its own reference to the profile */
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(u.profile, "city")), "London");
    oks_okta_user_free(&u);
    OKS_ASSERT(u.id == NULL && u.profile == NULL);
}

/* A user parsed inside a jansson arena scope (the worker's page reads) and owned survives the
 * scope: its profile and the attributes borrowed from it are malloc'd copies. Without
 * oks_okta_user_own they would point into memory the next scope writes over. */
OKS_TEST(user_owned_outlives_the_arena_scope_it_was_parsed_in)
{
    oks_json_arena_install();
    OKS_ASSERT(oks_json_arena_begin());
    json_t *page = json_loads("[{\"id\":\"00u9\",\"status\":\"ACTIVE\",\"profile\":{"
                              "\"login\":\"j@a.ex\",\"department\":\"Sales\",\"n\":4}}]",
                              0, NULL);
    OKS_ASSERT(page != NULL);
    oks_okta_user u;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_user_parse(json_array_get(page, 0), &u, &err), 0);
    OKS_ASSERT_EQ_INT(oks_okta_user_own(&u), 0);
    json_decref(page);
    oks_json_arena_end();
    OKS_ASSERT(oks_json_arena_begin()); /* the next page: the same memory, written over */
    for (int i = 0; i < 64; i++)
        memset(oks_json_malloc(4096), 'Z', 4096);
    oks_json_arena_end();
    OKS_ASSERT_EQ_STR(u.id, "00u9");
    OKS_ASSERT_EQ_STR(u.login, "j@a.ex");
    OKS_ASSERT_EQ_STR(u.department, "Sales");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(u.profile, "n")), 4);
    OKS_ASSERT_EQ_INT(u.profile->refcount, 1);
    oks_okta_user_free(&u); /* malloc's, outside any scope */
}

OKS_TEST(user_parse_missing_null_wrong_types)
{
    json_t *j = load("{\"id\":\"00u1\",\"status\":5,\"lastUpdated\":\"yesterday\",\"profile\":{"
                     "\"email\":null,\"firstName\":[\"x\"],\"lastName\":{},\"title\":true,"
                     "\"managerId\":12,\"city\":\"Oslo\"}}");
    oks_okta_user u;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_user_parse(j, &u, &err), 0);
    OKS_ASSERT(u.status == NULL && u.email == NULL && u.first_name == NULL);
    OKS_ASSERT(u.last_name == NULL && u.title == NULL && u.manager_id == NULL);
    OKS_ASSERT(u.login == NULL && u.locale == NULL);
    OKS_ASSERT_EQ_INT(u.last_updated_ms, 0);
    OKS_ASSERT_EQ_STR(u.city, "Oslo");
    oks_okta_user_free(&u);
    json_decref(j);
}

OKS_TEST(user_parse_rejects_unusable)
{
    const char *bad[] = {"[]",
                         "{}",
                         "{\"id\":7,\"profile\":{}}",
                         "{\"id\":\"\",\"profile\":{}}",
                         "{\"id\":\"00u1\"}",
                         "{\"id\":\"00u1\",\"profile\":null}",
                         "{\"id\":\"00u1\",\"profile\":\"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = load(bad[i]);
        oks_okta_user u;
        oks_err err = {0};
        OKS_ASSERT_EQ_INT(oks_okta_user_parse(j, &u, &err), -1);
        OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
        OKS_ASSERT(u.id == NULL && u.profile == NULL);
        json_decref(j);
    }
    oks_okta_user u;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_user_parse(NULL, &u, &err), -1);
}

OKS_TEST(app_user_parse_with_embedded_user)
{
    json_t *j = load("{\"id\":\"00u2\",\"scope\":\"GROUP\",\"status\":\"PROVISIONED\","
                     "\"credentials\":{\"userName\":\"b@x\"},\"profile\":{\"role\":\"r\"},"
                     "\"lastUpdated\":\"2025-01-01T00:00:00.000Z\","
                     "\"_embedded\":{\"user\":{\"id\":\"00u2\",\"status\":\"ACTIVE\","
                     "\"profile\":{\"email\":\"b@x\"}}}}");
    oks_okta_app_user a;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_app_user_parse(j, &a, &err), 0);
    OKS_ASSERT_EQ_STR(a.id, "00u2");
    OKS_ASSERT_EQ_STR(a.scope, "GROUP");
    OKS_ASSERT_EQ_STR(a.status, "PROVISIONED");
    OKS_ASSERT_EQ_STR(a.user_name, "b@x");
    OKS_ASSERT_EQ_INT(a.last_updated_ms, 1735689600000LL);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(a.profile, "role")), "r");
    OKS_ASSERT(a.has_user);
    OKS_ASSERT_EQ_STR(a.user.email, "b@x");
    OKS_ASSERT_EQ_STR(a.user.status, "ACTIVE");
    oks_okta_app_user_free(&a);
    json_decref(j);
}

OKS_TEST(app_user_parse_without_embedded_and_bad_shapes)
{
    json_t *j = load("{\"id\":\"00u3\",\"credentials\":5,\"profile\":null,\"_embedded\":null}");
    oks_okta_app_user a;
    oks_err err = {0};
    OKS_ASSERT_EQ_INT(oks_okta_app_user_parse(j, &a, &err), 0);
    OKS_ASSERT(!a.has_user && a.profile == NULL && a.user_name == NULL);
    oks_okta_app_user_free(&a);
    json_decref(j);
    const char *bad[] = {
        "{\"scope\":\"USER\"}",
        "{\"id\":\"00u3\",\"profile\":[1]}",
        "{\"id\":\"00u3\",\"_embedded\":[]}",
        "{\"id\":\"00u3\",\"_embedded\":{\"user\":{\"id\":\"00u3\"}}}",
        "{\"id\":\"00u3\",\"_embedded\":{\"user\":{\"id\":\"00u4\",\"profile\":{}}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = load(bad[i]);
        OKS_ASSERT_EQ_INT(oks_okta_app_user_parse(j, &a, &err), -1);
        OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
        OKS_ASSERT(a.id == NULL && !a.has_user);
        json_decref(j);
    }
}

OKS_TEST(client_options_validated)
{
    oks_err err = {0};
    oks_okta_client_opts o = {.base_url = "ftp://o.okta.com", .token = "t"};
    OKS_ASSERT(oks_okta_client_new(&o, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    o.base_url = "https://o.okta.com";
    o.token = "";
    OKS_ASSERT(oks_okta_client_new(&o, &err) == NULL);
    o.token = "abc\r\nX-Evil: 1";
    OKS_ASSERT(oks_okta_client_new(&o, &err) == NULL);
    o.token = "abc";
    o.base_url = "not a url";
    OKS_ASSERT(oks_okta_client_new(&o, &err) == NULL);
    o.base_url = "https://o.okta.com/";
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    OKS_ASSERT(c != NULL);
    oks_okta_stats st;
    oks_okta_client_stats(c, &st);
    OKS_ASSERT_EQ_INT(st.calls, 0);
    OKS_ASSERT_EQ_STR(st.buckets[OKS_OKTA_B_USER_GET].name, "user_get");
    OKS_ASSERT_EQ_INT(st.buckets[OKS_OKTA_B_USER_GET].limit, -1);
    /* empty ids and filter injection are refused before any request */
    oks_okta_user u;
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "", &u, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    const char *types[] = {"user.lifecycle.create\" or 1 eq 1"};
    OKS_ASSERT(oks_okta_list_log_events(c, 0, types, 1, 0, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    oks_okta_client_stats(c, &st);
    OKS_ASSERT_EQ_INT(st.calls, 0);
    oks_okta_client_free(c);
}

OKS_TEST(next_links_must_stay_in_the_org)
{
    oks_err err = {0};
    oks_okta_client_opts o = {.base_url = "https://acme.okta.com", .token = "t"};
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    OKS_ASSERT(c != NULL);
    OKS_ASSERT(oks_okta__same_origin(c, "https://acme.okta.com/api/v1/users?after=1"));
    OKS_ASSERT(oks_okta__same_origin(c, "https://ACME.okta.com:443/api/v1/users"));
    OKS_ASSERT(!oks_okta__same_origin(c, "http://acme.okta.com/api/v1/users"));
    OKS_ASSERT(!oks_okta__same_origin(c, "https://evil.example/api/v1/users"));
    OKS_ASSERT(!oks_okta__same_origin(c, "https://acme.okta.com.evil.example/api/v1/users"));
    OKS_ASSERT(!oks_okta__same_origin(c, "https://acme.okta.com:8443/api/v1/users"));
    OKS_ASSERT(!oks_okta__same_origin(c, "not a url"));
    /* a saved System Log position must be a logs URL of this org */
    OKS_ASSERT(oks_okta_resume_log_events(c, "https://evil.example/api/v1/logs", &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT(oks_okta_resume_log_events(c, "https://acme.okta.com/api/v1/users", &err) == NULL);
    oks_okta_pager *p =
        oks_okta_resume_log_events(c, "https://acme.okta.com/api/v1/logs?after=x", &err);
    OKS_ASSERT(p != NULL);
    OKS_ASSERT_EQ_STR(oks_okta_pager_next_url(p), "https://acme.okta.com/api/v1/logs?after=x");
    oks_okta_pager_free(p);
    oks_okta_client_free(c);
}

OKS_TEST(redis_url_unreachable_fails_cleanly)
{
    oks_err err = {0};
    oks_okta_client_opts o = {
        .base_url = "http://127.0.0.1:1", .token = "t", .redis_url = "redis://127.0.0.1:1/0"};
    OKS_ASSERT(oks_okta_client_new(&o, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
}

OKS_TEST(connection_refused_is_unavailable_after_retries)
{
    oks_err err = {0};
    oks_okta_client_opts o = {
        .base_url = "http://127.0.0.1:1", .token = "t", .max_retries = 2, .max_backoff_ms = 50};
    oks_okta_client *c = oks_okta_client_new(&o, &err);
    OKS_ASSERT(c != NULL);
    oks_okta_user u;
    OKS_ASSERT_EQ_INT(oks_okta_get_user(c, "00u1", &u, &err), -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_UNAVAILABLE);
    oks_okta_stats st;
    oks_okta_client_stats(c, &st);
    OKS_ASSERT_EQ_INT(st.calls, 3);
    OKS_ASSERT_EQ_INT(st.retries, 2);
    OKS_ASSERT_EQ_INT(st.transport_errors, 3);
    oks_okta_client_free(c);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = oks_test_main(argc, argv);
    curl_global_cleanup();
    return rc;
}
