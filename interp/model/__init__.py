"""Models and what is read off them: loading, model info (device, name, BOS, special
ids), head labels, hooks (the one place that spells TransformerLens hook names) and
weights (OV copying, composition).
"""
