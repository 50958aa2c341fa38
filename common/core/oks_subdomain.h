/*
 * The one tenant subdomain rule, used by ingest (routing), the CLI (tenant add) and stated
 * again as the SQL CHECK on tenants.subdomain in common/db/migrations/0001_init.sql:
 *
 *     '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
 *
 * A DNS label in its canonical (lower-case) form: 1 to 63 characters of a-z, 0-9 and '-', not
 * starting or ending with '-'. tests/db/db_subdomain_test.c feeds one table of good and bad
 * names to oks_subdomain_valid and to an INSERT INTO tenants; the two must agree.
 */
#ifndef OKS_SUBDOMAIN_H
#define OKS_SUBDOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#define OKS_SUBDOMAIN_MAX 63

/* Is s[0..n) a subdomain in canonical form? On false, why (may be NULL) says what is wrong. */
bool oks_subdomain_valid(const char *s, size_t n, char *why, size_t why_cap);

/* For input where case does not matter (a Host header, a URL path): lower-case s[0..n) into
 * out (cap >= OKS_SUBDOMAIN_MAX + 1 suffices) and check the result with oks_subdomain_valid.
 * False (out undefined) when the result is not a subdomain. */
bool oks_subdomain_normalise(const char *s, size_t n, char *out, size_t cap);

#endif
