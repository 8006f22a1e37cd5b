"""Sensors that start sessions by themselves, and one that fails the session of a failed run."""

import datetime
import json

import dagster as dg

from rl_pipeline.configuration.store import active_session_config
from rl_pipeline.dagster_defs.jobs import reinforcement_session_job
from rl_pipeline.dagster_defs.partitions import PARTITION_TAG, SESSION_PARTITIONS
from rl_pipeline.dagster_defs.resources.store import StoreResource
from rl_pipeline.market_data.inbox import process_inbox
from rl_pipeline.operations_config import OperationsConfig
from rl_pipeline.session.lifecycle import fail_session
from rl_pipeline.session.requests import (
    QueueFull,
    claim_next,
    request_session,
    run_config_for,
)
from rl_pipeline.session.win_rate_monitor import ensemble_win_rate
from rl_pipeline.store import session_requests as queue

OPERATIONS = OperationsConfig.from_env()
# The sensors and the schedule run as soon as the daemon does, unless RL_PIPELINE_AUTOMATION=off.
SENSOR_STATUS = (
    dg.DefaultSensorStatus.RUNNING if OPERATIONS.automation_on else dg.DefaultSensorStatus.STOPPED
)
SCHEDULE_STATUS = (
    dg.DefaultScheduleStatus.RUNNING
    if OPERATIONS.automation_on
    else dg.DefaultScheduleStatus.STOPPED
)


def session_run(session_id: str) -> dg.RunRequest:
    """One run per session: the run key is the session id, so a request never runs twice."""
    return dg.RunRequest(
        run_key=session_id,
        partition_key=session_id,
        run_config=run_config_for(session_id),
        tags={"rl_pipeline/session_id": session_id},
    )


def new_session(store: StoreResource, requested_by: str, cursor: str) -> dg.SensorResult:
    """Queue a session, and run the queued requests whose turn it is (within the limit of
    running sessions; the rest wait for the session-request sensor or a launcher)."""
    with store.connection() as conn:
        try:
            request_session(conn, active_session_config(conn), requested_by)
        except QueueFull as full:
            return dg.SensorResult(skip_reason=str(full), cursor=cursor)
        claimed = claim_next(conn, "sensor")
    return dg.SensorResult(
        run_requests=[session_run(s) for s in claimed],
        dynamic_partitions_requests=[SESSION_PARTITIONS.build_add_request(claimed)]
        if claimed
        else [],
        cursor=cursor,
    )


@dg.sensor(
    job=reinforcement_session_job,
    minimum_interval_seconds=OPERATIONS.sensor_interval_s,
    default_status=SENSOR_STATUS,
    description="Runs the sessions requested through the API or the CLI, each once.",
)
def session_request_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
    with store.connection() as conn:
        claimed = claim_next(conn, "sensor")
    if not claimed:
        return dg.SkipReason("no queued session request, or the running sessions fill the limit")
    return dg.SensorResult(
        run_requests=[session_run(s) for s in claimed],
        dynamic_partitions_requests=[SESSION_PARTITIONS.build_add_request(claimed)],
    )


@dg.sensor(
    job=reinforcement_session_job,
    minimum_interval_seconds=OPERATIONS.sensor_interval_s,
    default_status=SENSOR_STATUS,
    description="Imports bar files dropped into data/incoming/ and starts a session; a "
    "rejected file is moved to incoming/rejected/ with its error.",
)
def new_market_data_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
    with store.connection() as conn:
        outcome = process_inbox(conn, OperationsConfig.from_env().incoming_path())
    for name, error in outcome.rejected.items():
        context.log.warning(f"rejected {name}: {error}")
    counts = json.loads(context.cursor) if context.cursor else {"imported": 0, "rejected": 0}
    counts["imported"] += len(outcome.imported)
    counts["rejected"] += len(outcome.rejected)
    if not outcome.imported:
        return dg.SensorResult(skip_reason="no new market data imported", cursor=json.dumps(counts))
    return new_session(store, "sensor:new_market_data", json.dumps(counts))


@dg.sensor(
    job=reinforcement_session_job,
    minimum_interval_seconds=OPERATIONS.sensor_interval_s,
    default_status=SENSOR_STATUS,
    description="Starts a session when the adaptive ensemble's rolling win rate over the "
    "last sessions falls below the configured threshold (once per new session).",
)
def win_rate_degradation_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
    operations = OperationsConfig.from_env()
    with store.connection() as conn:
        reading = ensemble_win_rate(conn, operations.win_rate_window)
    if reading.latest_session_id is None or reading.latest_session_id == context.cursor:
        return dg.SkipReason("no newly completed session to judge")
    cursor = reading.latest_session_id
    if reading.rolling_win_rate >= operations.win_rate_threshold:
        return dg.SensorResult(
            skip_reason=f"rolling win rate {reading.rolling_win_rate:.2%} is at or above "
            f"{operations.win_rate_threshold:.2%}",
            cursor=cursor,
        )
    return new_session(store, "sensor:win_rate_degradation", cursor)


@dg.run_failure_sensor(
    description="Marks the session of a failed run as failed, with the error.",
    default_status=SENSOR_STATUS,
)
def session_run_failure_sensor(context: dg.RunFailureSensorContext) -> None:
    session_id = context.dagster_run.tags.get(PARTITION_TAG)
    if not session_id:
        return
    store = StoreResource()
    with store.connection() as conn:
        message = context.failure_event.message or "the run failed"
        fail_session(conn, session_id, f"run {context.dagster_run.run_id}: {message}")


@dg.schedule(
    job=reinforcement_session_job,
    cron_schedule=OPERATIONS.nightly_cron,
    execution_timezone=OPERATIONS.timezone,
    description="The nightly session.",
    default_status=SCHEDULE_STATUS,
)
def nightly_session_schedule(context: dg.ScheduleEvaluationContext, store: StoreResource):
    when = context.scheduled_execution_time
    # Readable and sortable like every other session id (UTC tick time), and the same for the
    # same tick, so a tick evaluated twice names one session.
    session_id = f"{when.astimezone(datetime.UTC):%Y-%m-%dT%H%M%SZ}-nightly" if when else None
    with store.connection() as conn:
        # A tick evaluated twice must not queue two sessions.
        exists = session_id and queue.request_row(conn, session_id)
        if not exists:
            try:
                session_id = request_session(
                    conn, active_session_config(conn), "schedule:nightly", session_id or ""
                )
            except QueueFull as full:
                return dg.SkipReason(str(full))
        if exists and exists["status"] == "launched":
            claimed = [session_id]  # the same tick again: the same run key, run once
        else:
            claimed = claim_next(conn, "schedule", only=session_id)
    if not claimed:
        return dg.SkipReason(
            f"session {session_id} queued: the running sessions fill the limit (the "
            "session-request sensor or a launcher starts it in its turn)"
        )
    context.instance.add_dynamic_partitions(SESSION_PARTITIONS.name, claimed)
    return session_run(session_id)


SENSORS = [
    session_request_sensor,
    new_market_data_sensor,
    win_rate_degradation_sensor,
    session_run_failure_sensor,
]
SCHEDULES = [nightly_session_schedule]
