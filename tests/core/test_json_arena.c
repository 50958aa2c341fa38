/* The jansson arena's ways out of a scope (core/oks_json_arena.h): a dump and a deep copy made
 * with malloc whatever scope is open, and a tree released to the scope. The scope's own behaviour
 * is tested with ingest's parse in tests/ingest/ingest_arena_test.c. Installing is process-wide, so
 * each case installs. */
#include "core/oks_json_arena.h"
#include "oks_test.h"

#include <stdlib.h>
#include <string.h>

/* Reuse a closed scope's memory, so a pointer into it reads garbage from now on. */
static void scribble_over_the_arena(void)
{
    OKS_ASSERT(oks_json_arena_begin());
    for (int i = 0; i < 64; i++) {
        char *p = oks_json_malloc(4096);
        OKS_ASSERT(p != NULL);
        memset(p, 'Z', 4096);
    }
    oks_json_arena_end();
}

OKS_TEST(a_dump_made_in_a_scope_is_malloced)
{
    oks_json_arena_install();
    OKS_ASSERT(oks_json_arena_begin());
    json_t *j = json_pack("{s:s, s:[i, b, n]}", "name", "Zoë \"Z\"", "xs", 7, 1);
    size_t before = oks_json_arena_used();
    OKS_ASSERT(before > 0); /* the tree is the arena's */
    char *plain = json_dumps(j, JSON_COMPACT);
    OKS_ASSERT(oks_json_arena_used() > before); /* json_dumps' own result: arena memory */
    size_t used = oks_json_arena_used();
    char *out = oks_json_dumps_malloc(j, JSON_COMPACT);
    OKS_ASSERT_EQ_INT(oks_json_arena_used(), used); /* dumped with malloc, not copied out */
    OKS_ASSERT(oks_json_arena_active());            /* and the scope is back */
    OKS_ASSERT_EQ_STR(out, plain);
    oks_json_free(plain);
    json_decref(j);
    oks_json_arena_end();
    scribble_over_the_arena();
    OKS_ASSERT_EQ_STR(out, "{\"name\":\"Zoë \\\"Z\\\"\",\"xs\":[7,true,null]}");
    free(out); /* malloc's: AddressSanitizer would call a free of arena memory a bad free */

    /* outside a scope it is json_dumps */
    j = json_pack("[i]", 1);
    out = oks_json_dumps_malloc(j, JSON_COMPACT);
    OKS_ASSERT_EQ_STR(out, "[1]");
    free(out);
    json_decref(j);
}

OKS_TEST(a_deep_copy_made_in_a_scope_outlives_it)
{
    oks_json_arena_install();
    OKS_ASSERT(oks_json_arena_begin());
    json_t *page =
        json_loads("[{\"profile\":{\"login\":\"a@b.c\",\"n\":3,\"o\":{\"x\":[1]}}}]", 0, NULL);
    OKS_ASSERT(page != NULL);
    size_t used = oks_json_arena_used();
    json_t *copy = oks_json_deep_copy_malloc(json_object_get(json_array_get(page, 0), "profile"));
    OKS_ASSERT(copy != NULL);
    OKS_ASSERT_EQ_INT(oks_json_arena_used(), used); /* nothing of the copy in the arena */
    OKS_ASSERT(oks_json_arena_active());            /* and the scope is back */
    json_decref(page);
    oks_json_arena_end();
    scribble_over_the_arena();
    char *s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    OKS_ASSERT_EQ_STR(s, "{\"login\":\"a@b.c\",\"n\":3,\"o\":{\"x\":[1]}}");
    free(s);
    json_decref(copy); /* malloc's, freed outside any scope */
}

OKS_TEST(release_leaves_a_scopes_tree_to_the_scope_and_decrefs_outside_one)
{
    oks_json_arena_install();
    json_t *outside = json_string("kept"); /* malloc'd, one reference */
    json_t *arr = json_array();
    OKS_ASSERT(json_array_append(arr, outside) == 0);
    OKS_ASSERT_EQ_INT(outside->refcount, 2);
    oks_json_arena_release(arr); /* no scope: json_decref, the reference comes back */
    OKS_ASSERT_EQ_INT(outside->refcount, 1);
    json_decref(outside);

    OKS_ASSERT(oks_json_arena_begin());
    json_t *tree = json_pack("{s:[i, s]}", "xs", 1, "y");
    size_t used = oks_json_arena_used();
    oks_json_arena_release(tree); /* in a scope: left to it, not walked */
    OKS_ASSERT_EQ_INT(oks_json_arena_used(), used);
    OKS_ASSERT_EQ_INT(tree->refcount, 1);
    oks_json_arena_end();
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
