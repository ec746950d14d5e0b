"""The base of every reference op: one model.json node."""

from __future__ import annotations

import torch
import torch.nn as nn


class Node(nn.Module):
    """One model.json node."""

    op: str = ""
    arity: int = 1

    def attrs(self) -> dict:
        return {}

    def weight_roles(self) -> dict[str, str]:
        """role -> state_dict key (relative to this module), in the format's role order."""
        return {}

    @classmethod
    def from_spec(cls, attrs: dict, tensors: dict[str, torch.Tensor]) -> "Node":
        raise NotImplementedError


def copy_param(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().clone().to(torch.float32))
