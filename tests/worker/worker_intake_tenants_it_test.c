/* The intake's cache of which tenants exist (oks_worker_intake_tenants.c), against PostgreSQL:
 * answers match the tenants table whatever the case of the id, the cache alone answers for what
 * it holds, and it stays bounded (emptied when full) without losing its answers' correctness. */
#include "oks_test.h"
#include "oks_worker_intake_tenants.h"
#include "wtest.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = OKS_WORKER_TENANTS_MAX + 904 }; /* more ids than the cache holds */

static char ids[N][OKS_WORKER_UUID_MAX];

/* Ids no tenant has: uuids that differ in their last 12 hex digits. */
static void make_ids(void)
{
    for (int i = 0; i < N; i++)
        snprintf(ids[i], sizeof ids[i], "00000000-0000-4000-8000-%012x", (unsigned)i * 2654435761u);
}

static int check(oks_worker_intake_tenants *c, oks_db *db, size_t n, const char *const *q,
                 bool *exists)
{
    oks_err err = {0};
    int rc = oks_worker_intake_tenants_check(c, db, n, q, exists, &err);
    if (rc < 0)
        oks_test_fail(__FILE__, __LINE__, "check: %s", err.msg);
    return rc;
}

OKS_TEST(answers_match_the_table_and_the_cache_stays_bounded)
{
    char *url = NULL;
    oks_db *db = wt_fresh_db(&url);
    char *t1 = wt_tenant(db, "a.okta.test", "tok", 0, NULL);
    char *t2 = wt_tenant(db, "b.okta.test", "tok", 0, NULL);
    char upper[OKS_WORKER_UUID_MAX];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char)toupper((unsigned char)t2[i]);
    make_ids();
    oks_worker_intake_tenants c = {0};
    bool exists[4];

    /* empty: the cache alone cannot answer, and says so without asking */
    const char *first[] = {t1, ids[0]};
    OKS_ASSERT_EQ_INT(check(&c, NULL, 2, first, exists), 1);
    OKS_ASSERT_EQ_INT(check(&c, db, 2, first, exists), 0);
    OKS_ASSERT(exists[0] && !exists[1]);
    /* now it can, for both, and for t2 in capitals once t2 was asked */
    OKS_ASSERT_EQ_INT(check(&c, NULL, 2, first, exists), 0);
    OKS_ASSERT(exists[0] && !exists[1]);
    const char *second[] = {t2, upper, t1};
    OKS_ASSERT_EQ_INT(check(&c, db, 3, second, exists), 0);
    OKS_ASSERT(exists[0] && exists[1] && exists[2]);
    OKS_ASSERT_EQ_INT(c.n, 3); /* t2 in either case is one entry */
    OKS_ASSERT_EQ_INT(check(&c, NULL, 1, (const char *[]){upper}, exists), 0);
    OKS_ASSERT(exists[0]);

    /* more ids than it holds, 500 a batch as the intake asks: every answer right, the cache
     * never above its bound, and emptied once on the way */
    const char *batch[500];
    bool ex[500];
    for (int at = 0; at < N; at += 500) {
        size_t n = 0;
        for (int i = at; i < N && n < 500; i++)
            batch[n++] = ids[i];
        OKS_ASSERT_EQ_INT(check(&c, db, n, batch, ex), 0);
        for (size_t i = 0; i < n; i++)
            OKS_ASSERT(!ex[i]);
        OKS_ASSERT(c.n <= OKS_WORKER_TENANTS_MAX);
    }
    OKS_ASSERT(c.n < N - 500); /* it was emptied */
    /* the latest ids are still cached, the earliest are not */
    OKS_ASSERT_EQ_INT(check(&c, NULL, 1, (const char *[]){ids[N - 1]}, exists), 0);
    OKS_ASSERT_EQ_INT(check(&c, NULL, 1, (const char *[]){ids[1]}, exists), 1);
    /* a tenant asked after the emptying is still answered right */
    OKS_ASSERT_EQ_INT(check(&c, db, 3, second, exists), 0);
    OKS_ASSERT(exists[0] && exists[1] && exists[2]);

    /* forget: nothing cached */
    oks_worker_intake_tenants_forget(&c);
    OKS_ASSERT_EQ_INT(check(&c, NULL, 1, (const char *[]){t1}, exists), 1);
    oks_worker_intake_tenants_free(&c);
    free(t1);
    free(t2);
    oks_db_close(db);
    free(url);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
