"""``python -m leakwatch``: the same as the ``leakwatch`` command."""

from leakwatch.entry import main

main()
