#include "oks_worker_decide.h"

#include "oks_worker_rules.h"

#include <stdio.h>
#include <string.h>

int oks_worker_decide(const oks_worker_mark *m, const oks_worker_read *r, bool has_app,
                      oks_worker_state *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->okta_id = m->okta_id;
    out->mark_seq = m->seq;
    out->app_assigned = -1;
    out->as_of_ms = r->as_of_ms;
    if (r->assigned >= 0 && r->assigned_as_of_ms > out->as_of_ms)
        out->as_of_ms = r->assigned_as_of_ms;
    switch (r->kind) {
    case OKS_WORKER_READ_FAILED:
        snprintf(why, cap, "%s", r->error);
        return -1;
    case OKS_WORKER_READ_NONE:
        if (r->assigned == 0 && !m->stored)
            return 0; /* a non-member without a row: the mark goes, nothing is stored */
        snprintf(why, cap, "no Okta answer for the user");
        return -1;
    case OKS_WORKER_READ_GONE:
        out->status = m->stored ? "deleted" : NULL;
        break;
    case OKS_WORKER_READ_FOUND: {
        const char *st = oks_worker_status_from_okta(r->user.status);
        if (!st) {
            snprintf(why, cap, "unknown Okta user status \"%.60s\"",
                     r->user.status ? r->user.status : "(none)");
            return -1;
        }
        int assigned = r->assigned >= 0 ? r->assigned : (has_app ? m->app_assigned : -1);
        if (has_app && assigned == 0) {
            out->status = m->stored ? "deactivated" : NULL;
            out->app_assigned = 0;
        } else {
            out->status = st;
            out->user = &r->user;
            out->app_assigned = has_app ? assigned : -1;
        }
        break;
    }
    }
    if (out->status && out->as_of_ms <= 0) {
        snprintf(why, cap, "Okta's answer had no Date header (no \"as of\" stamp)");
        return -1;
    }
    return 0;
}
