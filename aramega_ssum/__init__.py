"""AraMega-SSum: Arabic speech summarization corpus, multitask mix and data-scheduling benchmark."""

__version__ = "0.1.0"
