#include "oks_worker_apply_invites.h"

#include <stdlib.h>

static const char sql_invites[] =
    "WITH s AS (SELECT (e->>'id')::bigint AS id FROM jsonb_array_elements($2::jsonb) e "
    "  WHERE e->>'status' = 'active'), "
    "u AS (SELECT us.id, us.okta_id, us.email FROM s JOIN users us ON us.id = s.id "
    "  WHERE us.status = 'active' AND us.first_active_at = now() "
    "  AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = $1::uuid AND t.auto_invite)), "
    "i AS (INSERT INTO invitations (tenant_id, user_id, email) SELECT $1::uuid, u.id, u.email "
    "  FROM u "
    "  ON CONFLICT (tenant_id, user_id) DO NOTHING RETURNING id, user_id, email, created_at), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor, sync_run_id) SELECT $1::uuid, 'invitation', u.okta_id, 'create', NULL, "
    "  jsonb_build_object('invitation_id', i.id, 'email', i.email, 'created_at', i.created_at), "
    "  $3, $4, $5::bigint FROM i JOIN users u ON u.id = i.user_id RETURNING 1) "
    "SELECT count(*) FROM aud";

int oks_worker_apply_invites_tx(oks_db *db, const char *tenant, const char *batch_json,
                                const char *source, const char *actor, const char *run_id,
                                long *created, oks_err *err)
{
    const char *p[] = {tenant, batch_json, source, actor, run_id};
    PGresult *r = oks_db_exec_params(db, sql_invites, 5, p, err);
    if (!r)
        return -1;
    *created = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}
