"""The run layer: fan-out over targets, one result model and exit-code rule, run
records, locks and progress events, shared by every capability that acts on many
targets (audit, accounts, harden, firewall push; backup and DR to come)."""

from mzops.run.events import Event, Events, as_events
from mzops.run.fanout import each
from mzops.run.lock import Busy, serialised, exclusive
from mzops.run.outcome import (CHANGED, FAILED, OK, REFUSED, STATES, UNREACHABLE, Outcome, Result,
                               exit_code)
from mzops.run.records import Records, new_run_id

__all__ = ["Event", "Events", "as_events", "each", "Busy", "serialised", "exclusive", "CHANGED", "FAILED", "OK",
           "REFUSED", "STATES", "UNREACHABLE", "Outcome", "Result", "exit_code", "Records", "new_run_id"]
