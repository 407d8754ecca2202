"""trustdesk's Python client: screen content, register identities, submit notices, take and
acknowledge actions, manage the webhook, and verify webhook deliveries.

    from trustdesk_client import Client

    with Client("https://trustdesk.example.com", api_key) as trustdesk:
        result = trustdesk.screen("msg-1", "hello", subject="acct-1")
        if not result.allowed:
            ...
"""

from trustdesk_client._engine import Retries
from trustdesk_client.calls import Call, Service
from trustdesk_client.client import AsyncClient, Client
from trustdesk_client.errors import (
    BadRequest,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TrustdeskError,
    Unauthenticated,
    UnexpectedAnswer,
    WebhookVerificationError,
)
from trustdesk_client.events import Action, ActionDetail, ActionEvent, DecisionRef
from trustdesk_client.models import (
    Finding,
    Flagger,
    Identity,
    ItemError,
    NoticeOutcome,
    NoticeReceipt,
    RuleCount,
    ScreenItem,
    ScreenResult,
    Verdict,
    Webhook,
    WebhookSecret,
)
from trustdesk_client.webhooks import (
    ReplayGuard,
    VerifiedWebhook,
    sign_standard,
    sign_trustdesk,
    verify_webhook,
)

__version__ = "0.1.0"
__all__ = [
    "Action",
    "ActionDetail",
    "ActionEvent",
    "AsyncClient",
    "BadRequest",
    "Call",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "DecisionRef",
    "Finding",
    "Flagger",
    "Identity",
    "InvalidRequest",
    "ItemError",
    "NotFound",
    "NoticeOutcome",
    "NoticeReceipt",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ReplayGuard",
    "Retries",
    "RuleCount",
    "ScreenItem",
    "ScreenResult",
    "ServerError",
    "Service",
    "ServiceUnavailable",
    "TrustdeskError",
    "Unauthenticated",
    "UnexpectedAnswer",
    "Verdict",
    "VerifiedWebhook",
    "Webhook",
    "WebhookSecret",
    "WebhookVerificationError",
    "sign_standard",
    "sign_trustdesk",
    "verify_webhook",
]
