"""Running a federation of member states, in four rooms: `runtime` (the federation file, the PKI, one state's
server, all states in one process, one process per state, Kubernetes), `synthetic` (the national files' data
and the demo's planted cases), `demo` (the end-to-end demo and its report) and `cli` (the `prum` command)."""
