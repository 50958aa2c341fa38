/*
 * Scoped memory for jansson: a thread's bump arena.
 *
 * Parsing or building a JSON document makes hundreds of small allocations that all die
 * together: a webhook delivery and its envelopes in ingest, a round's apply batch and an
 * intake batch in the worker. With glibc malloc/free that was about a quarter of ingest's CPU
 * per request, and of the worker's. oks_json_arena_install() points jansson's allocator at two
 * hooks: while the calling thread has a scope open (oks_json_arena_begin .. oks_json_arena_end)
 * memory comes from that thread's bump arena and "free" is a no-op; at any other time, on any
 * other thread, they are plain malloc/free, so jansson use elsewhere in the process is
 * unchanged.
 *
 * Rules for code inside a scope:
 *  - nothing allocated by jansson (or with oks_json_malloc) may outlive the scope or be passed
 *    to free(): the scope's end reclaims it all. That includes json_dumps' result: free it with
 *    oks_json_free, or dump with oks_json_dumps_malloc when it must outlive the scope;
 *  - jansson values made before the scope (malloc'd) may be used and json_incref'd inside it;
 *    a tree built in the scope that holds such references must be json_decref'd before the
 *    scope ends, so their counts come back;
 *  - scopes do not nest; a thread has at most one.
 * Pointers malloc'd outside a scope may be freed inside one (the free hook sees they are not
 * arena memory and calls free()).
 */
#ifndef OKS_JSON_ARENA_H
#define OKS_JSON_ARENA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Install the hooks (json_set_alloc_funcs). Call once, before other threads use jansson. */
void oks_json_arena_install(void);

/* Are the hooks installed in this process? */
bool oks_json_arena_installed(void);

/*
 * Open this thread's scope. Returns false (and opens nothing) when the hooks are not installed
 * or a scope is already open; then jansson keeps using malloc/free and the caller must free
 * what it allocates as usual.
 */
bool oks_json_arena_begin(void);

/* Close the scope opened by a successful begin: everything allocated in it is gone. */
void oks_json_arena_end(void);

/* Is a scope open on this thread? */
bool oks_json_arena_active(void);

/* Bytes handed out in this thread's open scope (0 when none); for tests and tuning. */
size_t oks_json_arena_used(void);

/* jansson's current allocator (arena inside a scope, malloc otherwise), for memory that
 * travels with jansson values, such as serialised envelopes or json_dumps' result. */
void *oks_json_malloc(size_t n);
void oks_json_free(void *p);

/* json_dumps(j, flags) whose result is always malloc'd, inside a scope or not: free() it. A
 * document built in a scope leaves it this way. NULL when jansson or malloc fails. */
char *oks_json_dumps_malloc(const json_t *j, size_t flags);

/* json_deep_copy(j) made with malloc, inside a scope or not: a value parsed in a scope that
 * must outlive it. json_decref it as usual. NULL when out of memory. */
json_t *oks_json_deep_copy_malloc(const json_t *j);

/* Let go of a tree built in this thread's open scope that holds no reference to a value from
 * outside it: the scope's end takes it unwalked (walking it only to no-op every free cost ~5 %
 * of ingest's parse). Outside a scope, json_decref. */
void oks_json_arena_release(json_t *j);

#endif
