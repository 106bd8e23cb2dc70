"""Every write to profiles and rules. API, admin, dashboard and commands all call these.

Each service validates with the engine's rules, refuses a stale ``version`` (409, nothing
written), skips saves that change nothing, journals the acting user, the operator, the change
type and the note, and - once the transaction commits - re-exports the canonical YAML and
appends the change to the JSONL mirror when one is configured.

:mod:`~profiles.services.journaling` holds what every write shares (notes, the journal stamp, the
export after commit, the version check); :mod:`~profiles.services.edits` the profile services,
:mod:`~profiles.services.rules` the rule services, :mod:`~profiles.services.yaml_export` and
:mod:`~profiles.services.yaml_import` the canonical YAML's export and import,
:mod:`~profiles.services.change_requests` the change requests' state machine (DESIGN §10).
"""

from profiles.services.change_requests import (
    OPEN_PERMISSION,
    REVIEW_PERMISSION,
    change_request_create,
    change_request_publish,
    change_request_review,
    change_request_revise,
    change_request_withdraw,
    may_open,
    may_review,
)
from profiles.services.edits import (
    FALLBACK_PROFILE,
    PROTECT_PERMISSION,
    may_govern,
    profile_create,
    profile_delete,
    profile_rollback,
    profile_update,
    rollback_note_prefix,
)
from profiles.services.journaling import NOTE_MAX, OPERATOR_MAX, ProfileChange
from profiles.services.rules import rule_create, rule_delete, rule_update
from profiles.services.yaml_export import (
    ExportResult,
    journal_mirror_catch_up,
    journal_mirror_missing,
    profiles_export,
    profiles_export_check,
)
from profiles.services.yaml_import import (
    ImportFailed,
    ImportPlan,
    profiles_import,
)

__all__ = [
    "OPEN_PERMISSION",
    "REVIEW_PERMISSION",
    "PROTECT_PERMISSION",
    "change_request_create",
    "change_request_publish",
    "change_request_review",
    "change_request_revise",
    "change_request_withdraw",
    "may_govern",
    "may_open",
    "may_review",
    "NOTE_MAX",
    "OPERATOR_MAX",
    "ProfileChange",
    "FALLBACK_PROFILE",
    "profile_create",
    "profile_delete",
    "profile_rollback",
    "profile_update",
    "rollback_note_prefix",
    "rule_create",
    "rule_delete",
    "rule_update",
    "ExportResult",
    "ImportFailed",
    "ImportPlan",
    "journal_mirror_catch_up",
    "journal_mirror_missing",
    "profiles_export",
    "profiles_export_check",
    "profiles_import",
]
