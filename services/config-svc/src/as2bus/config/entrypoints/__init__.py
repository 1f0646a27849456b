"""Entry points: the admin REST API and the process main."""
