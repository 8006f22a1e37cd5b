"""The HTTP API (FastAPI): thin routes over the service functions. ``create_app()`` builds it."""
