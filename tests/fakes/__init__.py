"""Fake exchange servers for tests."""
