"""deploy/ checked statically: no container runtime or cluster is reachable here (docs/operations.md says what
was never run). Each check is a mistake that would only show at deploy time: a file the image copies that
does not exist, a module a container starts that does not exist, a selector that selects nothing, a variable
Rasa expands that no one sets."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def kubernetes_objects() -> list[dict]:
    return [document for path in MANIFESTS for document in yaml.safe_load_all(path.read_text()) if document]


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def pod_specs() -> dict[str, dict]:
    return {item["metadata"]["name"]: item["spec"]["template"]["spec"] for item in kubernetes_objects()
            if item["kind"] in ("Deployment", "Job")}


def started_modules(command: list[str]) -> list[str]:
    return [command[index + 1] for index, word in enumerate(command[:-1]) if word == "-m"]


def test_the_image_copies_only_what_the_repository_has():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    sources = [source for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE) for source in line.split()[:-1]]
    generated = {"models/settle.tar.gz"}  # `make train` makes it before the build, as the Dockerfile says
    assert sources
    assert [source for source in sources if source not in generated and not (ROOT / source).exists()] == []
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in dockerfile  # SIGTERM reaches the servers


def test_every_object_is_complete_and_every_selector_selects_something():
    objects = kubernetes_objects()
    assert {item["kind"] for item in objects} == {"Secret", "Job", "Deployment", "Service", "HorizontalPodAutoscaler"}
    for item in objects:
        assert item["apiVersion"] and item["metadata"]["name"]
    deployments = {item["metadata"]["name"]: item for item in objects if item["kind"] == "Deployment"}
    for deployment in deployments.values():
        assert deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for service in (item for item in objects if item["kind"] == "Service"):
        assert any(service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
                   for deployment in deployments.values()), service["metadata"]["name"]
    for autoscaler in (item for item in objects if item["kind"] == "HorizontalPodAutoscaler"):
        assert autoscaler["spec"]["scaleTargetRef"]["name"] in deployments


def test_every_container_has_resources_and_every_server_a_readiness_probe():
    for name, spec in pod_specs().items():
        for container in spec["containers"]:
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], (name, container["name"])
            assert container["envFrom"] == [{"secretRef": {"name": "settle"}}]
            if name != "settle-migrate":
                assert "readinessProbe" in container, (name, container["name"])


def test_containers_start_modules_that_exist():
    commands = [container.get("command", []) for spec in pod_specs().values() for container in spec["containers"]]
    commands += [service.get("command", []) for service in compose()["services"].values() if isinstance(service.get("command"), list)]
    modules = {module for command in commands for module in started_modules(command)}
    assert modules == {"components.action_server", "uvicorn"}
    assert (ROOT / "components" / "action_server.py").exists()


def test_what_rasa_expands_in_the_deploy_endpoints_is_set_everywhere_rasa_runs():
    endpoints = (DEPLOY / "endpoints.yml").read_text()
    expanded = set(re.findall(r"\$\{(\w+)\}", endpoints))
    secret = next(item for item in kubernetes_objects() if item["kind"] == "Secret")
    rasa = compose()["services"]["rasa"]
    settle_env = (DEPLOY / "settle.env.example").read_text()
    assert expanded - set(secret["stringData"]) == set()
    assert expanded - set(rasa["environment"]) - set(re.findall(r"^(\w+)=", settle_env, re.MULTILINE)) == set()
    project = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    deployed = yaml.safe_load(endpoints)
    assert deployed["tracker_store"]["type"] == project["tracker_store"]["type"]  # nothing secret is stored
    assert deployed["lock_store"] == project["lock_store"]


def test_compose_starts_the_servers_after_the_migration_and_the_actions_beside_rasa():
    services = compose()["services"]
    for name in ("rasa", "web"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["command"] == ["settle", "migrate"]
    assert services["actions"]["network_mode"] == "service:rasa"  # the action server listens on loopback only
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, (name, needed)
