"""Asset metadata the Dagster UI renders: PNG charts (the report's own, from
``rl_pipeline.reporting.charts``) embedded in Markdown, and tables with their schema."""

from __future__ import annotations

import base64
import math
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

OWNERS = ["team:quant"]
ROW_COUNT = "dagster/row_count"
COLUMN_SCHEMA = "dagster/column_schema"


def image(png: bytes, alt: str = "plot") -> dg.MetadataValue:
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def _column_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    return "string"


def schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(str(c), _column_type(frame[c].dtype)) for c in frame.columns]
    )


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 6)
    return str(value)


def table(frame: pd.DataFrame, limit: int = 20) -> dg.MetadataValue:
    """The first ``limit`` rows of ``frame`` as a table (its index becomes a column when named)."""
    shown = frame.reset_index() if frame.index.name else frame
    shown = shown.head(limit)
    records = [
        dg.TableRecord({str(k): _cell(v) for k, v in row.items()})
        for row in shown.to_dict("records")
    ]
    return dg.MetadataValue.table(records=records, schema=schema(shown))


def weights_markdown(before: dict[str, float], after: dict[str, float]) -> dg.MetadataValue:
    """Before/after weight per model, with the change, as a Markdown table."""
    models = list(dict.fromkeys([*before, *after]))
    frame = pd.DataFrame(
        {
            "model": models,
            "before": [before.get(m, 0.0) for m in models],
            "after": [after.get(m, 0.0) for m in models],
        }
    )
    frame["change"] = frame["after"] - frame["before"]
    return dg.MetadataValue.md(frame.round(6).to_markdown(index=False))
