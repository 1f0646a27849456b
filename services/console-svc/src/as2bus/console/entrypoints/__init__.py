"""HTTP: the pages (server-rendered), sign-in, and the users API for the CLI."""
