#!/usr/bin/env bash
# kubectl reads deploy/k8s/: `kubectl kustomize` renders it and kubectl's own decoder parses every
# object (`kubectl label --local`); `kubectl apply --dry-run=client --validate=false` runs when
# an API server is reachable (kubectl needs one for discovery even in client dry-run, so without
# one it is reported as NOT RUN, never as passed). Then the fields that must agree with the code:
# the KEDA ScaledObject (lag threshold, 1 <= min <= max <= partitions of "events", consumer group
# and topics = what the worker really uses with the ConfigMap as its environment, a trigger on
# "events" and one on "jobs" (full syncs) each stated in docs/deploy.md, target = the worker
# Deployment), probes and scrape annotations on the admin port, commands the image has,
# OKTASYNC_* names that are settings, the worker's grace period longer than its bounded shutdown
# (the larger of dead-letter-timeout + 1 s and db-statement-timeout for the wait in hand, plus
# shutdown-timeout, plus the 2 s consumer teardown grace, with the ConfigMap's settings). Each rule is also run on a broken copy of the render,
# which it must reject.
set -uo pipefail
source "$(dirname "$0")/deploy_lib.sh"
need_tool kubectl
bin=${OKS_BIN_DIR:?}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export KUBECONFIG=${OKS_TEST_KUBECONFIG:-$work/none}   # never a developer's cluster by accident

if kubectl kustomize "$src/deploy/k8s" >"$work/all.yaml" 2>"$work/err"; then
    ok "kubectl kustomize deploy/k8s renders"
else bad "kubectl kustomize: $(tail -1 "$work/err")"; finish; fi
if kubectl label --local -f "$work/all.yaml" -o json oks-check=1 >"$work/objs.json" 2>"$work/err"; then
    jq -s '{items: .}' "$work/objs.json" >"$work/all.json"
    ok "kubectl decodes all $(jq '.items | length' "$work/all.json") objects"
else bad "kubectl cannot decode the render: $(tail -1 "$work/err")"; finish; fi
if kubectl apply --dry-run=client --validate=false -f "$work/all.yaml" >"$work/apply" 2>"$work/err"; then
    ok "kubectl apply --dry-run=client accepts the render ($(wc -l <"$work/apply") objects)"
elif grep -q "connection refused\|no configuration has been provided\|unable to recognize" "$work/err"; then
    echo "  NOT RUN kubectl apply --dry-run=client: no API server for discovery ($(tail -1 "$work/err" | cut -c1-100))"
else bad "kubectl apply --dry-run=client: $(tail -1 "$work/err")"; fi

# What the code says, run with what the manifests give it: the worker's consumer group and
# topics under the ConfigMap's environment (--check-config), the partitions compose creates.
# annotate IN OUT: OUT = IN plus {worker: {group, topics}} from IN's ConfigMap.
annotate() {
    jq -r '.items[] | select(.kind == "ConfigMap") | .data | to_entries[] | "\(.key)=\(.value | @sh)"' \
        "$1" >"$work/configmap.env" || return 1
    local cfg; cfg=$(daemon_config oktasync-worker "$work/configmap.env") || return 1
    jq --argjson c "$cfg" '. + {worker: {group: $c["group-id"],
        topics: [$c["events-topic"], $c["jobs-topic"]] | map(select(. != "")),
        stop_ms: (([($c["dead-letter-timeout"] | tonumber) + 1000,
                    ($c["db-statement-timeout"] | tonumber)] | max)
                  + ($c["shutdown-timeout"] | tonumber) + 2000)}}' "$1" >"$2"
}
annotate "$work/all.json" "$work/ann.json" || { bad "the worker rejects the ConfigMap's settings"; finish; }
group=$(jq -r .worker.group "$work/ann.json")
worker_topics=$(jq -r '.worker.topics | join(" ")' "$work/ann.json")
check "with the ConfigMap the worker consumes the jobs the scheduler produces (OKTASYNC_JOBS_TOPIC)" \
    worker_runs_jobs "$work/configmap.env"
partitions=$(grep -o -- '--partitions [0-9]*' "$src/deploy/compose/compose.yaml" | awk '{print $2}' | sort -u)
[ "$(wc -w <<<"$partitions")" = 1 ] || { bad "one partition count in deploy/compose (got: $partitions)"; finish; }
grep -q "$partitions partitions" "$src/docs/deploy.md" ||
    bad "docs/deploy.md does not state the $partitions partitions of deploy/compose"

# rules FILE: every rule as "name<TAB>jq filter that must be true".
rules() {
cat <<RULES
every object but the Namespace is in namespace oktasync	[.items[] | select(.kind != "Namespace") | .metadata.namespace == "oktasync"] | all
images point at the release registry	[.items[] | .. | .image? | strings] | length > 0 and all(. == "registry.example.internal/oktasync:0.1.0")
ScaledObject targets the worker Deployment	[.items[] | select(.kind == "ScaledObject")] as \$s | (\$s | length) == 1 and ([.items[] | select(.kind == "Deployment") | .metadata.name] | index(\$s[0].spec.scaleTargetRef.name)) != null and \$s[0].spec.scaleTargetRef.name == "oktasync-worker"
KEDA 1 <= minReplicaCount <= maxReplicaCount <= $partitions partitions	.items[] | select(.kind == "ScaledObject") | .spec | .minReplicaCount >= 1 and .minReplicaCount <= .maxReplicaCount and .maxReplicaCount <= $partitions
KEDA triggers are kafka, with a positive integer lagThreshold	[.items[] | select(.kind == "ScaledObject") | .spec.triggers[] | .type == "kafka" and (.metadata.lagThreshold | test("^[1-9][0-9]*$"))] | length > 0 and all
KEDA consumerGroup is the worker's group-id ($group)	.worker.group as \$g | [.items[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata.consumerGroup == \$g] | all
KEDA topics are ones the worker, given the ConfigMap, consumes ($worker_topics)	.worker.topics as \$t | [.items[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata.topic | IN(\$t[])] | all
KEDA scales on the events topic	[.items[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata.topic] | index("events") != null
KEDA scales on the jobs topic (full-sync jobs)	[.items[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata.topic] | index("jobs") != null
KEDA has one trigger per topic	[.items[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata.topic] | length == (unique | length)
KEDA bootstrapServers = the ConfigMap's OKTASYNC_KAFKA_BROKERS	(.items[] | select(.kind == "ConfigMap") | .data.OKTASYNC_KAFKA_BROKERS) as \$b | [.items[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata.bootstrapServers == \$b] | all
probes and scrape annotation use the admin port of OKTASYNC_ADMIN_LISTEN	(.items[] | select(.kind == "ConfigMap") | .data.OKTASYNC_ADMIN_LISTEN | split(":")[1] | tonumber) as \$p | [.items[] | select(.kind == "Deployment") | .spec.template | (.metadata.annotations["prometheus.io/port"] == (\$p | tostring)) and ([.spec.containers[].ports[]? | select(.name == "admin") | .containerPort == \$p] | length == 1 and all) and (.spec.containers[].readinessProbe.httpGet.path == "/readyz") and (.spec.containers[].livenessProbe.httpGet.path == "/healthz")] | length == 3 and all
every container runs a binary the image installs	[.items[] | (.spec.template.spec.containers // .spec.jobTemplate.spec.template.spec.containers // [])[] | (.command[0] | IN("oktasync-ingest", "oktasync-worker", "oktasync-scheduler", "oktasyncctl"))] | length == 4 and all
deployments read the ConfigMap and the Secret oktasync	[.items[] | select(.kind == "Deployment") | .spec.template.spec.containers[].envFrom | (map(.configMapRef.name) | index("oktasync") != null) and (map(.secretRef.name) | index("oktasync") != null)] | length == 3 and all
deployments run as non-root on a read-only root file system	[.items[] | select(.kind == "Deployment") | .spec.template.spec.containers[].securityContext | .runAsNonRoot == true and .readOnlyRootFilesystem == true and .allowPrivilegeEscalation == false] | length == 3 and all
the worker's grace period (>= 30 s) covers a retry back-off (max 10 s) and a commit	([.items[] | select(.kind == "Deployment" and .metadata.name == "oktasync-worker") | .spec.template.spec.terminationGracePeriodSeconds][0]) >= 30
the worker's grace period covers its bounded shutdown (the wait in hand + shutdown-timeout + 2 s teardown)	.worker.stop_ms as \$ms | ([.items[] | select(.kind == "Deployment" and .metadata.name == "oktasync-worker") | .spec.template.spec.terminationGracePeriodSeconds][0]) * 1000 > \$ms
RULES
}
while IFS=$'\t' read -r name filter; do
    check "$name" jqe "$filter" "$work/ann.json"
done < <(rules)
# docs/deploy.md states every trigger as "`TOPIC` (N messages per replica)".
while IFS=$'\t' read -r topic threshold; do
    check "docs/deploy.md states the KEDA trigger on $topic ($threshold messages per replica)" \
        grep -qF "\`$topic\` ($threshold messages per replica)" "$src/docs/deploy.md"
done < <(jq -r '.items[] | select(.kind == "ScaledObject") | .spec.triggers[].metadata | "\(.topic)\t\(.lagThreshold)"' "$work/all.json")
for n in $(grep -ohE 'OKTASYNC_[A-Z0-9_]+' "$work/all.yaml" | sort -u); do
    check "$n is a setting" known_setting "$n"
done

# Mutants: each broken render must be rejected by the rule named (the worker's settings are
# re-read from the mutant's ConfigMap).
mutant() {  # mutant RULE-PREFIX JQ-EDIT
    jq "$2" "$work/all.json" >"$work/mutant-raw.json" && annotate "$work/mutant-raw.json" "$work/mutant.json" ||
        { bad "mutant '$2' cannot be built"; return; }
    local filter; filter=$(rules | awk -F'\t' -v p="$1" 'index($1, p) == 1 {print $2; exit}')
    [ -n "$filter" ] || { bad "no rule starts with '$1'"; return; }
    if jqe "$filter" "$work/mutant.json"; then bad "rule '$1' accepts: $2"; else ok "rule '$1' rejects a broken copy"; fi
}
so='.items |= map(if .kind == "ScaledObject" then'
mutant "KEDA 1 <= min" "$so .spec.maxReplicaCount = $((partitions * 2)) else . end)"
mutant "KEDA 1 <= min" "$so .spec.minReplicaCount = 0 else . end)"
mutant "KEDA consumerGroup" "$so .spec.triggers[0].metadata.consumerGroup = \"workers\" else . end)"
mutant "KEDA topics" "$so .spec.triggers += [{type: \"kafka\", metadata: (.spec.triggers[0].metadata + {topic: \"dead-letter\"})}] else . end)"
mutant "KEDA topics" '.items |= map(if .kind == "ConfigMap" then .data |= del(.OKTASYNC_JOBS_TOPIC) else . end)'
mutant "KEDA scales on the jobs topic" "$so .spec.triggers |= map(select(.metadata.topic != \"jobs\")) else . end)"
mutant "KEDA has one trigger per topic" "$so .spec.triggers += [.spec.triggers[0]] else . end)"
mutant "KEDA triggers" "$so .spec.triggers[0].metadata.lagThreshold = \"lots\" else . end)"
mutant "ScaledObject targets" "$so .spec.scaleTargetRef.name = \"worker\" else . end)"
mutant "the worker's grace period covers" '.items |= map(if .kind == "ConfigMap" then .data.OKTASYNC_SHUTDOWN_TIMEOUT = "60s" else . end)'
mutant "probes and scrape" '.items |= map(if .kind == "ConfigMap" then .data.OKTASYNC_ADMIN_LISTEN = "0.0.0.0:9200" else . end)'
finish
