#!/usr/bin/env bash
# oktasyncctl migrate re-seals credentials stored in the old format (version 1, not bound to a
# tenant) for their tenant: counted, audited, a transaction per tenant, idempotent; a value that
# does not open leaves its tenant untouched and exits 1.
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export OKTASYNC_SECRET_KEY=$KEY
# Sealed under $KEY by the version 1 code (main at 85eb131), as databases hold them today.
V1_TOKEN=01eea4e994cec665233731f86835ad23352d276830193487c58a418737db5e2e7728c040f531530870
V1_SECRET=01ad7f4a99b8e1e83cab0654121f2c1258487db482a4da82e42cb008a9d35740db475a3bcfb50068344c8ffd1325d4ce78
V1_BROKEN=${V1_SECRET%??}00

expect_rc 0 "migrate" -- "$CTL" migrate --json
expect_eq "$(jq -r .resealed_values <<<"$OUT")" 0 "nothing to re-seal on a new database"
for t in acme beta gamma; do
    expect_rc 0 "add $t" -- "$CTL" tenant add --subdomain $t --okta-domain $t.okta.com \
        --app-id 0oa1 --client-id 0oc1 --api-token tok-$t --client-secret cs-$t
done
ACME=$(sql "SELECT id FROM tenants WHERE subdomain = 'acme'")
BETA=$(sql "SELECT id FROM tenants WHERE subdomain = 'beta'")
GAMMA=$(sql "SELECT id FROM tenants WHERE subdomain = 'gamma'")
expect_eq "$(sql "SELECT string_agg(DISTINCT get_byte(api_token_enc, 0)::text, ',') FROM tenants")" \
    "2" "the CLI seals in version 2"
token_hex() { sql "SELECT encode(api_token_enc, 'hex') FROM tenants WHERE id = '$1'"; }
secret_hex() { sql "SELECT encode(client_secret_enc, 'hex') FROM tenants WHERE id = '$1'"; }

# the state before the upgrade: acme (token and client secret) and beta (token) in version 1
sql "UPDATE tenants SET api_token_enc = '\\x$V1_TOKEN', client_secret_enc = '\\x$V1_SECRET' WHERE id = '$ACME'"
sql "UPDATE tenants SET api_token_enc = '\\x$V1_TOKEN' WHERE id = '$BETA'"
beta_secret=$(secret_hex "$BETA")
gamma_token=$(token_hex "$GAMMA")
expect_rc 1 "a version 1 token is refused by readers" -- "$UNSEAL" "$ACME" <<<"$(token_hex "$ACME")"
expect_err "old format (version 1"

expect_rc 2 "re-seal needs the key" -- env -u OKTASYNC_SECRET_KEY "$CTL" migrate
expect_err "--secret-key (OKTASYNC_SECRET_KEY) is required to re-seal the credentials of 2 tenant(s)"
expect_eq "$(sql "SELECT get_byte(api_token_enc, 0) FROM tenants WHERE id = '$ACME'")" 1 \
    "nothing changed without the key"

expect_rc 0 "migrate re-seals" -- "$CTL" migrate --json
expect_eq "$(jq -c '[.applied, .resealed_tenants, .resealed_values, .reseal_failed]' <<<"$OUT")" \
    "[0,2,3,0]" "counts"
expect_eq "$("$UNSEAL" "$ACME" <<<"$(token_hex "$ACME")")" "legacy-token" "acme token opens for acme"
expect_eq "$("$UNSEAL" "$ACME" <<<"$(secret_hex "$ACME")")" "legacy-client-secret" \
    "acme client secret opens for acme"
expect_eq "$("$UNSEAL" "$BETA" <<<"$(token_hex "$BETA")")" "legacy-token" "beta token opens for beta"
expect_eq "$(secret_hex "$BETA")" "$beta_secret" "beta's version 2 client secret untouched"
expect_eq "$(token_hex "$GAMMA")" "$gamma_token" "gamma untouched"
# the same plaintext re-sealed for acme does not open for beta: bound to the tenant now
expect_rc 1 "acme's re-sealed token does not open for beta" -- "$UNSEAL" "$BETA" <<<"$(token_hex "$ACME")"
expect_err "sealed for another tenant"
expect_eq "$(sql "SELECT count(*) FROM tenants WHERE get_byte(api_token_enc, 0) = 1 OR get_byte(client_secret_enc, 0) = 1")" \
    0 "no version 1 value left"
expect_eq "$(sql "SELECT string_agg(after->>'resealed_for_tenant', ';' ORDER BY tenant_id = '$BETA') FROM audit_log WHERE action = 'reseal_secrets'")" \
    '["api_token", "client_secret"];["api_token"]' "one audit row per tenant, no secret in it"

# idempotent: nothing to do, nothing changes, no key needed
before=$(sql "SELECT string_agg(encode(api_token_enc, 'hex') || encode(client_secret_enc, 'hex'), ',' ORDER BY id) FROM tenants")
expect_rc 0 "migrate again" -- env -u OKTASYNC_SECRET_KEY "$CTL" migrate
grep -q "credentials: 0 re-sealed for their tenant (0 tenants), 0 tenants failed" <<<"$OUT" && ok ||
    bad "human output: $OUT"
expect_eq "$(sql "SELECT string_agg(encode(api_token_enc, 'hex') || encode(client_secret_enc, 'hex'), ',' ORDER BY id) FROM tenants")" \
    "$before" "second run changes nothing"

# a value that does not open: that tenant keeps both values (its transaction rolls back), the
# others are re-sealed, exit 1 naming the tenant
sql "UPDATE tenants SET api_token_enc = '\\x$V1_TOKEN', client_secret_enc = '\\x$V1_BROKEN' WHERE id = '$GAMMA'"
sql "UPDATE tenants SET api_token_enc = '\\x$V1_TOKEN' WHERE id = '$BETA'"
expect_rc 1 "a broken value fails its tenant" -- "$CTL" migrate --json
expect_err "re-sealing the credentials of tenant $GAMMA: client_secret: cannot decrypt sealed value"
expect_eq "$(jq -c '[.resealed_tenants, .resealed_values, .reseal_failed]' <<<"$OUT")" "[1,1,1]" \
    "counts with a failure"
expect_eq "$(token_hex "$GAMMA")" "$V1_TOKEN" "gamma's token not re-sealed (rolled back)"
expect_eq "$("$UNSEAL" "$BETA" <<<"$(token_hex "$BETA")")" "legacy-token" "beta re-sealed anyway"
# a wrong key fails every tenant and changes nothing
expect_rc 1 "wrong key" -- env OKTASYNC_SECRET_KEY=ff${KEY#??} "$CTL" migrate
expect_eq "$(token_hex "$GAMMA")" "$V1_TOKEN" "wrong key changes nothing"
finish
