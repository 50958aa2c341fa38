/* The `id eq "a" or id eq "b" …` filter (the worker's batch read) is answered from the id index
 * (sim_paginate_ids); these tests hold it to the general expression evaluator's answers: same
 * users, same order, same pages and cursors, for duplicate, unknown, wrong-case, deleted and
 * deactivated ids. `(L) and (L)` means the same as L but is not an or-list, so it takes the
 * general evaluator. Drives the real binary over HTTP. */
#include "simt.h"

#include "oks_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_CAP 16384

/* Every user of the org in index order (the general evaluator, always true). */
static json_t *all_ids(const simt *s)
{
    json_t *ids = json_array();
    int pages;
    simt_walk(s, "/api/v1/users?limit=200&filter=lastUpdated%20gt%20%222000-01-01T00:00:00.000Z%22",
              ids, &pages);
    return ids;
}

static void add_id(char *q, size_t cap, const char *id)
{
    size_t n = strlen(q);
    snprintf(q + n, cap - n, "%sid%%20eq%%20%%22%s%%22", n ? "%20or%20" : "", id);
}

/* Walk a listing; page bodies joined by "\n" into out (caller frees), page count returned. */
static int walk_bodies(const simt *s, const char *path, char **out)
{
    char *url = malloc(URL_CAP), *self = malloc(URL_CAP), *next = malloc(URL_CAP);
    size_t len = 0;
    int pages = 0;
    *out = calloc(1, 1);
    snprintf(url, URL_CAP, "%s%s", s->base, path);
    while (url[0]) {
        simt_resp r;
        simt_request(&r, "GET", url, "SSWS " SIMT_TOKEN, NULL, 10000);
        OKS_ASSERT_EQ_INT(r.status, 200);
        OKS_ASSERT(json_is_array(r.json));
        *out = realloc(*out, len + r.body_len + 2);
        memcpy(*out + len, r.body, r.body_len);
        len += r.body_len;
        (*out)[len++] = '\n';
        (*out)[len] = '\0';
        simt_links(&r, self, next, URL_CAP);
        snprintf(url, URL_CAP, "%s", next);
        simt_resp_free(&r);
        OKS_ASSERT(++pages < 1000);
    }
    free(url);
    free(self);
    free(next);
    return pages;
}

/* filter=L (fast path) and filter=(L) and (L) (general) give the same page bodies; returns
 * the fast path's users as a JSON array of ids. */
static json_t *same_as_general(const simt *s, const char *list, int limit, int *pages)
{
    char *fast_path = malloc(URL_CAP), *slow_path = malloc(URL_CAP), *fast, *slow;
    snprintf(fast_path, URL_CAP, "/api/v1/users?limit=%d&filter=%s", limit, list);
    snprintf(slow_path, URL_CAP, "/api/v1/users?limit=%d&filter=(%s)%%20and%%20(%s)", limit, list,
             list);
    *pages = walk_bodies(s, fast_path, &fast);
    int slow_pages = walk_bodies(s, slow_path, &slow);
    OKS_ASSERT_EQ_INT(*pages, slow_pages);
    OKS_ASSERT_EQ_STR(fast, slow);
    json_t *ids = json_array();
    for (char *line = strtok(fast, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *page = json_loads(line, 0, NULL);
        size_t i;
        json_t *it;
        json_array_foreach(page, i, it) json_array_append(ids, json_object_get(it, "id"));
        json_decref(page);
    }
    free(fast);
    free(slow);
    free(fast_path);
    free(slow_path);
    return ids;
}

static int index_of(const json_t *all, const char *id)
{
    size_t i;
    json_t *it;
    json_array_foreach(all, i, it) if (strcmp(json_string_value(it), id) == 0) return (int)i;
    return -1;
}

OKS_TEST(id_list_answers_like_the_general_evaluator)
{
    simt s;
    const char *const args[] = {"--users", "1500", "--seed", "42", NULL};
    simt_start(&s, args);
    json_t *all = all_ids(&s);
    size_t n = json_array_size(all);
    OKS_ASSERT(n > 1400);
    /* One user deleted: its id is still in the index but must not be listed. */
    const char *gone = json_string_value(json_array_get(all, 500));
    char path[128];
    simt_resp r;
    snprintf(path, sizeof path, "/__sim/users/%s", gone);
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "DELETE", path, NULL), 200);
    simt_resp_free(&r);

    char list[URL_CAP] = "";
    /* 24 ids out of index order (descending, then a stride), 4 repeated, the deleted one, an
     * unknown id and a real id in the wrong case (filter values are case-sensitive). */
    for (int k = 0; k < 12; k++)
        add_id(list, sizeof list, json_string_value(json_array_get(all, n - 1 - (size_t)k * 97)));
    for (int k = 0; k < 12; k++)
        add_id(list, sizeof list, json_string_value(json_array_get(all, (size_t)k * 61 % n)));
    for (int k = 0; k < 4; k++)
        add_id(list, sizeof list, json_string_value(json_array_get(all, n - 1 - (size_t)k * 97)));
    add_id(list, sizeof list, gone);
    add_id(list, sizeof list, "00uNOSUCHUSER0000000");
    char lower[32];
    snprintf(lower, sizeof lower, "%s", json_string_value(json_array_get(all, 3)));
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    OKS_ASSERT(strcmp(lower, json_string_value(json_array_get(all, 3))) != 0);
    add_id(list, sizeof list, lower);

    int pages;
    json_t *got = same_as_general(&s, list, 5, &pages);
    /* The 24 distinct users (the two runs of ids do not meet), in index order, five a page. */
    size_t i;
    json_t *it;
    int prev = -1;
    json_array_foreach(got, i, it)
    {
        int at = index_of(all, json_string_value(it));
        OKS_ASSERT(at > prev); /* index order, no duplicates */
        OKS_ASSERT(strcmp(json_string_value(it), gone) != 0);
        prev = at;
    }
    OKS_ASSERT_EQ_INT(json_array_size(got), 24);
    OKS_ASSERT_EQ_INT(pages, 5);
    json_decref(got);

    /* One page exactly full (no look-ahead next link), and the default limit. */
    got = same_as_general(&s, list, 24, &pages);
    OKS_ASSERT_EQ_INT(pages, 1);
    OKS_ASSERT_EQ_INT(json_array_size(got), 24);
    json_decref(got);
    got = same_as_general(&s, list, 200, &pages);
    OKS_ASSERT_EQ_INT(json_array_size(got), 24);
    json_decref(got);

    /* Only unknown, deleted and wrong-case ids: an empty page. */
    char none[1024] = "";
    add_id(none, sizeof none, "00uNOSUCHUSER0000000");
    add_id(none, sizeof none, gone);
    add_id(none, sizeof none, lower);
    got = same_as_general(&s, none, 5, &pages);
    OKS_ASSERT_EQ_INT(json_array_size(got), 0);
    OKS_ASSERT_EQ_INT(pages, 1);
    json_decref(got);
    json_decref(all);
    simt_stop(&s);
}

OKS_TEST(id_list_keeps_deactivated_users_and_admin_created_ones)
{
    simt s;
    const char *const args[] = {"--users", "300", "--seed", "7", NULL};
    simt_start(&s, args);
    json_t *all = all_ids(&s);
    simt_resp r;
    /* A user created through the admin API goes at the end of the index. */
    OKS_ASSERT_EQ_INT(simt_admin(&r, &s, "POST", "/__sim/users",
                                 "{\"profile\":{\"login\":\"new.user@acme-learning.example\"}}"),
                      201);
    const char *made = json_string_value(json_object_get(r.json, "id"));
    OKS_ASSERT(made != NULL);
    char list[URL_CAP] = "";
    add_id(list, sizeof list, made);
    /* Deactivated users: left out of the unfiltered listing, listed by a filter. */
    simt_resp d;
    int pages;
    OKS_ASSERT_EQ_INT(simt_walk(&s,
                                "/api/v1/users?limit=200&filter=status%20eq%20%22DEPROVISIONED%22",
                                NULL, &pages) > 0,
                      1);
    simt_api(&d, &s, "/api/v1/users?limit=3&filter=status%20eq%20%22DEPROVISIONED%22");
    OKS_ASSERT_EQ_INT(d.status, 200);
    size_t i;
    json_t *it;
    json_array_foreach(d.json, i, it)
        add_id(list, sizeof list, json_string_value(json_object_get(it, "id")));
    const char *first = json_string_value(json_array_get(all, 0));
    add_id(list, sizeof list, first);
    bool first_listed = false;
    json_array_foreach(d.json, i, it) first_listed |=
        strcmp(json_string_value(json_object_get(it, "id")), first) == 0;
    json_t *got = same_as_general(&s, list, 2, &pages);
    OKS_ASSERT_EQ_INT(json_array_size(got), 1 + json_array_size(d.json) + !first_listed);
    OKS_ASSERT_EQ_STR(json_string_value(json_array_get(got, json_array_size(got) - 1)), made);
    json_decref(got);
    simt_resp_free(&d);
    simt_resp_free(&r);
    json_decref(all);
    simt_stop(&s);
}

OKS_TEST(search_and_mixed_expressions_still_use_the_evaluator)
{
    simt s;
    const char *const args[] = {"--users", "200", "--seed", "3", NULL};
    simt_start(&s, args);
    json_t *all = all_ids(&s);
    const char *id = json_string_value(json_array_get(all, 10));
    char lower[32], path[512];
    snprintf(lower, sizeof lower, "%s", id);
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    /* search compares case-insensitively: the lower-cased id finds the user. */
    snprintf(path, sizeof path, "/api/v1/users?search=id%%20eq%%20%%22%s%%22", lower);
    simt_resp r;
    simt_api(&r, &s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT_EQ_INT(json_array_size(r.json), 1);
    OKS_ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(r.json, 0), "id")), id);
    simt_resp_free(&r);
    /* id or status: not an id list, every ACTIVE user plus the one. */
    snprintf(path, sizeof path,
             "/api/v1/users?limit=200&filter=id%%20eq%%20%%22%s%%22%%20or%%20status%%20eq%%20%%22"
             "ACTIVE%%22",
             id);
    simt_api(&r, &s, path);
    OKS_ASSERT_EQ_INT(r.status, 200);
    OKS_ASSERT(json_array_size(r.json) > 1);
    simt_resp_free(&r);
    json_decref(all);
    simt_stop(&s);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return oks_test_main(argc, argv);
}
