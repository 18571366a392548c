"""Tasks of the multitask mix: label inventories with aliases, instruction templates, output parsing."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from aramega_ssum.schema import TASKS
from aramega_ssum.text import normalize


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "generative" | "classification"
    modality: str  # "audio" | "text"
    instructions: tuple[str, ...]
    labels: tuple[str, ...] = ()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_classification(self) -> bool:
        return self.kind == "classification"


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
    Task("asr", "generative", "audio", (
        "فرّغ هذا المقطع الصوتي نصًا كما نُطق.",
        "اكتب النص المنطوق في هذا التسجيل.",
        "Transcribe the speech in this audio exactly as spoken.",
        "Write down what the speaker says.",
    )),
    Task("ssum", "generative", "audio", (
        "لخّص محتوى هذا المقطع الصوتي في جملة أو جملتين.",
        "استمع إلى التسجيل واكتب ملخصًا موجزًا له بالعربية.",
        "Summarize this Arabic speech in one or two sentences, in Arabic.",
        "Listen to the recording and write a short Arabic summary.",
    )),
    Task("tsum", "generative", "text", (
        "لخّص النص التالي في جملة أو جملتين.",
        "اكتب ملخصًا موجزًا للنص الآتي.",
        "Summarize the following Arabic text in one or two sentences, in Arabic.",
        "Write a short Arabic summary of this text.",
    )),
    Task("dialect", "classification", "audio", (
        "ما لهجة المتحدث؟ أجب بواحد من: EGY, GLF, LEV, NOR, MSA.",
        "حدّد اللهجة العربية في هذا المقطع. الخيارات: EGY, GLF, LEV, NOR, MSA.",
        "Which Arabic dialect is spoken? Answer with one of: EGY, GLF, LEV, NOR, MSA.",
        "Identify the dialect of the speaker (EGY, GLF, LEV, NOR or MSA).",
    ), labels=tuple(DIALECT_ALIASES), aliases=DIALECT_ALIASES),
    Task("emotion", "classification", "audio", (
        "ما العاطفة في صوت المتحدث؟ أجب بواحدة من: neutral, happy, sad, angry, surprise.",
        "صنّف مشاعر المتحدث: neutral, happy, sad, angry, surprise.",
        "What emotion does the speaker express? Answer with one of: neutral, happy, sad, angry, surprise.",
        "Classify the speaker's emotion (neutral, happy, sad, angry or surprise).",
    ), labels=tuple(EMOTION_ALIASES), aliases=EMOTION_ALIASES),
)

TASK_REGISTRY: dict[str, Task] = {t.name: t for t in _TASK_LIST}
if tuple(TASK_REGISTRY) != TASKS:
    raise RuntimeError("tasks.py and schema.TASKS must list the same tasks")


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
