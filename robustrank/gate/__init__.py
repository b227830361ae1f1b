"""Release gate: a policy of conditions on results.json (and deltas to a baseline), outcomes
PASS / WARN / FAIL / ERROR, Markdown and JUnit outputs. Reads results files only, never a model.

Modules: :mod:`.expr` (the condition grammar), :mod:`.evaluate` (outcomes), :mod:`.policy`
(policies from YAML or a results file), :mod:`.output` (Markdown, JUnit, gate.json).
"""
