"""Writing files safely: atomic output sets with a manifest, and JSON-safe values.

The bottom layer: imports nothing else of the package.
"""
