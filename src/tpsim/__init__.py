"""tpsim: a Mojaloop Third Party API simulator (switch, DFSPs, ALS, auth-service in one process)."""

__version__ = "0.2.0"
