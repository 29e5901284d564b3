"""Random crashes, normal exits and terminations against a reference model of OTP rules."""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from support.kernel_actors import Boom, Quit, spec

from gnomon.runtime import Restart, Strategy, Supervisor
from gnomon.runtime.errors import SupervisorGaveUp

PERIOD = 10.0
Op = tuple[str, int] | tuple[str, float]

ops = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["crash", "quit", "terminate"]), st.integers(0, 3)),
        st.tuples(st.just("sleep"), st.sampled_from([0.5, 3.0, 11.0])),
    ),
    max_size=12,
)


@attrs.define
class Model:
    """What OTP says the children should be after each operation."""

    strategy: Strategy
    intensity: int
    children: list[tuple[str, Restart]]
    restarts: list[float] = attrs.field(factory=list)
    gave_up: bool = False

    def index(self, name: str) -> int | None:
        names = [n for n, _ in self.children]
        return names.index(name) if name in names else None

    def exit(self, name: str, crashed: bool, now: float) -> list[str]:
        """Apply one exit; return the names expected to start again, in order."""
        i = self.index(name)
        assert i is not None
        restart = self.children[i][1]
        if not (restart is Restart.PERMANENT or (restart is Restart.TRANSIENT and crashed)):
            del self.children[i]
            return []
        self.restarts = [t for t in self.restarts if t >= now - PERIOD] + [now]
        if len(self.restarts) > self.intensity:
            self.gave_up = True
            self.children = []
            return []
        if self.strategy is Strategy.ONE_FOR_ONE:
            return [name]
        group = self.children if self.strategy is Strategy.ONE_FOR_ALL else self.children[i:]
        keep = [c for c in group if c[0] == name or c[1] is not Restart.TEMPORARY]
        self.children = [c for c in self.children if c not in group or c in keep]
        return [n for n, _ in keep]


async def scenario(
    strategy: Strategy, intensity: int, restarts: list[Restart], script: list[Op]
) -> None:
    log: list[str] = []
    names = [f"c{i}" for i in range(len(restarts))]
    sup = Supervisor(
        "s",
        strategy=strategy,
        children=[spec(n, log, r) for n, r in zip(names, restarts, strict=True)],
        intensity=intensity,
        period=PERIOD,
    )
    model = Model(strategy, intensity, list(zip(names, restarts, strict=True)))
    outcome: list[BaseException] = []

    async def run() -> None:
        try:
            await sup.run()
        except SupervisorGaveUp as exc:
            outcome.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        await trio.testing.wait_all_tasks_blocked()
        for op in script:
            if model.gave_up:
                break
            await apply(op, sup, model, names, log)
        assert bool(outcome) == model.gave_up
        assert [c.id for c in sup.which_children()] == [n for n, _ in model.children]
        assert all(c.state == "running" for c in sup.which_children())
        await sup.stop()
    for name in names:
        assert log.count(f"start {name}") == log.count(f"stop {name}"), log


async def apply(op: Op, sup: Supervisor, model: Model, names: list[str], log: list[str]) -> None:
    kind, arg = op
    if kind == "sleep":
        await trio.sleep(float(arg))
        return
    name = names[int(arg) % len(names)]
    ref: Any = sup.ref(name)
    if ref is None:
        return
    mark = len(log)
    if kind == "terminate":
        await sup.terminate_child(name)
        del model.children[model.index(name)]  # type: ignore[arg-type]
        return
    await ref.tell(Boom() if kind == "crash" else Quit())
    await trio.testing.wait_all_tasks_blocked()
    expected_starts = model.exit(name, kind == "crash", trio.current_time())
    starts = [line.split()[1] for line in log[mark:] if line.startswith("start")]
    assert starts == expected_starts, (op, log[mark:])


@settings(max_examples=300)
@given(
    strategy=st.sampled_from([Strategy.ONE_FOR_ONE, Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE]),
    intensity=st.integers(1, 4),
    restarts=st.lists(st.sampled_from(list(Restart)), min_size=2, max_size=4),
    script=ops,
)
def test_supervisor_matches_otp_model(
    strategy: Strategy, intensity: int, restarts: list[Restart], script: list[Op]
) -> None:
    """Children present, restart order and give-up match the OTP model; starts and stops
    balance once the tree is stopped."""
    trio.run(
        scenario,
        strategy,
        intensity,
        restarts,
        script,
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
