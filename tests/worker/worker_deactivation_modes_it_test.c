/*
 * Okta's own pages disagree on what deactivating a user does to its app assignments (issue 8,
 * item 8). The simulator plays each reading (--deactivate-apps remove | restore | keep); under
 * every one the reconciler must end where Okta is: after a deactivation and after the
 * reactivation that follows, the users row says what the simulator's expected state says.
 * The marks are what the intake writes for user.lifecycle.* events (check_assignment on).
 */
#include "oks_test.h"
#include "rfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The simulator's expected platform status of user id, and a directly assigned ACTIVE user
 * (when pick is not NULL and *pick is NULL). */
static char *expected_status(rsim *s, const char *id, char **pick)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/__sim/state", s->url);
    OKS_ASSERT_EQ_INT(wt_http("GET", url, NULL, &body), 200);
    json_t *st = json_loads(body, 0, NULL);
    free(body);
    OKS_ASSERT(st != NULL);
    char *out = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(st, "users"), i, x)
    {
        const char *uid = json_string_value(json_object_get(x, "id"));
        const char *scope = json_string_value(json_object_get(x, "scope"));
        const char *okta = json_string_value(json_object_get(x, "okta_status"));
        if (pick && !*pick && uid && scope && okta && strcmp(scope, "USER") == 0 &&
            strcmp(okta, "ACTIVE") == 0)
            *pick = strdup(uid);
        if (id && uid && strcmp(uid, id) == 0)
            out = strdup(json_string_value(json_object_get(x, "expected_status")));
    }
    json_decref(st);
    return out;
}

/* Mark u dirty as a lifecycle event would, wait for the round, compare with the simulator. */
static void reconcile_and_compare(rfx *f, rsim *s, const char *t, const char *u, const char *mode,
                                  const char *step)
{
    rfx_mark(f, t, u, 1, true, NULL);
    OKS_ASSERT(rfx_wait_clean(f, t, 15000));
    char *want = expected_status(s, u, NULL);
    char *got =
        rfx_q(f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);
    OKS_ASSERT(want != NULL && got != NULL);
    if (strcmp(want, got) != 0)
        fprintf(stderr, "mode %s, after %s: row %s, Okta expects %s\n", mode, step, got, want);
    OKS_ASSERT_EQ_STR(got, want);
    free(want);
    free(got);
}

static void run_mode(const char *mode, const char *after_reactivation)
{
    rsim s;
    const char *extra[] = {"--deactivate-apps", mode, NULL};
    rsim_start(&s, 40, extra);
    rfx f;
    rfx_setup(&f);
    f.cfg.coalesce_window_ms = 0;
    char *t = rfx_tenant(&f, &s, true);
    char *u = NULL;
    free(expected_status(&s, NULL, &u));
    OKS_ASSERT(u != NULL);
    rfx_start(&f);
    reconcile_and_compare(&f, &s, t, u, mode, "first read");
    char path[160];
    snprintf(path, sizeof path, "users/%s/deactivate", u);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
    reconcile_and_compare(&f, &s, t, u, mode, "deactivation");
    snprintf(path, sizeof path, "users/%s/reactivate", u);
    OKS_ASSERT_EQ_INT(rsim_post(&s, path, NULL), 200);
    reconcile_and_compare(&f, &s, t, u, mode, "reactivation");
    /* the modes really differ where Okta's pages disagree: after reactivation */
    char *got =
        rfx_q(&f, "SELECT status FROM users WHERE tenant_id = $1::uuid AND okta_id = $2", t, u);
    OKS_ASSERT_EQ_STR(got, after_reactivation);
    free(got);
    rfx_stop(&f);
    free(u);
    rfx_close(&s, &f, t);
}

/* Default: deactivation removes the assignment and reactivation does not bring it back. */
OKS_TEST(remove_mode_reactivated_user_stays_deactivated_until_reassigned)
{
    run_mode("remove", "deactivated");
}

/* Reactivation re-assigns: the user is active again. */
OKS_TEST(restore_mode_reactivated_user_is_active_again)
{
    run_mode("restore", "active");
}

/* The assignment is kept through deactivation (listed INACTIVE): active after reactivation. */
OKS_TEST(keep_mode_reactivated_user_is_active_again)
{
    run_mode("keep", "active");
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
