"""The Slack adapter: Block Kit rendering and Bolt wiring."""
