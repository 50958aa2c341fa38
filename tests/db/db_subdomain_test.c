/* Integration: the subdomain rule in C (core/oks_subdomain.h) and the SQL CHECK on
 * tenants.subdomain accept exactly the same names. */
#include "core/oks_subdomain.h"
#include "db_test_util.h"
#include "subdomain_cases.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OKS_TEST(c_rule_matches_table)
{
    char why[128];
    for (size_t i = 0; i < SUBDOMAIN_CASES_N; i++) {
        const char *name = subdomain_cases[i].name;
        why[0] = '\0';
        bool ok = oks_subdomain_valid(name, strlen(name), why, sizeof why);
        if (ok != subdomain_cases[i].valid)
            oks_test_fail(__FILE__, __LINE__, "C rule on \"%s\": got %d, want %d", name, ok,
                          subdomain_cases[i].valid);
        if (!ok && why[0] == '\0')
            oks_test_fail(__FILE__, __LINE__, "no reason given for \"%s\"", name);
    }
}

OKS_TEST(sql_check_matches_table)
{
    oks_db *db = dbt_fresh_migrated(NULL);
    for (size_t i = 0; i < SUBDOMAIN_CASES_N; i++) {
        const char *name = subdomain_cases[i].name;
        oks_err err = {0};
        const char *p[] = {name};
        PGresult *r = oks_db_exec_params(
            db,
            "INSERT INTO tenants (subdomain, webhook_secret_hash) VALUES ($1, sha256('x')) "
            "RETURNING id",
            1, p, &err);
        bool ok = r != NULL;
        PQclear(r);
        if (!ok && err.code != OKS_E_CONFLICT) /* CHECK violation is 23514 → CONFLICT */
            oks_test_fail(__FILE__, __LINE__, "\"%s\": unexpected error %s", name, err.msg);
        if (ok != subdomain_cases[i].valid)
            oks_test_fail(__FILE__, __LINE__, "SQL CHECK on \"%s\": got %d, want %d", name, ok,
                          subdomain_cases[i].valid);
    }
    oks_db_close(db);
}

OKS_TEST(normalise_folds_case_then_applies_the_rule)
{
    char out[OKS_SUBDOMAIN_MAX + 1];
    OKS_ASSERT(oks_subdomain_normalise("AcMe-1", 6, out, sizeof out));
    OKS_ASSERT_EQ_STR(out, "acme-1");
    OKS_ASSERT(oks_subdomain_normalise("acme.hooks", 4, out, sizeof out)); /* length-bounded */
    OKS_ASSERT_EQ_STR(out, "acme");
    OKS_ASSERT(!oks_subdomain_normalise("A_B", 3, out, sizeof out));
    OKS_ASSERT(!oks_subdomain_normalise("-A", 2, out, sizeof out));
    OKS_ASSERT(!oks_subdomain_normalise("", 0, out, sizeof out));
    OKS_ASSERT(!oks_subdomain_normalise("abcd", 4, out, 4)); /* no room for the NUL */
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
