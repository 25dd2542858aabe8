"""Behaviors as data: what each head type *is*, declared once and read by every stage.

A :class:`Behavior` says which keys a query should attend to (its *targets*), which keys
its null compares them with, whether the no-repeat positional-shortcut control applies,
whether it is a class or only a control, and which ablation could refute it. Scoring, the
census, classification, ablation evidence, probes, plots, the three report formats and the
checkpoint sweep all loop over the registry; no other module spells a behavior's name.

Adding a head type is one value::

    two_back = interp.Behavior(
        name="two_back",
        description="attends to the token two positions back (key q - 2).",
        targets=lambda tokens, valid: interp.spec.behaviors.offset_targets(tokens, 2),
        confirmation="loss",
    )
    interp.register_behavior(two_back)

**Targets** ``targets(tokens, valid) -> Bool[batch, query, key]`` (or, with
``needs_predictions=True``, ``targets(tokens, valid, predicted)`` where ``predicted`` is
the model's top next-token prediction at each position, ``[batch, pos]``, and ``-1`` where
that prediction's probability is below the behavior's ``min_prediction_prob``: a model
that is unsure predicts nothing). The scorer intersects them with the eligible keys, so a
rule only says what makes a key a target.

**Eligible keys** (the keys the null compares with; see :mod:`interp.engine.scoring`):
``"earlier"`` keys ``1..q-1`` (BOS and the query excluded), ``"up_to_self"`` keys
``1..q``, ``"with_bos"`` keys ``0..q``.

**Positional control** ``positional(n_pos, repeat_len) -> Bool[query, key]``: where the
targets would sit *by position alone* in ``[BOS] r r`` with ``len(r) = repeat_len``. When
given, the head is also scored on ``[BOS] r s`` without repeats at those positions, and a
head that keeps its preference there is refused the class (a positional shortcut).

**Confirmation** (:class:`Confirmation`): ``second_copy_loss`` (the loss on the second copy
of ``[BOS] r r`` must rise), ``downstream`` (the score of the ``receivers`` behavior's
heads in later layers must fall; with none, the second-copy loss), ``probe`` (a linear
probe for ``probe_task`` after the head's layer must lose accuracy), ``loss`` (the mean
next-token loss on the stimuli must rise, relative to what ablating every head costs), or
a callable ``fn(model, stimuli, heads, method=..., seed=...) -> AblationEffect`` whose
``scale`` is what the behavior achieves at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from .probe_tasks import ProbeTask
from .registry import Registry

#: The named sets of keys a behavior's null compares its targets with.
ELIGIBLE_KEYS = ("earlier", "up_to_self", "with_bos")


#: The ablation tests a behavior can name (or pass a callable).
CONFIRMATION_KINDS = ("second_copy_loss", "downstream", "probe", "loss", "custom")


KINDS = ("behavior", "control")


#: The no-repeat positional control: a head whose attention on the targets' positions in
#: ``[BOS] r s`` keeps more than this share of its gap over the null is a positional
#: shortcut, refused the class.
POSITIONAL_SHORTCUT_SHARE = 0.5

TargetFn = Callable[..., Bool[Tensor, "batch query key"]]


PositionalFn = Callable[[int, int], Bool[Tensor, "query key"]]


@dataclass(frozen=True)
class Confirmation:
    """The ablation that could refute a class.

    Attributes:
        kind: one of :data:`CONFIRMATION_KINDS`.
        receivers: ``downstream``: the behavior whose heads in later layers read this one.
        probe_task: ``probe``: the probe task, a :class:`ProbeTask` or the name of one in
            :func:`interp.spec.probe_tasks.registered_probe_tasks`.
        fn: ``custom``: ``fn(model, stimuli, heads, method=..., seed=...)`` returning an
            :class:`interp.AblationEffect` oriented so positive means the heads helped; a
            function that also takes ``clean=`` gets a clean run of the stimuli
            (:class:`interp.engine.ablation.CleanRun`) to restart ablated passes from.
        evidence_probe: a probe task whose accuracy under the ablation is recorded as
            supplementary evidence (never decides).
        direct: for a test that reads the logits, the same test read from a residual
            leaving the last block: ``direct(model, stimuli, clean_final, final)`` gives
            a ``[batch]`` value, differentiable in ``final``, that rises when the heads'
            help is taken out of ``final`` (``clean_final`` fixes what the test looks
            at, e.g. the clean prediction). :func:`interp.find_circuit` scores and checks
            a confirmed head's edge to the logits by it instead of the second-copy loss
            (a copy suppressor's direct edge does its job by lowering a logit, which
            raises the loss). None: the edge to the logits is judged by the loss.
    """

    kind: str
    receivers: str | None = None
    probe_task: "ProbeTask | str | None" = None
    fn: Callable[..., Any] | None = None
    evidence_probe: "ProbeTask | str | None" = None
    direct: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if self.direct is not None and not callable(self.direct):
            raise ValueError(f"a confirmation's direct must be callable, got {self.direct!r}")
        if self.kind not in CONFIRMATION_KINDS:
            raise ValueError(
                f"unknown confirmation {self.kind!r}; choose from {CONFIRMATION_KINDS}"
            )
        if self.kind == "downstream" and not self.receivers:
            raise ValueError("a 'downstream' confirmation needs receivers (a behavior name)")
        if self.kind == "probe" and not self.probe_task:
            raise ValueError("a 'probe' confirmation needs probe_task")
        if self.kind == "custom" and not callable(self.fn):
            raise ValueError("a 'custom' confirmation needs a callable fn")

    def describe(self) -> str:
        """One line: what the ablation must show."""
        if self.kind == "second_copy_loss":
            return "ablating the head must raise the loss on the second copy of [BOS] r r"
        if self.kind == "downstream":
            return (f"ablating the head must cut the {self.receivers} score of the "
                    f"{self.receivers} heads in later layers (with none, the second-copy "
                    "loss must rise)")
        if self.kind == "probe":
            task = getattr(self.probe_task, "name", self.probe_task)
            return (f"a linear probe for '{task}' read after the head's layer "
                    "must lose accuracy when the head is ablated")
        if self.kind == "loss":
            return ("ablating the head must raise the next-token loss on the stimuli, "
                    "measured against what ablating every head costs")
        return f"custom test {getattr(self.fn, '__name__', 'fn')}"


@dataclass(frozen=True)
class Behavior:
    """One head type: its targets, its null, its controls and its confirmation.

    Attributes:
        name: one spelling everywhere (``snake_case``).
        description: one line with the definition (and citation), shown in the report.
        targets: the target-key rule (module docstring).
        eligible: which keys the null compares with (:data:`ELIGIBLE_KEYS`).
        positional: where the targets sit by position in ``[BOS] r r`` (the no-repeat
            shortcut control), or None when the control does not apply.
        kind: ``"behavior"`` (can become a class) or ``"control"`` (scored, never a
            class).
        confirmation: a :class:`Confirmation` or its ``kind`` as a string.
        needs_predictions: ``targets`` also takes the model's predicted next tokens.
        min_prediction_prob: below this top probability a position predicts nothing (-1).
        composition: ``(mode, behavior)``: the heads of ``behavior`` whose output this
            head's ``mode`` (``Q``, ``K`` or ``V``) input reads, reported as weight evidence.
    """

    name: str
    description: str
    targets: TargetFn
    eligible: str = "earlier"
    positional: PositionalFn | None = None
    kind: str = "behavior"
    confirmation: Confirmation | str = "second_copy_loss"
    needs_predictions: bool = False
    min_prediction_prob: float = 0.3
    composition: tuple[str, str] | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"behavior name {self.name!r} must be a Python identifier")
        if not isinstance(self.description, str) or not self.description.strip():
            raise ValueError(f"behavior {self.name!r} needs a one-line description")
        if not callable(self.targets):
            raise ValueError(f"behavior {self.name!r}: targets must be callable")
        if self.eligible not in ELIGIBLE_KEYS:
            raise ValueError(
                f"behavior {self.name!r}: eligible {self.eligible!r} is not one of "
                f"{ELIGIBLE_KEYS}"
            )
        if self.positional is not None and not callable(self.positional):
            raise ValueError(f"behavior {self.name!r}: positional must be callable or None")
        if self.kind not in KINDS:
            raise ValueError(f"behavior {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if isinstance(self.confirmation, str):
            object.__setattr__(self, "confirmation", Confirmation(self.confirmation))
        elif callable(self.confirmation) and not isinstance(self.confirmation, Confirmation):
            object.__setattr__(self, "confirmation", Confirmation("custom", fn=self.confirmation))
        if not isinstance(self.confirmation, Confirmation):
            raise ValueError(f"behavior {self.name!r}: confirmation must be a Confirmation")
        if not 0.0 <= self.min_prediction_prob <= 1.0:
            raise ValueError(f"behavior {self.name!r}: min_prediction_prob must lie in 0..1")
        if self.composition is not None:
            mode, source = self.composition
            if mode not in ("Q", "K", "V") or not isinstance(source, str):
                raise ValueError(
                    f"behavior {self.name!r}: composition must be (mode in Q/K/V, behavior)"
                )

    @property
    def is_class(self) -> bool:
        """True for behaviors that can become classes (not controls)."""
        return self.kind == "behavior"

    def target_mask(
        self,
        tokens: Int[Tensor, "batch pos"],
        valid: Bool[Tensor, "batch pos"],
        predictions: "Predictions | None" = None,
    ) -> Bool[Tensor, "batch query key"]:
        """The raw target rule (before intersecting with the eligible keys)."""
        if self.needs_predictions:
            if predictions is None:
                raise ValueError(
                    f"behavior {self.name!r} needs the model's predictions to place its targets"
                )
            confident = predictions.probs >= self.min_prediction_prob  # (B, S)
            predicted = torch.where(confident, predictions.tokens, -1).to(tokens.device)
            mask = self.targets(tokens, valid, predicted)
        else:
            mask = self.targets(tokens, valid)
        expected = (tokens.shape[0], tokens.shape[1], tokens.shape[1])
        if not isinstance(mask, Tensor) or tuple(mask.shape) != expected:
            shape = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(
                f"behavior {self.name!r}: targets returned {shape}; expected a bool tensor "
                f"[batch, query, key] = {expected}"
            )
        return mask.to(torch.bool)


class Predictions(NamedTuple):
    """The model's top next-token prediction at each position and its probability, both
    ``[batch, pos]`` (see :func:`interp.engine.census.predicted_tokens`)."""

    tokens: Int[Tensor, "batch pos"]
    probs: Float[Tensor, "batch pos"]


def position_grid(n_pos: int, device: Any) -> tuple[Tensor, Tensor]:
    q_idx = torch.arange(n_pos, device=device)[:, None]  # (Q, 1)
    k_idx = torch.arange(n_pos, device=device)[None, :]  # (1, K)
    return q_idx, k_idx


def offset_targets(tokens: Int[Tensor, "batch pos"], offset: int) -> Bool[Tensor, "batch query key"]:
    """The key ``offset`` positions back from every query (``offset = 0``: itself)."""
    q_idx, k_idx = position_grid(tokens.shape[1], tokens.device)
    mask = k_idx == q_idx - offset  # (Q, K)
    return mask[None].expand(tokens.shape[0], -1, -1)  # (B, Q, K)


def token_back_labels(offset: int) -> Callable[..., tuple[Tensor, Tensor]]:
    """Probe labels: the id of the token ``offset`` positions back (positions whose
    ``offset``-back token is a real token after BOS)."""

    def labels(tokens: Tensor, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
        back = torch.roll(tokens, offset, dims=1)  # (B, S)
        keep = torch.ones_like(tokens, dtype=torch.bool) if valid is None else valid.clone()
        keep[:, : offset + 1] = False
        return back, keep

    return labels


def second_copy_offset(back: int) -> PositionalFn:
    """Positional control: the key ``repeat_len - back`` behind a second-copy query."""

    def positional(n_pos: int, repeat_len: int) -> Tensor:
        q_idx, k_idx = position_grid(n_pos, "cpu")
        return (k_idx == q_idx - repeat_len + back) & (q_idx > repeat_len)  # (Q, K)

    return positional


_REGISTRY: Registry[Behavior] = Registry("behavior", Behavior)


def register_behavior(behavior: Behavior, *, replace: bool = False) -> Behavior:
    """Add ``behavior`` to the registry every stage reads (after the ones already there).

    Raises:
        TypeError: not an :class:`interp.Behavior`.
        ValueError: a behavior of that name is registered and ``replace`` is False.
    """
    return _REGISTRY.add(behavior, replace=replace)


def unregister_behavior(name: str) -> Behavior:
    """Remove a behavior from the registry (the built-ins too); returns it."""
    return _REGISTRY.remove(name)


def get_behavior(name: str) -> Behavior:
    """The registered behavior called ``name``.

    Raises:
        KeyError: none is registered under that name (the message lists those that are).
    """
    return _REGISTRY.get(name)


def registered_behaviors(kind: str | None = None) -> tuple[Behavior, ...]:
    """Every registered behavior in registration order (optionally only one ``kind``)."""
    return tuple(b for b in _REGISTRY.values() if kind is None or b.kind == kind)


def resolve_behaviors(spec: Iterable[Behavior | str] | None = None) -> tuple[Behavior, ...]:
    """Behaviors from names or values (None: every registered one), without duplicates.

    Raises:
        KeyError: a name that is not registered, or a ``downstream``/``composition``
            reference to a behavior that is neither chosen nor registered.
        ValueError: two different behaviors share a name, or none is chosen.
    """
    out = _REGISTRY.resolve(spec)
    names = {b.name for b in out}
    for behavior in out:
        conf = behavior.confirmation
        assert isinstance(conf, Confirmation)
        for ref in (conf.receivers, behavior.composition[1] if behavior.composition else None):
            if ref is not None and ref not in names and ref not in _REGISTRY:
                raise KeyError(f"behavior {behavior.name!r} refers to unknown behavior {ref!r}")
    if not out:
        raise ValueError("no behaviors to score")
    return out
