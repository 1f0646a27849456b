"""Entry points: the AS2 HTTP endpoint."""
