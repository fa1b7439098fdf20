"""Built-in polibench components, one module per component, in one folder per kind.

Importing this package imports every module below it, so a new built-in needs only its file and its
``@register`` decorator.
"""

import importlib
import pkgutil

import polibench.ctm.parts  # noqa: F401 - declares the CTM part kinds before their components register

for _info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
    importlib.import_module(_info.name)
