"""The supervisor: the Council readiness book (GATE-1, GATE-2) and the DPA's work (LOG-7, AUD-1 with joint
cases of two DPAs, DEC-1, SUB-1)."""

from prum.services.supervisor.dpa import (
    AUDIT_RETENTION_MONTHS,
    LOG_REQUEST_DEADLINE,
    SUBJECT_CASE_MONTHS,
    Audit,
    AuditFinding,
    Audits,
    Declaration,
    DeclarationKind,
    Declarations,
    LogRequest,
    LogRequests,
    Status,
    SubjectCase,
    SubjectCaseKind,
    SubjectCases,
    add_months,
    check_lawfulness,
)
from prum.services.supervisor.joint import JointCase, JointCaseKind, JointCases, JointCaseStatus, JointFinding
from prum.services.supervisor.readiness import Readiness, ReadinessBook, ReadinessStep, Vote, VoteTally

__all__ = [
    "AUDIT_RETENTION_MONTHS", "LOG_REQUEST_DEADLINE", "SUBJECT_CASE_MONTHS", "Audit", "AuditFinding", "Audits",
    "Declaration", "DeclarationKind", "Declarations", "JointCase", "JointCaseKind", "JointCaseStatus", "JointCases",
    "JointFinding", "LogRequest", "LogRequests", "Readiness", "ReadinessBook",
    "ReadinessStep", "Status", "SubjectCase", "SubjectCaseKind", "SubjectCases", "Vote", "VoteTally", "add_months",
    "check_lawfulness",
]
