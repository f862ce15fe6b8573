"""Rows from the C core as DataFrames (pandas installed) or lists of dicts.

Each table has fixed, typed columns (include/imgaudit.h, "Results as
rows"); the dtypes follow the export's types (docs/json.md): integers
that may be null are pandas' nullable ``Int64``, reals ``float64`` (NaN
for null), text ``object`` (None for null), lists numpy arrays (``float64``
for reals, ``int64`` for integers, ``object`` for strings), a label->count
map a dict, and a JSON value (compare drift) the parsed value, its lists
of numbers as numpy arrays.
"""
import json

from . import _imgaudit as _c

try:
    import numpy as _np
except ImportError:  # pragma: no cover - numpy comes with pandas
    _np = None
try:
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised without pandas only
    _pd = None

_ARRAY_DTYPES = {_c.VALUE_INTS: "int64", _c.VALUE_REALS: "float64",
                 _c.VALUE_TEXTS: object}


def _json_value(text):
    if text is None:
        return None
    v = json.loads(text)
    if (_np is not None and isinstance(v, list) and v
            and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                    for x in v)):
        return _np.asarray(v, dtype="float64")
    return v


def _convert(vtype, value):
    """One value as the list-of-dicts form shows it."""
    if value is None:
        return None
    if vtype in _ARRAY_DTYPES and _np is not None:
        return _np.asarray(value, dtype=_ARRAY_DTYPES[vtype])
    if vtype == _c.VALUE_JSON:
        return _json_value(value)
    return value


def _object_column(values):
    out = _np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _series(vtype, values):
    if vtype == _c.VALUE_INT:
        return _pd.array(values, dtype="Int64")
    if vtype == _c.VALUE_REAL:
        return _np.array([_np.nan if v is None else v for v in values],
                         dtype="float64")
    if vtype == _c.VALUE_TEXT:
        return _object_column(values)
    return _object_column([_convert(vtype, v) for v in values])


def table(columns, rows, frame=True):
    """columns: [(name, value type)]; rows: tuples in column order."""
    if frame and _pd is not None:
        data = {}
        for k, (name, vtype) in enumerate(columns):
            data[name] = _series(vtype, [r[k] for r in rows])
        return _pd.DataFrame(data, columns=[n for n, _ in columns])
    return [{name: _convert(vtype, r[k])
             for k, (name, vtype) in enumerate(columns)} for r in rows]


def have_pandas():
    return _pd is not None
