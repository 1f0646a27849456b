"""Incidents, notices and deliveries: the rules of notifying, without I/O."""
