"""Simulated participants: payer/payee DFSP, ALS, auth-service. Sans-IO state machines."""
