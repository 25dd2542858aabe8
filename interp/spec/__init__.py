"""What can be scored, declared as data: the registry, behaviors, measures, probe tasks
and ablation methods. Nothing here runs a model; :mod:`interp.catalog` registers the
built-ins.
"""
