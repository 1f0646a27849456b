"""HTTP: the pages (server-rendered), sign-in and the users API for the CLI; the bus: the audit
trail's consumers. Thin: they read the form, call a use case or a backend, render."""
