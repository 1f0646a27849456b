"""Entry points: the admin REST API, the key-material responder, the expiry scheduler."""
