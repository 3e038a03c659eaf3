"""tpsim: a Mojaloop Third Party API simulator (switch, DFSPs, ALS and auth-service in one process)."""

__version__ = "0.1.0"
