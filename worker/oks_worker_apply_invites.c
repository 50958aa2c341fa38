#include "oks_worker_apply_invites.h"

#include <stdlib.h>

static const char sql_invites[] =
    "WITH s AS (SELECT e->>'okta_id' AS okta_id FROM jsonb_array_elements($2::jsonb) e "
    "  WHERE e->>'status' = 'active'), "
    "u AS (SELECT us.id, us.okta_id, us.email FROM users us JOIN s ON us.tenant_id = $1::uuid "
    "  AND us.okta_id = s.okta_id WHERE us.status = 'active' AND us.first_active_at = now()), "
    "i AS (INSERT INTO invitations (tenant_id, user_id, email) SELECT $1::uuid, u.id, u.email "
    "  FROM u JOIN tenants t ON t.id = $1::uuid AND t.auto_invite "
    "  ON CONFLICT (tenant_id, user_id) DO NOTHING RETURNING id, user_id, email, created_at), "
    "aud AS (INSERT INTO audit_log (tenant_id, entity, entity_id, action, before, after, source, "
    "  actor, sync_run_id) SELECT $1::uuid, 'invitation', u.okta_id, 'create', NULL, "
    "  jsonb_build_object('invitation_id', i.id, 'email', i.email, 'created_at', i.created_at), "
    "  $3, $4, $5::bigint FROM i JOIN u ON u.id = i.user_id RETURNING 1) "
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
