-- oktasync schema, version 1. Documented table by table in docs/schema.md.
-- Never edit this file once applied anywhere: add 0002_... instead (the runner checks checksums).

-- Keeps updated_at honest whoever writes the row (worker, ctl, psql).
CREATE FUNCTION oks_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

-- ---------------------------------------------------------------------------------------------
-- tenants: one row per customer org connected to Okta.
CREATE TABLE tenants (
    id                             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subdomain                      text NOT NULL UNIQUE
        CHECK (subdomain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    okta_domain                    text,
    okta_app_id                    text,
    okta_client_id                 text,
    api_token_enc                  bytea,
    client_secret_enc              bytea,
    webhook_secret_hash            bytea NOT NULL CHECK (octet_length(webhook_secret_hash) = 32),
    webhook_secret_prev_hash       bytea CHECK (octet_length(webhook_secret_prev_hash) = 32),
    webhook_secret_prev_expires_at timestamptz,
    auto_invite                    boolean NOT NULL DEFAULT false,
    manager_mode                   text NOT NULL DEFAULT 'individual'
        CHECK (manager_mode IN ('individual', 'team')),
    full_sync_time                 time NOT NULL DEFAULT '03:00',
    deactivation_threshold_pct     integer NOT NULL DEFAULT 10
        CHECK (deactivation_threshold_pct BETWEEN 0 AND 100),
    deactivation_threshold_min     integer NOT NULL DEFAULT 10
        CHECK (deactivation_threshold_min >= 0),
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now(),
    -- a previous secret is only accepted until its expiry, so both are set or neither
    CHECK ((webhook_secret_prev_hash IS NULL) = (webhook_secret_prev_expires_at IS NULL))
);

CREATE TRIGGER tenants_updated_at BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION oks_set_updated_at();

-- ingest and the scheduler cache tenants; this tells them to reload. Payload:
-- {"op":"INSERT|UPDATE|DELETE","id":"<uuid>","subdomain":"<subdomain>"}
CREATE FUNCTION oks_notify_tenants() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r tenants;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM pg_notify('oktasync_tenants',
        json_build_object('op', TG_OP, 'id', r.id, 'subdomain', r.subdomain)::text);
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION oks_notify_tenants();

-- ---------------------------------------------------------------------------------------------
-- users: the platform's users of a tenant, mirrored from Okta.
CREATE TABLE users (
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    okta_id           text NOT NULL CHECK (okta_id <> ''),
    id                bigserial NOT NULL UNIQUE,
    email             text,
    first_name        text,
    last_name         text,
    picture_url       text,
    title             text,
    language          text,
    location          text,
    department        text,
    status            text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'deactivated', 'deleted')),
    okta_last_updated timestamptz,
    manager_okta_id   text,
    manager_user_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    override_manager  boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, okta_id),
    CHECK (manager_user_id IS NULL OR manager_user_id <> id)
);

CREATE INDEX users_tenant_status_idx ON users (tenant_id, status);
CREATE INDEX users_tenant_email_idx ON users (tenant_id, lower(email));
CREATE INDEX users_manager_idx ON users (manager_user_id) WHERE manager_user_id IS NOT NULL;

CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION oks_set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- teams: created from Okta departments (no manager of their own, see manager_mode).
CREATE TABLE teams (
    id              bigserial PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (name <> ''),
    manager_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    source          text NOT NULL DEFAULT 'okta_department'
        CHECK (source IN ('okta_department')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TRIGGER teams_updated_at BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION oks_set_updated_at();

CREATE TABLE team_members (
    team_id    bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_primary boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);

-- a user has at most one primary team
CREATE UNIQUE INDEX team_members_one_primary_idx ON team_members (user_id) WHERE is_primary;
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- ---------------------------------------------------------------------------------------------
-- custom fields: an Okta profile attribute is copied only if a field of that name exists.
CREATE TABLE custom_fields (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE custom_field_values (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field_id   bigint NOT NULL REFERENCES custom_fields (id) ON DELETE CASCADE,
    value      text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, field_id)
);

CREATE INDEX custom_field_values_field_idx ON custom_field_values (field_id);

CREATE TRIGGER custom_field_values_updated_at BEFORE UPDATE ON custom_field_values
    FOR EACH ROW EXECUTE FUNCTION oks_set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- invitations: outbox read by the system that sends invitation mails. One per user, ever.
CREATE TABLE invitations (
    id         bigserial PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      text,
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    UNIQUE (tenant_id, user_id),
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

CREATE INDEX invitations_pending_idx ON invitations (created_at) WHERE status = 'pending';

-- ---------------------------------------------------------------------------------------------
-- pending_manager_refs: user whose Okta manager is not synced yet; resolved when it appears.
CREATE TABLE pending_manager_refs (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_okta_id    text NOT NULL,
    manager_okta_id text NOT NULL CHECK (manager_okta_id <> ''),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_okta_id)
);

CREATE INDEX pending_manager_refs_manager_idx ON pending_manager_refs (tenant_id, manager_okta_id);

-- ---------------------------------------------------------------------------------------------
-- sync_runs: one row per scheduled full sync; the unique key makes scheduling idempotent.
CREATE TABLE sync_runs (
    id                bigserial PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind              text NOT NULL DEFAULT 'full_sync' CHECK (kind ~ '^[a-z][a-z_]*$'),
    scheduled_for     timestamptz NOT NULL,
    status            text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'held', 'succeeded', 'failed')),
    users_seen        integer NOT NULL DEFAULT 0,
    users_created     integer NOT NULL DEFAULT 0,
    users_updated     integer NOT NULL DEFAULT 0,
    users_deactivated integer NOT NULL DEFAULT 0,
    users_deleted     integer NOT NULL DEFAULT 0,
    error             text,
    held_reason       text,
    approved_by       text,
    approved_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    UNIQUE (tenant_id, kind, scheduled_for)
);

CREATE INDEX sync_runs_latest_idx ON sync_runs (tenant_id, kind, scheduled_for DESC);
CREATE INDEX sync_runs_open_idx ON sync_runs (status) WHERE status IN ('queued', 'running', 'held');

-- ---------------------------------------------------------------------------------------------
-- audit_log: every change, who/what/before/after/source. No foreign key on purpose: the history
-- of a removed tenant stays.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    entity      text NOT NULL CHECK (entity <> ''),
    entity_id   text NOT NULL,
    action      text NOT NULL CHECK (action <> ''),
    before      jsonb,
    after       jsonb,
    source      text NOT NULL CHECK (source IN ('event', 'full_sync', 'operator')),
    actor       text,
    event_uuid  text,
    sync_run_id bigint,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity, entity_id, at);
CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at);

-- ---------------------------------------------------------------------------------------------
-- processed_events: durable dedupe behind the Redis fast path (Okta re-sends, Kafka redelivers).
CREATE TABLE processed_events (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_uuid   text NOT NULL CHECK (event_uuid <> ''),
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_uuid)
);

CREATE INDEX processed_events_at_idx ON processed_events (processed_at);
