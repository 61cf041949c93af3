"""The review console (``leakwatch serve``): imported scan, audit and alert reports, the
findings in them, and the decisions reviewers take on them, in a small web application."""
