"""Transport and process: the Starlette app, settings, callers, client IP and the CLI."""
