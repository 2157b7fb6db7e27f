"""The Prüm II central router (Regulation (EU) 2024/982): routing and its log without gRPC, a thin servicer, the
router's messages (`wire`) and its gRPC client to the states' data services (`transport`)."""
