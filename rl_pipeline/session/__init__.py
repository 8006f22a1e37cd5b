"""Use case package: one reinforcement session and what is built from sessions.

Public functions (imported lazily, so ``from rl_pipeline.session import run_session`` works and
importing the package costs nothing):

- ``run_session``, ``open_session`` and the stages in :mod:`.stages` (market bars, features,
  signals, winrate test, reinforcement, metrics, finish);
- ``complete_session`` and ``fail_session``: the one way a session ends (:mod:`.lifecycle`);
- ``run_campaign``, ``campaign_view`` (:mod:`.campaign`);
- ``replay_session_weights`` (:mod:`.replay`);
- ``request_session``, ``start_session``, ``claim_next`` (the queue, :mod:`.requests`) and
  ``launch_session`` (:mod:`.launch`);
- ``get_session_view``, ``session_status``, ``list_session_views`` (reading, :mod:`.queries`,
  :mod:`.status`);
- the data types handed from stage to stage live in :mod:`.types`.
"""

from rl_pipeline.lazy_exports import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "run_session": "stages",
        "open_session": "stages",
        "learn_session_weights": "stages",
        "complete_session": "lifecycle",
        "fail_session": "lifecycle",
        "fail_orphaned_sessions": "lifecycle",
        "run_campaign": "campaign",
        "campaign_view": "campaign",
        "replay_session_weights": "replay",
        "request_session": "requests",
        "start_session": "requests",
        "claim_next": "requests",
        "launch_session": "launch",
        "get_session_view": "queries",
        "list_session_views": "queries",
        "session_status": "status",
        "SessionError": "types",
        "SessionSummary": "types",
    },
)
