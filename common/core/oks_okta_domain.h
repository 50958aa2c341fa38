/*
 * The one reading of a tenant's okta_domain, used by the CLI (validating what an operator
 * types before it is stored) and by the worker (turning the stored value into the API's base
 * URL). Accepted: "dev-1.okta.com", "dev-1.okta.com:8443", "https://dev-1.okta.com" and, for
 * the Okta simulator in tests, "http://127.0.0.1:8080"; any trailing '/' is ignored. The host
 * has DNS characters only (letters, digits, '-', '.'), not starting or ending with '.' or '-',
 * and an optional port 1..65535. No path, no other scheme.
 */
#ifndef OKS_OKTA_DOMAIN_H
#define OKS_OKTA_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

/* Check s; on success *keep is the length of s without trailing '/' (the form stored in
 * tenants.okta_domain) and *plain_http says the operator wrote http://. On failure why (may be
 * NULL) says what is wrong. */
bool oks_okta_domain_parse(const char *s, size_t *keep, bool *plain_http, char *why,
                           size_t why_cap);

/* The Okta API base URL for a stored okta_domain: "https://<host[:port]>", or "http://..." only
 * when the value says http:// itself. malloc'd; NULL when s is NULL or not a valid domain. */
char *oks_okta_domain_base_url(const char *s);

#endif
