"""Evidence that holds up outside slawatch: signed claim packs (pack.py), Ed25519 keys
(crypto.py, the only module that imports ``cryptography`` for it) and RFC 3161 time-stamps of
the journal's chain head (tsa.py, the only ``rfc3161_client`` importer).

An adapter: it imports the core (the chain's canonical form, core/chain.py) and nothing else
of ours.
"""
