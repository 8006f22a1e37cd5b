"""Versioned schema migrations of the canonical SQLite store.

Migration 1 is the original specification's DDL (its section 6.2) verbatim: its five tables,
indexes and the four ``ai_models`` seed rows. Later migrations only add the project's own
tables beside them.
"""

from __future__ import annotations

SPEC_DDL = """
-- создание таблицы
CREATE TABLE reinforcement_sessions (
    session_id TEXT PRIMARY KEY,
    start_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    end_time TIMESTAMP,
    test_period_days INTEGER NOT NULL,
    learning_rate REAL DEFAULT 0.01,
    reward_multiplier REAL DEFAULT 1.5,
    punishment_multiplier REAL DEFAULT 0.8,
    status TEXT DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'stopped')),
    configuration TEXT -- JSON конфигурация
);

-- создание индексов
CREATE INDEX idx_reinforcement_sessions_start_time ON reinforcement_sessions(start_time DESC);
CREATE INDEX idx_reinforcement_sessions_status ON reinforcement_sessions(status);

-- создание таблицы
CREATE TABLE trade_results (
    trade_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    entry_time TIMESTAMP NOT NULL,
    exit_time TIMESTAMP NOT NULL,
    entry_price REAL NOT NULL,
    exit_price REAL NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
    pnl REAL NOT NULL,
    pnl_percent REAL NOT NULL,
    confidence REAL NOT NULL,
    ai_model_id TEXT NOT NULL,
    metadata TEXT, -- JSON метаданные
    FOREIGN KEY (session_id) REFERENCES reinforcement_sessions(session_id),
    FOREIGN KEY (ai_model_id) REFERENCES ai_models(model_id)
);

-- создание индексов
CREATE INDEX idx_trade_results_session_id ON trade_results(session_id);
CREATE INDEX idx_trade_results_symbol ON trade_results(symbol);
CREATE INDEX idx_trade_results_pnl ON trade_results(pnl DESC);
CREATE INDEX idx_trade_results_entry_time ON trade_results(entry_time DESC);

-- создание таблицы
CREATE TABLE ai_models (
    model_id TEXT PRIMARY KEY,
    model_name TEXT NOT NULL,
    model_type TEXT NOT NULL CHECK (model_type IN ('trading', 'lava', 'lgbm', 'mistral')),
    current_weight REAL NOT NULL DEFAULT 0.25,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    parameters TEXT, -- JSON параметры
    is_active BOOLEAN DEFAULT TRUE
);

-- создание индексов
CREATE INDEX idx_ai_models_type ON ai_models(model_type);
CREATE INDEX idx_ai_models_active ON ai_models(is_active);

-- начальные данные
INSERT INTO ai_models (model_id, model_name, model_type, current_weight) VALUES
('trading_ai', 'TradingAI', 'trading', 0.25),
('lava_ai', 'LavaAI', 'lava', 0.35),
('lgbm_ai', 'LGBMAI', 'lgbm', 0.40),
('mistral_ai', 'MistralAI', 'mistral', 0.0);

-- создание таблицы
CREATE TABLE model_weight_history (
    weight_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    old_weight REAL NOT NULL,
    new_weight REAL NOT NULL,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    reason TEXT NOT NULL,
    trade_context TEXT, -- JSON контекст сделки
    FOREIGN KEY (session_id) REFERENCES reinforcement_sessions(session_id),
    FOREIGN KEY (model_id) REFERENCES ai_models(model_id)
);

-- создание индексов
CREATE INDEX idx_model_weight_history_session_id ON model_weight_history(session_id);
CREATE INDEX idx_model_weight_history_model_id ON model_weight_history(model_id);
CREATE INDEX idx_model_weight_history_updated_at ON model_weight_history(updated_at DESC);

-- создание таблицы
CREATE TABLE performance_metrics (
    metric_id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    win_rate REAL NOT NULL,
    total_pnl REAL NOT NULL,
    avg_trade_pnl REAL NOT NULL,
    sharpe_ratio REAL,
    max_drawdown REAL,
    total_trades INTEGER NOT NULL,
    calculated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (model_id) REFERENCES ai_models(model_id),
    FOREIGN KEY (session_id) REFERENCES reinforcement_sessions(session_id)
);

-- создание индексов
CREATE INDEX idx_performance_metrics_model_id ON performance_metrics(model_id);
CREATE INDEX idx_performance_metrics_session_id ON performance_metrics(session_id);
CREATE INDEX idx_performance_metrics_win_rate ON performance_metrics(win_rate DESC);
CREATE INDEX idx_performance_metrics_calculated_at ON performance_metrics(calculated_at DESC);
"""

PROJECT_TABLES_DDL = """
CREATE TABLE market_bars (
    symbol TEXT NOT NULL,
    ts INTEGER NOT NULL,              -- bar open time, UTC epoch seconds
    open REAL NOT NULL CHECK (open > 0),
    high REAL NOT NULL CHECK (high > 0),
    low REAL NOT NULL CHECK (low > 0),
    close REAL NOT NULL CHECK (close > 0),
    volume REAL NOT NULL CHECK (volume >= 0),
    source TEXT NOT NULL,             -- 'synthetic:<seed>' or the imported file name
    PRIMARY KEY (symbol, ts)
) WITHOUT ROWID;

CREATE TABLE session_runs (
    session_id TEXT PRIMARY KEY REFERENCES reinforcement_sessions(session_id),
    dagster_run_id TEXT,
    pid INTEGER NOT NULL,             -- the process that owns the running session
    stage TEXT,                       -- the last stage started
    error TEXT,                       -- why the session failed, when it did
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE session_reports (
    session_id TEXT PRIMARY KEY REFERENCES reinforcement_sessions(session_id),
    report TEXT NOT NULL,             -- JSON
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
"""

MODEL_VERSIONS_DDL = """
CREATE TABLE model_versions (
    version_id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL REFERENCES ai_models(model_id),
    version_number INTEGER NOT NULL,
    session_id TEXT REFERENCES reinforcement_sessions(session_id),
    kind TEXT NOT NULL CHECK (kind IN ('trained', 'session', 'manual', 'rollback')),
    weight REAL,
    parameters TEXT,                  -- JSON
    artifact_path TEXT,
    artifact_sha256 TEXT,
    metrics TEXT,                     -- JSON
    parent_version_id TEXT REFERENCES model_versions(version_id),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (model_id, version_number)
);
CREATE INDEX idx_model_versions_session_id ON model_versions(session_id);

CREATE TABLE llm_answers (
    prompt_sha256 TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    prompt TEXT NOT NULL,
    answer TEXT NOT NULL,             -- the server's raw message content
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (prompt_sha256, model_sha256)
);
"""

SESSION_REQUESTS_DDL = """
CREATE TABLE session_requests (
    session_id TEXT PRIMARY KEY,
    requested_by TEXT NOT NULL,       -- 'api', 'cli', 'sensor:<name>', 'schedule:<name>'
    requested_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    configuration TEXT NOT NULL,      -- the full SessionConfig JSON
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'launched')),
    launched_by TEXT,                 -- who claimed it: 'process' or 'sensor'
    launched_at TIMESTAMP
);
CREATE INDEX idx_session_requests_status ON session_requests(status);
"""

STORED_CONFIGURATIONS_DDL = """
CREATE TABLE stored_configurations (
    version INTEGER PRIMARY KEY,      -- 1, 2, ...: the highest is the active configuration
    document TEXT NOT NULL,           -- the validated system configuration JSON (canonical form)
    sha256 TEXT NOT NULL,             -- of ``document``
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    source TEXT NOT NULL              -- where it came from: a file path, 'stdin', 'api'
);
"""

BAR_SERIES_DDL = """
CREATE TABLE bar_series (
    symbol TEXT PRIMARY KEY,          -- one row per symbol with stored bars
    interval_seconds INTEGER NOT NULL, -- detected bar interval (median gap, snapped)
    calendar TEXT NOT NULL CHECK (calendar IN ('24/7', 'exchange')),
    bars_per_day REAL NOT NULL,       -- bars per UTC day that has bars
    source TEXT NOT NULL,             -- the file (or generator) that last wrote its bars
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
"""

CAMPAIGNS_DDL = """
CREATE TABLE campaigns (
    campaign_id TEXT PRIMARY KEY,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    ended_at TIMESTAMP,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    sessions INTEGER NOT NULL CHECK (sessions >= 1),
    test_period_days INTEGER NOT NULL CHECK (test_period_days >= 1),
    rule TEXT NOT NULL,
    publish BOOLEAN NOT NULL,
    configuration TEXT NOT NULL,      -- the effective SessionConfig JSON of every session
    start_weights TEXT NOT NULL,      -- JSON: the static baseline, held fixed
    pid INTEGER,                      -- the process running it (orphans become failed)
    error TEXT,
    result TEXT                       -- JSON: rules, models, best model, verdicts
);
CREATE TABLE campaign_sessions (
    campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
    seq INTEGER NOT NULL,             -- 1..sessions, in time order
    session_id TEXT NOT NULL REFERENCES reinforcement_sessions(session_id),
    test_start TIMESTAMP NOT NULL,
    test_end TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);
CREATE INDEX idx_campaign_sessions_session ON campaign_sessions(session_id);
CREATE TABLE campaign_curve (
    campaign_id TEXT NOT NULL REFERENCES campaigns(campaign_id),
    seq INTEGER NOT NULL,             -- after this many sessions
    strategy TEXT NOT NULL,           -- 'rule:<name>', 'static', 'equal', 'model:<id>',
                                      -- 'best_in_hindsight', 'regret_vs_best_model'
    session_pnl REAL,                 -- P&L in this session alone (NULL for regret)
    cumulative_pnl REAL NOT NULL,     -- (regret: best in hindsight - the campaign's rule)
    PRIMARY KEY (campaign_id, seq, strategy)
);
"""

SESSION_CURVES_DDL = """
-- Mark-to-market equity of the session's ensembles (adaptive, static, equal) and of each model
-- alone over the test period, at most CURVE_POINTS points per curve (the last one exact), so
-- the notebook, the API and the Dagster UI draw the same curves as the HTML report.
CREATE TABLE session_curves (
    session_id TEXT NOT NULL REFERENCES reinforcement_sessions(session_id),
    curve TEXT NOT NULL,               -- 'adaptive', 'static_initial', 'equal' or a model id
    ts INTEGER NOT NULL,               -- bar close time, UTC epoch seconds
    equity REAL NOT NULL,
    PRIMARY KEY (session_id, curve, ts)
);
"""

SIGNAL_CACHE_DDL = """
-- Model signals keyed by everything they depend on (model, its parameters, the bars it read,
-- the decided window, the code version): a pure-function cache shared by sessions, campaigns
-- and sweeps. A key that matches can only hold the signals those inputs give.
CREATE TABLE signal_cache (
    cache_key TEXT PRIMARY KEY,        -- sha256 of the inputs (rl_pipeline.session.signal_cache)
    model_id TEXT NOT NULL,
    symbol TEXT,                       -- one symbol's signals, or NULL: the model pools symbols
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    computed_by TEXT,                  -- the session that computed them
    rows INTEGER NOT NULL,
    signals BLOB NOT NULL,             -- npz: ts, signal, confidence of the decided rows
    meta TEXT NOT NULL                 -- JSON: the model's training summary and reasons
);
"""

SWEEPS_DDL = """
-- Parameter sweeps: a grid of update-rule settings replayed on one completed session's stored
-- signals (rl_pipeline.session.sweep); written in one transaction when the sweep has run.
CREATE TABLE sweeps (
    sweep_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES reinforcement_sessions(session_id),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    points INTEGER NOT NULL,           -- how many points were tried (the multiple-testing N)
    grid TEXT NOT NULL,                -- JSON: the values of every axis
    summary TEXT NOT NULL              -- JSON: warning, Bonferroni view, timing, signal reuse
);
CREATE INDEX idx_sweeps_session ON sweeps(session_id);
CREATE TABLE sweep_points (
    sweep_id TEXT NOT NULL REFERENCES sweeps(sweep_id),
    point INTEGER NOT NULL,            -- 1.. in grid order
    rank INTEGER NOT NULL,             -- 1 = best: total_pnl desc, then sharpe desc, then point
    rule TEXT NOT NULL,
    learning_rate REAL NOT NULL,
    reward_multiplier REAL NOT NULL,
    punishment_multiplier REAL NOT NULL,
    min_weight REAL NOT NULL,
    max_weight REAL NOT NULL,
    threshold REAL NOT NULL,           -- ensemble threshold
    total_pnl REAL NOT NULL,           -- the adaptive ensemble over the session's test period
    sharpe REAL,
    max_drawdown REAL NOT NULL,
    total_trades INTEGER NOT NULL,
    static_pnl REAL NOT NULL,          -- the baselines at the same threshold
    equal_pnl REAL NOT NULL,
    detail TEXT NOT NULL,              -- JSON: verdicts (and Bonferroni-adjusted), final weights
    PRIMARY KEY (sweep_id, point)
);
CREATE INDEX idx_sweep_points_rank ON sweep_points(sweep_id, rank);
"""

# (version, description, SQL). Append only: an applied migration is never edited.
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "specification tables, indexes and seed rows (the specification, section 6.2)", SPEC_DDL),
    (2, "market bars, session runs and session reports", PROJECT_TABLES_DDL),
    (3, "model versions and the LLM answer cache", MODEL_VERSIONS_DDL),
    (4, "session requests queued by the API, the CLI and sensors", SESSION_REQUESTS_DDL),
    (5, "stored system configurations (config import)", STORED_CONFIGURATIONS_DDL),
    (
        6,
        "the pid of the process that launches a requested session",
        "ALTER TABLE session_requests ADD COLUMN launcher_pid INTEGER;",
    ),
    (7, "bar interval and calendar per stored symbol", BAR_SERIES_DDL),
    (8, "walk-forward campaigns and their sessions", CAMPAIGNS_DDL),
    (
        9,
        "what happened to a session's weights, and the start time of its processes",
        "ALTER TABLE session_runs ADD COLUMN weights_outcome TEXT;\n"
        "ALTER TABLE session_runs ADD COLUMN pid_start_ticks INTEGER;\n"
        "ALTER TABLE session_requests ADD COLUMN launcher_start_ticks INTEGER;",
    ),
    (10, "equity curves of each session's ensembles and models", SESSION_CURVES_DDL),
    (11, "model signals reused across sessions, campaigns and sweeps", SIGNAL_CACHE_DDL),
    (
        12,
        "how far a running session's long stage has got (fits done of all, ETA)",
        "ALTER TABLE session_runs ADD COLUMN progress TEXT;",
    ),
    (13, "parameter sweeps over a session's stored signals", SWEEPS_DDL),
]
