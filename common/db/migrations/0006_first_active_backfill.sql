-- oktasync schema, version 6: data fix for the product's rules (docs/rules.md).
--
-- first_active_at (0004) is the moment the platform first saw a user active; the invitation
-- decision is taken then. Users already active before 0004 have it NULL, so their next write
-- would set it to now() and, with auto_invite on, invite people who have used the platform for
-- a long time. They were first seen active no later than created_at: take that.
--
-- No index is added: the rules' lookups are served by the existing ones (users by id,
-- (tenant_id, okta_id), (tenant_id, lower(login)), (tenant_id, lower(email)),
-- (tenant_id, employee_number); teams (tenant_id, lower(name)); team_members (team_id, user_id)),
-- as the plans of the 10,000-user benchmark show (docs/benchmarks.md "Worker rules").
UPDATE users SET first_active_at = created_at
 WHERE status = 'active' AND first_active_at IS NULL;
