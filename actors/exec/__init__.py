"""Running actions and checking conditions, shared by every type: the seam the engine
calls (``interface``: ``Executor``, ``Evaluator``, ``RunContext``), the daemon's
dispatchers through the registries (``executor``, ``evaluator``), what executors share
(``common``: results, run environments, job processes) and their settings (``settings``).
The per-type modules are ``actors/actions/`` and ``actors/conditions/``."""
