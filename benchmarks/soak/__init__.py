"""`make soak`: partner traffic at a fixed rate for minutes against the production stack, watching memory.

What it runs, in a database of its own (dropped and recreated each time) and on Redis:

- gunicorn with the repository's `gunicorn.conf.py` (2 workers, DEBUG off, behind a pretend TLS proxy);
- one Celery worker on every queue, with beat, as the README's deploy recipe runs it;
- a champion trained on German credit by that worker and promoted by two managers, the default screening
  scenarios, and a partner whose webhook is a receiver in this process (so every decision is also a task).

Then, for SOAK_SECONDS (600), it sends synchronous decisions (docs/api.md's application, with German credit's
characteristics, a fresh Idempotency-Key each) and screening batches at fixed rates. The rates are kept by the
clock, not by the answers (open loop): a slow server gets more requests in flight, never fewer, so it shows in
p99. The resident memory of gunicorn (master and workers) and of the worker (every process it started) is
read from /proc at the start, every SOAK_SAMPLE_SECONDS and at the end. Afterwards the database is counted
independently of the answers. The figures are printed and written to var/soak.json; the exit status is 1 when
a request failed, the answers trailed the rate, or the counts disagree (2 when the set-up failed, 130 when
interrupted). Every process it started is stopped on the way out, Ctrl-C included; their logs are in var/soak/.

    SOAK_SECONDS=60 make soak        # or: .venv/bin/python -m benchmarks.soak; every variable in config.py
"""
