"""Renders a kustomization offline, for checking manifests where no kubectl or kustomize exists.

It implements the subset of kustomize this repository's deploy/k8s uses, with kustomize's meaning,
and refuses anything else rather than render it wrongly:
  resources (files and kustomization folders), namespace, labels (includeSelectors: false),
  images (newName/newTag/digest), replicas, patches (JSON 6902 ops, inline or from a file, with a
  target of kind and name), configMapGenerator (files or literals, disableNameSuffixHash: true).

  python3 scripts/deploy/render_kustomize.py deploy/k8s/overlays/example > rendered.yaml
"""
import copy
import os
import sys

import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas",
                  "patches", "configMapGenerator"}
# Kinds that have no namespace; the namespace transformer leaves them alone.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PriorityClass", "StorageClass", "PersistentVolume"}


class RenderError(Exception):
    pass


def load_yaml_documents(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def render(directory):
    """The resources of the kustomization in `directory`, transformed, in order."""
    path = os.path.join(directory, "kustomization.yaml")
    if not os.path.isfile(path):
        raise RenderError(f"{directory}: no kustomization.yaml")
    documents = load_yaml_documents(path)
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise RenderError(f"{path}: expected one mapping")
    kustomization = documents[0]
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise RenderError(f"{path}: this renderer does not implement {sorted(unknown)}")
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise RenderError(f"{path}: kind must be Kustomization")

    resources = []
    for entry in kustomization.get("resources", []):
        target = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(target):
            resources += render(target)
        elif os.path.isfile(target):
            resources += load_yaml_documents(target)
        else:
            raise RenderError(f"{path}: resource '{entry}' does not exist")
    for generator in kustomization.get("configMapGenerator", []):
        resources.append(config_map(directory, path, generator))

    if "namespace" in kustomization:
        for resource in resources:
            if resource.get("kind") not in CLUSTER_SCOPED:
                resource.setdefault("metadata", {})["namespace"] = kustomization["namespace"]
    for entry in kustomization.get("labels", []):
        if entry.get("includeSelectors", False) or entry.get("includeTemplates", False):
            raise RenderError(f"{path}: labels with includeSelectors/includeTemplates are not implemented")
        for resource in resources:
            resource.setdefault("metadata", {}).setdefault("labels", {}).update(entry.get("pairs", {}))
    for image in kustomization.get("images", []):
        apply_image(resources, image)
    for replica in kustomization.get("replicas", []):
        matches = [r for r in resources if r.get("metadata", {}).get("name") == replica["name"]
                   and r.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet")]
        if not matches:
            raise RenderError(f"{path}: replicas names '{replica['name']}', which is not a workload here")
        for resource in matches:
            resource["spec"]["replicas"] = replica["count"]
    for patch in kustomization.get("patches", []):
        apply_patch(directory, path, resources, patch)
    return resources


def config_map(directory, path, generator):
    options = generator.get("options", {})
    if not options.get("disableNameSuffixHash", False):
        raise RenderError(f"{path}: configMapGenerator '{generator.get('name')}' needs disableNameSuffixHash: true "
                          "(name hashing and reference rewriting are not implemented)")
    if generator.get("behavior", "create") != "create":
        raise RenderError(f"{path}: configMapGenerator behavior '{generator['behavior']}' is not implemented")
    data = {}
    for entry in generator.get("files", []):
        key, _, source = entry.partition("=") if "=" in entry else (os.path.basename(entry), "", entry)
        with open(os.path.join(directory, source)) as handle:
            data[key] = handle.read()
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    metadata = {"name": generator["name"]}
    if "namespace" in generator:
        metadata["namespace"] = generator["namespace"]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def pod_spec(resource):
    spec = resource.get("spec", {})
    if resource.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return spec.get("template", {}).get("spec")


def apply_image(resources, image):
    used = False
    for resource in resources:
        spec = pod_spec(resource)
        if not spec:
            continue
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            reference = container.get("image", "")
            name = reference.split("@")[0]
            # Split off a tag only after the last '/', so registry ports stay in the name.
            slash = name.rfind("/")
            colon = name.rfind(":")
            if colon > slash:
                name = name[:colon]
            if name != image["name"]:
                continue
            used = True
            new = image.get("newName", name)
            if "digest" in image:
                new += "@" + image["digest"]
            elif "newTag" in image:
                new += ":" + str(image["newTag"])
            else:
                new = reference.replace(name, image.get("newName", name), 1)
            container["image"] = new
    if not used:
        raise RenderError(f"images: no container uses image '{image['name']}'")


def apply_patch(directory, path, resources, patch):
    target = patch.get("target", {})
    if set(target) - {"kind", "name", "group", "version"}:
        raise RenderError(f"{path}: patch targets by {sorted(set(target) - {'kind', 'name', 'group', 'version'})} "
                          "are not implemented")
    if "patch" in patch:
        operations = yaml.safe_load(patch["patch"])
    elif "path" in patch:
        with open(os.path.join(directory, patch["path"])) as handle:
            operations = yaml.safe_load(handle)
    else:
        raise RenderError(f"{path}: a patch needs 'patch' or 'path'")
    if not isinstance(operations, list):
        raise RenderError(f"{path}: only JSON 6902 patches (a list of operations) are implemented")
    matches = [r for r in resources
               if all(r.get("kind") == target["kind"] if key == "kind" else
                      r.get("metadata", {}).get("name") == target["name"] if key == "name" else True
                      for key in target)]
    if not matches:
        raise RenderError(f"{path}: patch target {target} matches no resource")
    for resource in matches:
        for operation in operations:
            json6902(resource, operation, path)


def pointer(document, path_text, where):
    if not path_text.startswith("/"):
        raise RenderError(f"{where}: JSON pointer '{path_text}' must start with '/'")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path_text[1:].split("/")]
    parent = document
    for part in parts[:-1]:
        try:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        except (KeyError, IndexError, ValueError):
            raise RenderError(f"{where}: JSON pointer '{path_text}' does not exist (at '{part}')")
    return parent, parts[-1]


def json6902(document, operation, where):
    op = operation.get("op")
    parent, last = pointer(document, operation.get("path", ""), where)
    value = copy.deepcopy(operation.get("value"))
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, value)
        elif op == "replace":
            parent[index] = value
        elif op == "remove":
            del parent[index]
        else:
            raise RenderError(f"{where}: JSON patch op '{op}' is not implemented")
    else:
        if op in ("replace", "remove") and last not in parent:
            raise RenderError(f"{where}: cannot {op} '{operation['path']}': it does not exist")
        if op in ("add", "replace"):
            parent[last] = value
        elif op == "remove":
            del parent[last]
        else:
            raise RenderError(f"{where}: JSON patch op '{op}' is not implemented")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        resources = render(sys.argv[1])
    except RenderError as error:
        sys.exit(f"render_kustomize: {error}")
    yaml.safe_dump_all(resources, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
