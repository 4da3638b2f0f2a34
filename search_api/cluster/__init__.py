"""Serving and building a set of index shards as one index."""
