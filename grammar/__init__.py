"""The expression grammar, shipped inside the package as ``engine.grammar``."""
