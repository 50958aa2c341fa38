/* Shared between the oks_worker_fetch*.c files (private). */
#ifndef OKS_WORKER_FETCH_INT_H
#define OKS_WORKER_FETCH_INT_H

#include "oks_worker_fetch.h"

/* marks sorted by okta_id, for looking up the users an Okta list returned */
typedef struct oks_worker_fetch_index {
    const oks_worker_mark *marks;
    size_t *order;
    size_t n;
} oks_worker_fetch_index;

/* Position of okta_id in marks, or -1. */
long oks_worker_fetch__find(const oks_worker_fetch_index *ix, const char *okta_id);

/* Classify the client's last failure (err) for f. Returns the class; a tenant-level class is
 * stored in f->fail / f->err. */
oks_worker_fail oks_worker_fetch__fail(oks_worker_fetch *f, const oks_err *err);
/* The client's last Date (Okta's clock); -1 when the response had none. */
int64_t oks_worker_fetch__date(const oks_worker_fetch *f);

/* A bulk answer older than the mark's newest lastUpdated-moving event (by more than
 * OKS_WORKER_STALE_SLACK_MS: Okta publishes an event a few ms after the change it records). */
bool oks_worker_fetch__stale(const oks_worker_mark *m, const oks_worker_read *r);

/* Per-user FAILED. */
void oks_worker_fetch__user_failed(oks_worker_read *r, const char *why);

/* User state for reads whose `want[i]` is set: filter reads, then single GETs. */
int oks_worker_fetch__users(oks_worker_fetch *f, const oks_worker_mark *marks,
                            oks_worker_read *reads, const bool *want, size_t n);
/* The app listing: users found get FOUND + assigned; *complete says it reached the end. */
int oks_worker_fetch__listing(oks_worker_fetch *f, const oks_worker_fetch_index *ix,
                              oks_worker_read *reads, size_t page_cap, bool *complete,
                              int64_t *first_date);
/* Per-user assignment GETs for reads whose need[i] is set and that are not GONE. */
int oks_worker_fetch__app_users(oks_worker_fetch *f, const oks_worker_mark *marks,
                                oks_worker_read *reads, const bool *need, size_t n);

#endif
