"""Unit tests of the deploy checker's own parsers: the offline kustomize renderer, the PromQL name
scan and the Prometheus exposition reader. Run by scripts/check-deploy.sh (`python -m unittest`)."""
import os
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promql_names import label_values_metric, metric_names  # noqa: E402
from render_kustomize import RenderError, render  # noqa: E402
from serve_binary import metric_names as exposed_names  # noqa: E402

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: "registry:5000/web:1.0"}
"""


class KustomizeRendererTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()

    def write(self, name, text):
        full = os.path.join(self.folder, name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as handle:
            handle.write(textwrap.dedent(text))
        return full

    def test_renders_namespace_labels_images_replicas_patches_and_generator(self):
        self.write("base/deployment.yaml", DEPLOYMENT)
        self.write("base/app.conf", "key: value\n")
        self.write("base/kustomization.yaml", """
            resources: [deployment.yaml]
            configMapGenerator:
              - name: conf
                files: [app.conf]
                options: {disableNameSuffixHash: true}
            """)
        self.write("overlay/kustomization.yaml", """
            namespace: prod
            resources: [../base]
            labels: [{pairs: {tier: front}, includeSelectors: false}]
            images: [{name: "registry:5000/web", newName: other/web, newTag: "2.0"}]
            replicas: [{name: web, count: 4}]
            patches:
              - target: {kind: Deployment, name: web}
                patch: |-
                  - op: add
                    path: /spec/template/spec/containers/0/args
                    value: ["--fast"]
            """)
        deployment, config = render(os.path.join(self.folder, "overlay"))
        self.assertEqual(deployment["metadata"]["namespace"], "prod")
        self.assertEqual(deployment["metadata"]["labels"], {"tier": "front"})
        self.assertEqual(deployment["spec"]["selector"], {"matchLabels": {"app": "web"}})  # selectors untouched
        self.assertEqual(deployment["spec"]["replicas"], 4)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["image"], "other/web:2.0")
        self.assertEqual(container["args"], ["--fast"])
        self.assertEqual(config, {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "conf", "namespace": "prod", "labels": {"tier": "front"}},
                                  "data": {"app.conf": "key: value\n"}})

    def expect_error(self, kustomization, fragment, files=None):
        self.write("k/deployment.yaml", DEPLOYMENT)
        for name, text in (files or {}).items():
            self.write(f"k/{name}", text)
        self.write("k/kustomization.yaml", kustomization)
        with self.assertRaises(RenderError) as caught:
            render(os.path.join(self.folder, "k"))
        self.assertIn(fragment, str(caught.exception))

    def test_refuses_what_it_does_not_implement(self):
        self.expect_error("resources: [deployment.yaml]\nnamePrefix: x-\n", "does not implement ['namePrefix']")
        self.expect_error("resources: [deployment.yaml]\nlabels: [{pairs: {a: b}, includeSelectors: true}]\n",
                          "includeSelectors")
        self.expect_error("configMapGenerator: [{name: c, literals: [a=b]}]\n", "disableNameSuffixHash")
        self.expect_error("resources: [deployment.yaml]\npatches: [{target: {kind: Deployment}, patch: 'spec: {}'}]\n",
                          "only JSON 6902")

    def test_reports_broken_references(self):
        self.expect_error("resources: [missing.yaml]\n", "'missing.yaml' does not exist")
        self.expect_error("resources: [deployment.yaml]\nreplicas: [{name: nope, count: 2}]\n", "not a workload")
        self.expect_error("resources: [deployment.yaml]\nimages: [{name: nope, newTag: '1'}]\n", "no container uses")
        self.expect_error("resources: [deployment.yaml]\npatches: [{target: {kind: Service}, patch: '[]'}]\n",
                          "matches no resource")
        self.expect_error("resources: [deployment.yaml]\npatches: [{target: {kind: Deployment}, "
                          "patch: '[{op: replace, path: /spec/nothing/here, value: 1}]'}]\n", "does not exist")
        self.expect_error("resources: [deployment.yaml]\npatches: [{target: {kind: Deployment}, "
                          "patch: '[{op: move, path: /spec/replicas}]'}]\n", "op 'move' is not implemented")

    def test_rejects_a_folder_without_kustomization_and_malformed_files(self):
        with self.assertRaises(RenderError):
            render(self.folder)
        self.expect_error("- just\n- a list\n", "expected one mapping")


class PromQLNameTests(unittest.TestCase):
    def test_finds_metrics_not_functions_labels_keywords_or_strings(self):
        expression = ('histogram_quantile(0.99, sum by (le, model) (rate(a_seconds_bucket{code=~"b_total"}[5m])))'
                      ' / ignoring(code) group_left sum without (x) (c_total offset 1h) and on(pod) d > bool 2e3')
        self.assertEqual(metric_names(expression), {"a_seconds_bucket", "c_total", "d"})

    def test_grafana_variables_and_subqueries(self):
        self.assertEqual(metric_names('max_over_time(rate(x_total{ns=~"$namespace"}[$__rate_interval])[1h:5m])'),
                         {"x_total"})
        self.assertEqual(metric_names("${metric}"), set())

    def test_label_values(self):
        self.assertEqual(label_values_metric('label_values(m{a=~"x,y"}, model)'), 'm{a=~"x,y"}')
        self.assertIsNone(label_values_metric("label_values(model)"))
        self.assertIsNone(label_values_metric("up"))


class ExpositionTests(unittest.TestCase):
    def test_reads_families_and_samples(self):
        text = ("# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 3\n"
                "# TYPE h_seconds histogram\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 0.1\n\n")
        self.assertEqual(exposed_names(text), {"a_total", "h_seconds", "h_seconds_bucket", "h_seconds_sum"})


class APIKeysMountTests(unittest.TestCase):
    """check_deploy.api_keys_mount_problems: auth.keys_file in a Secret only the service can read."""

    @staticmethod
    def pod(volume, fs_group=True):
        pod = {"volumes": [volume], "securityContext": {"fsGroup": 10001} if fs_group else {}}
        container = {"volumeMounts": [{"name": "keys", "mountPath": "/etc/dyserve-auth", "readOnly": True}]}
        return pod, container

    def problems(self, volume, fs_group=True, keys_file="/etc/dyserve-auth/keys"):
        from check_deploy import api_keys_mount_problems
        return api_keys_mount_problems(*self.pod(volume, fs_group), keys_file)

    def test_group_readable_secret_with_fs_group_passes(self):
        secret = {"name": "keys", "secret": {"secretName": "k", "defaultMode": 0o440, "items": [{"key": "keys", "path": "keys"}]}}
        self.assertEqual(self.problems(secret), [])

    def test_refuses_what_others_could_read_or_the_service_could_not(self):
        world = {"name": "keys", "secret": {"secretName": "k"}}  # Kubernetes' default mode is 0644
        self.assertIn("other users could read them", " ".join(self.problems(world)))
        owner_only = {"name": "keys", "secret": {"secretName": "k", "defaultMode": 0o400}}
        self.assertIn("through fsGroup", " ".join(self.problems(owner_only)))
        group = {"name": "keys", "secret": {"secretName": "k", "defaultMode": 0o440}}
        self.assertIn("through fsGroup", " ".join(self.problems(group, fs_group=False)))
        config_map = {"name": "keys", "configMap": {"name": "k"}}
        self.assertIn("not in a volume mounted from a Secret", " ".join(self.problems(config_map)))
        other_item = {"name": "keys", "secret": {"secretName": "k", "defaultMode": 0o440, "items": [{"key": "keys", "path": "other"}]}}
        self.assertIn("no item with path keys", " ".join(self.problems(other_item)))
        self.assertIn("not in a volume", " ".join(self.problems(group, keys_file="/elsewhere/keys")))


if __name__ == "__main__":
    unittest.main()
