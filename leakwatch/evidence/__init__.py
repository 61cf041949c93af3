"""Evidence packages: a finding, its deliverable, its metadata and decision log in one zip
with a SHA-256 manifest, signed with Ed25519 when a key is configured, and checked by
``leakwatch evidence verify``."""
