"""The shared-banks state machine (``tests/serve/test_shared_banks_stateful.py``), one
module per dialect's steps over one model."""
