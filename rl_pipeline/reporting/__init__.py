"""What people look at: charts (matplotlib, headless) and the self-contained HTML session
report. Core code: no Dagster, FastAPI or click."""
