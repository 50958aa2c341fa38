#!/usr/bin/env bash
# docker-compose reads deploy/compose/compose.yaml: `docker-compose config` accepts it with the
# secret set and refuses it, naming the variable, without; the daemons start only after the
# migration and the topic creation finished; the topics it creates are the ones the built
# daemons use by default; every OKTASYNC_* name is a real setting. (No Docker engine runs here,
# so `up` is not exercised.)
set -uo pipefail
source "$(dirname "$0")/deploy_lib.sh"
need_tool docker-compose
bin=${OKS_BIN_DIR:?}
file=$src/deploy/compose/compose.yaml
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
key=$(printf '%064d' 0)

if OKTASYNC_SECRET_KEY=$key docker-compose -f "$file" config >"$work/config.yaml" 2>"$work/err"; then
    ok "docker-compose config accepts deploy/compose/compose.yaml"
else bad "docker-compose config: $(tail -1 "$work/err")"; finish; fi
env -u OKTASYNC_SECRET_KEY docker-compose -f "$file" config >/dev/null 2>"$work/err"; rc=$?
check "without OKTASYNC_SECRET_KEY it refuses" [ $rc -ne 0 ]
check "... and names the variable" grep -q "set OKTASYNC_SECRET_KEY" "$work/err"

# The rendered configuration as JSON (docker-compose itself needs python3-yaml).
python3 -c 'import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)' \
    <"$work/config.yaml" >"$work/config.json" || { bad "rendered config is not YAML"; finish; }
c=$work/config.json
for s in postgres redis kafka topics migrate ingest worker scheduler; do
    check "service $s" jqe --arg s "$s" '.services[$s]' "$c"
done
for s in ingest worker scheduler; do
    for d in migrate topics; do
        check "$s starts after $d completed" jqe --arg s "$s" --arg d "$d" \
            '.services[$s].depends_on[$d].condition == "service_completed_successfully"' "$c"
    done
    check "$s runs oktasync-$s" jqe --arg s "$s" '.services[$s].command[0] == "oktasync-\($s)"' "$c"
done
check "the image is built from deploy/container/Dockerfile at the repository root" jqe --arg r "$src" \
    '.services.worker.build.context == $r and .services.worker.build.dockerfile == "deploy/container/Dockerfile"' "$c"

# Topics created by the "topics" service vs the topics the daemons use by default.
created=$(jq -r '.services.topics.command | join(" ")' "$c" | sed -n 's/.*for t in \(.*\); do.*/\1/p')
used=$( { "$bin/oktasync-worker" --check-config | jq -r '."events-topic", ."dead-letter-topic"'
          "$bin/oktasync-scheduler" --check-config | jq -r '."jobs-topic"'
          "$bin/oktasync-ingest" --check-config | jq -r '."kafka-topic"'; } | sort -u)
for t in $used; do
    check "topic $t (used by a daemon) is created" grep -qw "$t" <<<"$created"
done
# The worker as configured here takes in the jobs the scheduler (same file) produces.
jq -r '.services.worker.environment | to_entries[] | "\(.key)=\(.value | @sh)"' "$c" >"$work/worker.env"
check "the worker consumes the scheduler's jobs topic (OKTASYNC_JOBS_TOPIC)" worker_runs_jobs "$work/worker.env"
names=$(jq -r '.services[] | .environment // {} | keys[]' "$c" | grep '^OKTASYNC_' | sort -u)
for n in $names; do check "$n is a setting" known_setting "$n"; done
finish
