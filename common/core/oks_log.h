/*
 * JSON-lines logging: one object per line on stderr,
 *   {"ts":"2026-11-28T16:40:01.123Z","level":"info","prog":"ingest","msg":"...", ...fields}
 * The level check happens before arguments are evaluated. Thread-safe (one write(2) per line).
 *
 *     OKS_LOG_INFO("listening on %s:%d", host, port);
 *     oks_log_fields(OKS_LOG_WARN, "okta call failed", "tenant", t, "status", "429", NULL);
 */
#ifndef OKS_LOG_H
#define OKS_LOG_H

#include <stdbool.h>

typedef enum oks_log_level {
    OKS_LOG_DEBUG = 0,
    OKS_LOG_INFO,
    OKS_LOG_WARN,
    OKS_LOG_ERROR,
} oks_log_level;

extern oks_log_level oks_log_threshold;

/* Program name written in every line ("ingest", "worker", ...). */
void oks_log_init(const char *prog, oks_log_level threshold);
/* "debug" | "info" | "warn" | "error"; returns false on anything else. */
bool oks_log_level_parse(const char *s, oks_log_level *out);

void oks_log_printf(oks_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* msg plus string key/value pairs, terminated by NULL. Values are JSON-escaped. */
void oks_log_fields(oks_log_level level, const char *msg, ...) __attribute__((sentinel));

#define OKS_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) >= oks_log_threshold)                                                          \
            oks_log_printf((level), __VA_ARGS__);                                                  \
    } while (0)
#define OKS_LOG_DEBUG(...) OKS_LOG(OKS_LOG_DEBUG, __VA_ARGS__)
#define OKS_LOG_INFO(...) OKS_LOG(OKS_LOG_INFO, __VA_ARGS__)
#define OKS_LOG_WARN(...) OKS_LOG(OKS_LOG_WARN, __VA_ARGS__)
#define OKS_LOG_ERROR(...) OKS_LOG(OKS_LOG_ERROR, __VA_ARGS__)

#endif
