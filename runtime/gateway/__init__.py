"""The one-port front door: HTTP (dashboard, /metrics, /healthz) and JSON-RPC over WebSocket."""

from __future__ import annotations
