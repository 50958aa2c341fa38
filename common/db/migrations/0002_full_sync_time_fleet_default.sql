-- tenants.full_sync_time NULL means "the fleet default": the scheduler's default-time setting
-- (OKTASYNC_DEFAULT_TIME). Before this, the column was NOT NULL DEFAULT '03:00', so the setting
-- never applied. Rows that already have a time keep it (it may have been chosen on purpose);
-- `oktasyncctl tenant set SUB --full-sync-time default` hands a tenant back to the fleet default.
ALTER TABLE tenants
    ALTER COLUMN full_sync_time DROP NOT NULL,
    ALTER COLUMN full_sync_time DROP DEFAULT;
COMMENT ON COLUMN tenants.full_sync_time IS
    'Daily full-sync time (UTC); NULL: the scheduler''s default-time';
