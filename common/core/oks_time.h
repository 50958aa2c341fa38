/* Clocks and ISO-8601 timestamps as Okta writes them ("2025-03-04T10:15:29.877Z"). */
#ifndef OKS_TIME_H
#define OKS_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

int64_t oks_now_mono_ms(void); /* monotonic, for deadlines and latency */
int64_t oks_now_wall_ms(void); /* Unix epoch milliseconds */
void oks_sleep_ms(int64_t ms);
/* The time ms from now on clock (CLOCK_REALTIME or CLOCK_MONOTONIC), as a deadline for
 * pthread_cond_timedwait on a condition variable of that clock. */
struct timespec oks_time_after_ms(clockid_t clock, int64_t ms);

/* Parse "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or "+HH:MM" offset) into epoch ms. */
bool oks_time_parse_iso8601(const char *s, int64_t *epoch_ms);
/* Format epoch ms as "YYYY-MM-DDTHH:MM:SS.fffZ"; buf needs 25 bytes. */
void oks_time_format_iso8601(int64_t epoch_ms, char *buf, size_t cap);

/* The fleet's time of day (a tenant's full_sync_time, the scheduler's default-time): "HH:MM" or
 * "HH:MM:SS", UTC, 00:00..23:59:59 → seconds after midnight; false when malformed. */
bool oks_time_of_day_parse(const char *s, int *seconds);

#endif
