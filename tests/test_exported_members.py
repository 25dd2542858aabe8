"""The public names are exactly ``__all__`` (httpx's habit)."""

import interp


def test_public_names_are_all():
    public = {name for name in dir(interp) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(interp, name)).__name__ == "module"}
    assert public - modules == set(interp.__all__)


def test_all_names_resolve():
    for name in interp.__all__:
        assert getattr(interp, name) is not None
