"""Who may do what in the console, and what a session is: rules without I/O."""
