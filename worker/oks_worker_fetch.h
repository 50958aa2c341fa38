/*
 * Bulk reads of a reconcile round: what Okta says now about each dirty user, spending as few
 * calls as the buckets allow (docs/worker-reconcile.md, "cost model").
 *
 *   user state  GET /api/v1/users?filter=id eq "a" or id eq "b" ... (users bucket), ids packed
 *               under okta-max-url-bytes (halved on 414); a user missing from the answer, or one
 *               whose lastUpdated is older than its newest event (the filter is eventually
 *               consistent), is read again with GET /api/v1/users/{id} (user_get bucket):
 *               404 E0000007 = deleted.
 *   assignment  only for users the stored state cannot answer for (check_assignment, no row,
 *               app_assigned NULL): per-user GET /apps/{app}/users/{id} or the whole app listing
 *               (expand=user, 500 a page, also returns the user state), whichever costs fewer
 *               apps-bucket calls (oks_worker_fetch_use_listing).
 *   groups      only when the tenant maps an Okta group to a team, and only for users whose mark
 *               has check_groups (a group.user_membership.* event) or who are about to be
 *               created: GET /api/v1/users/{id}/groups (user_groups bucket), one per user,
 *               after the user state (oks_worker_fetch_groups).
 *
 * Every answer is stamped with the Date header of the response that gave it (Okta's clock).
 */
#ifndef OKS_WORKER_FETCH_H
#define OKS_WORKER_FETCH_H

#include "oks_worker_fail.h"
#include "oks_worker_group_teams.h"
#include "okta/oks_okta.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { OKS_WORKER_OKTA_ID_MAX = 128 };

/* An event's `published` trails the lastUpdated of the change it records by a few ms (both on
 * Okta's clock). A bulk read is called stale only when its lastUpdated is older than the newest
 * such event by more than this: two changes of one user within a second, where the filter
 * answers with the first, are not caught (docs/worker-reconcile.md). */
enum { OKS_WORKER_STALE_SLACK_MS = 1000 };

/* One dirty mark as read by the round (with the stored users row's facts). */
typedef struct oks_worker_mark {
    char okta_id[OKS_WORKER_OKTA_ID_MAX + 1];
    int64_t seq;              /* the mark is deleted only if seq is still this */
    int events;               /* events coalesced into the mark */
    int attempts;             /* per-user failures so far */
    bool check_assignment;    /* an event that may change the app assignment */
    bool check_groups;        /* a group membership event: the user's groups may have changed */
    int64_t max_published_ms; /* newest lastUpdated-moving event; 0 = none */
    bool stored;              /* a users row exists */
    int app_assigned;         /* the row's app_assigned: -1 NULL / no row, 0, 1 */
} oks_worker_mark;

/* The stored state cannot answer for this user's app assignment (an event that may change it,
 * no row, or app_assigned never read): Okta must be asked, when the tenant has an app id. */
bool oks_worker_mark_needs_assignment(const oks_worker_mark *m);

typedef enum oks_worker_read_kind {
    OKS_WORKER_READ_NONE = 0, /* not read (not needed: a non-member without a row) */
    OKS_WORKER_READ_FOUND,    /* user holds Okta's user */
    OKS_WORKER_READ_GONE,     /* 404 E0000007: deleted in Okta */
    OKS_WORKER_READ_FAILED,   /* this user only; error says why */
} oks_worker_read_kind;

typedef struct oks_worker_read {
    oks_worker_read_kind kind;
    oks_okta_user user;          /* FOUND; owned (oks_worker_reads_free) */
    int64_t as_of_ms;            /* Date of the response that answered for the user state */
    int assigned;                /* -1 not asked (not needed / no app id), 0, 1 */
    int64_t assigned_as_of_ms;   /* Date of the response that answered for the assignment */
    char error[OKS_ERR_MSG_MAX]; /* FAILED */
    /* oks_worker_fetch_groups: the user's Okta groups that the tenant maps (pointers into the
     * round's oks_worker_group_set; BUILT_IN Everyone left out), valid when groups_read */
    bool groups_read;
    const char **groups; /* owned array (oks_worker_reads_free), borrowed strings */
    size_t n_groups;
} oks_worker_read;

typedef struct oks_worker_fetch_stats {
    int user_lists;    /* users filter requests (pages) */
    int user_gets;     /* GET /users/{id} */
    int app_pages;     /* app listing pages */
    int app_user_gets; /* GET /apps/{app}/users/{id} */
    int app_checks;    /* GET /apps/{app} (is the app id right?) */
    int group_reads;   /* GET /users/{id}/groups */
    int stale;         /* bulk reads older than the mark's newest event */
    bool listing;      /* the cost model chose the app listing */
} oks_worker_fetch_stats;

typedef struct oks_worker_fetch {
    /* in */
    oks_okta_client *client;
    const char *app_id;        /* NULL: tenant without an app id (no assignment reads) */
    size_t max_url_bytes;      /* okta-max-url-bytes */
    int64_t assigned_estimate; /* stored rows that are (or may be) assigned, for the cost model */
    bool app_verified;         /* the app id was proven right recently (skip the check) */
    /* out */
    oks_worker_fetch_stats stats;
    oks_worker_fail fail; /* a tenant-level failure: the round stops, nothing is applied */
    oks_err err;
} oks_worker_fetch;

/* Read Okta's state for marks[0..n) into reads[0..n) (zeroed by the caller). 0 when every user
 * has an answer (some may be FAILED: per user), -1 on a tenant-level failure (f->fail, f->err).
 * reads must be freed with oks_worker_reads_free either way. */
int oks_worker_fetch_run(oks_worker_fetch *f, const oks_worker_mark *marks, oks_worker_read *reads,
                         size_t n);
void oks_worker_reads_free(oks_worker_read *reads, size_t n);

/* Does this user's read need their groups (pure)? The mark has check_groups, or the round is
 * about to create the user's row (no row yet, and Okta says the user is found and, for a tenant
 * with an app id, assigned). Only FOUND users: a deleted one leaves every team anyway, a failed
 * one is retried. The caller asks only when the tenant maps a group. */
bool oks_worker_read_needs_groups(const oks_worker_mark *m, const oks_worker_read *r, bool has_app);

/* GET /api/v1/users/{id}/groups for every read whose want[i] is set: reads[i].groups = the
 * user's groups found in `mapped` (other groups and type BUILT_IN are left out), groups_read set.
 * A 404 or an answer that does not parse makes that user FAILED (retried: never "left every
 * group"). 0, or -1 on a tenant-level failure (f->fail, f->err; nothing is applied for users
 * whose groups were not read). */
int oks_worker_fetch_groups(oks_worker_fetch *f, const oks_worker_mark *marks,
                            oks_worker_read *reads, const bool *want, size_t n,
                            const oks_worker_group_set *mapped);

/* Cost model (pure): 1 when listing the app (≈ ceil(assigned_estimate / 500) pages) costs no
 * more apps-bucket calls than one GET per user that needs an assignment answer. */
bool oks_worker_fetch_use_listing(size_t needed, int64_t assigned_estimate);
/* Pages the listing may use before the rest falls back to per-user GETs (the estimate was
 * low): never more than the per-user GETs would have cost. */
size_t oks_worker_fetch_listing_page_cap(size_t needed);
/* The largest assigned_estimate for which listing can still win with `needed` answers
 * (needed pages of 500): an estimate beyond it decides the same, so a count may stop there. */
int64_t oks_worker_fetch_listing_max_rows(size_t needed);

/* Filter packing (pure): how many of ids[0..n) fit, in order, into one users filter whose
 * URL-escaped form is at most budget bytes (and at most 200 ids). Ids must be alphanumeric
 * (oks_worker_fetch_id_ok). Writes the raw filter into out (cap bytes). */
size_t oks_worker_fetch_pack_filter(const char *const *ids, size_t n, size_t budget, char *out,
                                    size_t cap);
/* An id that may go into a filter expression: 1..128 characters [A-Za-z0-9]. Others are read
 * with a single GET (escaped in the path) and never spliced into an expression. */
bool oks_worker_fetch_id_ok(const char *id);

#endif
