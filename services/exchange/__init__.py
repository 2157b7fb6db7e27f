"""The exchange seam, without gRPC: both halves of every automated supply between two member states.

- `context`: the query context and the reply header every cross-border call carries.
- `file_managing`: the requested state's half (`FileManagingSide`: identity, gate, search, both log
  entries durable before the reply).
- `requesting`: the requesting state's half (`ContactPoint`: officer, reason, fan-out under one
  deadline, a status per state, receipts, verification where a category needs it).
- `plugin`: what each category brings (`CategoryPlugin`: validate, search, logged forms, references,
  verification, follow-up) and the `Supply` its search returns.
- `wire`: the context and header to and from the contracts' messages (protobuf only).

The cores (the files, the log, the readiness book) sit below this package; each category's plug-in
(`services/<svc>/plugin.py`), the registry (`services/categories.py`), the servicers and the contact
point's transport sit above it.
"""
