#include "core/oks_json_arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* A thread's first block; bigger requests add blocks, and the scope's end keeps one block of
 * the size the request needed (up to KEEP_MAX) so the next similar request fits in one. */
#define FIRST_BLOCK ((size_t)64 * 1024)
#define KEEP_MAX ((size_t)1024 * 1024)
#define ALIGN ((size_t)16) /* malloc's guarantee on x86-64, which jansson may rely on */

typedef struct block {
    struct block *next; /* older block */
    size_t cap, used;
    size_t pad; /* header is 32 bytes, so data stays 16-byte aligned */
} block;

typedef struct arena {
    block *head; /* newest block first */
    size_t next_cap;
    bool active;
} arena;

static _Thread_local arena *tl_arena;
static pthread_key_t arena_key; /* frees a thread's arena when the thread exits */
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static atomic_bool hooks_installed;

static unsigned char *block_data(block *b)
{
    return (unsigned char *)(b + 1);
}

static void free_blocks(block *b)
{
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
}

static void arena_destroy(void *p)
{
    arena *a = p;

    free_blocks(a->head);
    free(a);
}

static void make_key(void)
{
    (void)pthread_key_create(&arena_key, arena_destroy);
}

static void *arena_alloc(arena *a, size_t n)
{
    n = n ? (n + ALIGN - 1) & ~(ALIGN - 1) : ALIGN;
    block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = b ? b->cap * 2 : a->next_cap;
        if (cap < n)
            cap = n;
        block *nb = malloc(sizeof(block) + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->cap = cap;
        nb->used = 0;
        a->head = b = nb;
    }
    void *p = block_data(b) + b->used;
    b->used += n;
    return p;
}

static bool arena_owns(const arena *a, const void *p)
{
    uintptr_t u = (uintptr_t)p;

    for (block *b = a->head; b; b = b->next) {
        uintptr_t lo = (uintptr_t)block_data(b);
        if (u >= lo && u < lo + b->cap)
            return true;
    }
    return false;
}

void *oks_json_malloc(size_t n)
{
    arena *a = tl_arena;

    if (a && a->active)
        return arena_alloc(a, n);
    return malloc(n);
}

void oks_json_free(void *p)
{
    arena *a = tl_arena;

    if (!p)
        return;
    if (a && a->active && arena_owns(a, p))
        return; /* reclaimed when the scope ends */
    free(p);
}

void oks_json_arena_install(void)
{
    (void)pthread_once(&arena_once, make_key);
    json_set_alloc_funcs(oks_json_malloc, oks_json_free);
    atomic_store(&hooks_installed, true);
}

bool oks_json_arena_installed(void)
{
    return atomic_load(&hooks_installed);
}

bool oks_json_arena_begin(void)
{
    if (!atomic_load(&hooks_installed))
        return false;
    arena *a = tl_arena;
    if (!a) {
        a = calloc(1, sizeof(*a));
        if (!a)
            return false;
        a->next_cap = FIRST_BLOCK;
        if (pthread_setspecific(arena_key, a) != 0) {
            free(a);
            return false;
        }
        tl_arena = a;
    }
    if (a->active)
        return false;
    a->active = true;
    return true;
}

void oks_json_arena_end(void)
{
    arena *a = tl_arena;

    if (!a || !a->active)
        return;
    a->active = false;
    block *b = a->head;
    if (b && !b->next && b->cap <= KEEP_MAX) {
        b->used = 0; /* the common case: one block, kept for the next request */
        return;
    }
    size_t total = 0;
    for (block *i = b; i; i = i->next)
        total += i->cap;
    free_blocks(b);
    a->head = NULL;
    a->next_cap = total < FIRST_BLOCK ? FIRST_BLOCK : total > KEEP_MAX ? KEEP_MAX : total;
}

bool oks_json_arena_active(void)
{
    arena *a = tl_arena;
    return a && a->active;
}

size_t oks_json_arena_used(void)
{
    arena *a = tl_arena;
    size_t n = 0;

    if (!a || !a->active)
        return 0;
    for (block *b = a->head; b; b = b->next)
        n += b->used;
    return n;
}

/* Steps this thread's open scope aside (returns whether there was one): jansson allocates and
 * frees with malloc/free until scope_back. For calls that only read arena memory and free only
 * what they allocated themselves, whose result must be malloc'd. */
static bool scope_aside(void)
{
    arena *a = tl_arena;

    if (!a || !a->active)
        return false;
    a->active = false;
    return true;
}

static void scope_back(bool aside)
{
    if (aside)
        tl_arena->active = true;
}

char *oks_json_dumps_malloc(const json_t *j, size_t flags)
{
    bool aside = scope_aside();
    char *s = json_dumps(j, flags);
    scope_back(aside);
    return s;
}

json_t *oks_json_deep_copy_malloc(const json_t *j)
{
    bool aside = scope_aside();
    json_t *c = json_deep_copy(j);
    scope_back(aside);
    return c;
}

void oks_json_arena_release(json_t *j)
{
    if (!oks_json_arena_active())
        json_decref(j);
}
