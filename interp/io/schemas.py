"""The schema of every JSON file interp reads, as pydantic (v2) models.

Pydantic, not hand-written checks: each file's form is declared once, as typed fields
with ranges, and a violation names its field (:func:`interp.io.safe_json.validate` turns
it into one line). Readers validate, then use the data as read, so a valid file reaches
them unchanged.

- model files: :class:`NativeConfig` (the project's ``config.json``), :class:`HFConfig`
  (a Hugging Face ``config.json``; :data:`HF_DIMS` names its aliases),
  :class:`SpecialTokensDoc`, a ``.safetensors`` header (:class:`SafetensorsHeader`) and a
  sharded checkpoint's index (:class:`SafetensorsIndex`);
- inputs: :class:`SpecFile` (a zoo or sweep spec file), :class:`ItemRecord` (a stored
  item, whose ``result`` is a :class:`CheckpointScoresDoc` or a :class:`ReportDoc`);
- outputs read back: :class:`ReportDoc` (``report.json``), :class:`SweepDoc`
  (``sweep.json``), :class:`ZooDoc` (``zoo.json``) and :class:`ManifestDoc` (the run
  record every manifest carries).

Sizes are bounded (:data:`MAX_LAYERS`, ...) so that a file cannot ask for a model or a
page larger than any machine holds; numbers are finite (the parser refuses the rest).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from .labels import label_problem

#: Most layers, and heads per layer, a config or result may declare.
MAX_LAYERS = 4096
MAX_HEADS = 4096
#: Most heads in all (a zoo page draws a cell per head).
MAX_TOTAL_HEADS = 2**20
#: Widest residual stream, head, MLP and vocabulary a config may declare.
MAX_WIDTH = 2**17
MAX_MLP = 2**20
MAX_VOCAB = 2**22
#: Longest context of a project-format model (it builds an ``n_ctx x n_ctx`` mask per
#: layer) and of a Hugging Face config.
MAX_NATIVE_CTX = 2**20
MAX_HF_CTX = 2**27
#: Most models in one spec file.
MAX_SPECS = 10_000


def _size(low: int, high: int) -> Any:
    return Annotated[int, Field(strict=True, ge=low, le=high)]


Layers = _size(1, MAX_LAYERS)
Heads = _size(1, MAX_HEADS)
Width = _size(1, MAX_WIDTH)
Mlp = _size(1, MAX_MLP)
Vocab = _size(1, MAX_VOCAB)
NativeCtx = _size(1, MAX_NATIVE_CTX)
HFCtx = _size(1, MAX_HF_CTX)
SomeLayers = _size(0, MAX_LAYERS)  # 0: a result that does not say
SomeHeads = _size(0, MAX_HEADS)
Version = _size(1, 10**6)
VocabOut = _size(-1, MAX_VOCAB)  # -1: the same as d_vocab (TransformerLens)
Int = Annotated[int, Field(strict=True)]
Count = Annotated[int, Field(strict=True, ge=0)]
Number = Annotated[float, Field(strict=True)]  # ints too; never bools or strings
Maybe = Number | None
Grid = list[list[Maybe]]
Grid3 = list[list[list[Maybe]]]
Hex = Annotated[str, Field(pattern=r"^[0-9a-f]+$")]


def _no_control(text: str) -> str:
    if "\0" in text:
        raise ValueError("holds a NUL byte")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("holds characters that are not valid Unicode") from None
    return text


def _label(text: Any) -> Any:
    problem = label_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


def _file_name(text: str) -> str:
    if text in (".", "..") or any(c in text for c in "/\\\0"):
        raise ValueError("must be a plain file name")
    return text


#: A plain file name (no directory part, never ``.`` or ``..``).
FileName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_file_name)]
#: A path or model name: 1 to 4096 characters, no NUL.
PathText = Annotated[str, Field(min_length=1, max_length=4096), AfterValidator(_no_control)]
#: A model label (:mod:`interp.io.labels`).
Label = Annotated[str, Field(strict=True), AfterValidator(_label)]


class _Read(BaseModel):
    """A document interp wrote: unknown keys are kept (and ignored)."""

    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    """A document a user writes: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


def _shape_problem(value: Any, dims: tuple[int, ...]) -> str | None:
    """Why ``value`` is not nested lists of shape ``dims`` holding numbers or nulls (None
    when it is)."""
    if not dims:
        number = value is None or (isinstance(value, (int, float))
                                   and not isinstance(value, bool))
        return None if number else f"holds {type(value).__name__} where a number is expected"
    if not isinstance(value, list) or len(value) != dims[0]:
        got = len(value) if isinstance(value, list) else type(value).__name__
        return f"has {got} entries where {dims[0]} are expected"
    for item in value:
        problem = _shape_problem(item, dims[1:])
        if problem:
            return problem
    return None


def _check_grids(grids: dict | None, dims: tuple[int, ...], what: str) -> None:
    for name, grid in (grids or {}).items():
        problem = _shape_problem(grid, dims)
        if problem:
            raise ValueError(f"{what}[{name!r}] {problem} (shape {list(dims)})")


# ---------------------------------------------------------------------- model configs


class NativeConfig(_Read):
    """A project-format ``config.json`` (what ``TransformerBridgeConfig.to_dict()``
    writes): the sizes that decide what is built, bounded; the rest is TransformerLens'."""

    n_layers: Layers
    n_heads: Heads
    d_model: Width
    d_head: Width
    d_vocab: Vocab
    n_ctx: NativeCtx
    d_mlp: Mlp | None = None
    d_vocab_out: VocabOut | None = None
    n_key_value_heads: Heads | None = None
    rotary_dim: Width | None = None
    attn_only: Annotated[bool, Field(strict=True)] = False
    positional_embedding_type: str = "standard"
    dtype: str | None = None
    model_name: str | None = None

    @model_validator(mode="after")
    def _heads_divide(self) -> NativeConfig:
        if self.n_key_value_heads and self.n_heads % self.n_key_value_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of "
                             f"n_key_value_heads {self.n_key_value_heads}")
        if self.n_layers * self.n_heads > MAX_TOTAL_HEADS:
            raise ValueError(f"n_layers x n_heads is more than {MAX_TOTAL_HEADS} heads")
        return self


#: Hugging Face's names for each size (model families spell them differently).
HF_DIMS: dict[str, tuple[str, ...]] = {
    "layers": ("num_hidden_layers", "n_layer", "n_layers", "num_layers"),
    "heads": ("num_attention_heads", "n_head", "n_heads"),
    "width": ("hidden_size", "n_embd", "d_model"),
    "vocab": ("vocab_size",),
    "positions": ("max_position_embeddings", "n_positions", "n_ctx"),
}


def _sizes(one: Any) -> Any:
    """A size, or a per-layer list of sizes (some families list them), or null."""
    return one | Annotated[list[one], Field(max_length=MAX_LAYERS)] | None


HeadsEach = _sizes(Heads)
WidthEach = _sizes(Width)
MlpEach = _sizes(Mlp)


class _HFSizes(_Read):
    num_hidden_layers: Layers | None = None
    n_layer: Layers | None = None
    n_layers: Layers | None = None
    num_layers: Layers | None = None
    num_attention_heads: HeadsEach = None
    n_head: HeadsEach = None
    n_heads: HeadsEach = None
    num_key_value_heads: HeadsEach = None
    hidden_size: Width | None = None
    n_embd: Width | None = None
    d_model: Width | None = None
    head_dim: WidthEach = None
    intermediate_size: MlpEach = None
    n_inner: MlpEach = None
    vocab_size: Vocab | None = None
    max_position_embeddings: HFCtx | None = None
    n_positions: HFCtx | None = None
    n_ctx: HFCtx | None = None


class HFConfig(_HFSizes):
    """A Hugging Face ``config.json``: ``model_type`` and every size it gives, bounded (a
    multimodal model's ``text_config`` too)."""

    model_type: Annotated[str, Field(strict=True, min_length=1, max_length=200)]
    text_config: _HFSizes | None = None


def hf_dim(config: dict, dim: str) -> int | None:
    """The first of a Hugging Face config's names for ``dim`` (:data:`HF_DIMS`) that holds
    an integer, looking in ``text_config`` first (a multimodal model's language model)."""
    for where in (config.get("text_config"), config):
        if not isinstance(where, dict):
            continue
        for name in HF_DIMS[dim]:
            value = where.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def model_dims(config: dict) -> tuple[int, int, int] | None:
    """``(n_layers, n_heads, d_vocab)`` of a validated config (project or Hugging Face),
    or None where the config does not say."""
    if "model_type" not in config:
        return int(config["n_layers"]), int(config["n_heads"]), int(config["d_vocab"])
    dims = (hf_dim(config, "layers"), hf_dim(config, "heads"), hf_dim(config, "vocab"))
    return dims if all(d is not None for d in dims) else None  # type: ignore[return-value]


class SpecialTokensDoc(_Read):
    """``special_tokens.json``: ids that are not ordinary tokens."""

    special_token_ids: Annotated[list[Annotated[int, Field(strict=True, ge=0, le=MAX_VOCAB)]],
                                 Field(max_length=MAX_VOCAB)]


class TensorEntry(_Read):
    dtype: Annotated[str, Field(strict=True, min_length=1, max_length=16)]
    shape: Annotated[list[Count], Field(max_length=16)]
    data_offsets: Annotated[list[Count], Field(min_length=2, max_length=2)]


class SafetensorsHeader(_Read):
    """A ``.safetensors`` header: tensors with shapes and data offsets inside the file."""

    tensors: Annotated[dict[str, TensorEntry], Field(max_length=10**6)]
    data_size: Count

    @model_validator(mode="before")
    @classmethod
    def _drop_metadata(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tensors"), dict):
            tensors = {k: v for k, v in data["tensors"].items() if k != "__metadata__"}
            return {**data, "tensors": tensors}
        return data

    @model_validator(mode="after")
    def _inside(self) -> SafetensorsHeader:
        for name, entry in self.tensors.items():
            start, end = entry.data_offsets
            if not start <= end <= self.data_size:
                raise ValueError(f"tensor {name!r} lies outside the file (offsets "
                                 f"{start}..{end} of {self.data_size} bytes)")
        return self


class SafetensorsIndex(_Read):
    """``model.safetensors.index.json``: tensor name -> shard file (a plain file name)."""

    weight_map: dict[str, FileName]


# ---------------------------------------------------------------------- inputs


def _entry(value: Any) -> Any:
    return {"model": value} if isinstance(value, str) else value


class SpecEntry(_Closed):
    """One model of a spec file (:func:`interp.runs.specs.read_spec_file`)."""

    model: PathText
    label: Label | None = None
    checkpoint_index: Count | None = None
    checkpoint_value: Count | None = None

    @model_validator(mode="after")
    def _one_checkpoint(self) -> SpecEntry:
        if self.checkpoint_index is not None and self.checkpoint_value is not None:
            raise ValueError("gives both checkpoint_index and checkpoint_value")
        return self


class SpecFile(_Closed):
    """A spec file: a non-empty list of models, or ``{"models": [...]}``."""

    models: Annotated[list[Annotated[SpecEntry, BeforeValidator(_entry)]],
                      Field(min_length=1, max_length=MAX_SPECS)]

    @model_validator(mode="before")
    @classmethod
    def _list_form(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"models": data}
        if not isinstance(data, dict):
            raise ValueError('must hold a non-empty list of models (or {"models": [...]})')
        return data


class ItemRecord(_Read):
    """A stored item (``OUT/items/<key>.json``): what produced it, and its result."""

    key: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    label: Label
    source: Annotated[str, Field(strict=True)]
    settings: dict[str, Any]
    result: dict[str, Any]


class CheckpointScoresDoc(_Read):
    """One checkpoint's scores (``CheckpointScores.to_dict()``), grids of its shape."""

    name: str
    shape: Annotated[list[Int], Field(min_length=4, max_length=4)]
    stimuli: dict[str, Any]
    scores: dict[str, Grid]
    nulls: dict[str, Grid]
    stderrs: dict[str, Grid]
    first_copy_loss: Maybe
    second_copy_loss: Maybe
    curves: dict[str, Any] = {}
    measures: dict[str, Grid] = {}

    @model_validator(mode="after")
    def _shapes(self) -> CheckpointScoresDoc:
        n_layers, n_heads, d_vocab, _ = self.shape
        if not (1 <= n_layers <= MAX_LAYERS and 1 <= n_heads <= MAX_HEADS
                and 1 <= d_vocab <= MAX_VOCAB):
            raise ValueError(f"shape {self.shape} is not (layers, heads, vocabulary, BOS) "
                             "of a model")
        dims = (n_layers, n_heads)
        for what in ("scores", "nulls", "stderrs", "measures"):
            _check_grids(getattr(self, what), dims, what)
        if set(self.nulls) != set(self.scores) or set(self.stderrs) != set(self.scores):
            raise ValueError("scores, nulls and stderrs name different behaviors")
        if self.curves:
            values, info = self.curves.get("values"), self.curves.get("info")
            if not isinstance(values, dict) or not isinstance(info, dict):
                raise ValueError("curves must hold the objects 'values' and 'info'")
            for name, value in values.items():
                grid = name == "prefix_matching" or name.startswith(("score:", "null:"))
                problem = _shape_problem(value, dims if grid else (1,))
                if problem:
                    raise ValueError(f"curves.values[{name!r}] {problem}")
        return self


# ---------------------------------------------------------------------- report.json


class _Evidence(_Read):
    method: Any = ""
    metric: Any = ""
    clean: Any = None
    ablated: Any = None
    effect: Any = None
    stderr: Any = None
    scale: Any = None
    relative: Any = None
    status: str | None = None
    reason: Any = ""
    receivers: list[Any] = []
    probe: Any = None
    group: Any = None


class GroupLinkDoc(_Read):
    heads: list[str]


class EvidenceDoc(_Evidence):
    """One ablation's evidence (``Evidence.to_dict()``)."""

    probe: EvidenceDoc | None = None
    group: GroupLinkDoc | None = None


class GroupDoc(_Evidence):
    """A group ablation (``GroupEvidence.to_dict()``)."""

    behavior: Any = ""
    heads: list[Any] = []
    alone: dict[str, Any] = {}
    adds: dict[str, Any] = {}
    strongest: Any = None
    group_status: str | None = None


class FeederDoc(_Read):
    head: Any


class WeightsDoc(_Read):
    ov_copying: Any = None
    query_feeders: list[FeederDoc] | None = None
    key_feeders: list[FeederDoc] | None = None
    value_feeders: list[FeederDoc] | None = None
    feeder_source: str | None = None
    error: str | None = None


class HeadDoc(_Read):
    """One head (``HeadClass.to_dict()``): its label is ``"layer.index"``."""

    head: HeadLabel
    layer: Count
    index: Count
    scores: dict[str, Maybe]
    nulls: dict[str, Maybe]
    lifts: dict[str, Maybe]
    stderr: dict[str, Maybe]
    classes: list[str]
    ablation: dict[str, EvidenceDoc] = {}
    loss_effect: Maybe = None
    weights: WeightsDoc | None = None
    distance: list[Maybe] = []
    no_repeat: dict[str, Any] = {}
    measures: dict[str, Maybe | list[Maybe]] = {}
    checks: dict[str, EvidenceDoc] = {}

    @model_validator(mode="after")
    def _label_matches(self) -> HeadDoc:
        if self.head != f"{self.layer}.{self.index}":
            raise ValueError(f"head {self.head!r} is not layer.index ({self.layer}."
                             f"{self.index})")
        return self


class ProbeResultDoc(_Closed):
    task: str
    site: str
    accuracy: Number
    chance: Number
    n_train: Count
    n_test: Count
    seed: Int


class LayerProbesDoc(_Read):
    task: str
    results: list[ProbeResultDoc]
    ablated: list[str] = []
    method: str = "mean"


class BehaviorInfoDoc(_Read):
    name: str
    description: str
    kind: str = "behavior"
    confirmation: str = ""
    positional_control: bool = False


class MeasureInfoDoc(_Read):
    name: str
    description: str
    kind: str = "pattern"
    stimuli: str = ""
    threshold: Maybe = None
    above_uniform: bool = False
    label: str | None = None
    bins: list[str] | None = None
    baseline: Maybe = None
    note: str = ""
    check_claim: str = ""
    check: str = ""


HeadLabel = Annotated[str, Field(pattern=r"^\d{1,6}\.\d{1,6}$")]


class ExampleDoc(_Read):
    """One stimulus and the attention pattern of heads on it (``[query][key]``)."""

    tokens: list[Int] = []
    patterns: dict[HeadLabel, list[list[Maybe]]] = {}


class TextScoreDoc(_Read):
    score: Maybe = None
    null: Maybe = None
    lift: Maybe = None


class TextScoresDoc(_Read):
    """Scores on the user's text: ``{"stimuli": {...}, "heads": {label: {behavior:
    {score, null, lift}}}}``."""

    stimuli: dict[str, Any] = {}
    heads: dict[HeadLabel, dict[str, TextScoreDoc]] = {}


class BaselineDoc(_Read):
    """The copy losses of the unablated model (nats)."""

    first_copy_loss: Number
    second_copy_loss: Number


class ModelInfoDoc(_Read):
    name: Any = None
    n_layers: SomeLayers = 0  # absent: the result does not say
    n_heads: SomeHeads = 0


class CircuitLinkDoc(_Read):
    """``report.json``'s ``circuit``: the circuit set written beside the report
    (``interp report --circuit``) and the run id it was written with."""

    run_id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    files: dict[Literal["json", "html", "markdown"], FileName]


class ReportDoc(_Read):
    """``report.json`` (``Classification.to_dict()``, with ``circuit`` when the report
    links one), and a zoo's stored item."""

    schema_version: Version = 1
    model: ModelInfoDoc
    settings: dict[str, Any]
    baseline: BaselineDoc | Annotated[dict, Field(max_length=0)] = {}
    behaviors: list[BehaviorInfoDoc] = []
    heads: Annotated[list[HeadDoc], Field(max_length=MAX_TOTAL_HEADS)]
    groups: list[GroupDoc] = []
    example: ExampleDoc = ExampleDoc()
    probes: list[LayerProbesDoc] = []
    text_scores: TextScoresDoc = TextScoresDoc()
    measures: list[MeasureInfoDoc] = []
    circuit: CircuitLinkDoc | None = None

    @model_validator(mode="after")
    def _heads_fit(self) -> ReportDoc:
        n_layers = self.model.n_layers if "n_layers" in self.model.model_fields_set else None
        n_heads = self.model.n_heads if "n_heads" in self.model.model_fields_set else None
        seen = set()
        for n, head in enumerate(self.heads):
            if head.head in seen:
                raise ValueError(f"heads[{n}]: head {head.head} is listed twice")
            seen.add(head.head)
            if n_layers is not None and head.layer >= n_layers or \
                    n_heads is not None and head.index >= n_heads:
                raise ValueError(f"heads[{n}]: head {head.head} is outside the model's "
                                 f"{n_layers} x {n_heads} heads")
        for info in self.measures:  # a profile is a list per head, any other a number
            for n, head in enumerate(self.heads):
                value = head.measures.get(info.name)
                if isinstance(value, list) != (info.bins is not None) and value is not None:
                    raise ValueError(f"heads[{n}].measures.{info.name} must be "
                                     f"{'a list (a profile)' if info.bins else 'a number'}")
        return self


# ---------------------------------------------------------------------- sweep.json, zoo.json


class SweepDoc(_Read):
    """``sweep.json`` (``CheckpointSweep.to_dict()``): every series one entry per
    checkpoint, every grid ``[checkpoint][layer][head]``."""

    labels: list[str]
    steps: list[Int]
    sources: list[str]
    n_layers: Layers
    n_heads: Heads
    scores: dict[str, Grid3]
    nulls: dict[str, Grid3]
    stderrs: dict[str, Grid3]
    first_copy_loss: list[Maybe]
    second_copy_loss: list[Maybe]
    stimuli: dict[str, Any]
    failed: list[dict[str, Any]] = []
    prefix_matching: Grid3 | None = None
    icl_score: list[Maybe] | None = None
    heldout_loss: list[Maybe] | None = None
    text_first_copy_loss: list[Maybe] | None = None
    text_second_copy_loss: list[Maybe] | None = None
    text_scores: dict[str, Grid3] | None = None
    text_nulls: dict[str, Grid3] | None = None
    curves: dict[str, Any] | None = None
    measures: dict[str, Grid3] | None = None

    @model_validator(mode="after")
    def _shapes(self) -> SweepDoc:
        n = len(self.labels)
        if self.n_layers * self.n_heads > MAX_TOTAL_HEADS:
            raise ValueError(f"n_layers x n_heads is more than {MAX_TOTAL_HEADS} heads")
        for name in ("steps", "sources", "first_copy_loss", "second_copy_loss", "icl_score",
                     "heldout_loss", "text_first_copy_loss", "text_second_copy_loss"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} has {len(value)} entries for {n} checkpoints")
        dims = (n, self.n_layers, self.n_heads)
        for name in ("scores", "nulls", "stderrs", "text_scores", "text_nulls", "measures"):
            _check_grids(getattr(self, name), dims, name)
        if self.prefix_matching is not None:
            _check_grids({"": self.prefix_matching}, dims, "prefix_matching")
        return self


class ZooClasses(_Read):
    confirmed: list[str]
    unconfirmed: list[str]


class ZooModel(_Read):
    label: Label
    source: str
    name: str | None = None
    n_layers: SomeLayers
    n_heads: SomeHeads
    report: str
    first_copy_loss: Maybe = None
    second_copy_loss: Maybe = None
    classes: dict[str, ZooClasses]
    heads: dict[str, list[str]]


class ZooFailure(_Read):
    label: Label
    source: str
    error: str


class ZooDoc(_Read):
    """``zoo.json`` (:func:`interp.report.zoo_page.zoo_document`): unique, valid labels."""

    behaviors: list[str]
    models: list[ZooModel]
    failed: list[ZooFailure] = []

    @model_validator(mode="after")
    def _unique(self) -> ZooDoc:
        labels = [m.label.lower() for m in self.models] + [f.label.lower() for f in self.failed]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(f"labels {twice} are used twice")
        if sum(m.n_layers * m.n_heads for m in self.models) > MAX_TOTAL_HEADS:
            raise ValueError(f"the models hold more than {MAX_TOTAL_HEADS} heads")
        return self


class CircuitEdgeDoc(_Read):
    """One edge of ``circuit.json``."""

    source: Annotated[str, Field(pattern=r"^(embed|mlp\.\d+|\d+\.\d+)$")]
    target: Annotated[str, Field(pattern=r"^(logits|\d+\.\d+)$")]
    input: Literal["q", "k", "v", "out"]
    score: Number
    effect: Maybe = None
    stderr: Maybe = None
    relative: Maybe = None
    status: Literal["confirmed", "refuted", "undecidable", "unchecked"]
    metric: str = ""
    reason: str = ""
    group: list[str] = []

    @model_validator(mode="after")
    def _input_fits(self) -> CircuitEdgeDoc:
        if (self.target == "logits") != (self.input == "out"):
            raise ValueError("an edge into the logits enters 'out'; into a head, q, k or v")
        if self.status != "unchecked" and self.effect is None and self.status != "undecidable":
            raise ValueError(f"a {self.status} edge needs its effect")
        return self


class CircuitDoc(_Read):
    """``circuit.json`` (:meth:`interp.results.circuit.Circuit.to_dict`)."""

    model: dict[str, Any]
    settings: dict[str, Any]
    receivers: dict[str, str]
    stimuli: dict[str, Any]
    edges: list[CircuitEdgeDoc]
    groups: list[dict[str, Any]] = []


class ManifestRecord(_Read):
    """The run record of a manifest (``"output_set"``): the run id and the sha256 of every
    other file of the set."""

    run_id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    sha256: dict[FileName, Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]]


class ManifestDoc(_Read):
    """Any manifest: a JSON object carrying its run record under ``"output_set"``."""

    output_set: ManifestRecord
