"""The national supervisory authority (DPA) of one state, without gRPC: the registers of `dpa.py`
bound to the state's protocol log and its list of authorised officers.

`path`: the SQLite file (WAL) every register keeps its records in, so a restarted state has its log
requests, audits, declarations, subject cases and joint cases back; None keeps them in memory. The list of
authorised officers (SEC-2) comes from the federation file, like the readiness book's first decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from prum.services.common.clock import Clock, SystemClock
from prum.services.logger import ProtocolLog
from prum.services.supervisor.dpa import (
    Audit,
    Audits,
    Declarations,
    LogRequest,
    LogRequests,
    OverdueCase,
    SubjectCases,
    overdue_core_data_findings,
)
from prum.services.supervisor.joint import JointCases
from prum.services.supervisor.readiness import ReadinessBook


@dataclass
class SupervisoryAuthority:
    state: str
    readiness: ReadinessBook
    log: ProtocolLog
    authorised_officers: Collection[str]
    clock: Clock = field(default_factory=SystemClock)
    path: str | Path | None = None
    #: The state's core-data cases overdue now (P2-CORE-1), which every audit reports; None where there are none.
    overdue_core_data: Callable[[], Iterable[OverdueCase]] | None = None
    log_requests: LogRequests = field(init=False)
    audits: Audits = field(init=False)
    declarations: Declarations = field(init=False)
    subject_cases: SubjectCases = field(init=False)
    joint_cases: JointCases = field(init=False)

    def __post_init__(self) -> None:
        self.log_requests = LogRequests(self.clock, self.path)
        self.audits = Audits(self.clock, self.path)
        self.declarations = Declarations(self.clock, self.path)
        self.subject_cases = SubjectCases(self.clock, path=self.path)
        self.joint_cases = JointCases(self.state, self.clock, self.path)

    def close(self) -> None:
        """Close the registers' databases (the readiness book and the log are the caller's)."""
        for register in (self.log_requests, self.audits, self.declarations, self.subject_cases, self.joint_cases):
            register.close_store()

    def request_logs(self, since: datetime | None, until: datetime | None) -> tuple[LogRequest, int]:
        """LOG-7: the DPA asks for the logs; the logger delivers them at once (well inside the 4 weeks).

        Returns the answered request and the number of entries delivered; the entries themselves are
        streamed by `ProtocolLoggerService.Export` over the same window.
        """
        request = self.log_requests.open(since, until)
        delivered = sum(1 for _ in self.log.export(since=since, until=until))
        return self.log_requests.answer(request.id, delivered), delivered

    def run_audit(self, sample_size: int, seed: int) -> Audit:
        """AUD-1: a random sample of this state's log checked for lawfulness, and the core-data cases overdue now."""
        overdue = overdue_core_data_findings(self.overdue_core_data() if self.overdue_core_data else (),
                                             self.clock.now())
        return self.audits.run(self.log.export(), sample_size, seed, self.authorised_officers, overdue)
