/*
 * Per-request memory for jansson on the webhook path.
 *
 * Parsing a delivery and building its envelopes makes hundreds of small allocations that all
 * die together once the request's messages are handed to librdkafka. With glibc malloc/free
 * that was about a quarter of ingest's CPU per request. oks_ingest_arena_install() points
 * jansson's allocator at two hooks: while the calling thread has a scope open
 * (oks_ingest_arena_begin .. oks_ingest_arena_end) memory comes from that thread's bump
 * arena and "free" is a no-op; at any other time, on any other thread, they are plain
 * malloc/free, so jansson use elsewhere in the process is unchanged.
 *
 * Rules for code inside a scope:
 *  - nothing allocated by jansson (or with oks_ingest_json_malloc) may outlive the scope or be
 *    passed to free(): the scope's end reclaims it all. librdkafka gets copies
 *    (RD_KAFKA_MSG_F_COPY), never arena pointers;
 *  - scopes do not nest; a thread has at most one.
 * Pointers malloc'd outside a scope may be freed inside one (the free hook sees they are not
 * arena memory and calls free()).
 */
#ifndef OKS_INGEST_ARENA_H
#define OKS_INGEST_ARENA_H

#include <stdbool.h>
#include <stddef.h>

/* Install the hooks (json_set_alloc_funcs). Call once, before other threads use jansson. */
void oks_ingest_arena_install(void);

/* Are the hooks installed in this process? */
bool oks_ingest_arena_installed(void);

/*
 * Open this thread's scope. Returns false (and opens nothing) when the hooks are not installed
 * or a scope is already open; then jansson keeps using malloc/free and the caller must free
 * what it allocates as usual.
 */
bool oks_ingest_arena_begin(void);

/* Close the scope opened by a successful begin: everything allocated in it is gone. */
void oks_ingest_arena_end(void);

/* Is a scope open on this thread? */
bool oks_ingest_arena_active(void);

/* Bytes handed out in this thread's open scope (0 when none); for tests and tuning. */
size_t oks_ingest_arena_used(void);

/* jansson's current allocator (arena inside a scope, malloc otherwise), for memory that
 * travels with jansson values, such as serialised envelopes. */
void *oks_ingest_json_malloc(size_t n);
void oks_ingest_json_free(void *p);

#endif
