"""Metric names referenced by a PromQL expression (or a Grafana `label_values(...)` query).

A small tokenizer rather than a full parser: it drops string literals, label matchers, range and
subquery brackets, grouping clauses and function calls, and keeps the identifiers left, which in
PromQL can only be metric names. Good enough to cross-check dashboards and alert rules against the
names a binary exposes; it errs towards reporting a name, so a typo never slips through."""
import re

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "offset", "atan2", "inf", "nan", "start", "end"}
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expression):
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expression)
    # Grafana variables: $name, ${name}, [[name]] and $__interval-style built-ins.
    text = re.sub(r"\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*|\[\[[^\]]*\]\]", "1", text)
    text = re.sub(r"\{[^}]*\}", " ", text)          # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)          # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in IDENTIFIER.finditer(text):
        word = match.group(0)
        following = text[match.end():].lstrip()
        if following.startswith("("):
            continue                                  # a function or aggregation
        if word.lower() in KEYWORDS:
            continue
        # Duration and number suffixes such as 5m or 1e3 are not identifiers at a word start.
        if match.start() > 0 and (text[match.start() - 1].isdigit() or text[match.start() - 1] == "."):
            continue
        names.add(word)
    return names


def label_values_metric(query):
    """The metric in a Grafana `label_values(metric{...}, label)` query, or None for `label_values(label)`."""
    match = re.match(r"\s*label_values\s*\((.*)\)\s*$", query, re.S)
    if not match:
        return None
    inner = match.group(1)
    depth = 0
    for index, char in enumerate(inner):
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif char == "," and depth == 0:
            return inner[:index]
    return None
