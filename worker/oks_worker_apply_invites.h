/*
 * Invitations (docs/rules.md "Invitations"): a user who first becomes active in this transaction
 * (users.first_active_at = now(), set by the batch's upsert only when it was NULL) gets one
 * outbox row if the tenant's auto_invite is on at that moment. Exactly once whatever is replayed:
 * first_active_at is set once, and UNIQUE (tenant_id, user_id) + ON CONFLICT DO NOTHING holds
 * even if that were bypassed.
 */
#ifndef OKS_WORKER_APPLY_INVITES_H
#define OKS_WORKER_APPLY_INVITES_H

#include "core/oks_err.h"
#include "db/oks_db.h"

int oks_worker_apply_invites_tx(oks_db *db, const char *tenant, const char *batch_json,
                                const char *source, const char *actor, const char *run_id,
                                long *created, oks_err *err);

#endif
