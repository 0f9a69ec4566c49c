"""Helpers shared by the tests: builders, the emulated system, fixtures' data."""
