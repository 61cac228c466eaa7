"""Fixtures for the voicemail tests.

The fake Twilio REST server is a plugin module shared with the route tests; it is imported here
rather than listed in ``pytest_plugins`` because pytest only honours that in the top-level
conftest. Once ``tests/conftest.py`` has ``pytest_plugins = ["tests.fixtures.twilio_rest"]``,
this import becomes redundant (and harmless).
"""

from tests.fixtures.twilio_rest import fake_twilio, twilio_rest_server  # noqa: F401
