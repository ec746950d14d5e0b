#!/usr/bin/env python3
"""Prints the convolutions of a model.json as the fast engine runs them, one per line, for conv_bench.c:

    name in_channels height width out_channels kernel stride padding groups bias post_op

Shapes are propagated from the model's input (batch 1). A batch norm right after a convolution is
folded into it (bias = 1); a parameterless activation that is the only reader of the convolution (or
of its folded batch norm) becomes the primitive's post-op, as FastEngine decides. A one-input
`dynamic_conv2d` is listed like a `conv2d`: its convolution primitive is the same (the per-request
aggregation of its experts is not part of what conv_bench times). The walk follows the network's
trunk up to its head (global pooling and the classifier); it refuses what conv_bench cannot run as
one chain (a convolution after the head, e.g. squeeze-and-excitation) and geometry it does not
describe (non-square kernels, strides or paddings, dilation).
"""
import json
import sys

ACTIVATIONS = ("relu", "relu6", "hard_swish", "sigmoid", "silu", "hard_sigmoid")
SHAPE_PRESERVING = ("batch_norm", "add", "normalize", "dy_relu") + ACTIVATIONS
HEAD = ("global_avg_pool", "flatten", "linear", "softmax")


def square(node, key, default):
    value = node["attrs"].get(key, default)
    if isinstance(value, list):
        if len(set(value)) != 1:
            sys.exit(f"layers.py: {node['name']}: {key} {value} is not square; conv_bench takes one value")
        value = value[0]
    return value


def main(path):
    model = json.load(open(path))
    nodes = model["nodes"]
    _, channels, height, width = model["inputs"][0]["shape"]
    shapes = {model["inputs"][0]["name"]: (channels, height, width)}
    readers = {}
    for node in nodes:
        for name in node["inputs"]:
            readers.setdefault(name, []).append(node)

    def only_reader(name):
        found = readers.get(name, [])
        return found[0] if len(found) == 1 else None

    head = None
    for node in nodes:
        op = node["op"]
        if op in ("conv2d", "dynamic_conv2d"):
            if head is not None:
                sys.exit(f"layers.py: {node['name']} comes after the head ({head}): not one chain of convolutions")
            if len(node["inputs"]) != 1:
                sys.exit(f"layers.py: {node['name']}: externally routed dynamic convolutions are not supported")
            c, h, w = shapes[node["inputs"][0]]
            k, s, p = square(node, "kernel_size", None), square(node, "stride", 1), square(node, "padding", 0)
            g = node["attrs"].get("groups", 1)
            if square(node, "dilation", 1) != 1:
                sys.exit(f"layers.py: {node['name']}: dilated convolutions are not supported")
            oc = node["attrs"]["out_channels"]
            oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            shapes[node["name"]] = (oc, oh, ow)
            bias = "bias" in node["weights"]
            tail = node["name"]
            after = only_reader(tail)
            if after is not None and after["op"] == "batch_norm":
                bias, tail = True, after["name"]
                after = only_reader(tail)
            post = after["op"] if after is not None and after["op"] in ACTIVATIONS else "none"
            print(node["name"], c, h, w, oc, k, s, p, g, int(bias), post)
        elif op in SHAPE_PRESERVING:
            shapes[node["name"]] = shapes[node["inputs"][0]]
        elif op in HEAD:
            head = head or node["name"]
        else:
            sys.exit(f"layers.py: {node['name']}: op {op} is not supported")


if __name__ == "__main__":
    main(sys.argv[1])
