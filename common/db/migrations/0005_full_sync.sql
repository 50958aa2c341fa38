-- oktasync schema, version 5: the full sync run by workers, "Connect to Okta", and the System
-- Log gap fill (docs/operations.md).

-- ---------------------------------------------------------------------------------------------
-- tenants: connection state. connected_at is set by `oktasyncctl tenant connect` after the
-- credentials were checked against Okta; a tenant whose credentials later fail is parked by the
-- reconciler (tenant_okta_state) and reconnected with the same command.
ALTER TABLE tenants
    ADD COLUMN connected_at timestamptz,
    ADD COLUMN connect_error text;

-- ---------------------------------------------------------------------------------------------
-- sync_runs: one row per (tenant, kind, scheduled_for) slot — a slot published twice is one run.
-- A run is resumable: `cursor` is the next page's URL (Okta's rel="next"), saved after each page
-- is applied; a redelivered job continues from it.
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_status_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('queued', 'running', 'held', 'succeeded', 'failed', 'rejected'));
ALTER TABLE sync_runs
    -- why the run exists
    ADD COLUMN trigger     text NOT NULL DEFAULT 'schedule'
        CHECK (trigger IN ('schedule', 'connect', 'operator')),
    ADD COLUMN dry_run     boolean NOT NULL DEFAULT false,
    ADD COLUMN cursor      text,
    ADD COLUMN pages       integer NOT NULL DEFAULT 0,
    ADD COLUMN errors      integer NOT NULL DEFAULT 0,
    ADD COLUMN okta_calls  integer NOT NULL DEFAULT 0,
    -- the worker running it and its last sign of life (a stale heartbeat lets another take over)
    ADD COLUMN worker      text,
    ADD COLUMN heartbeat_at timestamptz,
    ADD COLUMN rejected_by text,
    ADD COLUMN rejected_at timestamptz;

-- One full sync per tenant at a time across the fleet (a second queued slot waits its turn).
CREATE UNIQUE INDEX sync_runs_one_running_idx ON sync_runs (tenant_id, kind)
    WHERE status = 'running';

-- users seen by a run: at the end, a user the platform has (not deleted, not already
-- deactivated by unassignment) that the run did not see is no longer assigned in Okta.
ALTER TABLE users ADD COLUMN last_seen_run_id bigint;

-- The deactivations a run wants to make: written at the end of the listing, applied at once
-- when under the tenant's guard, or kept while the run is held until an operator approves
-- (applied) or rejects (nothing changes). A dry run writes them and stops.
CREATE TABLE sync_run_removals (
    run_id     bigint NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    okta_id    text NOT NULL,
    email      text,
    applied_at timestamptz,
    PRIMARY KEY (run_id, okta_id)
);

-- ---------------------------------------------------------------------------------------------
-- gap fill: per tenant, how far the System Log has been read (events published up to `since`
-- were compared with what the hooks delivered); uuid of the last event read breaks ties.
CREATE TABLE tenant_log_watermarks (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    since           timestamptz NOT NULL,
    last_event_uuid text,
    events_found    bigint NOT NULL DEFAULT 0, -- events the hooks had not delivered, republished
    updated_at      timestamptz NOT NULL DEFAULT now()
);
