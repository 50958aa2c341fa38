#!/usr/bin/env bash
# oktasyncctl against a fresh database: migrate, tenant add/list/show/set/rotate-secret/remove,
# what is stored (sealed token, hashed secret, audit log) and the failure exits.
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
unset OKTASYNC_OKTA_API_TOKEN OKTASYNC_OKTA_CLIENT_SECRET

expect_rc 0 "migrate" -- "$CTL" migrate --json
expect_eq "$(jq -r .applied <<<"$OUT")" "$(jq -r .total <<<"$OUT")" "first migrate applies all"
expect_rc 0 "migrate again" -- "$CTL" migrate --json
expect_eq "$(jq -r .applied <<<"$OUT")" 0 "second migrate applies nothing"

# add: token on stdin, client secret from the environment
expect_rc 0 "tenant add" -- env OKTASYNC_OKTA_CLIENT_SECRET=cs-from-env "$CTL" tenant add \
    --subdomain acme --okta-domain dev-123.okta.com --app-id 0oa1 --client-id 0oc1 \
    --api-token - --auto-invite on --manager-mode team --full-sync-time 04:30 --json <<<"00tok-secret"
ID=$(jq -r .id <<<"$OUT")
SECRET=$(jq -r .webhook_secret <<<"$OUT")
expect_eq "$(jq -r .webhook_url <<<"$OUT")" "http://127.0.0.1:8080/webhooks/okta/acme" "webhook url"
expect_eq "${#SECRET}" 43 "webhook secret length"
expect_eq "$(sql "SELECT id FROM tenants WHERE subdomain = 'acme'")" "$ID" "tenant id stored"
# only the SHA-256 of the secret is stored
want_hash=$(printf '%s' "$SECRET" | sha256sum | cut -d' ' -f1)
expect_eq "$(sql "SELECT encode(webhook_secret_hash, 'hex') FROM tenants WHERE id = '$ID'")" \
    "$want_hash" "webhook secret hash"
# token and client secret are sealed, and open under the key with the fleet's code
enc=$(sql "SELECT encode(api_token_enc, 'hex') FROM tenants WHERE id = '$ID'")
expect_eq "$(grep -c "$(printf '00tok-secret' | od -An -tx1 | tr -d ' \n')" <<<"$enc")" 0 \
    "token plaintext not stored"
expect_eq "$("$UNSEAL" "$ID" <<<"$enc")" "00tok-secret" "sealed token opens"
enc=$(sql "SELECT encode(client_secret_enc, 'hex') FROM tenants WHERE id = '$ID'")
expect_eq "$("$UNSEAL" "$ID" <<<"$enc")" "cs-from-env" "sealed client secret opens"
expect_rc 1 "sealed token does not open under another key" -- env \
    OKTASYNC_SECRET_KEY=ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
    "$UNSEAL" "$ID" <<<"$enc"

# add: token from the environment, defaults
expect_rc 0 "tenant add beta" -- env OKTASYNC_OKTA_API_TOKEN=envtok "$CTL" tenant add \
    --subdomain beta --okta-domain https://beta.okta.com/ --app-id 0oa2 --client-id 0oc2
grep -q "webhook secret:" <<<"$OUT" && ok || bad "human add output shows the secret: $OUT"
BETA=$(sql "SELECT id FROM tenants WHERE subdomain = 'beta'")
expect_eq "$("$UNSEAL" "$BETA" <<<"$(sql "SELECT encode(api_token_enc, 'hex') FROM tenants WHERE id = '$BETA'")")" \
    "envtok" "beta's token opens for beta"
# a sealed token copied to another tenant's row does not open there (bound to the tenant id)
sql "UPDATE tenants SET api_token_enc = (SELECT api_token_enc FROM tenants WHERE id = '$ID') WHERE id = '$BETA'"
expect_rc 1 "acme's token copied to beta does not open" -- "$UNSEAL" "$BETA" \
    <<<"$(sql "SELECT encode(api_token_enc, 'hex') FROM tenants WHERE id = '$BETA'")"
expect_err "sealed for another tenant"
expect_rc 0 "beta gets its own token back" -- "$CTL" tenant set beta --api-token envtok

expect_rc 0 "tenant list" -- "$CTL" tenant list --json
expect_eq "$(jq -r 'map(.subdomain) | join(",")' <<<"$OUT")" "acme,beta" "list order"
expect_eq "$(jq -r '.[1].okta_domain' <<<"$OUT")" "https://beta.okta.com" "trailing slash cut"
expect_eq "$(jq -r '.[1].client_secret_set' <<<"$OUT")" "false" "no client secret for beta"
expect_rc 0 "tenant list human" -- "$CTL" tenant list
grep -q "^acme " <<<"$OUT" && grep -q "^beta " <<<"$OUT" && ok || bad "human list: $OUT"

# full-sync-time: not given = NULL = the scheduler's default-time; "default" hands it back
expect_eq "$(sql "SELECT full_sync_time IS NULL FROM tenants WHERE subdomain = 'beta'")" "t" \
    "no full-sync-time: the fleet default"
expect_rc 0 "set full-sync-time" -- "$CTL" tenant set beta --full-sync-time 05:15 --json
expect_eq "$(jq -r .full_sync_time <<<"$OUT")" "05:15" "own full-sync-time"
expect_rc 0 "set full-sync-time default" -- "$CTL" tenant set beta --full-sync-time default --json
expect_eq "$(jq -r .full_sync_time <<<"$OUT")" "null" "back to the fleet default"
expect_rc 0 "show beta human" -- "$CTL" tenant show beta
grep -q "default (the scheduler's default-time)" <<<"$OUT" && ok || bad "human show: $OUT"
expect_rc 2 "bad full-sync-time" -- "$CTL" tenant set beta --full-sync-time never
expect_err "invalid value for --full-sync-time"

expect_rc 0 "tenant show" -- "$CTL" --json tenant show acme
expect_eq "$(jq -r '[.auto_invite, .manager_mode, .full_sync_time, .api_token_set] | join(",")' \
    <<<"$OUT")" "true,team,04:30,true" "show acme"
grep -q "$SECRET" <<<"$OUT" && bad "show must not print the secret" || ok

expect_rc 0 "tenant set" -- "$CTL" tenant set acme --auto-invite off --deactivation-threshold-pct 25 --json
expect_eq "$(jq -r '[.auto_invite, .deactivation_threshold_pct, .manager_mode] | join(",")' \
    <<<"$OUT")" "false,25,team" "set changes only what was given"
expect_rc 0 "tenant set token" -- "$CTL" tenant set acme --api-token newtok
enc=$(sql "SELECT encode(api_token_enc, 'hex') FROM tenants WHERE id = '$ID'")
expect_eq "$("$UNSEAL" "$ID" <<<"$enc")" "newtok" "new token sealed"
expect_eq "$(sql "SELECT after->'changed_settings' FROM audit_log WHERE action = 'update' ORDER BY id DESC LIMIT 1")" \
    '["api-token"]' "audit names the changed setting"

# rotate: old hash becomes previous with an expiry, new secret printed once
expect_rc 0 "rotate" -- "$CTL" tenant rotate-secret acme --grace 2h --json
NEW=$(jq -r .webhook_secret <<<"$OUT")
[ "$NEW" != "$SECRET" ] && ok || bad "rotate produced the same secret"
expect_eq "$(sql "SELECT encode(webhook_secret_prev_hash, 'hex') FROM tenants WHERE id = '$ID'")" \
    "$want_hash" "previous hash is the old secret"
expect_eq "$(sql "SELECT encode(webhook_secret_hash, 'hex') FROM tenants WHERE id = '$ID'")" \
    "$(printf '%s' "$NEW" | sha256sum | cut -d' ' -f1)" "current hash is the new secret"
expect_eq "$(sql "SELECT webhook_secret_prev_expires_at BETWEEN now() + interval '119 minutes' AND now() + interval '121 minutes' FROM tenants WHERE id = '$ID'")" \
    "t" "grace period"
expect_rc 0 "rotate without grace" -- "$CTL" tenant rotate-secret acme --grace 0
expect_eq "$(sql "SELECT webhook_secret_prev_hash IS NULL FROM tenants WHERE id = '$ID'")" "t" \
    "grace 0 drops the previous secret"

# every change is audited, without secrets
expect_eq "$(sql "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE tenant_id = '$ID'")" \
    "create,update,update,rotate_secret,rotate_secret" "audit trail"
expect_eq "$(sql "SELECT count(*) FROM audit_log WHERE (coalesce(before::text, '') || after::text) ~ '00tok-secret|newtok|cs-from-env|secret_hash|_enc'")" \
    "0" "no secrets in the audit log"

# failures
expect_rc 1 "duplicate add" -- "$CTL" tenant add --subdomain acme --okta-domain a.okta.com \
    --app-id x --client-id y --api-token t
expect_err "tenant 'acme' already exists"
expect_rc 1 "show unknown" -- "$CTL" tenant show nope
expect_err "no tenant with subdomain 'nope'"
expect_rc 1 "set unknown" -- "$CTL" tenant set nope --auto-invite on
expect_err "no tenant with subdomain 'nope'"
expect_rc 1 "rotate unknown" -- "$CTL" tenant rotate-secret nope
expect_rc 1 "remove unknown" -- "$CTL" tenant remove nope

expect_rc 0 "remove" -- "$CTL" tenant remove beta --json
expect_eq "$(jq -r .removed <<<"$OUT")" "beta" "remove output"
expect_eq "$(sql "SELECT count(*) FROM tenants WHERE subdomain = 'beta'")" "0" "beta gone"
expect_eq "$(sql "SELECT count(*) FROM audit_log WHERE action = 'remove'")" "1" "remove audited"

# database down: exit 1 and one line naming the setting
expect_rc 1 "database unreachable" -- "$CTL" --database-url postgresql://oktasync@127.0.0.1:1/x \
    --connect-timeout 2s tenant list
expect_err "database-url (OKTASYNC_DATABASE_URL)"
finish
