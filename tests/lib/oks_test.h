/*
 * Tiny test harness shared by every C test. One executable per area; each test is a function.
 *
 *     OKS_TEST(parses_duration) { int64_t ms; OKS_ASSERT(oks_parse_duration_ms("2s", &ms));
 *                                 OKS_ASSERT_EQ_INT(ms, 2000); }
 *     int main(int argc, char **argv) { return oks_test_main(argc, argv); }
 *
 * Tests register themselves (constructor attribute); `prog NAME` runs one test. A failed
 * assertion prints file:line and both values and fails that test; the others still run.
 * Output ends with "N passed, N failed".
 */
#ifndef OKS_TEST_H
#define OKS_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*oks_test_fn)(void);
void oks_test_register(const char *name, oks_test_fn fn);
int oks_test_main(int argc, char **argv);
void oks_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define OKS_TEST(name)                                                                             \
    static void test_##name(void);                                                                 \
    __attribute__((constructor)) static void register_##name(void)                                 \
    {                                                                                              \
        oks_test_register(#name, test_##name);                                                     \
    }                                                                                              \
    static void test_##name(void)

#define OKS_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            oks_test_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);                      \
    } while (0)
#define OKS_ASSERT_EQ_INT(a, b)                                                                    \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_)                                                                              \
            oks_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);           \
    } while (0)
#define OKS_ASSERT_EQ_STR(a, b)                                                                    \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                     \
            oks_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                \
                          a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                 \
    } while (0)
#define OKS_ASSERT_CONTAINS(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_))                                                                \
            oks_test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",                    \
                          h_ ? h_ : "(null)", n_);                                                 \
    } while (0)

/* ---- Integration helpers (real services started by scripts/stack) ---- */

/* Value of a service setting (OKTASYNC_DATABASE_URL, OKTASYNC_REDIS_URL, OKTASYNC_KAFKA_BROKERS):
 * from the environment, else from the stack's env file ($OKTASYNC_STATE_DIR or
 * $OKS_SOURCE_DIR/.state)/stack.env. Fails the test (not skips) when the stack is not up. */
const char *oks_test_service(const char *name);

/* Create an empty database with a unique name on the stack's PostgreSQL; returns its URL
 * (static buffer per call site is NOT used: caller gets a malloc'd string). Dropped at exit. */
char *oks_test_fresh_database(void);

/* A path for a scratch file (a child's log, a ready file): "<dir>/<prefix>.<n>", n counting
 * up, in a directory of this process's own under $TMPDIR (default /tmp). oks_test_main removes
 * the directory when every test passed (unless OKS_TEST_KEEP_TMP=1) and names it when one
 * failed, so a failure's logs stay to be read. The string lives until 8 more calls. */
const char *oks_test_tmp_path(const char *prefix);

/* A name unique to this test process ("t<pid>_<counter>"), for topics, keys, tenants. */
const char *oks_test_unique(const char *prefix);

/* Poll cond_fn until true or timeout_ms passes (never a bare sleep). */
bool oks_test_wait_until(bool (*cond_fn)(void *), void *ctx, int timeout_ms);

/* Multiply test timeouts (OKS_TEST_TIMEOUT_MULTIPLIER, e.g. 3 under sanitizers). */
int oks_test_timeout_ms(int base_ms);

/* A text file's first MiB, NUL-terminated and malloc'd (free it); NULL when it cannot be opened
 * (a child's log not written yet). */
char *oks_test_read_file(const char *path);

/* How many times needle occurs in hay (0 for a NULL hay), e.g. a log line in a log. */
int oks_test_count(const char *hay, const char *needle);

#endif
