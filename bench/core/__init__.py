"""The foundation every other package builds on: cell spec and protocol, profiles, content keys and
code hashes, seeds, records and the one cell lifecycle, the results store, the per-cell lock, atomic
files, provenance. Imports nothing else of this project."""
