#include "oks_log.h"
#include "oks_json_escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

oks_log_level oks_log_threshold = OKS_LOG_INFO;
static char log_prog[32] = "oktasync";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void oks_log_init(const char *prog, oks_log_level threshold)
{
    snprintf(log_prog, sizeof log_prog, "%s", prog);
    oks_log_threshold = threshold;
}

bool oks_log_level_parse(const char *s, oks_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (oks_log_level)i;
            return true;
        }
    }
    return false;
}

/* Lines longer than this are cut (and stay valid JSON): logs are bounded like everything else. */
enum { LOG_LINE_MAX = 4096 };

static size_t log_begin(char *line, oks_log_level level)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    int n = snprintf(line, LOG_LINE_MAX, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"%s\"",
                     when, ts.tv_nsec / 1000000, level_names[level], log_prog);
    return (size_t)n;
}

static size_t log_add_field(char *line, size_t len, const char *key, const char *value)
{
    /* Reserve room for the closing "}\n". */
    size_t room = LOG_LINE_MAX - 3;
    if (len >= room)
        return len;
    len += oks_json_escape_field(line + len, room - len, key, value);
    return len;
}

static void log_end(char *line, size_t len)
{
    line[len++] = '}';
    line[len++] = '\n';
    /* One write per line keeps lines from different threads whole. */
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void)rc;
}

void oks_log_printf(oks_log_level level, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char line[LOG_LINE_MAX];
    size_t len = log_begin(line, level);
    len = log_add_field(line, len, "msg", msg);
    log_end(line, len);
}

void oks_log_fields(oks_log_level level, const char *msg, ...)
{
    if (level < oks_log_threshold)
        return;
    char line[LOG_LINE_MAX];
    size_t len = log_begin(line, level);
    len = log_add_field(line, len, "msg", msg);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        len = log_add_field(line, len, key, value ? value : "");
    }
    va_end(ap);
    log_end(line, len);
}
