"""The console's ports to the world: its tables, password hashing, the other services' APIs
and the bus."""
