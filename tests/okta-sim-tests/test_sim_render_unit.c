/* The simulator's hand-written rendering helpers against the library functions they stand in
 * for: sim_iso8601 against oks_time_format_iso8601 (gmtime_r + strftime) and sim_buf_jstr's
 * copy of unescaped strings against oks_json_escape. Same bytes, or the simulator's answers
 * would change. */
#include "sim.h"

#include "core/oks_json_escape.h"
#include "core/oks_time.h"
#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void same_time(int64_t ms)
{
    char want[64], got[SIM_ISO8601_CAP];
    oks_time_format_iso8601(ms, want, sizeof want);
    size_t n = sim_iso8601(ms, got);
    if (strcmp(want, got) != 0)
        fprintf(stderr, "ms %lld: want %s got %s\n", (long long)ms, want, got);
    OKS_ASSERT_EQ_STR(got, want);
    OKS_ASSERT_EQ_INT(n, strlen(want));
}

OKS_TEST(iso8601_matches_strftime)
{
    /* Edges: the epoch, leap days, century rules (1900 is not a leap year, 2000 is, 2100 is
     * not), year ends, the last millisecond before year 10000 and after it (fallback). */
    const int64_t edges[] = {0,
                             1,
                             999,
                             86399999,
                             951782400000LL,    /* 2000-02-29 */
                             951868800000LL,    /* 2000-03-01 */
                             4107456000000LL,   /* 2100-02-28 */
                             4107542400000LL,   /* 2100-03-01 */
                             1709164800000LL,   /* 2024-02-29 */
                             1735689599999LL,   /* 2024-12-31T23:59:59.999 */
                             1735689600000LL,   /* 2025-01-01 */
                             253402300799999LL, /* 9999-12-31T23:59:59.999 */
                             253402300800000LL, /* 10000-01-01: fallback */
                             253402300800001LL, /* fallback */
                             -1,                /* before 1970: fallback */
                             -86400001LL};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        same_time(edges[i]);
    /* Every day from 1970 to 2200 at a changing time of day, and random instants to 9999. */
    for (int64_t day = 0; day < 84000; day++)
        same_time(day * 86400000LL + (day * 7919 % 86400000));
    uint64_t x = 12345;
    for (int i = 0; i < 200000; i++) {
        x = sim_mix64(x);
        same_time((int64_t)(x % 253402300800000ULL));
    }
}

static void same_jstr(const char *s)
{
    char want[1024];
    size_t n = oks_json_escape(want + 1, sizeof want - 2, s);
    want[0] = '"';
    want[n + 1] = '"';
    want[n + 2] = '\0';
    sim_buf b = {0};
    SIM_BUF_LIT(&b, "x");
    sim_buf_jstr(&b, s);
    OKS_ASSERT_EQ_STR(b.data + 1, want);
    OKS_ASSERT_EQ_INT(b.len, n + 3);
    sim_buf_free(&b);
}

OKS_TEST(jstr_matches_oks_json_escape)
{
    const char *const cases[] = {"",
                                 "plain",
                                 "jane.doe42@acme-learning.example",
                                 "Chloé Müller São Paulo",
                                 "O'Brien",
                                 "quote \" inside",
                                 "\"",
                                 "back\\slash",
                                 "tab\there",
                                 "new\nline\r",
                                 "\x01\x1f control",
                                 "end with quote\"",
                                 "Research & Development </script>",
                                 "\x7f del"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        same_jstr(cases[i]);
    sim_buf b = {0};
    sim_buf_jstr(&b, NULL);
    OKS_ASSERT_EQ_STR(b.data, "null");
    sim_buf_free(&b);
}

OKS_TEST(jtime_quotes_and_null)
{
    sim_buf b = {0};
    sim_buf_jtime(&b, 1735689600000LL);
    sim_buf_jtime(&b, -1);
    OKS_ASSERT_EQ_STR(b.data, "\"2025-01-01T00:00:00.000Z\"null");
    sim_buf_free(&b);
}

/* What sim_profile_render wrote before its field-by-field path for changed users: the whole
 * profile as a jansson object, dumped. */
static char *reference_profile(const sim_org *org, uint32_t idx)
{
    json_t *obj = sim_profile_json(org, idx);
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    return s ? s : strdup("{}");
}

static void same_profile(const sim_org *org, uint32_t idx)
{
    char *want = reference_profile(org, idx);
    sim_buf b = {0};
    sim_profile_render(org, idx, &b);
    if (strcmp(b.data, want) != 0)
        fprintf(stderr, "user %u:\n want %s\n got  %s\n", idx, want, b.data);
    OKS_ASSERT_EQ_STR(b.data, want);
    sim_buf_free(&b);
    free(want);
}

static void set_override(sim_org *org, uint32_t idx, const char *json)
{
    json_t *attrs = json_loads(json, 0, NULL);
    OKS_ASSERT(attrs != NULL);
    sim_user *u = &org->users[idx];
    if (!u->override)
        u->override = json_object();
    json_object_update(u->override, attrs);
    json_decref(attrs);
}

static void unset(sim_org *org, uint32_t idx, const char *name)
{
    sim_user *u = &org->users[idx];
    if (!u->override)
        u->override = json_object();
    json_object_set_new(u->override, name, sim_profile_absent());
}

/* Every kind of change the admin API makes, on default and rich orgs and an org whose domain
 * jansson would escape: the changed user's profile has the reference bytes. */
static void changed_profiles(const char *domain, bool rich)
{
    oks_err err = {0};
    sim_org *org = sim_org_new(400, 12, 42, domain, "", "App", SIM_DEACT_REMOVE, &err);
    OKS_ASSERT(org != NULL);
    if (rich)
        OKS_ASSERT_EQ_INT(sim_org_shape(org, "rich", 3, &err), 0);
    set_override(org, 1, "{\"title\":\"bw x 1\"}");
    set_override(org, 2,
                 "{\"title\":\"Zo\u00eb \\\"Q\\\" \\\\ back\\ttab\",\"nickName\":\"Zo/\u00eb\","
                 "\"costCenter\":42,\"level\":3.25,\"active\":true,\"tags\":[\"a\",\"b\"],"
                 "\"nested\":{\"x\":null},\"city\":null,\"ctl\":\"\\u0001\\b\"}");
    unset(org, 3, "department");
    set_override(org, 3, "{\"newAttr\":\"v\",\"other\":\"w\"}");
    unset(org, 3, "newAttr");
    unset(org, 3, "photoUrl");
    set_override(org, 4, "{\"photoUrl\":\"https://x.example/p.jpg\",\"login\":\"a@b.c\"}");
    set_override(org, 5, "{\"weird \\\"key\\\"\":1,\"\u00e9l\u00e8ve\":\"x\",\"title\":\"T\"}");
    unset(org, 6, "login");
    unset(org, 6, "email");
    unset(org, 6, "manager");
    /* A manager's display name shows in its reports' profiles, with and without escapes. */
    for (uint32_t i = 0; i < org->n_users; i++)
        if (org->users[i].manager >= 0) {
            uint32_t m = (uint32_t)org->users[i].manager;
            set_override(org, m,
                         i % 2 ? "{\"displayName\":\"Boss \u00e9 \\\"X\\\"\"}"
                               : "{\"displayName\":\"Big Boss\"}");
            set_override(org, i, "{\"title\":\"report\"}");
            if (i > 60)
                break;
        }
    for (uint32_t i = 0; i < org->n_users; i++)
        same_profile(org, i);
    sim_org_free(org);
}

OKS_TEST(changed_profile_renders_like_the_jansson_dump)
{
    changed_profiles("acme-learning.example", false);
    changed_profiles("acme-learning.example", true);
    changed_profiles("we\"ird\\dom\u00e4in.example", false); /* escapes: the fallback */
    changed_profiles("caf\xc3\xa9.example", true);           /* non-ASCII: the fallback */
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
