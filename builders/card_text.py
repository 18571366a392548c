"""The fixed prose of the dataset card (the generated parts live in `builders.card`)."""

SUMMARY = """\
AraMega-SSum is an Arabic speech summarization resource of (speech, transcription, summary)
triplets, together with a multitask instruction mix for Arabic audio LLMs: generative ASR, speech
summarization (`ssum`), text summarization (`tsum`), dialect identification and emotion
identification, in Arabic and Arabic-English code-switching.

**This is a reimplementation.** The paper that introduced AraMega-SSum ("Harmonizing the Arabic
Audio Space with Data Scheduling", arXiv 2601.12494) has not released its data or code. We follow
what is public: the construction of the English Mega-SSum (Interspeech 2024: TTS speech of
sentence/headline pairs, schema `id, audio, transcription, summary`) applied to Arabic, and the
paper's task list. Every other choice (corpus text, TTS voices and prosody, instruction templates,
label inventories, split policy) is this project's own. None of the paper's numbers are reproduced
or claimed. The default build comes from an embedded mini corpus written for this project, with
speech synthesized offline by espeak-ng; it is a test-sized dataset for development, not a
benchmark of record."""

CONSTRUCTION = """\
Two construction paths, both in `builders/`:

1. **Synthesized speech** (the embedded default and the `text_pairs` and `xlsum` sources):
   (document, summary) text pairs; the document is spoken by a TTS backend, giving (audio,
   transcription, summary). A text front-end runs before every backend: numbers, dates,
   percentages and decimals are spelled out in Arabic words (num2words for integers; decimals read
   "<integer> فاصلة <digits>"), and characters the voice cannot say are mapped or removed (`mms`: the
   characters of its tokenizer's vocabulary, read from the checkpoint's `vocab.json`; `espeak`: Arabic
   script and Latin). `transcription` is exactly the text that was spoken; the source's untouched
   text stays in `source_text`. An utterance that would lose a word (e.g. the English words of a
   code-switched sentence with the `mms` voice) is skipped and reported (`unspeakable_text`); every
   change is listed per item under `frontend` in `build_report.json`. Backends: `espeak` (espeak-ng, Arabic voice `ar`; speaker variety from voice variants
   `ar+m1 ... ar+f5` with per-speaker pitch and rate, chosen by a seeded hash of the example id;
   deterministic: each document is rendered twice and the WAVs compared, a third render deciding a
   mismatch, which espeak-ng gave once on the first build of each of four fresh machines; the default) and `mms` (transformers `VitsModel`, default checkpoint
   `facebook/mms-tts-ara`, any hub id or local path). Documents are spoken sentence by sentence with
   0.3 s pauses; the whole document is the `ssum` example and each sentence slice an `asr` example.
   Emotion utterances are rendered with clearly different prosody per emotion (SSML pitch level,
   pitch range, rate and volume: happy higher and livelier, sad lower, flatter, slower and softer,
   angry faster and louder, surprise highest with the widest range). All speech is resampled to
   16 kHz mono (polyphase) and stored as 16-bit FLAC.
2. **Real speech** (`manifest`, `hf`, `sada`, `label_dirs` sources): segments with transcripts from
   a real corpus. Summaries come from a column of the source or from a pluggable summarizer (a
   transformers causal LM given by `--summarizer` as a hub id or local path, an Arabic prompt,
   greedy decoding, batched with left padding; the document, never the instruction, is cut to the
   model's token budget; summaries that stop at `max_new_tokens` or come back empty are skipped and
   reported as `summary_cut` / `summary_empty`). Consecutive segments of one recording are grouped
   into summarizable chunks up to a configurable duration (`chunk_seconds`, default 60 s).

Mix: `asr` from documents (sentence slices), code-switched sentences, dialect utterances and real
transcribed speech; `ssum` and `tsum` from documents (`tsum` takes the document text as input);
`dialect` and `emotion` from labelled utterances, labels mapped to the task inventory
(dialect EGY GLF LEV NOR MSA; emotion neutral happy sad angry surprise) through declared aliases.
Each example gets one of several Arabic and English instruction templates, chosen
deterministically from its id. Bad inputs (corrupt, empty, unreadable or zero-length audio, NaN
samples, audio longer than `--max-audio-seconds` or shorter than `--min-audio-seconds` (0.1 s), missing files, empty or non-Arabic text, non-UTF-8
text, duplicate ids, labels outside the inventory) are skipped, counted and listed with their file
in `build_report.json`; `--strict` stops at the first. Two builds of the same inputs with the same
seed give the same content (the same fingerprint) with either engine (`--engine local`, a process
pool; `--engine ray`, a Ray Data pipeline) and any number of workers; each split is written in
shards of at most `--max-shard-size` (default 500 MB) named `<split>-NNNNN-of-NNNNN.parquet`.

XL-Sum Arabic (`format: xlsum`, `recipes/xlsum.yaml`) is the path to a full-size build: BBC Arabic
articles, the release's own train/val/test split kept, XL-Sum's one-sentence `summary` as the
summary and, following Mega-SSum's sentence-wise design, the body's leading sentences up to
`max_words` (default 200) as the spoken document (`truncate: sentence`; or `skip` longer articles),
each truncation or skip reported."""

USAGE = """\
```bash
python -m builders.build                       # writes ./aramega-ssum (embedded corpus, espeak-ng)
python -m builders.build --sources sources.yaml --num-proc 8 --tts mms --summarizer <causal-LM>
```

```python
from datasets import load_dataset, Audio
ssum = load_dataset("aramega-ssum")                 # default config: ssum
mix = load_dataset("aramega-ssum", "multitask")
row = mix["train"].cast_column("audio", Audio(decode=False))[0]
from aramega_ssum.audio import decode_audio
samples, rate = decode_audio(row["audio"])          # soundfile; no torchcodec needed
```
`row["audio"]["array"]` through `datasets` needs torchcodec (`pip install torchcodec==0.13.0` with
FFmpeg libraries)."""

LICENCES = """\
- The embedded mini corpus (text written for this project) and the synthesized speech built from
  it: Apache-2.0, like the code. espeak-ng output carries no licence restriction on its audio.
- A build from `--sources` inherits the licences of those sources; the card is then marked
  `license: other` and **you** must check redistribution before publishing the output:
  - LDC corpora (e.g. MGB-2/MGB-3 derived sets, GALE, Arabic CTS) may not be redistributed;
  - NC (non-commercial) sources, e.g. many emotion corpora, restrict use and must keep the licence;
  - ND (no-derivatives) sources may not be re-cut, resampled or re-encoded and published;
  - SADA 2022 (SDAIA) comes under its own terms from its distributor; check them;
  - Common Voice has left the Hugging Face Hub: obtain it from Mozilla Data Collective under its
    terms and never re-host its audio.
- XL-Sum (`xlsum` source): CC BY-NC-SA 4.0, articles from BBC Arabic. A build from it is
  non-commercial and share-alike: publish it only under the same licence with attribution, never
  for commercial use; the text itself (`text`, `source_text`, `transcription`, `summary`) is BBC's.
- `mms` speech: the MMS-TTS checkpoints are CC-BY-NC 4.0; audio synthesized with them inherits the
  non-commercial restriction.
- Summaries produced by a summarizer model inherit that model's licence terms."""

LIMITATIONS = """\
- TTS speech is not natural speech: no spontaneous disfluencies, overlaps, noise or channel
  variety; models trained on it transfer imperfectly to real recordings.
- espeak-ng's Arabic voice is a formant synthesizer: robotic timbre, and undiacritized text gets
  guessed vowels, so pronunciation is often wrong; "speakers" are voice variants of one engine.
- Dialect utterances are dialectal *text* spoken by an MSA-oriented synthesizer: their dialect is
  lexical, not phonetic. Emotion is rendered through prosody rules only.
- In code-switched sentences the English words are read by espeak-ng's Arabic voice, so they do not
  sound like natural English; the `mms` Arabic voice cannot say Latin letters at all, so those
  utterances are skipped (and reported) in an `mms` build.
- Spelled-out numbers are in the masculine nominative whatever the counted noun (num2words has no
  gender agreement or case endings); dates are read day/month/year with the months يناير...ديسمبر.
- The embedded corpus is tiny (tens of documents, hundreds of utterances): splits are small and
  metrics on them have wide confidence intervals. Use real corpora for any claim.
- Summaries of the embedded corpus are single references; summarizer-made summaries are unverified."""

CITATION = """\
```bibtex
@misc{aramega_ssum_2026,
  title  = {Harmonizing the Arabic Audio Space with Data Scheduling},
  author = {Anonymous},
  note   = {ACL ARR 2026 January submission 10627; arXiv 2601.12494. Introduces AraMega-SSum.},
  year   = {2026},
  eprint = {2601.12494},
  archivePrefix = {arXiv}
}
@inproceedings{matsuura2024megassum,
  title     = {Sentence-wise Speech Summarization: Task, Datasets, and End-to-End Modeling with
               LM Knowledge Distillation},
  author    = {Matsuura, Kohei and Ashihara, Takanori and Moriya, Takafumi and Mimura, Masato and
               Kano, Takatomo and Ogawa, Atsunori and Delcroix, Marc},
  booktitle = {Proc. Interspeech 2024},
  year      = {2024}
}
```
Please cite the paper above for the dataset's idea and this repository for the reimplementation."""
