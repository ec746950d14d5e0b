"""Sends every request body example in docs/openapi.json to the running server and requires 200.

Schemathesis accepts a 400 as an answer to generated inference bodies (their tensor constraints are
beyond JSON Schema, see schemathesis.toml), so this is what proves the documented examples are
requests the server really serves. Usage: examples_answer.py BASE_URL docs/openapi.json
"""
import json
import sys
import urllib.error
import urllib.request


def resolved(document, node):
    """The node, or what its local $ref points to."""
    while isinstance(node, dict) and "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            document = document[part]
        node = document
    return node


def main() -> int:
    base, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        document = json.load(f)
    failures = 0
    sent = 0
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            path = template
            for parameter in (resolved(document, p) for p in operation.get("parameters", [])):
                if parameter["in"] == "path":
                    value = next(iter(parameter["examples"].values()))["value"]
                    path = path.replace("{" + parameter["name"] + "}", value)
            content = resolved(document, operation.get("requestBody", {})).get("content", {})
            for media_type, media in content.items():
                for name, example in media.get("examples", {}).items():
                    request = urllib.request.Request(base + path, method=method.upper(),
                                                     data=json.dumps(example["value"]).encode(),
                                                     headers={"Content-Type": media_type})
                    try:
                        with urllib.request.urlopen(request, timeout=60) as response:
                            status, body = response.status, response.read()
                    except urllib.error.HTTPError as error:
                        status, body = error.code, error.read()
                    sent += 1
                    label = f"{method.upper()} {path} example {name}"
                    if status == 200:
                        print(f"ok   {label}")
                    else:
                        failures += 1
                        print(f"FAIL {label}: {status} {body[:300]!r}")
    print(f"{sent - failures} passed, {failures} failed")
    return 1 if failures or sent == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
