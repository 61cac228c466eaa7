"""The dedicated chat button (issue 17): presence, conversations, live delivery, SLA hand-over.

- ``booking.chat.models``: ``chat_conversations`` and ``chat_messages`` (migration 0013);
- ``booking.chat.bus``: fan-out of new messages and presence changes to the open streams of every
  process (in memory, PostgreSQL LISTEN/NOTIFY, or Redis pub/sub);
- ``booking.chat.streams``: the Server-Sent Events generator both sides use;
- ``booking.services.chat``: the use cases (one transaction each);
- ``booking.core.presence``: the pure presence rule.

See docs/chat.md for the serving model.
"""
