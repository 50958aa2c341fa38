-- oktasync schema, version 10: invitations lose their own foreign key to tenants.
--
-- Since version 4 an invitation names its user by the composite key (tenant_id, user_id) →
-- users (tenant_id, id), which already says the tenant exists (users.tenant_id references
-- tenants) and removes the invitation with its user (ON DELETE CASCADE), so with its tenant's
-- users when the tenant goes. The single-column key to tenants checked the same thing again:
-- one more lookup per invitation written (about 4 µs, 10,000 per 10,000 users created with
-- auto-invite on; docs/benchmarks.md "Worker rules").
ALTER TABLE invitations DROP CONSTRAINT invitations_tenant_id_fkey;
