"""Test helpers: the database server, Lambda stubs, events, proxies."""
