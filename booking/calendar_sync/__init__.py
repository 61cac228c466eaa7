"""CalDAV / iCalendar synchronisation of agents' calendars."""
