#!/usr/bin/env bash
# Validates what deploy/ holds, as far as it can be without a cluster: the alert rules and
# their unit tests (promtool), the Compose file (docker-compose config), the Kubernetes
# manifests against the Kubernetes API schemas (kubernetes-validate, strict), the
# ServiceMonitor against the Service it selects, and the Grafana dashboard's JSON.
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
import json, yaml
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
kustomization = yaml.safe_load(open("deploy/k8s/kustomization.yaml"))
for resource in kustomization["resources"]:
    open(f"deploy/k8s/{resource}").close()
dashboard = json.load(open("deploy/grafana/newsflow.json"))
assert dashboard["panels"], "the dashboard has no panels"
print("deploy/k8s: ServiceMonitor, Service and StatefulSet agree, transactional ids stable; deploy/grafana/newsflow.json: valid")
PY
