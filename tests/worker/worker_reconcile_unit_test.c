/* Pure parts of the reconciler: the failure classifier, the cost model, filter packing, the
 * per-user decision, who needs a groups read, the batch JSON and the dead-letter record. No
 * services. */
#include "core/oks_json_arena.h"
#include "oks_test.h"
#include "oks_worker_apply_batch.h"
#include "oks_worker_decide.h"
#include "oks_worker_fail.h"
#include "oks_worker_fetch.h"
#include "oks_worker_fetch_int.h"
#include "oks_worker_reconcile_int.h"

#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static oks_worker_fail okta(oks_errcode code, long status, const char *ecode)
{
    oks_err e = {.code = code};
    return oks_worker_fail_classify(OKS_WORKER_SRC_OKTA, &e, status, ecode);
}

OKS_TEST(classifier_okta_answers)
{
    OKS_ASSERT_EQ_INT(okta(OKS_E_NOTFOUND, 404, "E0000007"), OKS_WORKER_FAIL_NOT_FOUND);
    /* only E0000007 is "not found": an HTML 404 or another code is the tenant's setup */
    OKS_ASSERT_EQ_INT(okta(OKS_E_NOTFOUND, 404, ""), OKS_WORKER_FAIL_MISCONFIGURED);
    OKS_ASSERT_EQ_INT(okta(OKS_E_NOTFOUND, 404, NULL), OKS_WORKER_FAIL_MISCONFIGURED);
    OKS_ASSERT_EQ_INT(okta(OKS_E_NOTFOUND, 404, "E0000022"), OKS_WORKER_FAIL_MISCONFIGURED);
    OKS_ASSERT_EQ_INT(okta(OKS_E_AUTH, 401, "E0000011"), OKS_WORKER_FAIL_CREDENTIALS);
    OKS_ASSERT_EQ_INT(okta(OKS_E_FORBIDDEN, 403, "E0000006"), OKS_WORKER_FAIL_CREDENTIALS);
    OKS_ASSERT_EQ_INT(okta(OKS_E_RATELIMIT, 429, "E0000047"), OKS_WORKER_FAIL_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(okta(OKS_E_TRANSIENT, 503, "E0000009"), OKS_WORKER_FAIL_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(okta(OKS_E_TRANSIENT, 500, NULL), OKS_WORKER_FAIL_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(okta(OKS_E_TIMEOUT, 0, NULL), OKS_WORKER_FAIL_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(okta(OKS_E_UNAVAILABLE, 0, NULL), OKS_WORKER_FAIL_UNREACHABLE);
    /* a 200 that is not Okta's JSON (a login page of a wrong domain) */
    OKS_ASSERT_EQ_INT(okta(OKS_E_TRANSIENT, 200, NULL), OKS_WORKER_FAIL_MISCONFIGURED);
    OKS_ASSERT_EQ_INT(okta(OKS_E_INVALID, 200, NULL), OKS_WORKER_FAIL_MISCONFIGURED);
    OKS_ASSERT_EQ_INT(okta(OKS_E_INVALID, 0, NULL), OKS_WORKER_FAIL_MISCONFIGURED);
    OKS_ASSERT_EQ_INT(okta(OKS_E_INVALID, 400, "E0000031"), OKS_WORKER_FAIL_MISCONFIGURED);
    OKS_ASSERT_EQ_INT(okta(OKS_E_INVALID, 302, NULL), OKS_WORKER_FAIL_MISCONFIGURED);
    /* nothing sent: our budget / Redis, shutting down */
    OKS_ASSERT_EQ_INT(okta(OKS_E_UNAVAILABLE, -1, NULL), OKS_WORKER_FAIL_INTERNAL);
    /* the org's shared budget is spent: the tenant waits on its own clock */
    OKS_ASSERT_EQ_INT(okta(OKS_E_RATELIMIT, -1, NULL), OKS_WORKER_FAIL_UNAVAILABLE);
    OKS_ASSERT_EQ_INT(okta(OKS_OK, 200, NULL), OKS_WORKER_FAIL_NONE);
}

OKS_TEST(classifier_tenant_db_and_data)
{
    oks_err e = {.code = OKS_E_PERMANENT};
    OKS_ASSERT_EQ_INT(oks_worker_fail_classify(OKS_WORKER_SRC_TENANT, &e, -1, NULL),
                      OKS_WORKER_FAIL_NOT_CONNECTED);
    e.code = OKS_E_NOTFOUND;
    OKS_ASSERT_EQ_INT(oks_worker_fail_classify(OKS_WORKER_SRC_TENANT, &e, -1, NULL),
                      OKS_WORKER_FAIL_NOT_CONNECTED);
    e.code = OKS_E_UNAVAILABLE; /* database down while loading the tenant: not its fault */
    OKS_ASSERT_EQ_INT(oks_worker_fail_classify(OKS_WORKER_SRC_TENANT, &e, -1, NULL),
                      OKS_WORKER_FAIL_INTERNAL);
    e.code = OKS_E_CONFLICT;
    OKS_ASSERT_EQ_INT(oks_worker_fail_classify(OKS_WORKER_SRC_DB, &e, -1, NULL),
                      OKS_WORKER_FAIL_USER);
    e.code = OKS_E_INVALID;
    OKS_ASSERT_EQ_INT(oks_worker_fail_classify(OKS_WORKER_SRC_DB, &e, -1, NULL),
                      OKS_WORKER_FAIL_USER);
    e.code = OKS_E_TRANSIENT;
    OKS_ASSERT_EQ_INT(oks_worker_fail_classify(OKS_WORKER_SRC_DB, &e, -1, NULL),
                      OKS_WORKER_FAIL_INTERNAL);
    e.code = OKS_E_PERMANENT;
    OKS_ASSERT_EQ_INT(oks_worker_fail_classify(OKS_WORKER_SRC_DATA, &e, -1, NULL),
                      OKS_WORKER_FAIL_USER);
    OKS_ASSERT_EQ_STR(oks_worker_fail_fault(OKS_WORKER_FAIL_CREDENTIALS), "credentials_invalid");
    OKS_ASSERT_EQ_STR(oks_worker_fail_fault(OKS_WORKER_FAIL_UNAVAILABLE), "okta_unavailable");
    OKS_ASSERT(oks_worker_fail_fault(OKS_WORKER_FAIL_USER) == NULL);
    OKS_ASSERT(oks_worker_fail_fault(OKS_WORKER_FAIL_INTERNAL) == NULL);
    OKS_ASSERT(oks_worker_fail_parked(OKS_WORKER_FAIL_CREDENTIALS));
    OKS_ASSERT(oks_worker_fail_parked(OKS_WORKER_FAIL_NOT_CONNECTED));
    OKS_ASSERT(!oks_worker_fail_parked(OKS_WORKER_FAIL_UNAVAILABLE));
}

OKS_TEST(cost_model_lists_the_app_only_when_cheaper)
{
    OKS_ASSERT(!oks_worker_fetch_use_listing(0, 0));
    OKS_ASSERT(oks_worker_fetch_use_listing(1, 0));    /* empty estimate: one page */
    OKS_ASSERT(oks_worker_fetch_use_listing(1, 500));  /* 1 page vs 1 GET */
    OKS_ASSERT(!oks_worker_fetch_use_listing(1, 501)); /* 2 pages vs 1 GET */
    OKS_ASSERT(oks_worker_fetch_use_listing(2, 1000));
    OKS_ASSERT(!oks_worker_fetch_use_listing(3, 100000));
    OKS_ASSERT(oks_worker_fetch_use_listing(200, 100000));
    OKS_ASSERT(oks_worker_fetch_use_listing(2000, 2000));
    /* a count may stop past the largest estimate for which listing wins: same decision */
    for (size_t n = 1; n <= 300; n += 37) {
        int64_t max = oks_worker_fetch_listing_max_rows(n);
        OKS_ASSERT(oks_worker_fetch_use_listing(n, max));
        OKS_ASSERT(!oks_worker_fetch_use_listing(n, max + 1));
    }
    OKS_ASSERT_EQ_INT(oks_worker_fetch_listing_page_cap(7), 7);
}

OKS_TEST(filter_packing_respects_the_url_budget)
{
    const char *ids[300];
    char buf[300][24];
    for (int i = 0; i < 300; i++) {
        snprintf(buf[i], sizeof buf[i], "00u%017d", i);
        ids[i] = buf[i];
    }
    char out[8192];
    /* each id costs 16 + 20 escaped bytes, 8 more for " or " */
    OKS_ASSERT_EQ_INT(oks_worker_fetch_pack_filter(ids, 300, 36, out, sizeof out), 1);
    OKS_ASSERT_EQ_STR(out, "id eq \"00u00000000000000000\"");
    OKS_ASSERT_EQ_INT(oks_worker_fetch_pack_filter(ids, 300, 36 + 43, out, sizeof out), 1);
    OKS_ASSERT_EQ_INT(oks_worker_fetch_pack_filter(ids, 300, 36 + 44, out, sizeof out), 2);
    OKS_ASSERT_EQ_STR(out, "id eq \"00u00000000000000000\" or id eq \"00u00000000000000001\"");
    OKS_ASSERT_EQ_INT(oks_worker_fetch_pack_filter(ids, 300, 35, out, sizeof out), 0);
    /* never more than a page of 200 */
    OKS_ASSERT_EQ_INT(oks_worker_fetch_pack_filter(ids, 300, 1000000, out, sizeof out), 200);
    /* 4096-byte URLs hold ~90 ids */
    size_t k = oks_worker_fetch_pack_filter(ids, 300, 4096 - 60, out, sizeof out);
    OKS_ASSERT(k > 80 && k < 100);
    OKS_ASSERT(oks_worker_fetch_id_ok("00uAbC123"));
    OKS_ASSERT(!oks_worker_fetch_id_ok(""));
    OKS_ASSERT(!oks_worker_fetch_id_ok("00u\" or id eq \"x"));
    OKS_ASSERT(!oks_worker_fetch_id_ok("00u 1"));
}

OKS_TEST(stale_rule_allows_the_publish_delay)
{
    oks_worker_mark m = {.max_published_ms = 10000};
    oks_worker_read r = {.kind = OKS_WORKER_READ_FOUND};
    r.user.last_updated_ms = 9990; /* the change the event records, 10 ms before it */
    OKS_ASSERT(!oks_worker_fetch__stale(&m, &r));
    r.user.last_updated_ms = 10000 - OKS_WORKER_STALE_SLACK_MS;
    OKS_ASSERT(!oks_worker_fetch__stale(&m, &r));
    r.user.last_updated_ms = 10000 - OKS_WORKER_STALE_SLACK_MS - 1;
    OKS_ASSERT(oks_worker_fetch__stale(&m, &r));
    m.max_published_ms = 0; /* assignment-only events: nothing to compare */
    OKS_ASSERT(!oks_worker_fetch__stale(&m, &r));
    m.max_published_ms = 10000;
    r.kind = OKS_WORKER_READ_GONE;
    OKS_ASSERT(!oks_worker_fetch__stale(&m, &r));
}

static oks_worker_mark mark(bool stored, int app_assigned)
{
    oks_worker_mark m = {.seq = 4, .events = 3, .stored = stored, .app_assigned = app_assigned};
    snprintf(m.okta_id, sizeof m.okta_id, "00u1");
    return m;
}

static oks_worker_read found(const char *status, int assigned)
{
    oks_worker_read r = {.kind = OKS_WORKER_READ_FOUND,
                         .as_of_ms = 1000,
                         .assigned = assigned,
                         .assigned_as_of_ms = assigned >= 0 ? 2000 : 0};
    r.user.status = (char *)status;
    return r;
}

OKS_TEST(decide_per_user)
{
    oks_worker_state s;
    char why[256];
    oks_worker_mark m = mark(false, -1);
    oks_worker_read r = found("ACTIVE", 1);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &r, true, &s, why, sizeof why), 0);
    OKS_ASSERT_EQ_STR(s.status, "active");
    OKS_ASSERT(s.user == &r.user);
    OKS_ASSERT_EQ_INT(s.app_assigned, 1);
    OKS_ASSERT_EQ_INT(s.as_of_ms, 2000); /* the later of the two Dates */
    OKS_ASSERT_EQ_INT(s.mark_seq, 4);
    /* not assigned, no row: nothing stored */
    r = found("ACTIVE", 0);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &r, true, &s, why, sizeof why), 0);
    OKS_ASSERT(s.status == NULL && s.user == NULL);
    /* not assigned, row: deactivated, status only */
    m = mark(true, 1);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &r, true, &s, why, sizeof why), 0);
    OKS_ASSERT_EQ_STR(s.status, "deactivated");
    OKS_ASSERT(s.user == NULL);
    OKS_ASSERT_EQ_INT(s.app_assigned, 0);
    /* stored member, not asked: stored answer */
    r = found("DEPROVISIONED", -1);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &r, true, &s, why, sizeof why), 0);
    OKS_ASSERT_EQ_STR(s.status, "deactivated");
    OKS_ASSERT(s.user == &r.user);
    OKS_ASSERT_EQ_INT(s.as_of_ms, 1000);
    /* no app id: everyone is a member */
    m = mark(false, -1);
    r = found("SUSPENDED", -1);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &r, false, &s, why, sizeof why), 0);
    OKS_ASSERT_EQ_STR(s.status, "deactivated");
    OKS_ASSERT_EQ_INT(s.app_assigned, -1);
    /* deleted */
    oks_worker_read g = {.kind = OKS_WORKER_READ_GONE, .as_of_ms = 5000, .assigned = -1};
    m = mark(true, 1);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &g, true, &s, why, sizeof why), 0);
    OKS_ASSERT_EQ_STR(s.status, "deleted");
    OKS_ASSERT_EQ_INT(s.as_of_ms, 5000);
    m = mark(false, -1);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &g, true, &s, why, sizeof why), 0);
    OKS_ASSERT(s.status == NULL);
    /* poison: unknown status */
    r = found("BRAND_NEW_STATUS", 1);
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &r, true, &s, why, sizeof why), -1);
    OKS_ASSERT_CONTAINS(why, "BRAND_NEW_STATUS");
    /* no Date header: no stamp, not applied */
    r = found("ACTIVE", -1);
    r.as_of_ms = -1;
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &r, false, &s, why, sizeof why), -1);
    OKS_ASSERT_CONTAINS(why, "Date");
    oks_worker_read fl = {.kind = OKS_WORKER_READ_FAILED, .assigned = -1};
    snprintf(fl.error, sizeof fl.error, "boom");
    OKS_ASSERT_EQ_INT(oks_worker_decide(&m, &fl, false, &s, why, sizeof why), -1);
    OKS_ASSERT_EQ_STR(why, "boom");
}

/* Who needs a groups read (the round asks only when the tenant maps a group): a group event on
 * a found user, or a user the round is about to create; never a deleted, failed or non-member
 * user, never a stored user's profile or lifecycle mark. */
OKS_TEST(groups_read_only_for_group_events_and_users_about_to_be_created)
{
    oks_worker_mark m = mark(true, 1);
    oks_worker_read r = found("ACTIVE", -1);
    OKS_ASSERT(!oks_worker_read_needs_groups(&m, &r, true)); /* profile event, stored */
    m.check_groups = true;
    OKS_ASSERT(oks_worker_read_needs_groups(&m, &r, true));
    OKS_ASSERT(oks_worker_read_needs_groups(&m, &r, false));
    r = found("ACTIVE", 0); /* stored, unassigned: deactivated, keeps (and follows) its teams */
    OKS_ASSERT(oks_worker_read_needs_groups(&m, &r, true));
    r.kind = OKS_WORKER_READ_GONE; /* deleted: leaves every team anyway */
    OKS_ASSERT(!oks_worker_read_needs_groups(&m, &r, true));
    r.kind = OKS_WORKER_READ_FAILED;
    OKS_ASSERT(!oks_worker_read_needs_groups(&m, &r, true));
    r.kind = OKS_WORKER_READ_NONE;
    OKS_ASSERT(!oks_worker_read_needs_groups(&m, &r, true));
    /* no row yet: only when the round will create it */
    m = mark(false, -1);
    r = found("ACTIVE", 1);
    OKS_ASSERT(oks_worker_read_needs_groups(&m, &r, true));
    r = found("ACTIVE", 0); /* a non-member: nothing is stored */
    OKS_ASSERT(!oks_worker_read_needs_groups(&m, &r, true));
    m.check_groups = true;
    OKS_ASSERT(!oks_worker_read_needs_groups(&m, &r, true));
    r = found("ACTIVE", -1); /* tenant without an app id: every found user is stored */
    m.check_groups = false;
    OKS_ASSERT(oks_worker_read_needs_groups(&m, &r, false));
}

/* The batch document is built in the thread's jansson arena once the hooks are installed (the
 * worker's main does): the same bytes as through malloc, a malloc'd result, the profiles'
 * reference counts back where they were, and no scope left open; inside a caller's scope too.
 * In a child: installing is process-wide. */
OKS_TEST(batch_json_built_in_an_arena_is_the_same_document)
{
    oks_okta_user u = {.id = "00u1"};
    u.profile = json_pack("{s:s, s:s, s:n, s:s, s:i, s:b, s:s}", "email", "zoë@example.com",
                          "firstName", "Zoë", "preferredLanguage", "locale", "fr_FR",
                          "employeeNumber", 4711, "title", 1, "managerId", "00u9");
    oks_worker_state s[2] = {
        {.okta_id = "00u1", .status = "active", .user = &u, .app_assigned = 1, .mark_seq = 3},
        {.okta_id = "00u2", .status = NULL, .app_assigned = -1, .as_of_ms = 1, .mark_seq = 1}};
    char *plain = oks_worker_apply_batch_json(s, 2); /* hooks not installed: malloc */
    OKS_ASSERT(plain != NULL && strstr(plain, "\"4711\"") != NULL); /* a number as text */
    pid_t pid = fork();
    OKS_ASSERT(pid >= 0);
    if (pid == 0) {
        oks_json_arena_install();
        size_t refs = u.profile->refcount;
        char *arena = oks_worker_apply_batch_json(s, 2);
        int ok = arena && strcmp(arena, plain) == 0 && !oks_json_arena_active() &&
                 u.profile->refcount == refs &&
                 json_object_get(u.profile, "managerId")->refcount == 1;
        free(arena);
        /* a caller's scope already open: built there, still handed back malloc'd */
        ok = ok && oks_json_arena_begin();
        arena = oks_worker_apply_batch_json(s, 2);
        ok = ok && arena && strcmp(arena, plain) == 0 && oks_json_arena_active();
        oks_json_arena_end();
        ok = ok && arena && strcmp(arena, plain) == 0;
        free(arena);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    OKS_ASSERT(waitpid(pid, &st, 0) == pid);
    OKS_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(plain);
    json_decref(u.profile);
}

OKS_TEST(batch_json_and_dead_letter_record)
{
    oks_okta_user u = {.id = "00u1",
                       .email = "zoë@example.com",
                       .first_name = "Zoë",
                       .preferred_language = NULL,
                       .locale = "fr_FR",
                       .city = "São Paulo"};
    u.profile = json_pack("{s:s, s:s, s:n, s:s, s:s, s:s}", "email", "zoë@example.com", "firstName",
                          "Zoë", "preferredLanguage", "locale", "fr_FR", "city", "São Paulo",
                          "profileUrl", "https://x.okta.com/profile");
    oks_worker_state s[2] = {
        {.okta_id = "00u1",
         .status = "active",
         .user = &u,
         .app_assigned = 1,
         .as_of_ms = 1764547200000,
         .mark_seq = 3},
        {.okta_id = "00u2", .status = NULL, .app_assigned = -1, .as_of_ms = 1, .mark_seq = 1}};
    char *js = oks_worker_apply_batch_json(s, 2);
    OKS_ASSERT(js != NULL);
    json_t *j = json_loads(js, 0, NULL);
    free(js);
    OKS_ASSERT(json_array_size(j) == 2);
    json_t *a = json_array_get(j, 0);
    json_t *fl = json_object_get(a, "f");
    /* preferredLanguage null falls back to locale; absent attributes are left out (unchanged);
     * picture has no default (profileUrl is not a picture) */
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(fl, "language")), "fr_FR");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(fl, "location")), "São Paulo");
    OKS_ASSERT(json_object_get(fl, "title") == NULL);
    OKS_ASSERT(json_object_get(fl, "picture") == NULL);
    OKS_ASSERT(json_is_null(json_object_get(a, "mref")));
    json_decref(u.profile);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(a, "as_of")), "2025-12-01T00:00:00.000Z");
    OKS_ASSERT(json_is_true(json_object_get(a, "profile")));
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(a, "seq")), 3);
    json_t *b = json_array_get(j, 1);
    OKS_ASSERT(json_is_null(json_object_get(b, "status")));
    OKS_ASSERT(json_is_false(json_object_get(b, "profile")));
    OKS_ASSERT(json_is_null(json_object_get(b, "app_assigned")));
    json_decref(j);

    oks_worker_mark m = {.events = 12, .attempts = 9};
    snprintf(m.okta_id, sizeof m.okta_id, "00uX");
    char *v = oks_worker_rdlq_value("t-1", &m, "bad \xff\xfe status \"x\"", 0);
    OKS_ASSERT(v != NULL);
    j = json_loads(v, 0, NULL);
    free(v);
    OKS_ASSERT(j != NULL);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "okta_id")), "00uX");
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(j, "reason")), "bad ?? status \"x\"");
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(j, "events")), 12);
    OKS_ASSERT_EQ_INT(json_integer_value(json_object_get(j, "attempts")), 10);
    json_decref(j);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
