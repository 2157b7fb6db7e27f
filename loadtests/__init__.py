"""Load tests with Locust: gRPC users per query type (locustfile.py) and the driver of `prum bench load`.

Only locustfile.py and grpc_user.py import Locust, and they run only in Locust's own processes; the
driver modules (load_bench, load_data, load_runner, load_results, load_plan, load_checks) never do.
"""
