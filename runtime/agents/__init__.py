"""Agents (LANGUAGE.md §8, docs/agents.md): agent types compiled once each, and the
deterministic simulation `dfl run --messages` drives over their instances."""
