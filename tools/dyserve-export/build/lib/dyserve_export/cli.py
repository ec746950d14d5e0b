"""dyserve-export: the command line.

    dyserve-export --model package.module:factory [--checkpoint FILE.pt|FILE.safetensors]
                   --input-shape 1,3,224,224 [--labels FILE] [--name NAME] [--rtol 1e-4] -o models/NAME

`factory` is called without arguments and returns the nn.Module (the architecture); the checkpoint's
weights are loaded into it strictly. A .pt / .pth checkpoint may hold a state_dict, a dict with the
state_dict under "state_dict", "model" or "model_state_dict", or a whole pickled module (loading one
runs code from the file: only use checkpoints you trust). The example input is drawn from a seeded
normal distribution.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Optional

import torch
import torch.nn as nn

from .export import export
from .registry import ConversionError
from .verify import VerificationError

STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model")


class CliError(Exception):
    """A problem with the command's inputs (factory, checkpoint, shape, labels)."""


def load_factory(spec: str) -> nn.Module:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CliError(f"--model {spec!r}: expected package.module:factory")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the current directory, as `python -m` would
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise CliError(f"--model {spec!r}: cannot import {module_name!r}: {type(error).__name__}: {error}") from error
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise CliError(f"--model {spec!r}: {module_name!r} has no {attr!r}")
        target = getattr(target, part)
    model = target() if callable(target) and not isinstance(target, nn.Module) else target
    if not isinstance(model, nn.Module):
        raise CliError(f"--model {spec!r}: returned {type(model).__name__}, not a torch.nn.Module")
    return model


def read_state_dict(path: Path) -> dict:
    if not path.is_file():
        raise CliError(f"--checkpoint {path}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        try:
            return load_file(str(path))
        except Exception as error:
            raise CliError(f"--checkpoint {path}: not a readable safetensors file: {error}") from error
    try:
        loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:
        try:  # a whole pickled module needs the full unpickler
            loaded = torch.load(str(path), map_location="cpu", weights_only=False)
        except Exception as error:
            raise CliError(f"--checkpoint {path}: cannot load it with torch.load: {type(error).__name__}: {error}") from error
    if isinstance(loaded, nn.Module):
        return loaded.state_dict()
    if isinstance(loaded, dict):
        for key in STATE_DICT_KEYS:
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
            if isinstance(loaded.get(key), nn.Module):
                return loaded[key].state_dict()
        if loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
            return dict(loaded)
    raise CliError(f"--checkpoint {path}: holds {type(loaded).__name__}, not a state_dict or a module")


def load_checkpoint(model: nn.Module, path: Path) -> None:
    state = read_state_dict(path)
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    result = model.load_state_dict(state, strict=False)
    problems = []
    if result.missing_keys:
        problems.append(f"missing {', '.join(result.missing_keys[:8])}" + (" ..." if len(result.missing_keys) > 8 else ""))
    if result.unexpected_keys:
        problems.append(f"unexpected {', '.join(result.unexpected_keys[:8])}"
                        + (" ..." if len(result.unexpected_keys) > 8 else ""))
    if problems:
        raise CliError(f"--checkpoint {path} does not fit the model: " + "; ".join(problems))


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError as error:
        raise CliError(f"--input-shape {text!r}: expected N,C,H,W") from error
    if len(shape) != 4 or min(shape) < 1:
        raise CliError(f"--input-shape {text!r}: expected four positive sizes N,C,H,W")
    return shape


def read_labels(path: Path) -> list[str]:
    if not path.is_file():
        raise CliError(f"--labels {path}: no such file")
    text = path.read_text()
    if path.suffix == ".json":
        labels = json.loads(text)
        if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
            raise CliError(f"--labels {path}: a JSON file must hold a list of strings")
        return labels
    return [line.strip() for line in text.splitlines() if line.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dyserve-export", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="package.module:factory returning the nn.Module")
    p.add_argument("--checkpoint", type=Path, help="weights: .pt / .pth (state_dict or module) or .safetensors")
    p.add_argument("--input-shape", required=True, help="example input N,C,H,W, e.g. 1,3,224,224")
    p.add_argument("--labels", type=Path, help="class names, one per line (or a JSON list)")
    p.add_argument("--name", help="model name (default: the output directory's name)")
    p.add_argument("--rtol", type=float, default=1e-4, help="allowed difference relative to the output's scale")
    p.add_argument("--seed", type=int, default=0, help="seed of the example input")
    p.add_argument("-o", "--output", required=True, type=Path, help="model directory to write")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        shape = parse_shape(args.input_shape)
        labels = read_labels(args.labels) if args.labels else None
        model = load_factory(args.model)
        if args.checkpoint:
            load_checkpoint(model, args.checkpoint)
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(args.seed))
        report = export(model, x, args.output, name=args.name, labels=labels, rtol=args.rtol)
    except (CliError, ConversionError, VerificationError, ValueError) as error:
        print(f"dyserve-export: error: {error}", file=sys.stderr)
        return 1
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
