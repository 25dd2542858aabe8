"""Many models, one item each: model specs, the resumable item store, the serial or Ray
runner, and the sweep and zoo pipelines on top of them.
"""
