#!/usr/bin/env bash
# oktasyncctl --help everywhere, and every bad argument: one line on stderr, exit 2, and no
# change in the database.
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
unset OKTASYNC_OKTA_API_TOKEN OKTASYNC_OKTA_CLIENT_SECRET
expect_rc 0 "migrate" -- "$CTL" migrate

for cmd in "" "migrate" "tenant" "tenant add" "tenant list" "tenant show" "tenant set" \
    "tenant rotate-secret" "tenant remove" "field" "field add" "field list" "field remove"; do
    # shellcheck disable=SC2086
    expect_rc 0 "$cmd --help" -- "$CTL" $cmd --help
    grep -q "Usage: oktasyncctl" <<<"$OUT" && ok || bad "'$cmd --help' has no usage line: $OUT"
done

ADD=(tenant add --subdomain ok --okta-domain dev.okta.com --app-id 0oa1 --client-id 0oc1 --api-token t)
bad_case() { # expected-substring -- args...
    local want=$1
    shift 2
    expect_rc 2 "$*" -- "$CTL" "$@"
    expect_err "$want"
}
bad_case "missing command" --
bad_case "unknown command 'frob'" -- frob
bad_case "unknown tenant subcommand 'frob'" -- tenant frob
bad_case "missing tenant subcommand" -- tenant
bad_case "unknown option --bogus" -- tenant list --bogus
bad_case "unexpected argument 'x'" -- tenant list x
bad_case "needs the tenant's subdomain" -- tenant show
bad_case "invalid subdomain \"Bad_One\"" -- tenant show Bad_One
bad_case "tenant add needs --subdomain" -- tenant add --okta-domain a.b --app-id a --client-id b
bad_case "tenant add needs --okta-domain" -- tenant add --subdomain a --app-id a --client-id b
bad_case "tenant add needs --app-id" -- tenant add --subdomain a --okta-domain a.b --client-id b
bad_case "tenant add needs --client-id" -- tenant add --subdomain a --okta-domain a.b --app-id a
bad_case "needs the Okta API token" -- tenant add --subdomain a --okta-domain a.b --app-id a --client-id b
bad_case "invalid value for --subdomain" -- tenant add --subdomain -x- --okta-domain a.b --app-id a --client-id b --api-token t
bad_case "invalid value for --subdomain" -- tenant add --subdomain UPPER --okta-domain a.b --app-id a --client-id b --api-token t
bad_case "invalid value for --okta-domain" -- tenant add --subdomain a --okta-domain ftp://x.okta.com --app-id a --client-id b --api-token t
bad_case "invalid value for --okta-domain" -- tenant add --subdomain a --okta-domain "dev.okta.com/path" --app-id a --client-id b --api-token t
bad_case "invalid value for --okta-domain" -- tenant add --subdomain a --okta-domain "host:99999" --app-id a --client-id b --api-token t
bad_case "invalid value for --app-id" -- tenant add --subdomain a --okta-domain a.b --app-id "a b" --client-id b --api-token t
bad_case "invalid value for --auto-invite" -- "${ADD[@]}" --auto-invite sometimes
bad_case "invalid value for --manager-mode" -- "${ADD[@]}" --manager-mode boss
bad_case "invalid value for --full-sync-time" -- "${ADD[@]}" --full-sync-time 24:00
bad_case "invalid value for --full-sync-time" -- "${ADD[@]}" --full-sync-time 3am
bad_case "invalid value for --deactivation-threshold-pct" -- "${ADD[@]}" --deactivation-threshold-pct 101
bad_case "invalid value for --deactivation-threshold-min" -- "${ADD[@]}" --deactivation-threshold-min -1
bad_case "--api-token given twice" -- "${ADD[@]}" --api-token u
bad_case "--app-id needs a value" -- tenant add --app-id
bad_case "must not be empty" -- tenant add --subdomain a --okta-domain a.b --app-id a --client-id b --api-token ""
bad_case "nothing to read on standard input" -- tenant add --subdomain a --okta-domain a.b --app-id a --client-id b --api-token - </dev/null
bad_case "--secret-key (OKTASYNC_SECRET_KEY) is required" -- --secret-key "" "${ADD[@]}"
bad_case "invalid value for --secret-key (OKTASYNC_SECRET_KEY)" -- "${ADD[@]}" --secret-key abcd
bad_case "needs at least one setting" -- tenant set ok
bad_case "unknown field subcommand 'frob'" -- field frob
bad_case "field add needs SUBDOMAIN NAME" -- field add ok
bad_case "invalid field name \"9lives\"" -- field add ok 9lives
bad_case "invalid field name \"cost-center\"" -- field add ok cost-center
bad_case "invalid value for --grace" -- tenant rotate-secret ok --grace forever
bad_case "invalid value for --grace" -- tenant rotate-secret ok --grace 721h
bad_case "invalid value for --log-level (OKTASYNC_LOG_LEVEL)" -- tenant list --log-level loud
bad_case "invalid value for --connect-timeout" -- --connect-timeout soon tenant list
expect_rc 2 "bad setting from env" -- env OKTASYNC_STATEMENT_TIMEOUT=never "$CTL" tenant list
expect_err "--statement-timeout (OKTASYNC_STATEMENT_TIMEOUT)"
expect_rc 2 "malformed database url" -- "$CTL" --database-url "postgresql://[::1:5432/x" tenant list
expect_err "invalid database URL"

expect_eq "$(sql "SELECT count(*) FROM tenants")" "0" "no bad command created a tenant"
expect_eq "$(sql "SELECT count(*) FROM audit_log")" "0" "no bad command wrote the audit log"
finish
