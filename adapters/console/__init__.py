"""The terminal adapter: a feature (try Upward with no workspace) and a test harness."""
