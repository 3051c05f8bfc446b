"""SAT's benchmarks, run from the repository root as ``python -m bench`` (see run.py).

    run.py        the driver: --only, --quick, one process per case, the table
    harness.py    reports and rows, a case's own process, wrk, its scripts and its output
    fixtures.py   databases, a token and a service client, validateToken bodies
    cases/        one module per case, named in cases/__init__.py
    lua/          the wrk scripts; parameters come from BENCH_* environment variables
    bare_app.py   the HTTP baseline: the least work a validateToken answer needs
    seed.py       many tokens written fast with the database driver

``sat serve`` processes come from ``tests.launcher``, shared with the tests.
"""
