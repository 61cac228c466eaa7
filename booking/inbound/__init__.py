"""Inbound e-mail: mail to BOOKING_SUPPORT_EMAIL becomes requests (SMTP gateway, IMAP polling)."""
