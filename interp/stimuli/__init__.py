"""Stimuli: random-token sequences (``[BOS] r r`` and its controls), natural-text spans,
the long measure stimuli, the seeds they are drawn from, and the checks the command line
makes on its input before any work.
"""
