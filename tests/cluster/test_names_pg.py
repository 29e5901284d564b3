"""Unique live names in the database (runtime/cluster/names.py): two transactions
creating the same name cannot both pass, a terminal job frees its name, and the check's
statement matches the partial index the cluster schema creates. Skipped where no
PostgreSQL server answers."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import pytest
from support.pgkit import fresh_database
from support.storekit import draft, state

psycopg = pytest.importorskip("psycopg")

from gnomon.runtime.cluster import names, sql  # noqa: E402
from gnomon.runtime.model.enums import JobStatus  # noqa: E402
from gnomon.runtime.store import Changes, pg_sql  # noqa: E402
from gnomon.runtime.store.pg_write import PUT_JOB  # noqa: E402
from gnomon.runtime.store.sql_write import _job_row  # noqa: E402


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as db:
        with psycopg.connect(db, autocommit=True) as conn:
            pg_sql.migrate(conn)
            sql.ensure_schema(conn, 64)
        yield db


def creating(job_id: str, name: str) -> Changes:
    return Changes(jobs=(state(job_id, name),), events=(draft(job_id),))


def test_two_transactions_creating_one_name_cannot_both_pass(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as one, psycopg.connect(url, autocommit=True) as two:
        with one.transaction():
            names.check_live_names(one, creating("aaaa0001", "x"), 64)
            one.execute(PUT_JOB, _job_row(state("aaaa0001", "x"), None))
            with two.transaction(), pytest.raises(names.LiveNameTaken, match="right now"):
                names.check_live_names(two, creating("bbbb0002", "x"), 64)
        with two.transaction(), pytest.raises(names.LiveNameTaken, match="already named 'x'"):
            names.check_live_names(two, creating("bbbb0002", "x"), 64)
        with two.transaction():  # another name, and a job that is not new, pass
            names.check_live_names(two, creating("bbbb0003", "y"), 64)
            names.check_live_names(two, Changes(jobs=(state("bbbb0004", "x"),)), 64)


def test_a_terminal_or_deleted_job_frees_its_name(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PUT_JOB, _job_row(state("aaaa0001", "x", JobStatus.CANCELLED), None))
        with conn.transaction():
            names.check_live_names(conn, creating("bbbb0002", "x"), 64)


def test_the_check_reads_the_partial_index_of_the_schema() -> None:
    ddl = resources.files("gnomon.runtime.cluster").joinpath("schema.sql").read_text()
    assert f"WHERE {names.LIVE};" in ddl
    assert names.created_names(creating("aaaa0001", "x")) == [("x", "aaaa0001")]
    ended = Changes(jobs=(state("a1", "x", JobStatus.SKIPPED),), events=(draft("a1"),))
    assert names.created_names(ended) == []
