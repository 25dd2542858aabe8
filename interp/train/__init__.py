"""Making models: the trainers of the two bundled models and the planted models with
hand-set weights whose head roles are known exactly.
"""
