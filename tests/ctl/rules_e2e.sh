#!/usr/bin/env bash
# oktasyncctl tenant set --map / --manager-attribute / --manager-match / --group-team and what
# tenant show prints of them (issue 10): stored, audited, validated (exit 2, one line, nothing
# changed), and the group -> team rules (team created as okta_group, trimmed, matched
# case-insensitively, mapping removed with GROUP=).
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
unset OKTASYNC_OKTA_API_TOKEN OKTASYNC_OKTA_CLIENT_SECRET
expect_rc 0 "migrate" -- "$CTL" migrate
for t in acme beta; do
    expect_rc 0 "add $t" -- "$CTL" tenant add --subdomain $t --okta-domain $t.okta.com \
        --app-id 0oa1 --client-id 0oc1 --api-token tok
done
ACME=$(sql "SELECT id FROM tenants WHERE subdomain = 'acme'")

# defaults in effect on a new tenant
expect_rc 0 "show defaults" -- "$CTL" tenant show acme --json
expect_eq "$(jq -c '[.attribute_map.first_name.attribute, .attribute_map.language.attribute, .attribute_map.language.fallback, .attribute_map.location.attribute, .attribute_map.picture.attribute, .attribute_map.email.source]' <<<"$OUT")" \
    '["firstName","preferredLanguage","locale","city",null,"default"]' "default map"
expect_eq "$(jq -c '[.manager_attribute, .manager_match, .group_teams, .pending_manager_refs, .attribute_overrides]' <<<"$OUT")" \
    '["managerId","okta_id",[],0,{}]' "default manager rule, no groups, no pending refs"

# overrides: a picture attribute, a location combination, a field not synced
expect_rc 0 "set map" -- "$CTL" tenant set acme --map picture=photoUrl --map=location=city+countryCode \
    --map title= --manager-attribute managerEmail --manager-match email --json
expect_eq "$(jq -c '[.attribute_map.picture, .attribute_map.location.attribute, .attribute_map.title]' <<<"$OUT")" \
    '[{"attribute":"photoUrl","source":"override"},"city+countryCode",{"attribute":null,"source":"override"}]' \
    "overrides in effect"
expect_eq "$(sql "SELECT attribute_map::text || ' ' || manager_attribute || ' ' || manager_match FROM tenants WHERE id = '$ACME'")" \
    '{"title": "", "picture": "photoUrl", "location": "city+countryCode"} managerEmail email' "stored"
expect_eq "$(sql "SELECT after->'changed_settings' FROM audit_log WHERE tenant_id = '$ACME' AND action = 'update' ORDER BY id DESC LIMIT 1")" \
    '["manager-attribute", "manager-match", "map"]' "audited with the settings named"
expect_eq "$(sql "SELECT after->'tenant'->'attribute_map'->>'picture' FROM audit_log WHERE tenant_id = '$ACME' AND action = 'update' ORDER BY id DESC LIMIT 1")" \
    "photoUrl" "audit after image has the map"
# back to the default: the override goes, the others stay
expect_rc 0 "map default" -- "$CTL" tenant set acme --map title=default --json
expect_eq "$(jq -c '[.attribute_map.title.attribute, .attribute_map.title.source, .attribute_map.picture.attribute]' <<<"$OUT")" \
    '["title","default","photoUrl"]' "title back to default"
expect_eq "$(sql "SELECT attribute_map ? 'title' FROM tenants WHERE id = '$ACME'")" "f" "override removed"
expect_rc 0 "show human" -- "$CTL" tenant show acme
grep -q "^  picture  *photoUrl (override)$" <<<"$OUT" && ok || bad "human map picture: $OUT"
grep -q "^  language  *preferredLanguage, else locale (default)$" <<<"$OUT" && ok || bad "human language: $OUT"
grep -q "^manager  *managerEmail by email$" <<<"$OUT" && ok || bad "human manager: $OUT"
grep -q "^pending manager references  *0$" <<<"$OUT" && ok || bad "human pending: $OUT"

# pending manager references are counted per tenant
sql "INSERT INTO pending_manager_refs (tenant_id, user_okta_id, manager_ref) VALUES ('$ACME', '00u1', '00u9'), ('$ACME', '00u2', '00u9')"
expect_rc 0 "show pending" -- "$CTL" tenant show acme --json
expect_eq "$(jq -r .pending_manager_refs <<<"$OUT")" 2 "pending refs counted"
expect_rc 0 "list carries it too" -- "$CTL" tenant list --json
expect_eq "$(jq -c 'map(.pending_manager_refs)' <<<"$OUT")" "[2,0]" "per tenant in list"

# group -> team: created as okta_group, name trimmed; an existing team matched case-insensitively
sql "INSERT INTO teams (tenant_id, name, source) VALUES ('$ACME', 'Sales', 'okta_department')"
expect_rc 0 "group-team" -- "$CTL" tenant set acme --group-team "00g1=  SALES " \
    --group-team 00g2=Engineering --json
expect_eq "$(jq -c '[.group_teams[] | [.okta_group_id, .team]]' <<<"$OUT")" \
    '[["00g1","Sales"],["00g2","Engineering"]]' "mapped to the existing Sales and a new team"
expect_eq "$(sql "SELECT string_agg(name || ':' || source, ',' ORDER BY name) FROM teams WHERE tenant_id = '$ACME'")" \
    "Engineering:okta_group,Sales:okta_department" "one team created, the existing one untouched"
expect_rc 0 "remap a group" -- "$CTL" tenant set acme --group-team 00g2=sales --json
expect_eq "$(jq -c '[.group_teams[] | .team]' <<<"$OUT")" '["Sales","Sales"]' "remapped"
expect_rc 0 "unmap" -- "$CTL" tenant set acme --group-team 00g1= --json
expect_eq "$(jq -c '[.group_teams[] | .okta_group_id]' <<<"$OUT")" '["00g2"]' "00g1 unmapped"
expect_eq "$(sql "SELECT count(*) FROM teams WHERE tenant_id = '$ACME'")" 2 "unmapping keeps the team"
expect_eq "$(sql "SELECT string_agg(entity || ':' || action, ',' ORDER BY id) FROM audit_log WHERE tenant_id = '$ACME' AND entity IN ('team', 'group_team')")" \
    "group_team:create,team:create,group_team:create,group_team:update,group_team:remove" "audited"
expect_rc 1 "unmap unknown group" -- "$CTL" tenant set acme --group-team 00g7=
expect_err "no team mapped to Okta group 00g7"
expect_rc 0 "beta has none" -- "$CTL" tenant show beta --json
expect_eq "$(jq -c .group_teams <<<"$OUT")" "[]" "mappings are per tenant"
expect_rc 0 "show human groups" -- "$CTL" tenant show acme
grep -q "^  00g2  *Sales (team " <<<"$OUT" && ok || bad "human groups: $OUT"

# bad values: exit 2, one line, nothing changed
before=$(sql "SELECT attribute_map::text || manager_attribute || manager_match FROM tenants WHERE id = '$ACME'")
groups_before=$(sql "SELECT count(*) FROM tenant_group_teams")
bad_case() { # expected-substring -- args...
    local want=$1
    shift 2
    expect_rc 2 "$*" -- "$CTL" "$@"
    expect_err "$want"
}
bad_case "unknown field" -- tenant set acme --map nickname=nickName
bad_case "expected FIELD=OKTA_ATTRIBUTE" -- tenant set acme --map picture
bad_case "expected an Okta attribute name" -- tenant set acme --map picture=photo-url
bad_case "only location combines attributes" -- tenant set acme --map title=a+b
bad_case "at most 4 attributes" -- tenant set acme --map location=a+b+c+d+e
bad_case "expected an Okta attribute name" -- tenant set acme --map location=city+
bad_case "--map picture given twice" -- tenant set acme --map picture=a --map picture=default
bad_case "--map needs a value" -- tenant set acme --map
bad_case "invalid value for --manager-match" -- tenant set acme --manager-match phone
bad_case "invalid value for --manager-attribute" -- tenant set acme --manager-attribute "manager id"
bad_case "expected OKTA_GROUP_ID=TEAM_NAME" -- tenant set acme --group-team 00g1
bad_case "the Okta group id must be" -- tenant set acme --group-team "00 g=Sales"
bad_case "the team name is blank" -- tenant set acme --group-team "00g1=   "
bad_case "--group-team 00g1 given twice" -- tenant set acme --group-team 00g1=A --group-team 00g1=B
bad_case "control character" -- tenant set acme --group-team "$(printf '00g1=Sa\tles\x01')"
expect_eq "$(sql "SELECT attribute_map::text || manager_attribute || manager_match FROM tenants WHERE id = '$ACME'")" \
    "$before" "bad values change nothing"
expect_eq "$(sql "SELECT count(*) FROM tenant_group_teams")" "$groups_before" "no mapping changed"
# one bad mapping in a valid set: the whole set is refused
expect_rc 1 "unknown group in a batch" -- "$CTL" tenant set acme --map picture=avatar --group-team 00g9=
expect_eq "$(sql "SELECT attribute_map->>'picture' FROM tenants WHERE id = '$ACME'")" "photoUrl" \
    "one transaction: nothing applied"
expect_rc 1 "unknown tenant" -- "$CTL" tenant set nope --map picture=avatar
expect_err "no tenant with subdomain 'nope'"
finish
