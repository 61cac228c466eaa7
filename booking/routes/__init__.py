"""Thin Flask blueprints: parse and validate, call one service, serialize."""
