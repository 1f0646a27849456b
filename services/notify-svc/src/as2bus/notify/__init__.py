"""notify-svc: tells a person when something needs them (webhook and e-mail notifications)."""
