"""Adapters: the received-message ledger, the document store, async MDN delivery."""
