/* Checking an OIDC client id and secret against an Okta org (oks_ctl_oidc_check.c). */
#ifndef OKS_CTL_OIDC_CHECK_H
#define OKS_CTL_OIDC_CHECK_H

#include <stddef.h>

typedef enum {
    OKS_OIDC_OK,
    OKS_OIDC_BAD_CLIENT_ID,
    OKS_OIDC_BAD_SECRET,
    OKS_OIDC_UNREACHABLE /* transport error or an answer that proves nothing */
} oks_oidc_result;

/* domain: the tenant's okta_domain ("https://x.okta.com" or "http://127.0.0.1:port");
 * client_secret NULL or "": only the id is checked. why gets one line when not OK. */
oks_oidc_result oks_ctl_oidc_check(const char *domain, const char *client_id,
                                   const char *client_secret, long timeout_ms, char *why,
                                   size_t cap);

#endif
