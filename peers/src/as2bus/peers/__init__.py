"""Reference peers for tests and benchmarks: independent AS2 implementations driven in-process.

Development only: no image installs this package (pyas2lib, which it drives, is GPL-3).
"""
