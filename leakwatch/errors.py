"""The one base of the errors a user can act on.

A store that cannot be opened, a bad baseline or corpus, a record that cannot be
written: each command reports these as one line and exit 2 (``cli.app.handles_errors``).
They share this base so that the handler need not import every feature that defines
one: it used to, and every command paid for importing scikit-learn, the daemon and the
console (about a second of each run's start).
"""


class UserError(Exception):
    """An error the user can act on: its message is the whole report."""
