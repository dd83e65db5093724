"""The warehouse: locks, health queries, publishing, integrity — everything that reads or guards the stored data."""
