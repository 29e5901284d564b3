"""Circuit breakers, pure: the state machine of one breaker (``machine``) and which
breaker a call goes through (``keys``). The actors: ``actors/breaker_actors.py``."""
