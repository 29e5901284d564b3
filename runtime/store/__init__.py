"""Durable storage behind an intent-level ``Store`` protocol (SQLite today)."""

from __future__ import annotations
