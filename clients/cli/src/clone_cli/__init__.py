"""The `clone` command line client. Talks to a Clone server's REST API only."""

__version__ = "0.1.0"
