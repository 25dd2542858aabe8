"""Hooked forward passes and the pure maths they feed: scoring, the census, ablations
(single, swept, attribution-screened), probes and the computation of measures.
"""
