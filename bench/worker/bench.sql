-- bench/worker: tables and functions the benchmark adds to its own throw-away database (never to
-- a real one). Loaded after `oktasyncctl migrate`.

-- The events the driver delivered (bench/worker/drive.c --out), loaded with COPY.
CREATE TABLE bench_events (
    tenant_id uuid NOT NULL,
    okta_id   text NOT NULL,
    uuid      text NOT NULL,
    published timestamptz,
    title     text NOT NULL,
    seq       integer NOT NULL,
    t200_ms   double precision NOT NULL, -- wall clock (epoch ms) of the delivery's 200
    delivered boolean NOT NULL
);
-- Every change sets a title unique to its event ("bw <label> <seq>"), and one user's changes are
-- made in seq order: a row whose title is that of event seq2 reflects every change of the user up
-- to seq2. Matching by title needs no clock (the worker's okta_last_updated precision is its own).
CREATE INDEX bench_events_title_idx ON bench_events (tenant_id, okta_id, title);

-- One row per committed write of a users row (latency scenarios only): a deferred constraint
-- trigger runs at COMMIT, so `at` is the commit time to within the trigger itself.
CREATE TABLE bench_commits (
    tenant_id uuid NOT NULL,
    okta_id   text NOT NULL,
    title     text,
    at        timestamptz NOT NULL
);

CREATE FUNCTION bench_log_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_commits VALUES (NEW.tenant_id, NEW.okta_id, NEW.title, clock_timestamp());
    RETURN NULL;
END $$;

CREATE FUNCTION bench_track_commits() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE CONSTRAINT TRIGGER bench_commit AFTER INSERT OR UPDATE ON users
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench_log_commit();
END $$;

-- Copy what the worker wrote for the warm-up tenant to another tenant whose simulated org is
-- identical (same seed), so the measured tenants start in the steady state a synced tenant is
-- in: the users rows (every column but the keys and bookkeeping), their manager links, the
-- department teams and memberships, and the pending manager references. Ids are remapped by
-- okta_id and team name. (Before 2026-12-01 only the users rows were copied, without
-- manager_user_id: every measured user's first event then set its manager and primary team
-- again, rules work a synced tenant does not do.)
CREATE FUNCTION bench_clone_users(src uuid, dst uuid) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    n    bigint;
BEGIN
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
      FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'users'
       AND column_name NOT IN ('tenant_id', 'id', 'created_at', 'updated_at', 'manager_user_id');
    EXECUTE format('INSERT INTO users (tenant_id, %s) SELECT $1, %s FROM users WHERE tenant_id = $2',
                   cols, cols) USING dst, src;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE users d SET manager_user_id = dm.id
      FROM users s JOIN users sm ON sm.id = s.manager_user_id
      JOIN users dm ON dm.tenant_id = dst AND dm.okta_id = sm.okta_id
     WHERE s.tenant_id = src AND d.tenant_id = dst AND d.okta_id = s.okta_id;
    INSERT INTO teams (tenant_id, name, source, manager_source, manager_user_id)
    SELECT dst, t.name, t.source, t.manager_source, dm.id FROM teams t
      LEFT JOIN users sm ON sm.id = t.manager_user_id
      LEFT JOIN users dm ON dm.tenant_id = dst AND dm.okta_id = sm.okta_id
     WHERE t.tenant_id = src;
    INSERT INTO team_members (tenant_id, team_id, user_id, is_primary, source)
    SELECT dst, dt.id, du.id, m.is_primary, m.source FROM team_members m
      JOIN teams st ON st.id = m.team_id JOIN teams dt ON dt.tenant_id = dst AND dt.name = st.name
      JOIN users su ON su.id = m.user_id
      JOIN users du ON du.tenant_id = dst AND du.okta_id = su.okta_id
     WHERE m.tenant_id = src;
    INSERT INTO pending_manager_refs (tenant_id, user_okta_id, manager_ref)
    SELECT dst, user_okta_id, manager_ref FROM pending_manager_refs WHERE tenant_id = src;
    RETURN n;
END $$;
