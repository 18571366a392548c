"""Shared pytest fixtures: data fixtures (fixtures_data.py) and model fixtures (fixtures_model.py)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from fixtures_data import *  # noqa: E402,F401,F403
from fixtures_model import *  # noqa: E402,F401,F403
from fixtures_replica import *  # noqa: E402,F401,F403
from fixtures_leaderboard import *  # noqa: E402,F401,F403
