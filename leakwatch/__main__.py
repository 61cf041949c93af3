"""``python -m leakwatch``: the same as the ``leakwatch`` command."""

from leakwatch.cli import main

main()
