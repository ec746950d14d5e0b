"""The built-in converters. Every module of this package registers its converters when imported
(`registry.register_builtin`); they are imported here in name order with `standard` last, so the
converters of specific module families are tried before the generic torch.nn ones."""

import importlib
import pkgutil

GENERIC_LAST = "standard"

for _name in sorted(info.name for info in pkgutil.iter_modules(__path__)):
    if _name != GENERIC_LAST:
        importlib.import_module(f"{__name__}.{_name}")
importlib.import_module(f"{__name__}.{GENERIC_LAST}")
