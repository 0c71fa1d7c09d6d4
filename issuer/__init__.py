"""An Open Badges 3.0 issuer for occupational skills frameworks."""

__version__ = "0.1.0"
