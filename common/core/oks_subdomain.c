#include "core/oks_subdomain.h"

#include <stdio.h>

static bool lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool oks_subdomain_valid(const char *s, size_t n, char *why, size_t why_cap)
{
    const char *msg = NULL;
    if (n == 0 || n > OKS_SUBDOMAIN_MAX)
        msg = "must be 1 to 63 characters";
    for (size_t i = 0; !msg && i < n; i++)
        if (!lower_or_digit(s[i]) && s[i] != '-')
            msg = "only lower-case letters, digits and '-' are allowed";
    if (!msg && (s[0] == '-' || s[n - 1] == '-'))
        msg = "must not start or end with '-'";
    if (msg && why && why_cap > 0)
        snprintf(why, why_cap, "%s", msg);
    return msg == NULL;
}

bool oks_subdomain_normalise(const char *s, size_t n, char *out, size_t cap)
{
    if (n == 0 || n > OKS_SUBDOMAIN_MAX || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    out[n] = '\0';
    return oks_subdomain_valid(out, n, NULL, 0);
}
