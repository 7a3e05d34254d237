"""What a delivery outcome means to a coordinator: the reason in Vietnamese, from the
outcome and the error text the channel gave ("zalo 403 …", "smtp 550 …")."""

from __future__ import annotations

import re

from domain.catalog import t

_CODE = re.compile(r"^(zalo|smtp) (\d{3})\b ?(.*)$", re.DOTALL)


def reason(outcome: str, error: str = "") -> str:
    """Why a reminder did not arrive on one channel (or "đã gửi")."""
    if outcome in ("sent", "deferred", "unreachable", "pending", "uncertain"):
        return t(f"delivery.{outcome}")
    error = " ".join(error.split())
    match = _CODE.match(error)
    if match:
        kind, code, detail = match.group(1), int(match.group(2)), match.group(3)[:120]
        if kind == "zalo":
            return (
                t("delivery.zalo_internal") if code == 403 else t("delivery.zalo_error", code=code)
            )
        key = "delivery.smtp_refused" if code >= 500 else "delivery.smtp_temporary"
        return t(key, detail=f"{code} {detail}".strip())
    if error.startswith("smtp-connect"):
        return t("delivery.smtp_unreachable")
    if error.startswith("no ") and error.endswith("channel running"):
        return t("delivery.channel_off")
    return t("delivery.other", detail=error[:120]) if error else t("delivery.unknown")
