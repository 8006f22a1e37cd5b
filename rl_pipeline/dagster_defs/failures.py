"""A session stage that fails inside an asset or op reaches the UI as the project's own one-line
message (the run's and the step's failure description), with the original error and its trace
chained below it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from rl_pipeline.session.campaign import CampaignError
from rl_pipeline.session.sweep import SweepError
from rl_pipeline.session.types import SessionError

# Errors whose message already says what is wrong (the field and the rule).
PROJECT_ERRORS = (SessionError, CampaignError, SweepError)


def one_line(error: BaseException) -> str:
    """The project's message: a session or campaign error says what is wrong itself (field and
    rule); any other error is named by its type. Only the first line."""
    text = str(error) if isinstance(error, PROJECT_ERRORS) else f"{type(error).__name__}: {error}"
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


@contextmanager
def stage_failure(stage: str, **metadata: str) -> Iterator[None]:
    """Turn an error of the block into ``dg.Failure(description=<one line>)`` raised from it,
    its metadata naming the stage (and the session)."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as err:
        raise dg.Failure(
            description=one_line(err),
            metadata={**metadata, "stage": stage, "error_type": type(err).__name__},
        ) from err
