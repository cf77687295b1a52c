"""marginspec: a formal, executable rulebook for isolated margin on perpetual futures."""

__version__ = "0.1.0"
