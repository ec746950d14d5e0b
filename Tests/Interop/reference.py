"""The offline answer: `dyserve run` on the same input, through .npy files."""
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from conftest import REPO, binary


def digits_batch(n: int, seed: int = 0) -> np.ndarray:
    """n deterministic 8x8 'digits': pixel values 0..16 like scikit-learn's load_digits."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 17, size=(n, 1, 8, 8)).astype(np.float32)


def dyserve_run(model: str, x: np.ndarray, temperature: float | None = None) -> np.ndarray:
    with tempfile.TemporaryDirectory() as d:
        inp, out = Path(d) / "x.npy", Path(d) / "y.npy"
        np.save(inp, np.ascontiguousarray(x, dtype=np.float32))
        args = [str(binary()), "run", "--model", model, "--input", str(inp), "--output", str(out)]
        if temperature is not None:
            args += ["--temperature", str(temperature)]
        subprocess.run(args, cwd=REPO, check=True, capture_output=True)
        return np.load(out)
