"""Result and evidence types (pure data, frozen, with ``to_dict``/``from_dict``): what
the engine and pipelines return and the reports read.
"""
