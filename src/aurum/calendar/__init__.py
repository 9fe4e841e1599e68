"""Calendars: busy time from .ics files and subscriptions, and a private feed of the plan and due dates."""
