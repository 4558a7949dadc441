"""charts/: `helm lint --strict` is clean and `helm template` renders what the chart promises for each mode.

These run the real helm binary (built by e2e/controlplane/build.sh) but need no cluster: they check the rendered
objects a user would get - refused typos, the restricted Pod security, probes and drain timing, RBAC per mode,
egress that never reaches 169.254.0.0/16, the migration hook - in seconds.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
from typing import Any

import pytest
import yaml

from e2e import chart
from e2e.chart import REQUIRED, Doc, Helm, named, of_kind
from e2e.controlplane import binaries
from gateway.config import crdgen

CHART = chart.CHART


@pytest.fixture(scope="module")
def helm(control_plane_binaries: binaries.Binaries) -> Helm:
    return Helm(control_plane_binaries.helm)


@pytest.fixture(scope="module")
def default(helm: Helm) -> list[Doc]:
    return helm.template(REQUIRED)


def env_of(container: Doc) -> dict[str, Any]:
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container["env"]}


def test_both_charts_lint_clean_in_strict_mode(helm: Helm, tmp_path: pathlib.Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(REQUIRED))
    for args in (
        ("lint", "--strict", str(CHART), "--values", str(values)),
        ("lint", "--strict", str(CHART), "--values", str(values), "--set", "operator.mode=namespaced",
         "--set", "operator.watchNamespaces={team-a,team-b}", "--set", "ingress.enabled=true"),
        ("lint", "--strict", str(CHART), "--set", "database.embedded=true",
         "--set", "vault.existingSecret.name=tokenhub-vault"),
        ("lint", "--strict", str(chart.CRD_CHART)),
    ):  # fmt: skip
        result = helm.run(*args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"gateway": {"replica": 3}}, "additional properties 'replica' not allowed"),
        ({"operator": {"mode": "cluster-wide"}}, "/operator/mode"),
        ({"operator": {"priorities": [100, 100]}}, "/operator/priorities"),
        ({"gateway": {"drain": {"delaySeconds": -1, "timeoutSeconds": 30}}}, "/gateway/drain/delaySeconds"),
        ({"networkPolicy": {"deniedCIDRs": ["metadata"]}}, "/networkPolicy/deniedCIDRs/0"),
        ({"logLevel": "verbose"}, "/logLevel"),
    ],
)
def test_the_values_schema_refuses_a_typo_or_a_wrong_value(helm: Helm, values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(chart.RenderFailed) as refused:
        helm.template(chart.merge(REQUIRED, values))
    assert complaint in refused.value.stderr


def test_the_database_and_vault_secrets_are_required_unless_the_dev_database_is_chosen(helm: Helm) -> None:
    with pytest.raises(chart.RenderFailed, match=r"database\.existingSecret\.name is required"):
        helm.template({"vault": REQUIRED["vault"]})
    with pytest.raises(chart.RenderFailed, match=r"vault\.existingSecret\.name is required"):
        helm.template({"database": REQUIRED["database"]})
    docs = helm.template({"database": {"embedded": True}, "vault": REQUIRED["vault"]})
    assert named(docs, "Secret", "tokenhub-postgres")["stringData"]["url"].startswith("postgresql://tokenhub:")
    assert not of_kind(docs, "Job"), "the dev database is migrated by the processes themselves"
    assert named(docs, "ConfigMap", "tokenhub-settings")["data"]["TOKENHUB_MIGRATE"] == "auto"


def test_the_gateway_pod_is_restricted_probed_and_drains_within_its_grace_period(default: list[Doc]) -> None:
    deployment = named(default, "Deployment", "tokenhub-gateway")
    pod = deployment["spec"]["template"]["spec"]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the UID Dockerfile.gateway creates
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["command"] == ["tokenhub"] and container["args"] == ["serve"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8080, "metrics": 9090}
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]

    settings = named(default, "ConfigMap", "tokenhub-settings")["data"]
    data_dir = settings["TOKENHUB_DATA_DIR"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts[data_dir]], "the data/spool dir must be writable on a read-only root"
    env = env_of(container)
    assert env["TOKENHUB_DATA_DIR"] == {"configMapKeyRef": {"name": "tokenhub-settings", "key": "TOKENHUB_DATA_DIR"}}
    assert env["TOKENHUB_DATABASE_URL"] == {"secretKeyRef": {"name": "tokenhub-db", "key": "url"}}
    assert env["TOKENHUB_VAULT_PASSWORD"] == {"secretKeyRef": {"name": "tokenhub-vault", "key": "password"}}
    assert settings["TOKENHUB_MIGRATE"] == "check", "the hook Job migrates; serving roles need no DDL"
    assert settings["TOKENHUB_METRICS_PORT"] == "9090"

    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    timeout = float(settings["TOKENHUB_DRAIN_TIMEOUT_SECONDS"])
    assert pre_stop == 5 and settings["TOKENHUB_DRAIN_DELAY_SECONDS"] == "0", "the preStop sleep holds the delay"
    assert pod["terminationGracePeriodSeconds"] > pre_stop + timeout
    spread = pod["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


def test_a_longer_drain_lengthens_the_grace_period(helm: Helm) -> None:
    docs = helm.template(chart.merge(REQUIRED, {"gateway": {"drain": {"delaySeconds": 20, "timeoutSeconds": 300}}}))
    pod = named(docs, "Deployment", "tokenhub-gateway")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > 320
    assert pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] == 20


def test_the_service_is_named_tokenhub_on_port_80_and_metrics_stay_off_it(default: list[Doc]) -> None:
    service = named(default, "Service", "tokenhub")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "appProtocol": "http"}
    ]
    metrics = named(default, "Service", "tokenhub-metrics")
    assert [p["name"] for p in metrics["spec"]["ports"]] == ["metrics"]


def test_the_service_monitor_scrapes_the_metrics_port_not_the_public_one(helm: Helm) -> None:
    docs = helm.template(chart.merge(REQUIRED, {"serviceMonitor": {"enabled": True}}))
    monitor = named(docs, "ServiceMonitor", "tokenhub-gateway")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    selected = monitor["spec"]["selector"]["matchLabels"]
    matches = [
        s["metadata"]["name"] for s in of_kind(docs, "Service") if selected.items() <= s["metadata"]["labels"].items()
    ]
    assert matches == ["tokenhub-metrics"]


def test_hpa_and_pdb_target_the_gateway(default: list[Doc]) -> None:
    hpa = named(default, "HorizontalPodAutoscaler", "tokenhub-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tokenhub-gateway"}
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    pdb = named(default, "PodDisruptionBudget", "tokenhub-gateway")
    pod_labels = named(default, "Deployment", "tokenhub-gateway")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_two_operator_deployments_run_with_distinct_priorities_and_a_cluster_role(default: list[Doc]) -> None:
    operators = [d for d in of_kind(default, "Deployment") if "operator" in d["metadata"]["name"]]
    assert len(operators) == 2
    priorities = []
    for deployment in operators:
        assert deployment["spec"]["replicas"] == 1
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = env_of(container)
        priorities.append(env["TOKENHUB_OPERATOR_PRIORITY"])
        assert env["TOKENHUB_OPERATOR_PEERING"] == "tokenhub-tokenhub"
        assert "TOKENHUB_WATCH_NAMESPACES" not in env
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert sorted(priorities) == ["100", "200"]
    assert named(default, "ClusterKopfPeering", "tokenhub-tokenhub")
    role = named(default, "ClusterRole", "tokenhub-tokenhub-operator")
    assert {
        "apiGroups": ["kopf.dev"],
        "resources": ["clusterkopfpeerings"],
        "verbs": ["list", "watch", "patch"],
    } in role["rules"]
    binding = named(default, "ClusterRoleBinding", "tokenhub-tokenhub-operator")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "tokenhub-operator", "namespace": "tokenhub"}]


def test_the_chart_roles_match_the_plain_manifests(helm: Helm, default: list[Doc]) -> None:
    """k8s/operator/rbac.yaml and rbac-namespaced.yaml (what the process-based e2e binds) and the chart agree."""
    manifests = chart.ROOT / "k8s" / "operator"
    plain = [d for d in yaml.safe_load_all((manifests / "rbac.yaml").read_text()) if d]
    assert (
        named(plain, "ClusterRole", "tokenhub-operator")["rules"]
        == named(default, "ClusterRole", "tokenhub-tokenhub-operator")["rules"]
    )
    plain = [d for d in yaml.safe_load_all((manifests / "rbac-namespaced.yaml").read_text()) if d]
    docs = helm.template(chart.merge(REQUIRED, {"operator": {"mode": "namespaced", "watchNamespaces": ["team-a"]}}))
    assert named(plain, "Role", "tokenhub-operator")["rules"] == named(docs, "Role", "tokenhub-operator")["rules"]


def test_namespaced_mode_renders_roles_per_namespace_and_no_cluster_roles(helm: Helm) -> None:
    docs = helm.template(
        chart.merge(REQUIRED, {"operator": {"mode": "namespaced", "watchNamespaces": ["team-a", "team-b"]}})
    )
    assert not of_kind(docs, "ClusterRole") and not of_kind(docs, "ClusterRoleBinding")
    assert not of_kind(docs, "ClusterKopfPeering")
    assert sorted(r["metadata"]["namespace"] for r in of_kind(docs, "Role")) == ["team-a", "team-b"]
    assert sorted(r["metadata"]["namespace"] for r in of_kind(docs, "RoleBinding")) == ["team-a", "team-b"]
    assert sorted(p["metadata"]["namespace"] for p in of_kind(docs, "KopfPeering")) == ["team-a", "team-b"]
    for role in of_kind(docs, "Role"):
        assert any(rule["resources"] == ["kopfpeerings"] for rule in role["rules"])
    operator = named(docs, "Deployment", "tokenhub-operator-0")
    assert env_of(operator["spec"]["template"]["spec"]["containers"][0])["TOKENHUB_WATCH_NAMESPACES"] == "team-a,team-b"


def test_namespaced_mode_without_namespaces_is_refused(helm: Helm) -> None:
    with pytest.raises(chart.RenderFailed, match="watchNamespaces"):
        helm.template(chart.merge(REQUIRED, {"operator": {"mode": "namespaced"}}))


def _egress_rules(docs: list[Doc]) -> list[tuple[str, Doc]]:
    return [
        (p["metadata"]["name"], rule) for p in of_kind(docs, "NetworkPolicy") for rule in p["spec"].get("egress", [])
    ]


@pytest.mark.parametrize("embedded", [False, True])
def test_no_egress_rule_reaches_the_metadata_range(helm: Helm, embedded: bool) -> None:
    values = chart.merge(REQUIRED, {"database": {"embedded": embedded}})
    docs = helm.template(values)
    rules = _egress_rules(docs)
    assert rules
    for name, rule in rules:
        ports = {p["port"] for p in rule.get("ports", [])}
        if "to" not in rule:
            assert ports == {53}, f"{name}: only DNS may go anywhere"
            continue
        for peer in rule["to"]:
            if "ipBlock" in peer:
                assert peer["ipBlock"]["cidr"] != "0.0.0.0/0" or "169.254.0.0/16" in peer["ipBlock"]["except"], name
            else:
                assert "podSelector" in peer, name
    for policy in of_kind(docs, "NetworkPolicy"):
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    gateway = named(docs, "NetworkPolicy", "tokenhub-gateway")
    assert {p["port"] for p in gateway["spec"]["ingress"][0]["ports"]} == {"http"}


def test_the_migration_job_is_a_pre_install_and_pre_upgrade_hook_that_needs_nothing_of_the_release(
    default: list[Doc],
) -> None:
    job = named(default, "Job", "tokenhub-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    pod = job["spec"]["template"]["spec"]
    assert "serviceAccountName" not in pod and pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["command"] == ["tokenhub"] and container["args"] == ["migrate"]
    assert "configMapKeyRef" not in json.dumps(container), "a pre-install hook runs before the release's ConfigMap"
    assert env_of(container)["TOKENHUB_DATABASE_URL"] == {"secretKeyRef": {"name": "tokenhub-db", "key": "url"}}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_an_owner_secret_and_a_grant_go_to_the_migration_job_only(helm: Helm) -> None:
    values = {"database": {"ownerSecret": {"name": "tokenhub-db-owner"}, "grantTo": "tokenhub_app"}}
    docs = helm.template(chart.merge(REQUIRED, values))
    (container,) = named(docs, "Job", "tokenhub-migrate")["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate", "--grant-to", "tokenhub_app"]
    assert env_of(container)["TOKENHUB_DATABASE_URL"]["secretKeyRef"]["name"] == "tokenhub-db-owner"
    gateway = named(docs, "Deployment", "tokenhub-gateway")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(gateway)["TOKENHUB_DATABASE_URL"]["secretKeyRef"]["name"] == "tokenhub-db"


def test_changed_settings_change_the_pod_template_so_an_upgrade_rolls(helm: Helm, default: list[Doc]) -> None:
    louder = helm.template(chart.merge(REQUIRED, {"logLevel": "debug"}))
    for name in ("tokenhub-gateway", "tokenhub-operator-0"):
        before = named(default, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        after = named(louder, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        assert before["checksum/settings"] != after["checksum/settings"]


def test_dashboards_and_alert_rules_ship_from_files(helm: Helm, tmp_path: pathlib.Path) -> None:
    """The templates read files/ whatever it holds: a copy of the chart with two dashboards and a rules file."""
    copy = tmp_path / "tokenhub"
    shutil.copytree(CHART, copy)
    shutil.rmtree(copy / "files", ignore_errors=True)
    (copy / "files" / "dashboards").mkdir(parents=True)
    dashboard = {"title": "Overview", "panels": [{"legendFormat": "{{provider}}"}]}
    (copy / "files" / "dashboards" / "overview.json").write_text(json.dumps(dashboard))
    (copy / "files" / "dashboards" / "keys_budgets.json").write_text(json.dumps({"title": "Keys"}))
    groups = [
        {
            "name": "tokenhub",
            "rules": [{"alert": "Down", "expr": "up == 0", "annotations": {"summary": "{{ $labels.pod }} down"}}],
        }
    ]
    (copy / "files" / "prometheus-rules.yaml").write_text(yaml.safe_dump({"groups": groups}))

    off = helm.template(REQUIRED, chart=copy)
    assert not of_kind(off, "PrometheusRule")
    assert not [c for c in of_kind(off, "ConfigMap") if "grafana_dashboard" in c["metadata"]["labels"]]

    docs = helm.template(
        chart.merge(REQUIRED, {"dashboards": {"enabled": True}, "prometheusRule": {"enabled": True}}), chart=copy
    )
    boards = {
        c["metadata"]["name"]: c
        for c in of_kind(docs, "ConfigMap")
        if c["metadata"]["labels"].get("grafana_dashboard") == "1"
    }
    assert sorted(boards) == ["tokenhub-dashboard-keys-budgets", "tokenhub-dashboard-overview"]
    assert json.loads(boards["tokenhub-dashboard-overview"]["data"]["overview.json"]) == dashboard
    rule = named(docs, "PrometheusRule", "tokenhub")
    assert rule["spec"]["groups"] == groups, "Prometheus templates ({{ $labels }}) pass through untouched"

    relabelled = helm.template(
        chart.merge(REQUIRED, {"dashboards": {"enabled": True, "label": "grafana_folder", "labelValue": "llm"}}),
        chart=copy,
    )
    assert {c["metadata"]["labels"].get("grafana_folder") for c in of_kind(relabelled, "ConfigMap")} >= {"llm"}


def test_both_charts_ship_the_generated_crds(helm: Helm) -> None:
    """charts/tokenhub/crds and charts/tokenhub-crds render exactly what `python -m gateway.config.crdgen` writes."""
    expected = {
        yaml.safe_load(text)["metadata"]["name"]: yaml.safe_load(text) for text in crdgen.rendered_files().values()
    }
    rendered = helm.template(REQUIRED, extra=("--include-crds",))
    in_app_chart = {d["metadata"]["name"]: d for d in of_kind(rendered, "CustomResourceDefinition")}
    assert in_app_chart == expected
    crd_chart = {d["metadata"]["name"]: d for d in helm.template({}, chart=chart.CRD_CHART)}
    assert sorted(crd_chart) == sorted(expected)
    for name, crd in crd_chart.items():
        assert crd["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}
        assert crd == expected[name]


@pytest.mark.parametrize("dockerfile", ["Dockerfile.gateway", "Dockerfile.operator"])
def test_the_images_match_the_chart(dockerfile: str) -> None:
    """Multi-stage, a base pinned to a patch release, the chart's UID, no embedded Postgres; the gateway's data dir."""
    text = (chart.ROOT / dockerfile).read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    uid = values["securityContext"]["uid"]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.\d+\.\d+-slim-\w+$", text, re.M), "base pinned to a patch release"
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert f"--uid {uid}" in text and f"USER {uid}:{uid}" in text
    assert '! /opt/tokenhub/bin/python -c "import pgserver"' in text, "the build fails if pgserver slipped in"
    entrypoint = "tokenhub" if dockerfile == "Dockerfile.gateway" else "tokenhub-operator"
    assert f'ENTRYPOINT ["{entrypoint}"]' in text
    if dockerfile == "Dockerfile.gateway":
        assert f"TOKENHUB_DATA_DIR={values['gateway']['dataDir']}" in text
        assert f"TOKENHUB_PORT={values['gateway']['port']}" in text


def test_the_egress_policy_reaches_gateway_and_operator_and_the_proxy_the_gateway_only(helm: Helm) -> None:
    egress = {"providerAllow": "10.20.0.0/16,*.svc", "httpsProxy": "http://proxy.infra.svc:3128", "noProxy": ".svc"}
    docs = helm.template(chart.merge(REQUIRED, {"egress": egress}))
    settings = of_kind(docs, "ConfigMap")
    [data] = [doc["data"] for doc in settings if "TOKENHUB_PROVIDER_ALLOW" in doc.get("data", {})]
    assert (data["TOKENHUB_PROVIDER_ALLOW"], data["HTTPS_PROXY"], data["NO_PROXY"]) == (
        "10.20.0.0/16,*.svc",
        "http://proxy.infra.svc:3128",
        ".svc",
    )
    assert "TOKENHUB_PROVIDER_DENY" not in data and "HTTP_PROXY" not in data, "empty values are left out"
    [gateway] = named(docs, "Deployment", "tokenhub-gateway")["spec"]["template"]["spec"]["containers"]
    assert {"TOKENHUB_PROVIDER_ALLOW", "HTTPS_PROXY", "NO_PROXY"} <= set(env_of(gateway))
    operators = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].startswith("tokenhub-operator")]
    assert len(operators) == 2
    for operator in operators:
        [container] = operator["spec"]["template"]["spec"]["containers"]
        assert "TOKENHUB_PROVIDER_ALLOW" in env_of(container) and "HTTPS_PROXY" not in env_of(container)
    default_env = env_of(
        named(helm.template(REQUIRED), "Deployment", "tokenhub-gateway")["spec"]["template"]["spec"]["containers"][0]
    )
    assert "TOKENHUB_PROVIDER_ALLOW" not in default_env, "unset: the gateway's own default applies"
