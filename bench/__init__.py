"""Benchmarks of the real local stack (``make bench``) and the scale-out proof (issues 7, 8).

Nothing here is imported by the services; it drives them from outside, as a user would.
"""
