#!/usr/bin/env bash
# Validates what deploy/ holds, as far as it can be without a cluster: the alert rules and
# their unit tests (promtool), the Compose file (docker-compose config), the Kubernetes
# manifests against the Kubernetes API schemas (kubernetes-validate, strict), the custom
# resources (ServiceMonitor, PrometheusRule, KEDA ScaledObject) against what they refer to,
# the Pod Security "restricted" settings, the image tag against Cargo.toml's version, the
# alerts' runbooks, and the Grafana dashboard's JSON.
# Installs promtool, docker-compose (Debian packages) and kubernetes-validate (PyPI, in a
# virtual environment under target/) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-prometheus.sh >/dev/null
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts.test.yml

if ! command -v docker-compose >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-compose >/dev/null
fi
docker-compose -f deploy/docker-compose.yml config --quiet
echo "deploy/docker-compose.yml: valid"

VENV=target/deploy-check-venv
if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet kubernetes-validate==1.37.0
fi
"$VENV/bin/kubernetes-validate" --strict --quiet \
    deploy/k8s/configmap.yaml deploy/k8s/statefulset.yaml deploy/k8s/service.yaml deploy/k8s/pdb.yaml
echo "deploy/k8s: core manifests valid"

"$VENV/bin/python" - <<'PY'
import json, re, tomllib, yaml
service = yaml.safe_load(open("deploy/k8s/service.yaml"))
monitor = yaml.safe_load(open("deploy/k8s/servicemonitor.yaml"))
replicas = yaml.safe_load(open("deploy/k8s/statefulset.yaml"))
ports = {p["name"] for p in service["spec"]["ports"]}
assert monitor["kind"] == "ServiceMonitor"
assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items(), \
    "the ServiceMonitor does not select the Service"
for endpoint in monitor["spec"]["endpoints"]:
    assert endpoint["port"] in ports, f"ServiceMonitor port {endpoint['port']} is not a Service port"
pod_labels = replicas["spec"]["template"]["metadata"]["labels"]
assert service["spec"]["selector"].items() <= pod_labels.items(), "the Service selects no pod"
assert replicas["spec"]["serviceName"] == service["metadata"]["name"], \
    "the StatefulSet's serviceName is not the Service"
env = {e["name"]: e for e in replicas["spec"]["template"]["spec"]["containers"][0]["env"]}
assert "$(POD_NAME)" in env["NEWSFLOW_TRANSACTIONAL_ID"]["value"] \
    and env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", \
    "the transactional id does not follow the pod's stable name"
pod = replicas["spec"]["template"]["spec"]
container = pod["containers"][0]
assert env["NEWSFLOW_KAFKA_CONSUMER_GROUP_INSTANCE_ID"]["value"] == "$(POD_NAME)", \
    "the static group membership id does not follow the pod's stable name"

# Pod Security "restricted": non-root, no privilege escalation, no capabilities, seccomp.
pod_security, container_security = pod["securityContext"], container["securityContext"]
assert pod_security.get("runAsNonRoot") or container_security.get("runAsNonRoot"), "may run as root"
seccomp = container_security.get("seccompProfile") or pod_security.get("seccompProfile") or {}
assert seccomp.get("type") in ("RuntimeDefault", "Localhost"), "no seccomp profile"
assert container_security["allowPrivilegeEscalation"] is False, "privilege escalation allowed"
assert container_security["capabilities"]["drop"] == ["ALL"], "capabilities not all dropped"
for kind in ("requests", "limits"):
    assert "cpu" in container["resources"][kind], f"no CPU {kind}"

version = re.search(r'^version = "([^"]+)"', open("Cargo.toml").read(), re.M).group(1)
assert container["image"].rsplit(":", 1)[1] == version, \
    f"image {container['image']} is not tagged with Cargo.toml's version {version}"
budget = yaml.safe_load(open("deploy/k8s/pdb.yaml"))
assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow", \
    "unready pods would block node drains"

# The PrometheusRule is alerts.yml for the Prometheus Operator: the same rules.
alerts = yaml.safe_load(open("deploy/prometheus/alerts.yml"))
rule = yaml.safe_load(open("deploy/k8s/prometheusrule.yaml"))
assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
assert rule["spec"]["groups"] == alerts["groups"], \
    "deploy/k8s/prometheusrule.yaml differs from deploy/prometheus/alerts.yml: run scripts/prometheusrule.py"
for group in alerts["groups"]:
    for alert in group["rules"]:
        path, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        headings = re.findall(r"^## (\S+)$", open(path).read(), re.M)
        assert anchor in {h.lower() for h in headings}, f"{alert['alert']}: no runbook at {path}#{anchor}"

# The optional KEDA ScaledObject scales this StatefulSet on this group's input topic.
scaled = yaml.safe_load(open("deploy/k8s/optional/keda-scaledobject.yaml"))
config = tomllib.loads(
    yaml.safe_load(open("deploy/k8s/configmap.yaml"))["data"]["newsflow.toml"])
assert (scaled["apiVersion"], scaled["kind"]) == ("keda.sh/v1alpha1", "ScaledObject")
target = scaled["spec"]["scaleTargetRef"]
assert (target["kind"], target["name"]) == (replicas["kind"], replicas["metadata"]["name"]), \
    "the ScaledObject does not scale the StatefulSet"
assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"]
[trigger] = scaled["spec"]["triggers"]
assert trigger["type"] == "kafka"
assert (trigger["metadata"]["bootstrapServers"], trigger["metadata"]["consumerGroup"],
        trigger["metadata"]["topic"]) == (config["brokers"], config["group_id"], config["input_topic"]), \
    "the ScaledObject watches another cluster, group or topic than newsflow consumes"
assert int(trigger["metadata"]["lagThreshold"]) > 0

kustomization = yaml.safe_load(open("deploy/k8s/kustomization.yaml"))
for resource in kustomization["resources"]:
    open(f"deploy/k8s/{resource}").close()
dashboard = json.load(open("deploy/grafana/newsflow.json"))
assert dashboard["panels"], "the dashboard has no panels"
print("deploy/k8s: ServiceMonitor, Service and StatefulSet agree, transactional and group instance ids stable, "
      "restricted pod security, image tagged " + version + ", PrometheusRule same as alerts.yml, runbooks present, "
      "ScaledObject consistent; deploy/grafana/newsflow.json: valid")
PY
