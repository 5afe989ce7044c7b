"""The Microsoft Teams adapter: Bot Framework wiring and the app package."""
