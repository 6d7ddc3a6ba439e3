"""Every preprocessing step appends ``{"step": name, **parameters}`` to the output's ``provenance`` attr."""

from __future__ import annotations

from typing import Any

import xarray as xr

__all__ = ["with_provenance"]


def with_provenance(out: xr.DataArray, source: xr.DataArray, step: str, **params: Any) -> xr.DataArray:
    """``out`` with ``source``'s attrs (geometry replaced by ``out``'s own) and one more provenance entry."""
    attrs = {**source.attrs, **{k: v for k, v in out.attrs.items() if k in ("spacing", "origin", "direction")}}
    attrs["provenance"] = [*source.attrs.get("provenance", []), {"step": step, **params}]
    out.attrs = attrs
    out.name = source.name
    return out
