#!/usr/bin/env bash
# oktasyncctl field add/list/remove: custom field definitions per tenant, audited.
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
expect_rc 0 "migrate" -- "$CTL" migrate
for t in acme beta; do
    expect_rc 0 "add $t" -- "$CTL" tenant add --subdomain $t --okta-domain $t.okta.com \
        --app-id 0oa1 --client-id 0oc1 --api-token tok
done

expect_rc 0 "field add" -- "$CTL" field add acme costCenter --json
expect_eq "$(jq -r .action <<<"$OUT")" "added" "add output"
expect_rc 0 "field add second" -- "$CTL" field add acme employeeNumber
expect_rc 0 "same name in another tenant" -- "$CTL" field add beta costCenter
expect_rc 1 "duplicate field" -- "$CTL" field add acme costCenter
expect_err "tenant 'acme' already has field 'costCenter'"
expect_rc 1 "unknown tenant" -- "$CTL" field add nope costCenter
expect_err "no tenant 'nope'"

expect_rc 0 "field list" -- "$CTL" field list acme --json
expect_eq "$(jq -r 'map(.name) | join(",")' <<<"$OUT")" "costCenter,employeeNumber" "list"
expect_eq "$(jq -r '.[0].values' <<<"$OUT")" "0" "no values yet"
# a stored value is counted
uid=$(sql "INSERT INTO users (tenant_id, okta_id) SELECT id, '00u1' FROM tenants WHERE subdomain = 'acme' RETURNING id")
sql "INSERT INTO custom_field_values (tenant_id, user_id, field_id, value) SELECT f.tenant_id, $uid, f.id, 'CC-7' FROM custom_fields f JOIN tenants t ON t.id = f.tenant_id WHERE t.subdomain = 'acme' AND f.name = 'costCenter'" >/dev/null
expect_rc 0 "field list human" -- "$CTL" field list acme
grep -q "^costCenter .* 1 values" <<<"$OUT" && ok || bad "human list: $OUT"
expect_rc 1 "list unknown tenant" -- "$CTL" field list nope
expect_err "no tenant with subdomain 'nope'"

expect_rc 0 "field remove" -- "$CTL" field remove acme costCenter
grep -q "values kept" <<<"$OUT" && ok || bad "human remove output: $OUT"
expect_eq "$(sql "SELECT count(*) FROM custom_field_values")" "1" "values kept after remove"
expect_eq "$(sql "SELECT removed_at IS NOT NULL FROM custom_fields WHERE name = 'costCenter' AND tenant_id = (SELECT id FROM tenants WHERE subdomain = 'acme')")" \
    "t" "removed_at set"
expect_rc 1 "remove again" -- "$CTL" field remove acme costCenter
expect_err "already removed"
expect_rc 0 "list shows the removed field" -- "$CTL" field list acme --json
expect_eq "$(jq -r '[.[] | select(.name == "costCenter") | (.removed_at != null), .values] | join(",")' <<<"$OUT")" \
    "true,1" "removed field listed with its kept values"
expect_rc 0 "field list human" -- "$CTL" field list acme
grep -q "^costCenter .* 1 values, removed 20" <<<"$OUT" && ok || bad "human list removed: $OUT"
expect_rc 0 "beta keeps its field" -- "$CTL" field list beta --json
expect_eq "$(jq -r 'map(select(.removed_at == null)) | length' <<<"$OUT")" "1" "beta field active"
# adding it again syncs it again: same field, removed_at cleared, values still there
expect_rc 0 "field add removed field" -- "$CTL" field add acme costCenter --json
expect_eq "$(jq -r .action <<<"$OUT")" "restored" "re-add restores"
expect_eq "$(sql "SELECT count(*) FROM custom_fields WHERE name = 'costCenter' AND removed_at IS NULL")" \
    "2" "acme's and beta's costCenter active"
expect_eq "$(sql "SELECT count(*) FROM custom_field_values")" "1" "values still there"
expect_rc 1 "duplicate after restore" -- "$CTL" field add acme costCenter
expect_err "already has field"
expect_eq "$(sql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE entity = 'custom_field'")" \
    "create,create,create,remove,restore" "audited"
finish
