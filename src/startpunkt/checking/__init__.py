"""Availability checking: shared HTTP probes plus Kubernetes endpoint readiness.

`Checker.run()` is one long-running task; everything else here is a pure function or a value
that can be tested on its own.
"""

from startpunkt.checking.checker import Checker, retry_delay
from startpunkt.checking.probing import (
    BODY_LIMIT,
    USER_AGENT,
    ProbeOutcome,
    ProbeResult,
    make_transport,
    probe,
    redact,
    tls_context,
)
from startpunkt.checking.readiness import (
    Readiness,
    combine,
    endpoint_readiness,
    service_of,
)

__all__ = [
    "BODY_LIMIT",
    "USER_AGENT",
    "Checker",
    "ProbeOutcome",
    "ProbeResult",
    "Readiness",
    "combine",
    "endpoint_readiness",
    "make_transport",
    "probe",
    "redact",
    "retry_delay",
    "service_of",
    "tls_context",
]
