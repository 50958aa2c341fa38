/* Unit tests of the per-request jansson arena (core/oks_json_arena.h), with ingest's parse. */
#include "event/oks_event.h"
#include "core/oks_json_arena.h"
#include "oks_ingest_request.h"
#include "oks_test.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *TENANT = "7d1e0c1a-0000-4000-8000-000000000001";

/* A delivery of n subscribed events, each with a pad of `pad` bytes in its debugContext. */
static char *make_body(size_t n, size_t pad)
{
    size_t cap = 64 + n * (pad + 400);
    char *b = malloc(cap);
    char *padding = malloc(pad + 1);
    size_t len = 0;

    OKS_ASSERT(b && padding);
    memset(padding, 'x', pad);
    padding[pad] = '\0';
    len += (size_t)snprintf(b + len, cap - len,
                            "{\"eventType\":\"com.okta.event_hook\",\"data\":"
                            "{\"events\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(
            b + len, cap - len,
            "%s{\"uuid\":\"ev-%zu\",\"eventType\":\"group.user_membership.add\","
            "\"published\":\"2025-03-04T10:15:29.877Z\",\"debugContext\":{\"debugData\":"
            "{\"pad\":\"%s\",\"n\":%zu,\"r\":1.5,\"ok\":true,\"no\":null}},"
            "\"target\":[{\"id\":\"00u%zu\",\"type\":\"User\"},{\"id\":\"00g1\",\"type\":"
            "\"UserGroup\",\"detailEntry\":null}]}",
            i ? "," : "", i, padding, i, i);
    snprintf(b + len, cap - len, "]}}");
    free(padding);
    return b;
}

static int parse(const char *body, oks_ingest_batch *b)
{
    static const oks_ingest_limits lim = {.max_body = 8 << 20, .max_depth = 32, .max_events = 1000};
    oks_ingest_reject rej = {0};

    return oks_ingest_body_parse(body, strlen(body), &lim, TENANT, 1741083331402, b, &rej);
}

/* Envelopes as one malloc'd string (so they survive the scope that built them). */
static char *envelopes(const char *body)
{
    oks_ingest_batch b;
    size_t total = 1, used = 0;

    OKS_ASSERT_EQ_INT(parse(body, &b), 0);
    for (size_t i = 0; i < b.n_msgs; i++)
        total += b.msgs[i].len + 1;
    char *s = malloc(total);
    OKS_ASSERT(s != NULL);
    for (size_t i = 0; i < b.n_msgs; i++) {
        OKS_ASSERT_EQ_INT(strlen(b.msgs[i].value), b.msgs[i].len);
        memcpy(s + used, b.msgs[i].value, b.msgs[i].len);
        used += b.msgs[i].len;
        s[used++] = '\n';
    }
    s[used] = '\0';
    oks_ingest_batch_free(&b);
    return s;
}

/* Without install, begin opens nothing and parsing works on malloc (run in a child, because
 * installing is process-wide and other tests install). */
OKS_TEST(not_installed_means_malloc)
{
    pid_t pid = fork();
    OKS_ASSERT(pid >= 0);
    if (pid == 0) {
        int ok = !oks_json_arena_installed() && !oks_json_arena_begin() &&
                 !oks_json_arena_active() && oks_json_arena_used() == 0;
        char *body = make_body(3, 10);
        oks_ingest_batch b;
        ok = ok && parse(body, &b) == 0 && b.n_msgs == 3 && oks_json_arena_used() == 0;
        oks_ingest_batch_free(&b);
        free(body);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    OKS_ASSERT(waitpid(pid, &st, 0) == pid);
    OKS_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

OKS_TEST(scope_takes_jansson_allocations_and_end_reclaims)
{
    oks_json_arena_install();
    OKS_ASSERT(oks_json_arena_installed());
    void *outside = oks_json_malloc(100); /* malloc: no scope yet */
    OKS_ASSERT(outside != NULL);

    OKS_ASSERT(oks_json_arena_begin());
    OKS_ASSERT(oks_json_arena_active());
    OKS_ASSERT(!oks_json_arena_begin()); /* no nesting */
    OKS_ASSERT_EQ_INT(oks_json_arena_used(), 0);
    json_t *o = json_pack("{s:s, s:[i,i]}", "a", "bcd", "e", 1, 2);
    OKS_ASSERT(o != NULL);
    size_t used = oks_json_arena_used();
    OKS_ASSERT(used > 0);
    json_decref(o); /* frees into the arena: a no-op until the end */
    OKS_ASSERT_EQ_INT(oks_json_arena_used(), used);
    oks_json_free(outside); /* a malloc'd pointer freed inside a scope goes to free() */
    oks_json_arena_end();

    OKS_ASSERT(!oks_json_arena_active());
    OKS_ASSERT_EQ_INT(oks_json_arena_used(), 0);
    void *after = oks_json_malloc(100); /* malloc again once the scope is closed */
    OKS_ASSERT(after != NULL);
    free(after); /* would crash or be flagged by ASan if it were arena memory */
}

OKS_TEST(allocations_are_aligned_distinct_and_span_blocks)
{
    unsigned char *p[64];
    size_t sizes[64];

    oks_json_arena_install();
    OKS_ASSERT(oks_json_arena_begin());
    for (int i = 0; i < 64; i++) {
        sizes[i] = (size_t)(i * 997) % 5000 + (i == 40 ? (size_t)3 << 20 : 0); /* one 3 MiB */
        p[i] = oks_json_malloc(sizes[i]);
        OKS_ASSERT(p[i] != NULL);
        OKS_ASSERT_EQ_INT((uintptr_t)p[i] % 16, 0);
        memset(p[i], i, sizes[i]);
    }
    OKS_ASSERT(oks_json_arena_used() > ((size_t)3 << 20)); /* more than the first block */
    for (int i = 0; i < 64; i++) /* nothing overlapped: every fill is intact */
        for (size_t j = 0; j < sizes[i]; j += 61)
            OKS_ASSERT_EQ_INT(p[i][j], i);
    oks_json_arena_end();
    /* The next scope starts empty and still works after the big one. */
    OKS_ASSERT(oks_json_arena_begin());
    OKS_ASSERT(oks_json_malloc(10) != NULL);
    OKS_ASSERT(oks_json_arena_used() <= 16);
    oks_json_arena_end();
}

/* The envelopes are byte for byte the same with and without the arena, small and large. */
OKS_TEST(parse_in_scope_matches_malloc)
{
    char *small = make_body(2, 20);
    char *large = make_body(200, 2000); /* ~500 KiB of JSON: several arena blocks */

    oks_json_arena_install();
    char *plain_small = envelopes(small);
    char *plain_large = envelopes(large);
    for (int round = 0; round < 3; round++) { /* repeated scopes reuse the kept block */
        OKS_ASSERT(oks_json_arena_begin());
        char *a_small = envelopes(small);
        char *a_large = envelopes(large);
        OKS_ASSERT(oks_json_arena_used() > ((size_t)1 << 20));
        oks_json_arena_end();
        OKS_ASSERT_EQ_STR(a_small, plain_small);
        OKS_ASSERT_EQ_STR(a_large, plain_large);
        free(a_small);
        free(a_large);
    }
    OKS_ASSERT_CONTAINS(plain_small, "\"group_id\":\"00g1\"");
    OKS_ASSERT_CONTAINS(plain_large, "\"event_uuid\":\"ev-199\"");
    free(plain_small);
    free(plain_large);
    free(small);
    free(large);
}

/* Rejections inside a scope leave nothing behind and report the same status. */
OKS_TEST(rejection_in_scope)
{
    static const oks_ingest_limits lim = {.max_body = 4096, .max_depth = 8, .max_events = 3};
    oks_ingest_batch b;
    oks_ingest_reject rej = {0};
    const char *bad = "{\"data\":{\"events\":[1,2,3,4]}}"; /* more than max_events */

    oks_json_arena_install();
    OKS_ASSERT(oks_json_arena_begin());
    OKS_ASSERT(oks_ingest_body_parse(bad, strlen(bad), &lim, TENANT, 0, &b, &rej) != 0);
    OKS_ASSERT_EQ_INT(rej.status, 400);
    OKS_ASSERT(b.msgs == NULL && b.verdicts == NULL);
    oks_json_arena_end();
}

/* A dead letter built inside a scope (its value and the raw event's text come from the arena)
 * is byte-identical to one built with malloc. */
OKS_TEST(dead_letter_in_scope_matches_malloc)
{
    static const oks_ingest_limits lim = {.max_body = 4096, .max_depth = 8, .max_events = 3};
    const char *body = "{\"data\":{\"events\":[{\"uuid\":\"u\",\"eventType\":"
                       "\"user.lifecycle.create\",\"target\":[{\"id\":\"00g1\",\"type\":"
                       "\"UserGroup\"}]}]}}";
    oks_ingest_batch b;
    oks_ingest_reject rej = {0};

    OKS_ASSERT_EQ_INT(oks_ingest_body_parse(body, strlen(body), &lim, TENANT, 0, &b, &rej), 0);
    OKS_ASSERT(b.n_msgs == 1 && b.msgs[0].dead_letter);
    char *plain = strdup(b.msgs[0].value);
    oks_ingest_batch_free(&b);
    oks_json_arena_install();
    OKS_ASSERT(oks_json_arena_begin());
    OKS_ASSERT_EQ_INT(oks_ingest_body_parse(body, strlen(body), &lim, TENANT, 0, &b, &rej), 0);
    OKS_ASSERT(b.n_msgs == 1 && b.msgs[0].dead_letter);
    OKS_ASSERT_EQ_STR(b.msgs[0].value, plain);
    oks_ingest_batch_free(&b);
    oks_json_arena_end();
    free(plain);
}

typedef struct worker_arg {
    const char *body;
    const char *want;
    int rounds;
    int ok;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;

    w->ok = 1;
    for (int i = 0; i < w->rounds; i++) {
        if (!oks_json_arena_begin()) {
            w->ok = 0;
            break;
        }
        char *got = envelopes(w->body);
        oks_json_arena_end();
        w->ok &= strcmp(got, w->want) == 0;
        free(got);
    }
    return NULL;
}

/* Each thread has its own arena: concurrent scopes do not disturb each other. */
OKS_TEST(threads_have_their_own_arena)
{
    char *b1 = make_body(5, 100), *b2 = make_body(30, 3000);
    pthread_t t[2];

    oks_json_arena_install();
    char *w1 = envelopes(b1), *w2 = envelopes(b2);
    worker_arg a[2] = {{b1, w1, 200, 0}, {b2, w2, 50, 0}};
    for (int i = 0; i < 2; i++)
        OKS_ASSERT_EQ_INT(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        OKS_ASSERT_EQ_INT(pthread_join(t[i], NULL), 0);
    OKS_ASSERT_EQ_INT(a[0].ok, 1);
    OKS_ASSERT_EQ_INT(a[1].ok, 1);
    free(w1);
    free(w2);
    free(b1);
    free(b2);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
