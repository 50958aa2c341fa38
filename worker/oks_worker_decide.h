/*
 * What to store for one dirty user, from the mark, Okta's answer and whether the tenant has an
 * app id (pure; unit-tested). The rules:
 *   - deleted in Okta (404 E0000007)      -> "deleted" (status only; nothing when no row)
 *   - not assigned to the app             -> "deactivated", app_assigned=false when a row exists;
 *                                            no row: nothing is stored (non-members never are)
 *   - assigned (or the tenant has no app) -> the status mapping of oks_worker_rules.c + profile
 *   - an unknown Okta status              -> a per-user failure (retried, then dead-lettered)
 * The watermark is the later Okta Date of the reads that answered (user state, assignment).
 */
#ifndef OKS_WORKER_DECIDE_H
#define OKS_WORKER_DECIDE_H

#include "oks_worker_apply_batch.h"
#include "oks_worker_fetch.h"

/* 0 with *out filled (out->okta_id and user point into mark / read), or -1 with why set to a
 * per-user failure reason (buffer of cap bytes). */
int oks_worker_decide(const oks_worker_mark *m, const oks_worker_read *r, bool has_app,
                      oks_worker_state *out, char *why, size_t cap);

#endif
