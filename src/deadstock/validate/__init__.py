"""Validate: raw frames → typed canonical tables, a rejects table and counts (SPEC §2).

:func:`load_inputs` is the entry point (ingest + validate); check order and rules are documented
in :mod:`deadstock.validate.rules`, parsing in :mod:`deadstock.validate.coerce` and
:mod:`deadstock.validate.dates`.
"""

from deadstock.validate.load import VALIDATION_ORDER, load_inputs
from deadstock.validate.report import ValidatedInput

__all__ = ["VALIDATION_ORDER", "ValidatedInput", "load_inputs"]
