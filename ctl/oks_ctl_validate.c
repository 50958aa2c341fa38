/* Validation of operator input, done before touching the database so mistakes exit 2. */
#include "oks_ctl.h"

#include "core/oks_config.h"
#include "core/oks_okta_domain.h"
#include "core/oks_subdomain.h"
#include "core/oks_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool oks_ctl_valid_subdomain(const char *s, char *why, size_t cap)
{
    return oks_subdomain_valid(s, strlen(s), why, cap);
}

bool oks_ctl_valid_okta_domain(const char *s, char *out, size_t cap, char *why, size_t why_cap)
{
    size_t keep;
    bool plain_http;
    if (!oks_okta_domain_parse(s, &keep, &plain_http, why, why_cap))
        return false;
    if (keep >= cap) {
        snprintf(why, why_cap, "too long");
        return false;
    }
    memcpy(out, s, keep);
    out[keep] = '\0';
    return true;
}

bool oks_ctl_valid_okta_id(const char *s, char *why, size_t cap)
{
    size_t len = strlen(s);
    if (len == 0 || len > 100) {
        snprintf(why, cap, "must be 1 to 100 characters");
        return false;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') {
            snprintf(why, cap, "only letters, digits, '-', '_' and '.' are allowed");
            return false;
        }
    return true;
}

bool oks_ctl_valid_hhmm(const char *s, char *why, size_t cap)
{
    int seconds;
    /* the fleet's time-of-day rule, in the HH:MM form `tenant show` prints back */
    if (strlen(s) != 5 || !oks_time_of_day_parse(s, &seconds)) {
        snprintf(why, cap, "expected HH:MM (UTC), 00:00..23:59, e.g. 03:00");
        return false;
    }
    return true;
}

bool oks_ctl_parse_onoff(const char *s, bool *out)
{
    if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0) {
        *out = s[1] == 'n';
        return true;
    }
    return oks_parse_bool(s, out);
}

bool oks_ctl_valid_manager_mode(const char *s)
{
    return strcmp(s, "individual") == 0 || strcmp(s, "team") == 0;
}

char *oks_ctl_read_secret(const char *value, oks_err *err)
{
    if (strcmp(value, "-") != 0) {
        char *copy = strdup(value);
        if (!copy)
            oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return copy;
    }
    char buf[4096];
    if (!fgets(buf, sizeof buf, stdin)) {
        oks_err_set(err, OKS_E_INVALID, "nothing to read on standard input");
        return NULL;
    }
    size_t len = strcspn(buf, "\r\n");
    if (len == sizeof buf - 1) {
        oks_err_set(err, OKS_E_INVALID, "secret on standard input is longer than 4095 bytes");
        return NULL;
    }
    buf[len] = '\0';
    char *copy = strdup(buf);
    memset(buf, 0, sizeof buf);
    if (!copy)
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
    return copy;
}
