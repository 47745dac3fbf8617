"""mzops: MLPS 2.0 level-3 compliance and operations automation."""

__version__ = "0.1.0"
