"""Alerts: a person is told, by e-mail and by webhook, about what needs one.

``detectors`` find conditions (a retailer's cancel, a rejected or overdue 997, a quarantined
file, a failing mailbox, ...) as ``Candidate`` values, each under a key that names the condition;
``store`` records each key once (so finding it again never alerts again) with its own delivery
state per channel; ``channels`` send over SMTP and as a signed HTTP POST; ``run`` ties them
together (``run_alerts``), as the scheduler's job and ``edi-engine alerts --send`` call it.
``settings`` is the ``[alerts]`` section of ``edi-engine.toml``.

This module imports nothing, so that ``engine.config`` can import the settings without the rest.
"""
