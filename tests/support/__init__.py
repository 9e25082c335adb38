"""Real local stand-ins for the services the bot talks to (used by tests, never by the bot)."""
