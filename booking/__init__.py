"""Dedicated-agent scheduling service."""
