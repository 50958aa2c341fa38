/*
 * ISO-8601 UTC timestamps ("2024-05-01T12:34:56.789Z") without gmtime_r/strftime/snprintf: the
 * simulator writes six per user it renders. Same bytes as oks_time_format_iso8601, which it
 * falls back to outside years 1970..9999.
 */
#include "sim.h"

#include "core/oks_time.h"

#include <string.h>

#define DAY_MS 86400000LL
#define YEAR_10000_MS 253402300800000LL /* 10000-01-01T00:00:00Z */

static void digits(char *out, unsigned v, int width)
{
    for (int k = width - 1; k >= 0; k--) {
        out[k] = (char)('0' + v % 10);
        v /= 10;
    }
}

size_t sim_iso8601(int64_t ms, char *out)
{
    if (ms < 0 || ms >= YEAR_10000_MS) {
        oks_time_format_iso8601(ms, out, SIM_ISO8601_CAP);
        return strlen(out);
    }
    int64_t days = ms / DAY_MS, in_day = ms % DAY_MS;
    /* Civil date of a day count since 1970-01-01 (proleptic Gregorian, eras of 400 years
     * starting on March 1st so the leap day is the last day of a year). */
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    unsigned y = (unsigned)(yoe + era * 400) + (m <= 2);
    digits(out, y, 4);
    out[4] = '-';
    digits(out + 5, m, 2);
    out[7] = '-';
    digits(out + 8, d, 2);
    out[10] = 'T';
    digits(out + 11, (unsigned)(in_day / 3600000), 2);
    out[13] = ':';
    digits(out + 14, (unsigned)(in_day / 60000 % 60), 2);
    out[16] = ':';
    digits(out + 17, (unsigned)(in_day / 1000 % 60), 2);
    out[19] = '.';
    digits(out + 20, (unsigned)(in_day % 1000), 3);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
}
