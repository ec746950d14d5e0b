#!/usr/bin/env python3
"""Prints the convolutions of a model.json as the fast engine runs them, one per line, for conv_bench.c:

    name in_channels height width out_channels kernel stride padding groups bias post_op

Shapes are propagated from the model's input (batch 1). A batch norm right after a convolution is
folded into it (bias = 1); a ReLU6 / ReLU that is the only reader of the convolution (or of its folded
batch norm) becomes the primitive's post-op, as FastEngine decides. Ops other than convolutions,
batch norms, activations, adds and normalisation end the walk (the pooling and classifier head).
"""
import json
import sys


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

    for node in nodes:
        op, attrs = node["op"], node["attrs"]
        source = shapes.get(node["inputs"][0]) if node["inputs"] else None
        if op == "conv2d":
            c, h, w = source
            k, s, p, g = attrs["kernel_size"], attrs["stride"], attrs["padding"], attrs["groups"]
            oc = attrs["out_channels"]
            oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            shapes[node["name"]] = (oc, oh, ow)
            bias = "bias" in node["weights"]
            tail = node["name"]
            after = only_reader(tail)
            if after is not None and after["op"] == "batch_norm":
                bias, tail = True, after["name"]
                after = only_reader(tail)
            post = after["op"] if after is not None and after["op"] in ("relu6", "relu") else "none"
            print(node["name"], c, h, w, oc, k, s, p, g, int(bias), post)
        elif op in ("batch_norm", "relu6", "relu", "add", "normalize"):
            shapes[node["name"]] = source
        else:
            break


if __name__ == "__main__":
    main(sys.argv[1])
