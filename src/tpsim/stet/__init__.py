"""STET PSD2 payment initiation (France), 1.4.2."""
