"""Django admin for profiles and rules: every save, delete and revert goes through the services.

The forms carry a required change note (the journal's reason). ``clean()`` runs the service as a
dry run, so validation messages appear next to their fields; ``save_model`` then makes the real
change. A revert from the history page is a rollback to that record, journaled as one.
Importing this package registers the admins (:mod:`~profiles.admin.profiles`,
:mod:`~profiles.admin.rules`, and the read-only :mod:`~profiles.admin.change_requests`).
"""

from profiles.admin.change_requests import ChangeRequestAdmin, ChangeRequestReviewAdmin
from profiles.admin.profiles import ConstraintProfileAdmin
from profiles.admin.rules import ResolutionRuleAdmin

__all__ = [
    "ChangeRequestAdmin",
    "ChangeRequestReviewAdmin",
    "ConstraintProfileAdmin",
    "ResolutionRuleAdmin",
]
