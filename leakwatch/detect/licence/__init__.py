"""Licence texts: the shipped SPDX reference (``texts``), its templates (``templates``),
matching a deliverable's licence blocks (``match``) and the detector."""
