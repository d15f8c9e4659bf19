"""Notices to people: what they say, and how they leave the machine (SLA.md §3, §6.4).

The regulation's second promise is a deadline: the customer's fault contact must be told
within 30 minutes of detection. This package writes the notices and hands them to a mail
relay, and reports exactly when each relay accepted each recipient: that time is the proof.

    texts.py     the words, Japanese and English (data only)
    message.py   pure rendering: ``NoticeFacts`` -> ``EmailMessage`` (text + HTML), with a
                 deterministic Message-ID so a resend is recognisable; no clock, no IO
    mailer.py    ``Mailer``: SMTP delivery over a list of relays with per-attempt timeouts,
                 backoff and fail-over; the only aiosmtplib importer
    maildir.py   ``MaildirSink``: the same interface, writing into a local Maildir when no
                 relay is configured (still timed, so ``make run`` shows real notices)

Both transports implement ``mailer.Transport``; delivery failures are data
(``DeliveryReport``), never exceptions. What is *owed* and when lives in the core
(``monitor.core.deadlines``); the durable outbox, which writes a notice before it is sent
and records each acceptance, lives in the journal (``monitor.store``). The service wires
them together: ledger action -> render -> outbox row -> transport -> acceptance recorded.
"""
