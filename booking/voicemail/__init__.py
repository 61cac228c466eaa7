"""Twilio phone line: routing, voicemail, callbacks."""
