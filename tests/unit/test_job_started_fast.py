"""The fast path of a run recorded as started (``started_now``, every fire takes it)
gives exactly what the state machine's ``RunStarted`` step gives."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from unit.model_strategies import job_states

from gnomon.actors.core.job import fsm
from gnomon.actors.core.job.attempts import started_now
from gnomon.runtime.model.state import FirePhase, JobState

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@settings(max_examples=400)
@given(state=job_states, pick=st.integers(min_value=0, max_value=8), run=st.booleans())
def test_started_now_is_the_run_started_step(state: JobState, pick: int, run: bool) -> None:
    """For a fire of the state (made running with a run id, or as drawn) or an unknown
    run id: the same state, no effects, and a refusal exactly where the step refuses."""
    ids = [f.run_id for f in state.fires if f.run_id] + ["unknown"]
    run_id = ids[pick % len(ids)]
    if state.fires and run:
        fires = list(state.fires)
        k = pick % len(fires)
        run_id = f"r{k}"
        fires[k] = attrs.evolve(fires[k], phase=FirePhase.RUNNING, run_id=run_id, started=pick > 6)
        state = attrs.evolve(state, fires=tuple(fires))
    assume(len({f.cycle for f in state.fires}) == len(state.fires))  # no job has two fires
    # with one cycle (the step's replace drops both, and with them a timer: drawn once)
    try:  # a drawn state may be one no job reaches (its timers cannot be computed)
        step = fsm.step(state, fsm.RunStarted(now=NOW, run_id=run_id))
    except Exception:
        assume(False)
    fast = started_now(state, run_id, NOW)
    event(f"step ok: {step.ok}")
    if step.ok:
        assert fast == step.state
        assert step.effects == ()
    else:
        assert fast is None
