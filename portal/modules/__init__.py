"""The domains of the portal, one package each (see docs/architecture.md)."""

DOMAINS = ("accounts", "agencies", "sops", "applications", "letters", "audit", "feedback", "sla",
           "demo", "backup")
