"""Calendars: connections (Google, Outlook, a private iCal address), busy time, free minutes."""
