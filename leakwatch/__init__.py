"""leakwatch: find confidential material and third-party content in vendor deliverables."""

__version__ = "0.1.0"
