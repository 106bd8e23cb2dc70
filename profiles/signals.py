"""The profiles' signal: how apps above follow saved versions without profiles importing them.

``profile_version_saved`` is sent once the transaction that saved a new version of a profile has
committed (created, changed, rolled back or imported; not for a save that changed nothing), with
``name``, ``version``, ``history_id`` (its journal record), ``previous_version`` (None for a new
profile) and ``saved_at`` (the journal record's time). Receivers run outside the transaction, so
they can take their time without holding the profile's row lock; one that raises is logged and
does not undo the save. analytics stores the prediction made for the version this way.
"""

from django.dispatch import Signal

profile_version_saved = Signal()
