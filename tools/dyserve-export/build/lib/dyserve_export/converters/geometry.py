"""Padding and window arithmetic shared by the standard converters: PyTorch's padding forms
(int, pair, "valid", "same") and TensorFlow's "SAME" (timm's Conv2dSame and pools), written as the
static [top, left, bottom, right] padding dyserve's format takes for the fixed example input size.

The spelling helpers resemble the reference's on purpose: converters share no code with the
interpreter that checks what they write."""

from __future__ import annotations

import math


def pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if len(value) == 1:
        return (int(value[0]), int(value[0]))
    return (int(value[0]), int(value[1]))


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow SAME: output ceil(size / stride); the odd extra row / column goes after (bottom / right)."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def torch_same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """PyTorch's padding="same" (stride 1): total dilation * (kernel - 1), the odd extra one after."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def padding_sides(padding, kernel, dilation, stride, in_hw, tf_same: bool = False) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of any padding form. Raises ValueError for what cannot be written."""
    (kh, kw), (dh, dw), (sh, sw) = pair(kernel), pair(dilation), pair(stride)
    if tf_same:
        (top, bottom), (left, right) = tf_same_padding(in_hw[0], kh, sh, dh), tf_same_padding(in_hw[1], kw, sw, dw)
        return top, left, bottom, right
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if (sh, sw) != (1, 1):
            raise ValueError(f"padding 'same' with stride {[sh, sw]}: PyTorch allows it only with stride 1")
        (top, bottom), (left, right) = torch_same_padding(kh, dh), torch_same_padding(kw, dw)
        return top, left, bottom, right
    if isinstance(padding, str):
        raise ValueError(f"padding {padding!r} (supported: an int, a pair, 'valid', 'same')")
    ph, pw = pair(padding)
    return ph, pw, ph, pw


def compact_pair(p: tuple[int, int]):
    return p[0] if p[0] == p[1] else [p[0], p[1]]


def compact_padding(sides: tuple[int, int, int, int]):
    """The shortest model.json spelling of (top, left, bottom, right)."""
    top, left, bottom, right = sides
    if top == bottom and left == right:
        return compact_pair((top, left))
    return [top, left, bottom, right]


def window_attrs(kernel, stride, sides, dilation=1, groups=1) -> dict:
    """Geometry attributes; stride always written (the format's pools default to stride 1, PyTorch's to the kernel)."""
    attrs = {"kernel_size": compact_pair(pair(kernel)), "stride": compact_pair(pair(stride))}
    if tuple(sides) != (0, 0, 0, 0):
        attrs["padding"] = compact_padding(tuple(sides))
    if pair(dilation) != (1, 1):
        attrs["dilation"] = compact_pair(pair(dilation))
    if groups != 1:
        attrs["groups"] = int(groups)
    return attrs


def pooled_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1,
                ceil_mode: bool = False) -> int:
    """PyTorch's pool output size (with its rule that the last window must start inside the input or left padding)."""
    span = size + pad_before + pad_after - dilation * (kernel - 1) - 1
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_before:
        out -= 1
    return out
