/* One table of tenant subdomains and whether the rule (core/oks_subdomain.h) accepts them.
 * Fed to the C function, to the SQL CHECK on tenants.subdomain (db_subdomain_test.c) and,
 * with case folding, to ingest's routing (tests/ingest/ingest_request_test.c). */
#ifndef SUBDOMAIN_CASES_H
#define SUBDOMAIN_CASES_H

#include <stdbool.h>

static const struct subdomain_case {
    const char *name;
    bool valid;
} subdomain_cases[] = {
    {"a", true},
    {"acme", true},
    {"acme-corp", true},
    {"a1-b2-c3", true},
    {"0", true},
    {"123abc", true},
    {"a--b", true},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", true}, /* 63 */
    {"", false},
    {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", false}, /* 64 */
    {"Acme", false},
    {"ACME", false},
    {"a_b", false},
    {"_acme", false},
    {"-acme", false},
    {"acme-", false},
    {"-", false},
    {"a.b", false},
    {"a b", false},
    {"acme/x", false},
    {"caf\xc3\xa9", false},
    {"a:1", false},
};

#define SUBDOMAIN_CASES_N (sizeof subdomain_cases / sizeof subdomain_cases[0])

#endif
