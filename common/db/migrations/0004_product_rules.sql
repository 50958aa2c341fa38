-- oktasync schema, version 4: the product's rules (docs/rules.md) — attribute map, custom fields,
-- teams and primary team, managers, invitations — and tenant-safe references: every reference
-- between tenant-owned rows is a composite (tenant_id, id) foreign key, so no row can point at
-- another tenant's user or team.

-- ---------------------------------------------------------------------------------------------
-- tenants: how Okta attributes map onto platform fields, and how the manager is found.
ALTER TABLE tenants
    -- platform field -> Okta profile attribute, overriding the defaults (docs/rules.md), e.g.
    -- {"picture":"photoUrl","location":"city+countryCode"}; a field mapped to "" is not synced
    ADD COLUMN attribute_map jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(attribute_map) = 'object'),
    -- the Okta profile attribute that names the user's manager, and what it names
    ADD COLUMN manager_attribute text NOT NULL DEFAULT 'managerId' CHECK (manager_attribute <> ''),
    ADD COLUMN manager_match text NOT NULL DEFAULT 'okta_id'
        CHECK (manager_match IN ('okta_id', 'login', 'email', 'employee_number'));

-- ---------------------------------------------------------------------------------------------
-- users: what manager matching and invitations need.
ALTER TABLE users
    ADD COLUMN login           text,
    ADD COLUMN employee_number text,
    -- first time the platform saw this user active (NULL: never). The invitation decision is
    -- taken at that moment, with the tenant's auto_invite of that moment (docs/rules.md).
    ADD COLUMN first_active_at timestamptz,
    ADD CONSTRAINT users_tenant_id_key UNIQUE (tenant_id, id);

CREATE INDEX users_tenant_login_idx ON users (tenant_id, lower(login));
CREATE INDEX users_tenant_employee_number_idx ON users (tenant_id, employee_number)
    WHERE employee_number IS NOT NULL;

-- manager: same tenant only (the old single-column FK allowed any user)
ALTER TABLE users DROP CONSTRAINT users_manager_user_id_fkey;
ALTER TABLE users ADD CONSTRAINT users_manager_fkey FOREIGN KEY (tenant_id, manager_user_id)
    REFERENCES users (tenant_id, id) ON DELETE SET NULL (manager_user_id);

-- ---------------------------------------------------------------------------------------------
-- teams: departments and mapped Okta groups create teams; admins create their own. The sync
-- never touches a team or membership it did not create. Names compare trimmed and
-- case-insensitively (docs/rules.md): "Sales " and "sales" are one team.
ALTER TABLE teams DROP CONSTRAINT teams_source_check;
ALTER TABLE teams ALTER COLUMN source SET DEFAULT 'admin';
ALTER TABLE teams ADD CONSTRAINT teams_source_check
    CHECK (source IN ('okta_department', 'okta_group', 'admin'));
ALTER TABLE teams ADD CONSTRAINT teams_name_trimmed CHECK (name = btrim(name));
ALTER TABLE teams ADD CONSTRAINT teams_tenant_id_key UNIQUE (tenant_id, id);
ALTER TABLE teams DROP CONSTRAINT teams_tenant_id_name_key;
CREATE UNIQUE INDEX teams_tenant_name_ci_idx ON teams (tenant_id, lower(name));
-- set by an admin, or by manager_mode = team from the first member; never overwritten
ALTER TABLE teams ADD COLUMN manager_source text
    CHECK (manager_source IN ('admin', 'first_member'));
ALTER TABLE teams DROP CONSTRAINT teams_manager_user_id_fkey;
ALTER TABLE teams ADD CONSTRAINT teams_manager_fkey FOREIGN KEY (tenant_id, manager_user_id)
    REFERENCES users (tenant_id, id) ON DELETE SET NULL (manager_user_id);

ALTER TABLE team_members ADD COLUMN tenant_id uuid;
UPDATE team_members m SET tenant_id = t.tenant_id FROM teams t WHERE t.id = m.team_id;
ALTER TABLE team_members ALTER COLUMN tenant_id SET NOT NULL;
-- who made the membership: the sync removes only its own
ALTER TABLE team_members ADD COLUMN source text NOT NULL DEFAULT 'admin'
    CHECK (source IN ('okta_department', 'okta_group', 'admin'));
ALTER TABLE team_members DROP CONSTRAINT team_members_team_id_fkey;
ALTER TABLE team_members DROP CONSTRAINT team_members_user_id_fkey;
ALTER TABLE team_members ADD CONSTRAINT team_members_team_fkey FOREIGN KEY (tenant_id, team_id)
    REFERENCES teams (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE team_members ADD CONSTRAINT team_members_user_fkey FOREIGN KEY (tenant_id, user_id)
    REFERENCES users (tenant_id, id) ON DELETE CASCADE;

-- Okta group -> team (non-primary memberships); unmapped groups and Everyone are ignored
CREATE TABLE tenant_group_teams (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    okta_group_id text NOT NULL CHECK (okta_group_id <> ''),
    team_id       bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, okta_group_id),
    FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------------------------
-- custom fields: values point at a user and a field of the same tenant.
ALTER TABLE custom_fields ADD CONSTRAINT custom_fields_tenant_id_key UNIQUE (tenant_id, id);
-- a removed field keeps its values but is never synced again
ALTER TABLE custom_fields ADD COLUMN removed_at timestamptz;
ALTER TABLE custom_field_values ADD COLUMN tenant_id uuid;
UPDATE custom_field_values v SET tenant_id = u.tenant_id FROM users u WHERE u.id = v.user_id;
ALTER TABLE custom_field_values ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE custom_field_values DROP CONSTRAINT custom_field_values_user_id_fkey;
ALTER TABLE custom_field_values DROP CONSTRAINT custom_field_values_field_id_fkey;
ALTER TABLE custom_field_values ADD CONSTRAINT custom_field_values_user_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE custom_field_values ADD CONSTRAINT custom_field_values_field_fkey
    FOREIGN KEY (tenant_id, field_id) REFERENCES custom_fields (tenant_id, id) ON DELETE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- invitations: one per user, ever (UNIQUE (tenant_id, user_id) from version 1), same tenant.
ALTER TABLE invitations DROP CONSTRAINT invitations_user_id_fkey;
ALTER TABLE invitations ADD CONSTRAINT invitations_user_fkey FOREIGN KEY (tenant_id, user_id)
    REFERENCES users (tenant_id, id) ON DELETE CASCADE;

-- ---------------------------------------------------------------------------------------------
-- pending manager references: the manager named by a user's profile is not synced yet.
-- manager_ref is the raw value of the tenant's manager_attribute (an Okta id, a login, an email
-- or an employee number, per manager_match); resolved when that user arrives.
ALTER TABLE pending_manager_refs RENAME COLUMN manager_okta_id TO manager_ref;

-- ---------------------------------------------------------------------------------------------
-- audit: sync runs are a source (full sync) as before; entity names the kind of row changed:
-- 'user', 'team', 'membership', 'manager', 'custom_field_value', 'invitation'.
CREATE INDEX audit_log_sync_run_idx ON audit_log (sync_run_id) WHERE sync_run_id IS NOT NULL;
