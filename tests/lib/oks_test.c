#define _XOPEN_SOURCE 700 /* nftw */

#include "oks_test.h"

#include <errno.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { MAX_TESTS = 512, MAX_DATABASES = 32 };

static struct {
    const char *name;
    oks_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static jmp_buf test_jump;
static char *databases[MAX_DATABASES];
static int n_databases;
static char tmp_dir[512];  /* oks_test_tmp_path's directory, once made */
static char prog_name[64]; /* in its name */

void oks_test_register(const char *name, oks_test_fn fn)
{
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void oks_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    longjmp(test_jump, 1);
}

/* Runs one test; false when an assertion failed (longjmp back here). */
static bool run_one(int i)
{
    printf("RUN  %s\n", tests[i].name);
    if (setjmp(test_jump) != 0) {
        printf("  FAILED %s\n", tests[i].name);
        return false;
    }
    tests[i].fn();
    printf("  ok %s\n", tests[i].name);
    return true;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path); /* a child still writing may add a file: the directory then stays */
    return 0;
}

/* The scratch directory goes with a passing run; a failing one leaves it for its logs, and so
 * does any run with OKS_TEST_KEEP_TMP=1 (to read the children's logs of a passing one). */
static void finish_tmp_dir(bool passed)
{
    if (!tmp_dir[0])
        return;
    const char *keep = getenv("OKS_TEST_KEEP_TMP");
    if (passed && !(keep && strcmp(keep, "1") == 0))
        nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("scratch files (children's logs) kept in %s\n", tmp_dir);
}

int oks_test_main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *slash = strrchr(argv[0], '/');
    snprintf(prog_name, sizeof prog_name, "%s", slash ? slash + 1 : argv[0]);
    for (int i = 0; i < n_tests; i++) {
        if (argc > 1) {
            bool wanted = false;
            for (int a = 1; a < argc; a++)
                wanted |= strcmp(argv[a], tests[i].name) == 0;
            if (!wanted)
                continue;
        }
        if (run_one(i))
            passed++;
        else
            failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    finish_tmp_dir(failed == 0);
    if (passed + failed == 0) {
        fprintf(stderr, "no test matched\n");
        return 1;
    }
    return failed ? 1 : 0;
}

/* ---- services ---- */

static const char *state_dir(char *buf, size_t cap)
{
    const char *s = getenv("OKTASYNC_STATE_DIR");
    if (s && *s)
        return s;
    const char *src = getenv("OKS_SOURCE_DIR");
    snprintf(buf, cap, "%s/.state", src && *src ? src : ".");
    return buf;
}

const char *oks_test_service(const char *name)
{
    const char *v = getenv(name);
    if (v && *v)
        return v;
    char dir[1024], path[1100];
    snprintf(path, sizeof path, "%s/stack.env", state_dir(dir, sizeof dir));
    FILE *f = fopen(path, "r");
    if (!f)
        oks_test_fail(__FILE__, __LINE__, "%s not set and %s missing: run scripts/stack up", name,
                      path);
    static char values[8][1024];
    static int next;
    char line[1200];
    size_t nlen = strlen(name);
    const char *found = NULL;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, name, nlen) == 0 && line[nlen] == '=') {
            char *slot = values[next++ % 8];
            snprintf(slot, sizeof values[0], "%s", line + nlen + 1);
            found = slot;
            break;
        }
    }
    fclose(f);
    if (!found)
        oks_test_fail(__FILE__, __LINE__, "%s not in %s", name, path);
    setenv(name, found, 0);
    return found;
}

const char *oks_test_tmp_path(const char *prefix)
{
    static char bufs[8][768];
    static int n;
    if (!tmp_dir[0]) {
        const char *base = getenv("TMPDIR");
        char t[sizeof tmp_dir];
        snprintf(t, sizeof t, "%s/oks-test-%s-XXXXXX", base && *base ? base : "/tmp",
                 prog_name[0] ? prog_name : "test");
        if (!mkdtemp(t))
            oks_test_fail(__FILE__, __LINE__, "mkdtemp %s: %s", t, strerror(errno));
        memcpy(tmp_dir, t, sizeof tmp_dir);
    }
    char *b = bufs[n % 8];
    snprintf(b, sizeof bufs[0], "%s/%s.%d", tmp_dir, prefix, n);
    n++;
    return b;
}

const char *oks_test_unique(const char *prefix)
{
    static char bufs[16][96];
    static int counter;
    char *b = bufs[counter % 16];
    snprintf(b, sizeof bufs[0], "%s_t%ld_%d_%ld", prefix, (long)getpid(), counter,
             (long)(time(NULL) % 100000));
    counter++;
    return b;
}

static char *conninfo_with_db(const char *base, const char *dbname)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &errmsg);
    if (!opts) {
        PQfreemem(errmsg);
        return NULL;
    }
    size_t cap = 2048, len = 0;
    char *out = malloc(cap);
    if (!out) {
        PQconninfoFree(opts);
        return NULL;
    }
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *val = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (!val || !*val)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s='%s'", len ? " " : "", o->keyword, val);
        if (len >= cap)
            break;
    }
    PQconninfoFree(opts);
    return out;
}

static void drop_databases(void)
{
    const char *admin = getenv("OKTASYNC_DATABASE_URL");
    if (!admin)
        return;
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) == CONNECTION_OK) {
        for (int i = 0; i < n_databases; i++) {
            char sql[256];
            snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", databases[i]);
            PQclear(PQexec(c, sql));
            free(databases[i]);
        }
    }
    PQfinish(c);
}

char *oks_test_fresh_database(void)
{
    const char *admin = oks_test_service("OKTASYNC_DATABASE_URL");
    if (n_databases >= MAX_DATABASES)
        oks_test_fail(__FILE__, __LINE__, "too many test databases");
    char name[96];
    snprintf(name, sizeof name, "%s", oks_test_unique("oks"));
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQfinish(c);
        oks_test_fail(__FILE__, __LINE__, "cannot connect to %s: %s", admin, msg);
    }
    char sql[200];
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", name);
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(c);
    if (!ok)
        oks_test_fail(__FILE__, __LINE__, "CREATE DATABASE %s failed", name);
    if (n_databases == 0)
        atexit(drop_databases);
    databases[n_databases++] = strdup(name);
    char *url = conninfo_with_db(admin, name);
    if (!url)
        oks_test_fail(__FILE__, __LINE__, "bad database url %s", admin);
    return url;
}

int oks_test_timeout_ms(int base_ms)
{
    const char *m = getenv("OKS_TEST_TIMEOUT_MULTIPLIER");
    int mult = m ? atoi(m) : 1;
    return base_ms * (mult > 0 ? mult : 1);
}

bool oks_test_wait_until(bool (*cond_fn)(void *), void *ctx, int timeout_ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int limit = oks_test_timeout_ms(timeout_ms);
    for (;;) {
        if (cond_fn(ctx))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed > limit)
            return false;
        struct timespec pause = {0, 20 * 1000000L};
        nanosleep(&pause, NULL);
    }
}

char *oks_test_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1 << 20;
    char *buf = malloc(cap + 1);
    if (!buf)
        oks_test_fail(__FILE__, __LINE__, "out of memory reading %s", path);
    size_t n = fread(buf, 1, cap, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

int oks_test_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}
