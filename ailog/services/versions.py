"""Which profile version each run used: the one it names, else the one in force at its time."""

from __future__ import annotations

from ailog.records import (
    Run,
)
from profiles.selectors import ProfileVersionLookup
from rmos_site.errors import FieldError


def resolve_profiles(runs: list[Run]) -> list[FieldError]:
    """Fill in the profile version and history record in force; warn about names unknown here."""
    warnings: list[FieldError] = []
    lookup = ProfileVersionLookup(run.values["profile_name"] for run in runs)
    for run in runs:
        values = run.values
        name = values["profile_name"]
        values.setdefault("profile_history_id", None)
        if not name:
            continue
        if not lookup.exists(name):
            warnings.append(
                FieldError(
                    "profile",
                    "unknown_profile",
                    f"no profile named {name!r} here; the run is kept under that name",
                    run.index,
                )
            )
            continue
        if values["profile_version"] is not None:
            if values["profile_history_id"] is None:
                values["profile_history_id"] = lookup.history_id_of(name, values["profile_version"])
                if values["profile_history_id"] is None:
                    warnings.append(
                        FieldError(
                            "profile_version",
                            "unknown_profile_version",
                            f"profile {name!r} never had version {values['profile_version']} here; the run keeps the number",
                            run.index,
                        )
                    )
            continue
        in_force = lookup.at(name, values["timestamp"])
        values["profile_version"] = in_force.version
        values["profile_history_id"] = in_force.history_id
        if in_force.version is None:
            warnings.append(
                FieldError(
                    "profile", "deleted_profile", f"profile {name!r} was deleted before this run's time", run.index
                )
            )
        elif in_force.before_first:
            first = lookup.first_journaled(name)
            warnings.append(
                FieldError(
                    "profile_version",
                    "before_first_version",
                    f"the run is older than the first version of {name!r} journaled here ({first:%Y-%m-%d %H:%M} UTC); "
                    f"it is counted under version {in_force.version}. Send profile_version to say which version it used",
                    run.index,
                )
            )
    return warnings
