"""Adapters: the messages table and partner limiter, partner HTTP, credentials."""
