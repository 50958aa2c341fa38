/* Value parsers shared by the configuration table and the rest of the code. Defaults in the
 * tables go through these same functions, so a bad default fails the unit tests. */
#include "oks_config.h"
#include "oks_config_common.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool oks_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = (int64_t)v;
    return true;
}

/* Split "123abc" into a non-negative number and a unit suffix. */
static bool parse_number_unit(const char *s, int64_t *num, const char **unit)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || v < 0)
        return false;
    *num = (int64_t)v;
    *unit = end;
    return true;
}

static bool mul_checked(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

typedef struct unit_scale {
    const char *unit;
    int64_t scale;
} unit_scale;

/* "<digits><unit>" where unit is one of units[] (the empty unit included): num * scale. */
static bool parse_scaled(const char *s, const unit_scale *units, size_t n_units, int64_t *out)
{
    int64_t num;
    const char *unit;
    if (!parse_number_unit(s, &num, &unit))
        return false;
    for (size_t i = 0; i < n_units; i++) {
        if (strcmp(unit, units[i].unit) == 0)
            return mul_checked(num, units[i].scale, out);
    }
    return false;
}

bool oks_parse_duration_ms(const char *s, int64_t *out)
{
    static const unit_scale units[] = {
        {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    return parse_scaled(s, units, sizeof units / sizeof units[0], out);
}

bool oks_parse_size(const char *s, int64_t *out)
{
    static const unit_scale units[] = {{"", 1},
                                       {"B", 1},
                                       {"k", 1024},
                                       {"K", 1024},
                                       {"KiB", 1024},
                                       {"M", 1024 * 1024},
                                       {"MiB", 1024 * 1024},
                                       {"G", 1024LL * 1024 * 1024},
                                       {"GiB", 1024LL * 1024 * 1024}};
    return parse_scaled(s, units, sizeof units / sizeof units[0], out);
}

bool oks_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    if (!s)
        return false;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

const char *const oks_cfg_log_levels[] = {"debug", "info", "warn", "error", NULL};
