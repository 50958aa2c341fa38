-- oktasync schema, version 7: index reads for the manager rule (docs/rules.md "Managers").
--
-- A batch resolves the pending references that name one of its users. In the login and email
-- match modes the reference is compared case-insensitively; without this index that lookup
-- read every pending reference of the tenant on every batch, so a full sync's cost grew with
-- the number of references left pending (docs/benchmarks.md "Full sync"). The okta_id and
-- employee_number modes use pending_manager_refs_manager_idx (tenant_id, manager_ref).
CREATE INDEX pending_manager_refs_manager_lower_idx
    ON pending_manager_refs (tenant_id, lower(manager_ref));
