"""The shell policy, pure: shell code read into simple commands (``lex``, ``parse``,
``words``, ``argv``), deny-rule matching (``deny``) and the decision (``rules``). The
policy file and its checks at admission and fire time: ``actors/shell_policy.py``."""
