"""The head types: one file each, holding its maths and its registration.

Importing this package registers the built-in behaviors, measures and probe tasks, in the
order below (the order every stage lists them in). A new head type is a new file here,
imported below.
"""

from . import (  # noqa: F401, I001  (imported for their registrations, in this order)
    sink,
    previous_token,
    duplicate_token,
    induction,
    copy_suppression,
    local_window,
    controls,
    induction_distance,
    key_position,
    successor,
)
