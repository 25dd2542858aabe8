"""Pipelines that combine the engine's steps: classification (candidates, confirmation
by ablation, groups), checkpoint sweeps, the induction phase change, text models.
"""
