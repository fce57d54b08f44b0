"""The per-SKU decision parameter table: read, type and check it (SPEC §3.5, ``deadstock decide``).

Columns are those of :data:`deadstock.schema.DECISION_PARAMS`. Files are read by the ingest
readers (CSV, Parquet, Excel; header mapping from the config's ``[columns.decision_params]``) and
typed by the validation coercion, so numbers, encodings and delimiters follow the same rules as
every other input. Unlike the pipeline's tables, a bad parameter row is fatal: every SKU must be
decided, so :func:`validate_params` raises :class:`~deadstock.errors.InputError` naming the file,
the row as a spreadsheet shows it (header = row 1, first data row = row 2), the column and the fix.

Rules (the first failing row is reported, with the count of rows that fail):

- required columns present (all missing ones listed); columns outside the table are ignored with
  a note (they may be the user's own: names, expected actions);
- values: numbers, finite and ≥ 0; flags 0 or 1 (true/false, yes/no accepted); sku unique (sku ×
  location when a location column is given); sku, excess_units, price, current_days_in_stock,
  payment_days, flags, holding_cost_per_day and unit_cost not blank;
- blank expected_days_in_stock = setting ``no_forecast_days`` (a note counts them); blank
  transport costs = 0; a blank liquidation_price, recycle_price, donation_value or disposal_cost
  means that action is not offered to the SKU;
- contradictions: financed_now = financed_future = 1; return_eligible = 1 without a
  return_price; a forced_action the row cannot take (return when not eligible, liquidate without
  a liquidation_price, ...) or that is not an action;
- financing flags are used as given: rows whose flags disagree with the days (Fc = 1 but Dc < P;
  Ff = 1 but not Dc < P ≤ Dc + De; neither flag but Dc ≥ P or P ≤ Dc + De) are kept and counted
  in a note (summary.json ``warnings``), as are rows with total_units below excess_units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from deadstock.config import Config
from deadstock.decide.costs import ACTIONS, CHANNEL_ACTIONS, CLEAR_TERMS, MARKDOWN_ACTIONS
from deadstock.errors import InputError
from deadstock.ingest import ROW, RawTable, read_raw
from deadstock.ingest.files import EXCEL_EXTENSIONS, PARQUET_EXTENSIONS
from deadstock.ingest.headers import map_headers
from deadstock.ingest.text import decode_text, first_record, parse_header, sniff_delimiter
from deadstock.schema import DECISION_PARAMS, SUPPLIERS, Column
from deadstock.validate.checks import apply_checks, first_match
from deadstock.validate.coerce import TRUE_WORDS, coerce

TABLE = DECISION_PARAMS.name
#: 0/1 columns.
FLAGS: tuple[str, ...] = ("financed_now", "financed_future", "return_eligible")
#: Columns that must hold a value on every row.
VALUE_REQUIRED: tuple[str, ...] = (
    "sku",
    "excess_units",
    "price",
    "current_days_in_stock",
    "payment_days",
    "financed_now",
    "financed_future",
    "holding_cost_per_day",
    "unit_cost",
    "return_eligible",
)
#: Numeric columns (all must be ≥ 0).
NUMBERS: tuple[str, ...] = tuple(c.name for c in DECISION_PARAMS.columns if c.dtype == pl.Float64)
#: Numbers that may be negative (the others must be ≥ 0).
SIGNED_NUMBERS: tuple[str, ...] = ("elasticity",)
_FLAG_WORDS = {**{w: "1" for w in TRUE_WORDS}, "false": "0", "no": "0", "n": "0", "0": "0"}
_NUMBER_FIX = "write a number with a decimal point (e.g. 12.5), or leave it blank where allowed."


@dataclass(frozen=True)
class ParamsNote:
    """Something noticed in the parameters that does not stop the run (summary ``warnings``)."""

    code: str
    rows: int
    message: str


@dataclass(frozen=True)
class DecisionInputs:
    """Checked inputs of ``deadstock decide``: parameters, supplier caps, keep list and notes."""

    params: pl.DataFrame
    supplier_caps: pl.DataFrame | None = None
    keep_skus: tuple[str, ...] = ()
    notes: list[ParamsNote] = field(default_factory=list)


@dataclass(frozen=True)
class _Rule:
    """A row rule: the column blamed, when the row fails, what is wrong and how to fix it."""

    column: str
    failed: pl.Expr
    message: str
    fix: str


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
def _file_headers(path: Path, config: Config) -> list[str]:
    """The header row of ``path`` as written (first sheet of a workbook)."""
    with path.open("rb") as handle:
        head = handle.read(8)
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1") or suffix in PARQUET_EXTENSIONS:
        return list(pl.scan_parquet(path).collect_schema().names())
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) or suffix in EXCEL_EXTENSIONS:
        return list(pl.read_excel(path, engine="calamine", infer_schema_length=0).columns)
    line = first_record(decode_text(path.read_bytes(), path, config.encoding).text)
    return parse_header(line, config.delimiter or sniff_delimiter(line))


def missing_columns_error(
    present: Sequence[str], source: str | Path, headers: Sequence[str] | None = None
) -> InputError | None:
    """An :class:`InputError` listing every required column absent from ``present``, or None."""
    missing = [c for c in DECISION_PARAMS.required if c not in present]
    if not missing:
        return None
    found = ", ".join(h for h in (headers if headers is not None else present) if h) or "(none)"
    return InputError(
        f"required column(s) missing: {', '.join(missing)}; columns found: {found}.",
        file=source,
        column=missing[0],
        fix=f"add them (docs/nomenclature.md, table {TABLE}) or map your headers in "
        f"[columns.{TABLE}] of the config file.",
    )


def _read(path: Path, table: str, config: Config) -> RawTable:
    try:
        raw = read_raw(path, table, config)
    except InputError as exc:
        if table != TABLE or exc.column not in DECISION_PARAMS.required:
            raise
        try:
            headers = _file_headers(path, config)
        except Exception:  # the reader's own message is the best we have
            raise exc from None
        mapped = map_headers(headers, TABLE, config, path).canonical
        raise (missing_columns_error(list(mapped), path, headers) or exc) from None
    if raw.empty:
        raise InputError("has no data rows.", file=path, fix=f"export the {table} table again.")
    return raw


def _flag_words(raw: RawTable, names: Sequence[str]) -> RawTable:
    """0/1 flags written as true/false, yes/no (text) or booleans (typed files) → 1/0."""
    exprs = []
    texts = [n for n in names if raw.frame.schema.get(n) == pl.String]
    worded = (
        raw.frame.select(pl.col(n).str.contains("[A-Za-z]").any() for n in texts).row(0)
        if texts
        else ()
    )
    for name in names:
        if name not in raw.frame.columns:
            continue
        dtype = raw.frame.schema[name]
        if dtype == pl.Boolean:
            exprs.append(pl.col(name).cast(pl.Int64))
        elif dtype == pl.String and worded[texts.index(name)]:
            word = pl.col(name).str.strip_chars().str.to_lowercase()
            exprs.append(word.replace(_FLAG_WORDS).alias(name))
    if exprs:
        raw.frame = raw.frame.with_columns(exprs)
    return raw


def _typed(
    raw: RawTable, config: Config, column: Callable[[str], Column] = DECISION_PARAMS.column
) -> pl.DataFrame:
    """Type the canonical columns of ``raw``; a value of the wrong type is fatal."""
    coerced = coerce(raw, config)
    passing, rejects = apply_checks(
        coerced.frame, coerced.parse_checks, raw.table, raw.source_file, raw.headers
    )
    if rejects.height:
        first = rejects.sort("row").row(0, named=True)
        more = f" ({rejects.height} rows like this)" if rejects.height > 1 else ""
        raise InputError(
            f"{first['reason']}. Got {first['value']!r}{more}.",
            file=raw.path,
            row=first["row"],
            column=first["column"],
            fix=_NUMBER_FIX,
        )
    schema = pl.Schema({ROW: pl.Int64, **{c: column(c).dtype for c in raw.headers}})
    return passing.select(list(schema)).cast(schema)


def read_params(
    path: str | Path, config: Config | None = None, notes: list[ParamsNote] | None = None
) -> pl.DataFrame:
    """Read a decision parameter file (CSV, Parquet or Excel) into typed canonical columns.

    Returns ``_row`` (the row number a spreadsheet shows) and the :data:`DECISION_PARAMS`
    columns the file holds. Raises :class:`InputError` for an unreadable or empty file, missing
    required columns (all listed) and values of the wrong type. What the reader noticed (ignored
    columns, blank rows, encoding) is appended to ``notes``.
    """
    config = config or Config()
    path = Path(path)
    raw = _flag_words(_read(path, TABLE, config), FLAGS)
    if notes is not None:
        notes.extend(ParamsNote("input", 0, text) for text in raw.notes)
    return _typed(raw, config)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def _as_schema(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[_Rule]]:
    """Cast the canonical columns of a Python frame to the schema; rules for failed casts.

    Adds ``_bad_<column>`` / ``_flag_<column>`` (the value could not be cast / is not 0 or 1)
    next to the typed columns.
    """
    typed: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    rules: list[_Rule] = []
    for name in DECISION_PARAMS.names:
        if name not in frame.columns:
            continue
        dtype = frame.schema[name]
        target = DECISION_PARAMS.column(name).dtype
        col = pl.col(name)
        if target == pl.String:
            text = col.cast(pl.String).str.strip_chars()
            typed.append(pl.when(text == "").then(None).otherwise(text).alias(name))
            continue
        if dtype == pl.String:
            text = col.str.strip_chars().str.to_lowercase()
            value = (text.replace(_FLAG_WORDS) if name in FLAGS else text).cast(
                pl.Float64, strict=False
            )
            present = col.is_not_null() & (text != "")
            flags.append((present & value.is_null()).alias(f"_bad_{name}"))
            rules.append(_Rule(name, pl.col(f"_bad_{name}"), "must be a number", _NUMBER_FIX))
        elif dtype == pl.Boolean or dtype.is_numeric() or dtype == pl.Null:
            value = col.cast(pl.Float64)
        else:
            raise InputError(
                f"must hold numbers; got a {dtype} column.",
                column=name,
                fix="give the column numbers (Float64).",
            )
        if name in FLAGS:
            flag = value.is_in([0.0, 1.0])
            flags.append((value.is_not_null() & ~flag).alias(f"_flag_{name}"))
            rules.append(_Rule(name, pl.col(f"_flag_{name}"), "must be 0 or 1", "use 0 or 1."))
            value = pl.when(flag).then(value).cast(pl.Int64)
        typed.append(value.alias(name))
    return frame.with_columns(*flags).with_columns(typed), rules


def _offered(frame: pl.DataFrame, action: str) -> pl.Expr:
    """True where the row offers ``action`` (the cost model's availability rule)."""
    if action == "keep":
        return pl.lit(True)
    if action == "return":
        return pl.col("return_eligible") == 1
    if action in MARKDOWN_ACTIONS:  # priced from the demand forecast (deadstock.pricing)
        if "forecast_daily" not in frame.columns:
            return pl.lit(False)
        return pl.col("forecast_daily").is_not_null() & (pl.col("excess_units") > 0)
    if action == "fix_listing":
        if "listing_fix_eligible" not in frame.columns:
            return pl.lit(False)
        return (pl.col("listing_fix_eligible") == 1) & (pl.col("excess_units") > 0)
    if action in CHANNEL_ACTIONS:  # bundles and transfers come from a run's tables
        return pl.lit(False)
    proceeds, transport = CLEAR_TERMS[action]
    column = proceeds or transport
    if column is None or column not in frame.columns:
        return pl.lit(False)
    return pl.col(column).is_not_null()


def _rules(frame: pl.DataFrame) -> list[_Rule]:
    """The row rules of the module docstring, in the order they are checked."""
    rules: list[_Rule] = []
    for name in VALUE_REQUIRED:
        rules.append(
            _Rule(name, pl.col(name).is_null(), "is blank; a value is required", "fill it in.")
        )
    for name in NUMBERS:
        if name in frame.columns:
            col = pl.col(name)
            rules.append(
                _Rule(name, ~col.is_finite(), "must be a finite number", "write a number.")
            )
            if name not in SIGNED_NUMBERS:
                rules.append(
                    _Rule(name, col < 0, "must be a number ≥ 0", f"{name} cannot be negative.")
                )
    rules.append(
        _Rule(
            "financed_future",
            (pl.col("financed_now") == 1) & (pl.col("financed_future") == 1),
            "financed_now and financed_future are both 1 (contradictory)",
            "set financed_now = 1 when the stock is paid for (Dc ≥ P), financed_future = 1 when "
            "it will be paid before it sells (Dc < P ≤ Dc + De), not both.",
        )
    )
    rules.append(
        _Rule(
            "return_price",
            (pl.col("return_eligible") == 1) & pl.col("return_price").is_null(),
            "return_eligible is 1 but return_price is blank",
            "give the refund per unit, or set return_eligible to 0.",
        )
    )
    if "forced_action" in frame.columns:
        forced = pl.col("forced_action")
        rules.append(
            _Rule(
                "forced_action",
                forced.is_not_null() & ~forced.is_in(list(ACTIONS)),
                "is not an action",
                f"use one of {', '.join(ACTIONS)}, or leave it blank.",
            )
        )
        for action in ACTIONS[1:]:
            if action in MARKDOWN_ACTIONS:
                needs = "a forecast_daily and excess units"
            elif action == "fix_listing":
                needs = "listing_fix_eligible = 1 and excess units"
            elif action in CHANNEL_ACTIONS:
                needs = "a run's bundle or transfer plan (deadstock run)"
            elif action == "return":
                needs = "return_eligible = 1"
            else:
                proceeds, transport = CLEAR_TERMS[action]
                needs = f"a {proceeds or transport}"
            rules.append(
                _Rule(
                    "forced_action",
                    (forced == action) & ~_offered(frame, action),
                    f"forces '{action}' on a SKU that cannot take it (contradictory row)",
                    f"'{action}' needs {needs}; change the row or clear forced_action.",
                )
            )
    return rules


def _first_failure(
    frame: pl.DataFrame,
    rules: Sequence[_Rule],
    source: str | Path | None,
    given: pl.DataFrame | None = None,
) -> InputError | None:
    """The error of the first row (in file order) that fails a rule, None when all pass.

    ``given`` is the frame before typing, where the value is shown from when typing lost it.
    """
    failed = [r.failed.fill_null(False) for r in rules]
    if not rules or not frame.select(pl.any_horizontal(failed).any()).item():
        return None
    code = first_match(
        [r.failed.fill_null(False) for r in rules],
        [pl.lit(i, dtype=pl.Int32) for i in range(len(rules))],
    )
    failing = frame.with_columns(code.alias("_rule")).filter(pl.col("_rule").is_not_null())
    if failing.height == 0:
        return None
    first = failing.sort(ROW).row(0, named=True)
    rule = rules[first["_rule"]]
    value = first.get(rule.column)
    if isinstance(value, float):
        value = f"{value:g}"
    if value is None and given is not None and rule.column in given.columns:
        value = given.filter(pl.col(ROW) == first[ROW])[rule.column].cast(pl.String).item()
    got = "blank" if value is None else repr(value)
    more = f"; {failing.height} rows fail checks" if failing.height > 1 else ""
    return InputError(
        f"{rule.message}. Got {got}{more}.",
        file=source,
        row=first[ROW],
        column=rule.column,
        fix=rule.fix,
    )


def _duplicate_error(frame: pl.DataFrame, source: str | Path | None) -> InputError | None:
    key = [c for c in DECISION_PARAMS.key if c in frame.columns]
    unique = frame[key[0]].n_unique() if len(key) == 1 else frame.select(key).n_unique()
    if unique == frame.height:
        return None
    repeats = frame.with_columns(
        pl.col(ROW).first().over(key).alias("_first"),
        pl.int_range(pl.len()).over(key).alias("_nth"),
    ).filter(pl.col("_nth") > 0)
    if repeats.height == 0:
        return None
    first = repeats.sort(ROW).row(0, named=True)
    what = " × ".join(f"{c} {first[c]!r}" for c in key)
    return InputError(
        f"duplicate {' × '.join(key)}: {what} is also on row {first['_first']} "
        f"({repeats.height} repeated row(s)).",
        file=source,
        row=first[ROW],
        column=key[0],
        fix="give each SKU one row (merge or remove the repeats).",
    )


def _forced_conflict_error(frame: pl.DataFrame, source: str | Path | None) -> InputError | None:
    """Forced actions apply per SKU: locations of one SKU may not force different actions."""
    if "forced_action" not in frame.columns or "location" not in frame.columns:
        return None
    clash = frame.filter(pl.col("forced_action").drop_nulls().n_unique().over("sku") > 1)
    if clash.height == 0:
        return None
    first = clash.sort(ROW).row(0, named=True)
    return InputError(
        f"forced_action differs between the locations of SKU {first['sku']!r}.",
        file=source,
        row=first[ROW],
        column="forced_action",
        fix="force one action per SKU (forced actions apply to every location of the SKU).",
    )


def _financing_note(frame: pl.DataFrame) -> ParamsNote | None:
    dc, p = pl.col("current_days_in_stock"), pl.col("payment_days")
    de = pl.col("expected_days_in_stock")
    paid = dc >= p
    paid_before_sale = (dc < p) & (p <= dc + de)
    fc, ff = pl.col("financed_now") == 1, pl.col("financed_future") == 1
    odd = (fc & ~paid) | (ff & ~paid_before_sale) | (~fc & ~ff & (paid | paid_before_sale))
    if not frame.select(odd.any()).item():
        return None
    rows = frame.filter(odd)
    shown = ", ".join(str(r) for r in rows[ROW].head(5).to_list())
    return ParamsNote(
        "financing_flags_inconsistent",
        rows.height,
        f"{rows.height} row(s) whose financing flags disagree with current_days_in_stock, "
        f"payment_days and expected_days_in_stock (row {shown}{', …' if rows.height > 5 else ''})"
        "; the flags are used as given.",
    )


def validate_params(
    frame: pl.DataFrame,
    source: str | Path | None = None,
    *,
    no_forecast_days: float = 1095.0,
    notes: list[ParamsNote] | None = None,
) -> pl.DataFrame:
    """Check a decision parameter table and return it typed, in schema column order.

    ``frame`` comes from :func:`read_params` (with ``_row``) or from Python (rows are then
    numbered as if written to CSV: first data row = row 2). ``source`` names the file in errors.
    Raises :class:`InputError` on the first bad row (module docstring); fills blank
    expected_days_in_stock with ``no_forecast_days`` [days]. Notes go to ``notes``.
    """
    notes = notes if notes is not None else []
    if (error := missing_columns_error(frame.columns, source or "parameters")) is not None:
        raise error
    if frame.height == 0:
        raise InputError("has no data rows.", file=source, fix="give one row per SKU.")
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW, offset=2)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    typed, cast_rules = _as_schema(frame)
    for error in (
        _first_failure(typed, cast_rules + _rules(typed), source, frame),
        _duplicate_error(typed, source),
        _forced_conflict_error(typed, source),
    ):
        if error is not None:
            raise error
    defaulted = int(typed["expected_days_in_stock"].is_null().sum())
    if defaulted:
        notes.append(
            ParamsNote(
                "expected_days_defaulted",
                defaulted,
                f"{defaulted} row(s) without expected_days_in_stock: set to no_forecast_days = "
                f"{no_forecast_days:g} days.",
            )
        )
        typed = typed.with_columns(pl.col("expected_days_in_stock").fill_null(no_forecast_days))
    if (note := _financing_note(typed)) is not None:
        notes.append(note)
    if "total_units" in typed.columns:
        short = int((typed["total_units"] < typed["excess_units"]).sum())
        if short:
            notes.append(
                ParamsNote(
                    "total_below_excess",
                    short,
                    f"{short} row(s) with total_units below excess_units.",
                )
            )
    return typed.select(c for c in DECISION_PARAMS.names if c in typed.columns)


# ---------------------------------------------------------------------------------------------
# Constraint inputs and the whole step's inputs
# ---------------------------------------------------------------------------------------------
def forced_actions(params: pl.DataFrame) -> dict[str, str]:
    """SKU → forced action from the optional ``forced_action`` column (blank = free)."""
    if "forced_action" not in params.columns:
        return {}
    rows = params.filter(pl.col("forced_action").is_not_null()).unique("sku", keep="first")
    return dict(zip(rows["sku"].to_list(), rows["forced_action"].to_list(), strict=True))


def _only(raw: RawTable, columns: Sequence[str]) -> RawTable:
    """``raw`` reduced to ``columns`` (the others are not typed, so cannot fail)."""
    keep = [c for c in columns if c in raw.headers]
    raw.frame = raw.frame.select(ROW, *keep)
    raw.headers = {c: raw.headers[c] for c in keep}
    return raw


def read_supplier_caps(path: str | Path, config: Config | None = None) -> pl.DataFrame:
    """Return caps per supplier: supplier_id, return_cap_units [units], return_cap_value [currency].

    A suppliers file (the ``suppliers`` table's columns; others ignored) with at least one cap
    column. Blank caps are no limit. Raises :class:`InputError` for negative caps or a repeated
    supplier_id.
    """
    config = config or Config()
    path = Path(path)
    columns = ("supplier_id", "return_cap_units", "return_cap_value")
    raw = _only(_read(path, SUPPLIERS.name, config), columns)
    caps = [c for c in columns[1:] if c in raw.headers]
    if not caps:
        raise InputError(
            "has neither return_cap_units nor return_cap_value.",
            file=path,
            fix="add a return_cap_units [units] and/or return_cap_value [currency] column.",
        )
    frame = _typed(raw, config, SUPPLIERS.column)
    rules = [
        _Rule("supplier_id", pl.col("supplier_id").is_null(), "is blank", "fill it in."),
        *(
            _Rule(c, pl.col(c) < 0, "must be a number ≥ 0", "caps cannot be negative.")
            for c in caps
        ),
        _Rule(
            "supplier_id",
            pl.int_range(pl.len()).over("supplier_id") > 0,
            "repeats an earlier row",
            "give each supplier one row.",
        ),
    ]
    if (error := _first_failure(frame, rules, path)) is not None:
        raise error
    return frame.select(
        "supplier_id",
        *(
            pl.col(c) if c in caps else pl.lit(None, pl.Float64).alias(c)
            for c in ("return_cap_units", "return_cap_value")
        ),
    )


def read_keep_list(path: str | Path, config: Config | None = None) -> tuple[str, ...]:
    """SKUs that must be kept: the ``sku`` column of a CSV, Parquet or Excel file."""
    config = config or Config()
    raw = _only(_read(Path(path), "products", config), ("sku",))
    skus = _typed(raw, config, DECISION_PARAMS.column)["sku"].drop_nulls()
    return tuple(skus.unique(maintain_order=True).to_list())


def load_decision_inputs(
    params_path: str | Path,
    config: Config,
    suppliers: str | Path | None = None,
    keep_list: str | Path | None = None,
) -> DecisionInputs:
    """Read and check everything ``deadstock decide`` needs, before anything is decided.

    Raises :class:`InputError` when supplier caps are given but the parameters have no
    supplier_id column. Keep-list SKUs and capped suppliers absent from the parameters are noted.
    """
    notes: list[ParamsNote] = []
    source = Path(params_path)
    params = validate_params(
        read_params(source, config, notes),
        source,
        no_forecast_days=float(config.no_forecast_days),
        notes=notes,
    )
    caps = None
    if suppliers is not None:
        caps = read_supplier_caps(suppliers, config)
        if "supplier_id" not in params.columns:
            raise InputError(
                "return caps per supplier (--suppliers) need a supplier_id column.",
                file=source,
                column="supplier_id",
                fix="add the supplier of each SKU's return, or leave out --suppliers.",
            )
        unknown = caps.filter(~pl.col("supplier_id").is_in(params["supplier_id"].implode()))
        if unknown.height:
            notes.append(_absent_note("suppliers_not_in_params", unknown["supplier_id"], suppliers))
    keep: tuple[str, ...] = ()
    if keep_list is not None:
        keep = read_keep_list(keep_list, config)
        absent = pl.Series(keep, dtype=pl.String)
        absent = absent.filter(~absent.is_in(params["sku"].implode()))
        if absent.len():
            notes.append(_absent_note("keep_list_not_in_params", absent, keep_list))
    return DecisionInputs(params, caps, keep, notes)


def _absent_note(code: str, values: pl.Series, path: str | Path) -> ParamsNote:
    shown = ", ".join(repr(v) for v in values.head(5).to_list())
    more = ", …" if values.len() > 5 else ""
    return ParamsNote(
        code,
        values.len(),
        f"{Path(path).name}: {values.len()} value(s) not in the parameters ({shown}{more}); "
        "ignored.",
    )


def notes_summary(notes: Sequence[ParamsNote]) -> dict[str, Any]:
    """``{code: rows}`` of the notes (summary.json ``warnings``), inputs notes counted once each."""
    out: dict[str, int] = {}
    for note in notes:
        out[note.code] = out.get(note.code, 0) + (note.rows or 1)
    return dict(out)
