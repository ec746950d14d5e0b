"""Evaluates one assertion about a response body for scripts/smoke.sh.

`body` is the parsed JSON (None if the body is not JSON), `text` the raw text, and
`expected(path)` loads a JSON file. Exit status 0 when the assertion holds.
"""
import json
import sys


def main() -> int:
    path, assertion = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8", errors="replace").read()
    try:
        body = json.loads(text)
    except ValueError:
        body = None

    def expected(file):
        with open(file, encoding="utf-8") as handle:
            return json.load(handle)

    try:
        return 0 if eval(assertion, {"body": body, "text": text, "expected": expected}) else 1
    except Exception as error:  # a missing key or wrong type is a failed check, not a crash
        print(f"  assertion raised {type(error).__name__}: {error}", file=sys.stderr)
        return 1


sys.exit(main())
