"""Each task's facts, once: modality, label inventory with aliases, instruction templates, output
parsing, and its metrics as specs (name, range, direction, headline).

The scorer (`aramega_ssum.metrics`, `benchmark.score`), the evaluator (`benchmark.evaluate`), the
builders (which tasks carry audio) and the leaderboard (ranges, ranking direction, the headline
column, the `metrics` block of `leaderboards/schema.json`) all read these specs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aramega_ssum.schema import TASKS
from aramega_ssum.text import normalize


@dataclass(frozen=True)
class Metric:
    """One reported metric of a task (lm-eval's metric spec with `higher_is_better`).

    `family` names the computation that yields it in `aramega_ssum.metrics` ("error_rate",
    "rouge", "bertscore", "classification"); `low`/`high` bound the value and both ends of its
    ci95 interval (None: unbounded); a metric with an `error_key` may be null, with that key saying why.
    """

    name: str
    title: str
    family: str
    low: float | None
    high: float | None
    higher_is_better: bool
    doc: str
    error_key: str | None = None

    @property
    def nullable(self) -> bool:
        return self.error_key is not None

    def in_range(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def range_text(self) -> str:
        return f">= {self.low:g}" if self.high is None else f"in {self.low:g}..{self.high:g}"


WER = Metric("wer", "WER", "error_rate", 0.0, None, False, "Word error rate on normalized text, >= 0 (may exceed 1).")
CER = Metric("cer", "CER", "error_rate", 0.0, None, False,
             "Character error rate on normalized text, >= 0 (may exceed 1).")
ROUGE1 = Metric("rouge1", "ROUGE-1", "rouge", 0.0, 1.0, True,
                "ROUGE-1 F1 (Arabic-aware tokenizer on normalized text), 0..1.")
ROUGE2 = Metric("rouge2", "ROUGE-2", "rouge", 0.0, 1.0, True, "ROUGE-2 F1, 0..1.")
ROUGEL = Metric("rougeL", "ROUGE-L", "rouge", 0.0, 1.0, True, "ROUGE-L F1, 0..1.")
BERTSCORE = Metric("bertscore_f1", "BERTScore F1", "bertscore", -1.0, 1.0, True,
                   "BERTScore F1 with `scoring.bertscore_model` (no rescaling), -1..1; null when it could not "
                   "be computed (then `bertscore_error` says why).", error_key="bertscore_error")
ACCURACY = Metric("accuracy", "accuracy", "classification", 0.0, 1.0, True,
                  "Share of examples whose canonical predicted label equals the reference, 0..1 (invalid "
                  "outputs count as wrong).")
MACRO_F1 = Metric("macro_f1", "macro-F1", "classification", 0.0, 1.0, True,
                  "Macro-averaged F1 over the label inventory, 0..1.")
INVALID_RATE = Metric("invalid_rate", "invalid rate", "classification", 0.0, 1.0, False,
                      "Share of outputs that map to no label of the inventory, 0..1.")
SUMMARY_METRICS = (ROUGE1, ROUGE2, ROUGEL, BERTSCORE)
CLASSIFICATION_METRICS = (ACCURACY, MACRO_F1, INVALID_RATE)


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "generative" | "classification"
    modality: str  # "audio" | "text"
    title: str  # short, for tables: "ASR"
    description: str  # "speech recognition"
    instructions: tuple[str, ...]
    metrics: tuple[Metric, ...]
    headline: str  # the metric of the leaderboard column and the aggregate score
    labels: tuple[str, ...] = ()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_classification(self) -> bool:
        return self.kind == "classification"

    @property
    def headline_metric(self) -> Metric:
        return self.metric(self.headline)

    def metric(self, name: str) -> Metric:
        """The spec of metric `name` of this task; ValueError naming the task's metrics otherwise."""
        for spec in self.metrics:
            if spec.name == name:
                return spec
        raise ValueError(f"task {self.name!r} has no metric {name!r}; its metrics: "
                         f"{', '.join(m.name for m in self.metrics)}")

    def parse_output(self, text: str) -> str:
        """The prediction to score from a raw model output: stripped; for a classification task, the
        label the whole output or else its first line maps to (`canonical_label`), or the output
        verbatim (then scored as invalid)."""
        text = text.strip()
        if not self.is_classification:
            return text
        for candidate in (text, text.split("\n", 1)[0]):
            label = canonical_label(self.name, candidate)
            if label is not None:
                return label
        return text


DIALECT_ALIASES = {
    "EGY": ("egyptian", "egypt", "مصري", "مصرية", "المصرية", "اللهجة المصرية"),
    "GLF": ("gulf", "khaleeji", "خليجي", "خليجية", "الخليجية", "اللهجة الخليجية"),
    "LEV": ("levantine", "shami", "شامي", "شامية", "الشامية", "اللهجة الشامية"),
    "NOR": ("north african", "maghrebi", "maghrebi arabic", "مغاربي", "مغاربية", "المغاربية", "اللهجة المغاربية"),
    "MSA": ("modern standard arabic", "standard arabic", "فصحى", "الفصحى", "العربية الفصحى"),
}
EMOTION_ALIASES = {
    "neutral": ("محايد", "محايدة", "حياد"),
    "happy": ("happiness", "joy", "سعيد", "سعادة", "فرح", "سعيدة"),
    "sad": ("sadness", "حزين", "حزن", "حزينة"),
    "angry": ("anger", "غاضب", "غضب", "غاضبة"),
    "surprise": ("surprised", "مفاجأة", "مندهش", "دهشة", "متفاجئ"),
}

_TASK_LIST = (
    Task("asr", "generative", "audio", "ASR", "speech recognition", (
        "فرّغ هذا المقطع الصوتي نصًا كما نُطق.",
        "اكتب النص المنطوق في هذا التسجيل.",
        "Transcribe the speech in this audio exactly as spoken.",
        "Write down what the speaker says.",
    ), (WER, CER), "wer"),
    Task("ssum", "generative", "audio", "Speech summ.", "speech summarization", (
        "لخّص محتوى هذا المقطع الصوتي في جملة أو جملتين.",
        "استمع إلى التسجيل واكتب ملخصًا موجزًا له بالعربية.",
        "Summarize this Arabic speech in one or two sentences, in Arabic.",
        "Listen to the recording and write a short Arabic summary.",
    ), SUMMARY_METRICS, "rougeL"),
    Task("tsum", "generative", "text", "Text summ.", "text summarization", (
        "لخّص النص التالي في جملة أو جملتين.",
        "اكتب ملخصًا موجزًا للنص الآتي.",
        "Summarize the following Arabic text in one or two sentences, in Arabic.",
        "Write a short Arabic summary of this text.",
    ), SUMMARY_METRICS, "rougeL"),
    Task("dialect", "classification", "audio", "Dialect ID", "dialect identification", (
        "ما لهجة المتحدث؟ أجب بواحد من: EGY, GLF, LEV, NOR, MSA.",
        "حدّد اللهجة العربية في هذا المقطع. الخيارات: EGY, GLF, LEV, NOR, MSA.",
        "Which Arabic dialect is spoken? Answer with one of: EGY, GLF, LEV, NOR, MSA.",
        "Identify the dialect of the speaker (EGY, GLF, LEV, NOR or MSA).",
    ), CLASSIFICATION_METRICS, "macro_f1", labels=tuple(DIALECT_ALIASES), aliases=DIALECT_ALIASES),
    Task("emotion", "classification", "audio", "Emotion ID", "emotion identification", (
        "ما العاطفة في صوت المتحدث؟ أجب بواحدة من: neutral, happy, sad, angry, surprise.",
        "صنّف مشاعر المتحدث: neutral, happy, sad, angry, surprise.",
        "What emotion does the speaker express? Answer with one of: neutral, happy, sad, angry, surprise.",
        "Classify the speaker's emotion (neutral, happy, sad, angry or surprise).",
    ), CLASSIFICATION_METRICS, "macro_f1", labels=tuple(EMOTION_ALIASES), aliases=EMOTION_ALIASES),
)

TASK_REGISTRY: dict[str, Task] = {t.name: t for t in _TASK_LIST}
if tuple(TASK_REGISTRY) != TASKS:
    raise RuntimeError("tasks.py and schema.TASKS must list the same tasks")
for _task in _TASK_LIST:
    _task.headline_metric  # noqa: B018 - a headline that is not one of the task's metrics fails at import
AUDIO_TASKS = tuple(t.name for t in _TASK_LIST if t.modality == "audio")  # tasks whose rows carry audio
CLASSIFICATION_TASKS = tuple(t.name for t in _TASK_LIST if t.is_classification)


def get_task(name: str) -> Task:
    """The task called `name`; a clear error naming the known tasks otherwise."""
    try:
        return TASK_REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(TASKS)}") from None


def instruction_for(task: str, example_id: str) -> str:
    """A deterministic choice among the task's instruction templates, keyed by the example id."""
    templates = get_task(task).instructions
    digest = hashlib.sha256(f"{task}:{example_id}".encode()).digest()
    return templates[int.from_bytes(digest[:8], "big") % len(templates)]


def _alias_table(task: Task) -> dict[str, str]:
    table = {}
    for label in task.labels:
        for surface in (label, *task.aliases.get(label, ())):
            table[normalize(surface)] = label
    return table


_ALIAS_TABLES = {t.name: _alias_table(t) for t in _TASK_LIST if t.is_classification}


def canonical_label(task: str, text: str | None) -> str | None:
    """Map free text (a model output or a source label) to the task's inventory, or None (invalid).

    Matching is exact after `normalize`, against each label and its declared aliases.
    """
    if task not in _ALIAS_TABLES:
        raise ValueError(f"task {task!r} has no label inventory")
    if text is None:
        return None
    return _ALIAS_TABLES[task].get(normalize(text))


def parse_output(task: str, text: str) -> str:
    """`Task.parse_output` of task `task`: what `benchmark.evaluate` writes and the scorer reads."""
    return get_task(task).parse_output(text)
