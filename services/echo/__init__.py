"""The echo service: the RPC ceiling of the stack, for benchmarks and load tests."""
