"""Compiler passes: one file each, every one a function Graph -> Graph."""
