"""Registered tables (client lists, price lists): canonical cell values (``cells``),
registering a table (``tables``) and finding its rows in deliverables (``detector``)."""
