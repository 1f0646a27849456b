"""Entry points: the send-command consumer, the workers, the HTTP ops routes."""
