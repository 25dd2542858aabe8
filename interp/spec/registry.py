"""A named registry: the one implementation behind the behavior and measure registries.

Values are kept in registration order under their ``name``; registering a name twice needs
``replace=True``; every lookup error names what is registered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Values of one type, by name, in registration order.

    Args:
        kind: what a value is, in words (``"behavior"``), for messages.
        value_type: the type every value must have (its ``name`` attribute is the key).
    """

    def __init__(self, kind: str, value_type: type) -> None:
        self.kind = kind
        self.value_type = value_type
        self._values: dict[str, T] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def add(self, value: T, *, replace: bool = False) -> T:
        """Register ``value`` (after the ones already there).

        Raises:
            TypeError: not a value of this registry's type.
            ValueError: the name is registered and ``replace`` is False.
        """
        if not isinstance(value, self.value_type):
            raise TypeError(f"expected an interp.{self.value_type.__name__}, got "
                            f"{type(value).__name__}")
        name = getattr(value, "name")
        if name in self._values and not replace:
            raise ValueError(f"a {self.kind} named {name!r} is registered already "
                             "(pass replace=True to replace it)")
        self._values[name] = value
        return value

    def remove(self, name: str) -> T:
        """Unregister ``name``; returns its value (KeyError lists the known names)."""
        try:
            return self._values.pop(name)
        except KeyError:
            raise KeyError(f"no {self.kind} {name!r} is registered; known: "
                           f"{list(self._values)}") from None

    def get(self, name: str) -> T:
        """The value registered as ``name`` (KeyError lists the known names)."""
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; registered: "
                           f"{list(self._values)}") from None

    def values(self) -> tuple[T, ...]:
        """Every registered value, in registration order."""
        return tuple(self._values.values())

    def resolve(self, spec: Iterable[Any] | Any | None) -> tuple[T, ...]:
        """Values from names or values (None: every registered one), without duplicates.

        Raises:
            KeyError: an unknown name.
            ValueError: two different values share a name.
        """
        if spec is None:
            return self.values()
        if isinstance(spec, (str, self.value_type)):
            spec = [spec]
        out: dict[str, T] = {}
        for item in spec:
            value = item if isinstance(item, self.value_type) else self.get(str(item))
            name = getattr(value, "name")
            if name in out and out[name] is not value:
                raise ValueError(f"two different {self.kind}s are named {name!r}")
            out[name] = value
        return tuple(out.values())
