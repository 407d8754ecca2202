"""The whole schema: imports every slice's models so their tables join one metadata.

Alembic (autogenerate and ``alembic check``) compares the migrations against this.
"""

from __future__ import annotations

from trustdesk.auth import models as auth_models
from trustdesk.banks import models as banks_models
from trustdesk.cases import models as cases_models
from trustdesk.compliance import models as compliance_models
from trustdesk.db import leases as lease_models
from trustdesk.db import windows as window_models
from trustdesk.db.base import Base
from trustdesk.identity import models as identity_models
from trustdesk.records import models as records_models
from trustdesk.screening import models as screening_models
from trustdesk.streams import models as streams_models

metadata = Base.metadata

__all__ = [
    "auth_models",
    "banks_models",
    "cases_models",
    "compliance_models",
    "identity_models",
    "lease_models",
    "metadata",
    "records_models",
    "screening_models",
    "streams_models",
    "window_models",
]
