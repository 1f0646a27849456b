"""The console's rules without I/O: who may do what, sessions and users, what a page shows of
a message (milestones, attempts, causes, the MDN), partner and certificate forms, certificate
states and expiry, the audit trail's entries."""
