"""Benchmarks: fixed workloads that print figures. Never part of the test run."""
