-- oktasync schema, version 3: the worker as a coalescing reconciler (docs/worker.md).
-- Events no longer apply state themselves: the worker's intake records each new event's uuid
-- (processed_events) and marks its user dirty in the same transaction; per-tenant reconcilers
-- re-read dirty users from Okta in bulk and apply them in batches. (0002 belongs to the
-- structure work; the runner applies files in name order.)

-- ---------------------------------------------------------------------------------------------
-- dirty_users: users an event said may have changed and that nobody has re-read from Okta since.
-- A reconcile round reads (okta_id, seq), asks Okta, applies, and deletes the mark only
-- WHERE seq = the seq it read: an event that arrives while Okta is being asked bumps seq, so the
-- user is read again (the read may predate that change).
CREATE TABLE dirty_users (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    okta_id          text NOT NULL CHECK (okta_id <> '' AND length(okta_id) <= 128),
    seq              bigint NOT NULL DEFAULT 1,
    -- events coalesced into this mark since it was last cleared (metrics: coalescing ratio)
    events           integer NOT NULL DEFAULT 1 CHECK (events > 0),
    -- an event that may change the user's app assignment (app or group membership, lifecycle):
    -- the stored assignment cannot answer for this user, Okta must be asked
    check_assignment boolean NOT NULL DEFAULT false,
    -- newest `published` of the events that move the user's lastUpdated (profile, lifecycle):
    -- a bulk read older than this is a stale read (Okta's list filter is eventually consistent)
    max_published    timestamptz,
    -- when the oldest unapplied change was recorded: the lag SREs watch
    first_marked_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- per-user failures (bad data, unknown status); tenant-wide faults live in tenant_okta_state
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error       text,
    next_attempt_at  timestamptz NOT NULL DEFAULT '-infinity',
    PRIMARY KEY (tenant_id, okta_id)
);

CREATE INDEX dirty_users_tenant_due_idx ON dirty_users (tenant_id, next_attempt_at, first_marked_at);

-- ---------------------------------------------------------------------------------------------
-- tenant_okta_state: a tenant's standing with its Okta org, written by reconcilers. No row, or a
-- NULL fault, means healthy. A tenant with a fault waits on its own clock (next_attempt_at) while
-- every other tenant keeps flowing. credentials_invalid and not_connected are parked: retried only
-- when the tenants row changes (updated_at > fault_since, e.g. a new token) or after the worker's
-- parked-recheck interval, never in a hot loop.
CREATE TABLE tenant_okta_state (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    fault           text CHECK (fault IN ('credentials_invalid', 'not_connected', 'okta_unreachable',
                                          'okta_misconfigured', 'okta_unavailable')),
    fault_reason    text,
    fault_since     timestamptz,
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((fault IS NULL) = (fault_since IS NULL))
);

CREATE TRIGGER tenant_okta_state_updated_at BEFORE UPDATE ON tenant_okta_state
    FOR EACH ROW EXECUTE FUNCTION oks_set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- users.app_assigned: the user's assignment to the tenant's Okta app as last read (directly or
-- through a group). NULL = never read (or the tenant has no app id). Lets a profile change of a
-- known member be applied without asking the small apps bucket again.
ALTER TABLE users ADD COLUMN app_assigned boolean;
