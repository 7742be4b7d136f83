"""Helpers for testing code that uses registry-auth, and for testing registry-auth itself."""
