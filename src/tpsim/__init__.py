"""tpsim: a payment-initiation simulator in one process: the Mojaloop Third Party API (switch,
DFSPs, ALS, auth-service) and the PSD2 dialects Berlin Group XS2A, UK Open Banking and STET."""

__version__ = "0.2.0"
